// Command demo is a compositor on vkdep: client queues render animated content with compute
// shaders at their own pace, a bypass compositor queue composites their latest completed frames
// every frame without ever waiting for them, and a hung client is timed out, banned, aborted
// through its queue's abort word and brought back on a new queue, live, with a HUD that shows it.
//
// With a display it opens a window (GLFW, Vulkan swapchain). Keys: H hang a client, K kill one,
// P pause the clients' animation, Esc quit. Without one, -headless renders to PNG files:
//
//	demo -headless -frames 120 -out out/demo
//
// See docs/DEMO.md for what the screen shows.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"vkdep.dev/vkdep"
	"vkdep.dev/vkdep/jobtrace"
)

func init() {
	// GLFW must be called from the main OS thread; main runs on it only if it is locked here.
	runtime.LockOSThread()
}

type flags struct {
	headless      bool
	frames        int
	out           string
	saveEvery     int
	hangAt        int
	killAt        int
	resizeAt      int
	jobTimeout    time.Duration
	fps           float64
	deterministic bool
	step          time.Duration
	validate      bool
	screenshot    string
	trace         string
	flood         bool
}

func parseFlags() flags {
	var f flags
	flag.BoolVar(&f.headless, "headless", false, "render offscreen to PNG files (no display needed)")
	flag.IntVar(&f.frames, "frames", 0, "stop after this many frames (0: run until Esc; headless default 120)")
	flag.StringVar(&f.out, "out", "out/demo", "headless: directory for the PNG frames")
	flag.IntVar(&f.saveEvery, "save-every", 1, "headless: save every n-th frame (and the last)")
	flag.IntVar(&f.hangAt, "hang-at", -1, "make the plasma client submit hung work at this frame")
	flag.IntVar(&f.killAt, "kill-at", -1, "kill the particles client's queue at this frame")
	flag.IntVar(&f.resizeAt, "resize-at", -1, "windowed: resize the window to 800x450 at this frame (exercises swapchain recreation)")
	flag.DurationVar(&f.jobTimeout, "job-timeout", 400*time.Millisecond, "client queues' job timeout")
	flag.Float64Var(&f.fps, "fps", 60, "compositor frame pacing target")
	flag.BoolVar(&f.deterministic, "deterministic", false, "frame n shows animation time n*step, waits for the clients' frames for it, and the HUD shows no measurements (for golden images)")
	flag.DurationVar(&f.step, "step", time.Second/30, "animation time per frame with -deterministic")
	flag.BoolVar(&f.validate, "validate", false, "load the Khronos validation layer and exit non-zero if it prints anything")
	flag.StringVar(&f.screenshot, "screenshot", "", "windowed: after the last frame, save a screenshot of the window to this PNG (xwd + ImageMagick)")
	flag.BoolVar(&f.flood, "flood", false, "start a low-priority compute flood on the compositor's VkQueue (key F toggles it)")
	flag.StringVar(&f.trace, "trace", "", "write every job's timeline to this file as Chrome/Perfetto trace JSON, with an SVG picture of it beside it (.svg)")
	flag.Parse()
	if f.headless && f.frames == 0 {
		f.frames = 120
	}
	return f
}

func main() {
	f := parseFlags()
	var validationMessages atomic.Int64
	opts := vkdep.Options{
		AppName:  "vkdep demo",
		Validate: f.validate,
		OnValidation: func(m vkdep.ValidationMessage) {
			validationMessages.Add(1)
			fmt.Fprintln(os.Stderr, "demo: validation:", m)
		},
	}
	if f.deterministic && (f.hangAt >= 0 || f.killAt >= 0 || f.flood) {
		fmt.Fprintln(os.Stderr, "demo: -hang-at, -kill-at and -flood need real time: a deterministic frame waits for every client")
		os.Exit(2)
	}
	cfg := Config{JobTimeout: f.jobTimeout, FPS: f.fps, Deterministic: f.deterministic, Step: f.step, HangAt: f.hangAt,
		KillAt: f.killAt, KillClient: 2, Flood: f.flood}
	var err error
	if f.headless {
		err = runHeadless(opts, cfg, f)
	} else {
		err = runWindow(opts, cfg, f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	if n := validationMessages.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "demo: the validation layer printed %d message(s)\n", n)
		os.Exit(1)
	}
}

func runHeadless(opts vkdep.Options, cfg Config, f flags) error {
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	d, err := vkdep.Open(opts)
	if err != nil {
		return err
	}
	fmt.Println("device:", d.Info())
	writeTrace := traceJobs(d, f.trace)
	rep, err := runScene(d, cfg, f.frames, frameSaver(f.out, f.saveEvery, f.frames))
	if terr := writeTrace(); err == nil {
		err = terr
	}
	if err != nil {
		return err
	}
	fmt.Print(rep)
	fmt.Printf("frames written to %s/frame-NNNN.png\n", f.out)
	return nil
}

// runScene runs a headless scene on d and closes d.
func runScene(d *vkdep.Device, cfg Config, frames int, save func(int, *image.RGBA) error) (Report, error) {
	ctx := context.Background()
	closeDev := func() error {
		c, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return d.Close(c)
	}
	s, err := NewScene(d, cfg, computeVkQueue(d))
	if err != nil {
		closeDev()
		return Report{}, err
	}
	rep, err := s.Headless(ctx, frames, save)
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if cerr := s.Close(c); err == nil {
		err = cerr
	}
	if cerr := closeDev(); err == nil {
		err = cerr
	}
	return rep, err
}

// computeVkQueue is the first VkQueue (1-based) that can run compute work.
func computeVkQueue(d *vkdep.Device) int {
	fams := d.Info().QueueFamilies
	for i, q := range d.VkQueues() {
		if int(q.Family) < len(fams) && fams[q.Family].Compute {
			return i + 1
		}
	}
	return 1
}

// traceJobs records every job of d when path is set (-trace) and returns the function that writes
// the timeline: Chrome/Perfetto trace JSON to path, and an SVG picture beside it.
func traceJobs(d *vkdep.Device, path string) (write func() error) {
	if path == "" {
		return func() error { return nil }
	}
	rec := jobtrace.New(0)
	stop := d.Observe(rec.Observe)
	return func() error {
		stop()
		svg, err := rec.WriteFiles(path)
		if err != nil {
			return err
		}
		recs, dropped := rec.Records()
		fmt.Printf("job timeline: %d jobs in %s (Chrome/Perfetto trace JSON) and %s (SVG)", len(recs), path, svg)
		if dropped > 0 {
			fmt.Printf(", %d more dropped", dropped)
		}
		fmt.Println()
		return nil
	}
}
