// Command bench measures vkdep against raw Vulkan on the default device (a GPU when present,
// else lavapipe) and prints one table row per workload and variant.
//
//	go run ./cmd/bench [-device SEL] [-quick] [-workload NAME] [-validate]
//
// Every figure is measured in the same run as its raw-Vulkan yardstick, so ratios are comparable
// even on a noisy machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/vkdep"
)

type row struct {
	workload, variant string
	jobs              int
	elapsed           time.Duration
	ratioTo           string // variant of the same workload this row is compared with
}

func (r row) nsPerJob() float64 { return float64(r.elapsed.Nanoseconds()) / float64(r.jobs) }
func (r row) jobsPerSec() float64 {
	return float64(r.jobs) / r.elapsed.Seconds()
}

type env struct {
	dev   *vkdep.Device
	g     *gpu.Ctx
	quick bool
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
	{"submit", runSubmit},
	{"queue", runQueue},
}

func main() {
	device := flag.String("device", "", "device: index, name substring or lavapipe (default $VKDEP_DEVICE, then the best)")
	quick := flag.Bool("quick", false, "small job counts: the whole suite in seconds")
	only := flag.String("workload", "", "run only this workload")
	validate := flag.Bool("validate", false, "run with the Khronos validation layer (slow; for checking, not timing)")
	flag.Parse()
	if err := run(*device, *quick, *only, *validate); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(device string, quick bool, only string, validate bool) error {
	var msgs []string
	d, err := vkdep.Open(vkdep.Options{Device: device, Validate: validate, AppName: "vkdep bench",
		OnValidation: func(m vkdep.ValidationMessage) { msgs = append(msgs, m.String()) }})
	if err != nil {
		return err
	}
	g, err := gpu.New(d)
	if err != nil {
		d.Close(context.Background())
		return err
	}
	e := &env{dev: d, g: g, quick: quick}
	var rows []row
	for _, w := range workloads {
		if only != "" && only != w.name {
			continue
		}
		r, err := w.run(e)
		if err != nil {
			err = fmt.Errorf("%s: %w", w.name, err)
		}
		rows = append(rows, r...)
		if err != nil {
			g.Close()
			d.Close(context.Background())
			return err
		}
	}
	g.Close()
	if err := d.Close(context.Background()); err != nil {
		return err
	}
	print(d.Info(), rows)
	if len(msgs) > 0 {
		return fmt.Errorf("%d validation messages, first: %s", len(msgs), msgs[0])
	}
	return nil
}

func print(info vkdep.DeviceInfo, rows []row) {
	fmt.Printf("device: %s\ndate:   %s\n\n", info, time.Now().UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tvariant\tjobs\tjobs/s\tns/job\tratio\t")
	base := map[string]row{}
	for _, r := range rows {
		base[r.workload+"/"+r.variant] = r
	}
	for _, r := range rows {
		ratio := ""
		if b, ok := base[r.workload+"/"+r.ratioTo]; ok && r.ratioTo != "" {
			ratio = fmt.Sprintf("%.2f× %s", r.jobsPerSec()/b.jobsPerSec(), r.ratioTo)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.0f\t%s\t\n", r.workload, r.variant, r.jobs, r.jobsPerSec(), r.nsPerJob(), ratio)
	}
	tw.Flush()
}
