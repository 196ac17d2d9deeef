package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"vkdep.dev/vkdep"
)

// ratio is a row's throughput relative to another variant of its workload: above 1 is faster.
type ratio struct {
	Ratio      float64 `json:"ratio"`
	RelativeTo string  `json:"relative_to"`
	// P50 and P99 are, for latency rows, the row's p50 and p99 over the named variant's: the
	// latency multiple (above 1: slower).
	P50 float64 `json:"p50_ratio,omitempty"`
	P99 float64 `json:"p99_ratio,omitempty"`
}

// ratios resolves r's ratioTo against the rows of the same run.
func ratios(r row, rows []row) []ratio {
	var out []ratio
	for _, to := range r.ratioTo {
		for _, b := range rows {
			if b.workload == r.workload && b.variant == to {
				x := ratio{Ratio: r.jobsPerSec() / b.jobsPerSec(), RelativeTo: to}
				if r.p50 > 0 && b.p50 > 0 && b.p99 > 0 {
					x.P50, x.P99 = float64(r.p50)/float64(b.p50), float64(r.p99)/float64(b.p99)
				}
				out = append(out, x)
				break
			}
		}
	}
	return out
}

func printTable(w io.Writer, info vkdep.DeviceInfo, date time.Time, rows []row) {
	fmt.Fprintf(w, "device: %s\ndate:   %s\n", info, date.Format(time.RFC3339))
	fmt.Fprintf(w, "ratio:  jobs/s over the named variant's, same run (above 1: faster); p50/p99: latency rows\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tvariant\tVkQueues\tjobs\tjobs/s\tns/job\tp50\tp99\tratio\t")
	for _, r := range rows {
		var rs []string
		for _, x := range ratios(r, rows) {
			if x.P99 > 0 {
				rs = append(rs, fmt.Sprintf("p50 %.2f×, p99 %.2f× of %s", x.P50, x.P99, x.RelativeTo))
				continue
			}
			rs = append(rs, fmt.Sprintf("%.2f× %s", x.Ratio, x.RelativeTo))
		}
		p50, p99 := "", ""
		if r.p50 > 0 || r.p99 > 0 {
			p50, p99 = r.p50.Round(time.Microsecond/10).String(), r.p99.Round(time.Microsecond/10).String()
		}
		if r.workload == "idle" {
			rs = append(rs, fmt.Sprintf("%.1f %% of a core over %v", r.cpuPercent, r.elapsed.Round(time.Millisecond)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.0f\t%s\t%s\t%s\t\n", r.workload, r.variant, strings.TrimPrefix(strings.TrimPrefix(r.vkqs, "VkQueues "), "VkQueue "), r.jobs, r.jobsPerSec(),
			r.nsPerJob(), p50, p99, strings.Join(rs, ", "))
	}
	tw.Flush()
}

// benchName turns a workload and variant into a Go benchmark name: no spaces.
func benchName(r row) string {
	name := "Benchmark" + strings.ToUpper(r.workload[:1]) + r.workload[1:] + "/" + r.variant
	return strings.Map(func(c rune) rune {
		if unicode.IsSpace(c) {
			return '_'
		}
		return c
	}, name)
}

// printGobench prints the rows in the Go benchmark format (benchstat reads it): one line per
// row, "Name iterations value unit...".
func printGobench(w io.Writer, info vkdep.DeviceInfo, date time.Time, rows []row) {
	fmt.Fprintf(w, "goos: %s\ngoarch: %s\npkg: vkdep.dev/cmd/bench\ndevice: %s\ndriver: %s\ndate: %s\n",
		runtime.GOOS, runtime.GOARCH, info.Name, info.Driver, date.Format(time.RFC3339))
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%.1f ns/op\t%.1f jobs/s", benchName(r), r.jobs, r.nsPerJob(), r.jobsPerSec())
		if r.p50 > 0 || r.p99 > 0 {
			fmt.Fprintf(w, "\t%d p50-ns\t%d p99-ns", r.p50.Nanoseconds(), r.p99.Nanoseconds())
		}
		if r.workload == "idle" {
			fmt.Fprintf(w, "\t%.2f %%-core", r.cpuPercent)
		}
		for _, x := range ratios(r, rows) {
			fmt.Fprintf(w, "\t%.4f x-vs-%s", x.Ratio, strings.Map(func(c rune) rune {
				if unicode.IsSpace(c) {
					return '_'
				}
				return c
			}, x.RelativeTo))
		}
		fmt.Fprintln(w)
	}
}

// jsonFigure is one row in the JSON file.
type jsonFigure struct {
	Workload   string  `json:"workload"`
	Variant    string  `json:"variant"`
	Jobs       int     `json:"jobs"`
	NsPerJob   float64 `json:"ns_per_job"`
	JobsPerSec float64 `json:"jobs_per_sec"`
	// Ratio and RelativeTo repeat the first of Ratios; both are absent for a yardstick.
	Ratio      float64 `json:"ratio,omitempty"`
	RelativeTo string  `json:"relative_to,omitempty"`
	Ratios     []ratio `json:"ratios,omitempty"`
	P50Ns      int64   `json:"p50_ns,omitempty"`
	P99Ns      int64   `json:"p99_ns,omitempty"`
	VkQueues   string  `json:"vkqueues,omitempty"` // which VkQueues it used: "VkQueues 1+2"
	// CPUPercent is an idle row's figure: CPU used by the idle device, % of one core (F3).
	CPUPercent *float64 `json:"cpu_percent,omitempty"`
}

type jsonReport struct {
	Device     string       `json:"device"`
	Driver     string       `json:"driver"`
	DriverInfo string       `json:"driver_info"`
	DeviceType string       `json:"device_type"`
	API        string       `json:"api"`
	Date       string       `json:"date"`
	Quick      bool         `json:"quick"`
	Validate   bool         `json:"validate"`
	Figures    []jsonFigure `json:"figures"`
	Notes      []string     `json:"notes,omitempty"`
}

func writeJSON(path string, info vkdep.DeviceInfo, date time.Time, c config, rows []row, notes []string) error {
	rep := jsonReport{Device: info.Name, Driver: info.Driver, DriverInfo: info.DriverInfo, DeviceType: info.Type,
		API: info.API, Date: date.Format(time.RFC3339), Quick: c.quick, Validate: c.validate, Figures: []jsonFigure{}, Notes: notes}
	for _, r := range rows {
		f := jsonFigure{Workload: r.workload, Variant: r.variant, Jobs: r.jobs, NsPerJob: r.nsPerJob(),
			JobsPerSec: r.jobsPerSec(), Ratios: ratios(r, rows), P50Ns: r.p50.Nanoseconds(), P99Ns: r.p99.Nanoseconds(), VkQueues: r.vkqs}
		if len(f.Ratios) > 0 {
			f.Ratio, f.RelativeTo = f.Ratios[0].Ratio, f.Ratios[0].RelativeTo
		}
		if r.workload == "idle" {
			f.CPUPercent = &r.cpuPercent
		}
		rep.Figures = append(rep.Figures, f)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
