package main

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"vkdep.dev/vkdep"
)

// Report is what a run measured, printed at its end and checked by the tests.
type Report struct {
	Frames  int
	Elapsed time.Duration
	// MaxGap is the longest time between two compositor frames completing: on a shared VkQueue,
	// the stall a hung client causes.
	MaxGap time.Duration
	// FrameP99 is the 99th percentile of the time between two compositor frames completing,
	// over the latest 256 frames (0 with fewer than 100).
	FrameP99 time.Duration
	Shared   bool
	Clients  []ClientReport
	Events   []string
}

// ClientReport is one client's part of a Report.
type ClientReport struct {
	Name string // the current queue's name: kind#generation
	clientStats
}

func (r Report) String() string {
	p99 := "-- (under 100 frames)" // as the HUD: a percentile of fewer samples says nothing
	if r.FrameP99 > 0 {
		p99 = r.FrameP99.Round(time.Millisecond).String()
	}
	s := fmt.Sprintf("%d frames in %v, longest gap between compositor frames %v, frame time p99 %s (shared VkQueue: %v)\n",
		r.Frames, r.Elapsed.Round(time.Millisecond), r.MaxGap.Round(time.Millisecond), p99, r.Shared)
	for _, c := range r.Clients {
		s += fmt.Sprintf("  %-12s frames %d, timeouts %d, kills %d, frames after recovery %d", c.Name, c.Frames, c.Timeouts, c.Kills, c.AfterRecover)
		if c.HangErr != nil {
			s += fmt.Sprintf(", hung job: %v (aborted through the abort word: %v)", c.HangErr, c.GateAborted)
		}
		s += "\n"
	}
	for _, e := range r.Events {
		s += "  " + e + "\n"
	}
	return s
}

// report collects the scene's numbers.
func (s *Scene) report(frames int, elapsed time.Duration) Report {
	cs := s.comp.stats()
	r := Report{Frames: frames, Elapsed: elapsed, MaxGap: cs.MaxGap, FrameP99: cs.FrameP99, Shared: s.SharedVkQueue(), Events: s.Events()}
	for _, c := range s.clients {
		c.poll()
		c.mu.Lock()
		st := c.stats
		st.doneTimes = nil
		r.Clients = append(r.Clients, ClientReport{Name: c.q.Name(), clientStats: st})
		c.mu.Unlock()
	}
	return r
}

// Headless runs frames compositor frames without a window, paced at the scene's FPS (as fast as
// possible in deterministic mode). save, when not nil, gets every frame's pixels.
func (s *Scene) Headless(ctx context.Context, frames int, save func(n int, img *image.RGBA) error) (Report, error) {
	s.Run()
	start := time.Now()
	interval := time.Duration(float64(time.Second) / s.cfg.FPS)
	next := start
	var pending []pendingFrame
	flush := func(keep int) error {
		for len(pending) > keep {
			p := pending[0]
			pending = pending[1:]
			// The frame's own fence: waiting on it is how headless output knows the pixels are
			// there. (The frame loop itself never waits on a client.)
			if err := p.fence.Wait(ctx); err != nil {
				return fmt.Errorf("demo: compositor frame %d: %w", p.n, err)
			}
			if save != nil {
				if err := save(p.n, s.comp.pixels(p.slot)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for n := range frames {
		if !s.cfg.Deterministic {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
			if time.Since(next) > interval {
				next = time.Now() // behind (a stall): do not try to catch up with a burst
			}
		}
		// Frame waits for the frame that used the same slot; the pixels of that one must be
		// saved first.
		if err := flush(compSlots - 1); err != nil {
			return Report{}, err
		}
		f, slot, err := s.comp.Frame(ctx, nil)
		if err != nil {
			return Report{}, err
		}
		pending = append(pending, pendingFrame{n: n, slot: slot, fence: f})
	}
	if err := flush(0); err != nil {
		return Report{}, err
	}
	return s.report(frames, time.Since(start)), nil
}

type pendingFrame struct {
	n, slot int
	fence   vkdep.Fence
}

// pixels converts a completed frame's B8G8R8A8 output to an RGBA image.
func (c *Compositor) pixels(slot int) *image.RGBA {
	src := c.slots[slot].out.Bytes()
	img := image.NewRGBA(image.Rect(0, 0, c.width, c.height))
	for i := 0; i+3 < len(src) && i+3 < len(img.Pix); i += 4 {
		img.Pix[i+0] = src[i+2]
		img.Pix[i+1] = src[i+1]
		img.Pix[i+2] = src[i+0]
		img.Pix[i+3] = 255
	}
	return img
}

// writePNG writes img to path.
func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// frameSaver saves every every-th frame (and the last) into dir as frame-NNNN.png.
func frameSaver(dir string, every, frames int) func(int, *image.RGBA) error {
	return func(n int, img *image.RGBA) error {
		if every > 1 && n%every != 0 && n != frames-1 {
			return nil
		}
		return writePNG(filepath.Join(dir, fmt.Sprintf("frame-%04d.png", n)), img)
	}
}
