// Command bench measures what vkdep costs and what it wins on the default device (a GPU when
// present, else lavapipe), against raw Vulkan and against drm_sched-style completion-gated
// submission (each job submitted only once the job it depends on has completed).
//
//	go run ./cmd/bench [-device SEL] [-quick] [-workload NAME] [-skip NAME,...] [-validate] [-log LEVEL] [-format table|gobench] [-json FILE] [-svg FILE]
//
// Workloads: idle (the CPU an open device with no work uses, % of a core, F3), submit and queue
// (empty jobs: the submission paths), chain (tiny dependent dispatches alternating between two
// queues), pipeline (upload → SAXPY → reduction and prefix sum on three queues with a DAG of
// dependencies → readback), responsiveness (host signal → dependent job, Kill of 10,000 queued
// jobs, deadline → OnTimeout), priority (H1–H3: a realtime or light queue's latency beside a
// flood, with the layer and with FIFO) and hang (T4, T5, T7: what a hung job costs bystanders on
// its VkQueue, another VkQueue and another VkDevice; hang.go). Every workload that dispatches GPU
// work checks its results on the CPU; a wrong result is an error.
//
// Every figure is measured in the same run as its yardstick, so ratios are comparable even on a
// noisy machine. Timings are never asserted.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/vkdep"
	"vkdep.dev/vkdep/jobtrace"
)

// row is one figure: a variant of a workload run jobs times in elapsed (for latency rows, the
// sum of the samples, with p50 and p99 set).
type row struct {
	workload, variant string
	jobs              int
	elapsed           time.Duration
	ratioTo           []string // variants of the same workload this row is compared with
	p50, p99          time.Duration
	vkqs              string  // the VkQueues it used: "VkQueue 1", "VkQueues 1+2"
	cpuPercent        float64 // idle rows: CPU used over elapsed, % of one core
}

func (r row) nsPerJob() float64 { return float64(r.elapsed.Nanoseconds()) / float64(r.jobs) }
func (r row) jobsPerSec() float64 {
	return float64(r.jobs) / r.elapsed.Seconds()
}

type env struct {
	dev   *vkdep.Device
	g     *gpu.Ctx
	quick bool
	opts  vkdep.Options // what dev was opened with, for workloads that open devices of their own
	notes []string      // what the figures need said beside them (printed after the table)
}

func (e *env) note(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}

// n scales a job count down for -quick.
func (e *env) n(full int) int {
	if e.quick {
		return max(full/20, 100)
	}
	return full
}

type workload struct {
	name string
	run  func(*env) ([]row, error)
}

var workloads = []workload{
	{"idle", runIdle}, // first: no queue of another workload open yet
	{"submit", runSubmit},
	{"queue", runQueue},
	{"chain", runChain},
	{"pipeline", runPipeline},
	{"responsiveness", runResponsiveness},
	{"priority", runPriority},
	{"hang", runHang},
}

// traceLimit bounds the jobs -trace records: enough for a -quick workload, a few hundred MB of
// JSON at most.
const traceLimit = 200_000

// config is the command line.
type config struct {
	device   string
	quick    bool
	only     string
	skip     string // workloads not to run, comma-separated
	log      string // vkdep's log level on standard error: "", debug, info, warn, error
	validate bool
	format   string // table or gobench
	json     string // file to write the figures to, "" for none
	svg      string // file to write a bar chart of the ratios to, "" for none
	trace    string // file to write the job timeline to (Chrome trace JSON, and SVG beside it)
}

func main() {
	var c config
	flag.StringVar(&c.device, "device", "", "device: index, name substring or lavapipe (default $VKDEP_DEVICE, then the best)")
	flag.BoolVar(&c.quick, "quick", false, "small job counts: the whole suite in seconds")
	flag.StringVar(&c.only, "workload", "", "run only this workload (idle, submit, queue, chain, pipeline, responsiveness, priority, hang)")
	flag.StringVar(&c.skip, "skip", "", "do not run these workloads (comma-separated)")
	flag.StringVar(&c.log, "log", "", "write vkdep's log at this level (debug, info, warn, error) to standard error: timeouts, blame decisions, queue moves")
	flag.BoolVar(&c.validate, "validate", false, "run with the Khronos validation layer (slow; for checking, not timing)")
	flag.StringVar(&c.format, "format", "table", "output format: table or gobench")
	flag.StringVar(&c.json, "json", "", "also write every figure as JSON to this file")
	flag.StringVar(&c.svg, "svg", "", "also write an SVG bar chart of the ratios to this file")
	flag.StringVar(&c.trace, "trace", "", "write every job's timeline to this file as Chrome/Perfetto trace JSON, and an SVG picture of it beside it (.svg); use with -workload and -quick, a full run records millions of jobs")
	flag.Parse()
	if err := run(c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run runs the suite c selects on the device it names, prints the figures to w, and writes the
// JSON file if asked. It returns an error when a workload fails or finds a wrong result, or when
// the validation layer complained.
func run(c config, w io.Writer) (err error) {
	if c.format == "" {
		c.format = "table"
	}
	if c.format != "table" && c.format != "gobench" {
		return fmt.Errorf("unknown -format %q (table or gobench)", c.format)
	}
	isWorkload := func(name string) bool {
		return slices.ContainsFunc(workloads, func(wl workload) bool { return wl.name == name })
	}
	if c.only != "" && !isWorkload(c.only) {
		return fmt.Errorf("unknown -workload %q", c.only)
	}
	var skip []string
	for _, s := range strings.Split(c.skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			skip = append(skip, s)
		}
	}
	for _, s := range skip {
		if !isWorkload(s) {
			return fmt.Errorf("unknown workload %q in -skip", s)
		}
	}
	var (
		mu   sync.Mutex
		msgs []string
	)
	opts := vkdep.Options{Device: c.device, Validate: c.validate, AppName: "vkdep bench",
		OnValidation: func(m vkdep.ValidationMessage) {
			mu.Lock()
			msgs = append(msgs, m.String())
			mu.Unlock()
		}}
	if c.log != "" {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(c.log)); err != nil {
			return fmt.Errorf("-log: %w", err)
		}
		// On standard error: standard output may be gobench lines that tools parse.
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	}
	d, err := vkdep.Open(opts)
	if err != nil {
		return err
	}
	g, err := gpu.New(d)
	if err != nil {
		d.Close(context.Background())
		return err
	}
	var rec *jobtrace.Recorder
	if c.trace != "" {
		rec = jobtrace.New(traceLimit)
		defer d.Observe(rec.Observe)()
	}
	e := &env{dev: d, g: g, quick: c.quick, opts: opts}
	if same, cross, src := d.DependencyCosts(); src != "" {
		e.note("placement (H4): a dependency wait costs %v on one VkQueue, %v across two (%s)", same, cross, src)
	} else {
		e.note("placement (H4): dependency costs unknown (one compute VkQueue per family, nothing to place)")
	}
	date := time.Now().UTC()
	var rows []row
	var failed error // the first workload that failed: the ones after it do not run
	for _, wl := range workloads {
		if (c.only != "" && c.only != wl.name) || slices.Contains(skip, wl.name) {
			continue
		}
		r, err := wl.run(e)
		rows = append(rows, r...)
		if err != nil {
			// The figures measured so far are still printed and written, and the error
			// returned after them.
			failed = fmt.Errorf("%s: %w", wl.name, err)
			// Let the device finish what it was given before freeing what it uses.
			g.VK.WaitIdle()
			break
		}
	}
	g.Close()
	if err := d.Close(context.Background()); err != nil && failed == nil {
		return err
	}
	info := d.Info()
	if c.format == "gobench" {
		printGobench(w, info, date, rows)
	} else {
		printTable(w, info, date, rows)
	}
	for _, n := range e.notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if c.json != "" {
		if err := writeJSON(c.json, info, date, c, rows, e.notes); err != nil {
			return err
		}
	}
	if c.svg != "" {
		if err := writeSVG(c.svg, info, date, rows); err != nil {
			return err
		}
	}
	if rec != nil {
		svg, err := rec.WriteFiles(c.trace)
		if err != nil {
			return err
		}
		_, dropped := rec.Records()
		// On standard error: standard output may be gobench lines that tools parse.
		fmt.Fprintf(os.Stderr, "job timeline: %s (Chrome/Perfetto trace JSON), %s (SVG)", c.trace, svg)
		if dropped > 0 {
			fmt.Fprintf(os.Stderr, "; the first %d jobs only, %d more dropped", traceLimit, dropped)
		}
		fmt.Fprintln(os.Stderr)
	}
	if failed != nil {
		return failed
	}
	mu.Lock()
	defer mu.Unlock()
	if len(msgs) > 0 {
		return fmt.Errorf("%d validation messages, first: %s", len(msgs), msgs[0])
	}
	return nil
}
