package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// TestQuickSuite runs the program's suite with -quick in-process on the default device (or
// VKDEP_DEVICE's): every workload checks its results on the CPU and fails the run on a wrong one.
// It checks the JSON file, the SVG chart and the gobench lines, never a timing. With -short it runs the chain
// workload only, under the validation layer.
func TestQuickSuite(t *testing.T) {
	c := config{device: os.Getenv("VKDEP_DEVICE"), quick: true, format: "gobench", json: filepath.Join(t.TempDir(), "bench.json")}
	c.svg = filepath.Join(filepath.Dir(c.json), "bench.svg")
	c.trace = filepath.Join(filepath.Dir(c.json), "jobs.trace.json")
	want := make([]string, 0, len(workloads))
	for _, w := range workloads {
		want = append(want, w.name)
	}
	if testing.Short() {
		c.only, c.validate = "chain", true
		want = []string{"chain"}
	}
	var out bytes.Buffer
	err := run(c, &out)
	if errors.Is(err, vkdep.ErrNoDevice) && vktest.SkipAllowed() {
		t.Skipf("no Vulkan device, skipped because VKDEP_SKIP_NO_DEVICE=1: %v", err)
	}
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())

	// -trace: a Chrome trace holding the jobs of every vkdep queue the run used, and its SVG.
	var trace struct {
		TraceEvents []struct {
			Ph   string         `json:"ph"`
			Name string         `json:"name"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if data, err := os.ReadFile(c.trace); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(data, &trace); err != nil {
		t.Fatalf("-trace JSON: %v", err)
	}
	traced := map[string]int{}
	for _, ev := range trace.TraceEvents {
		if q, ok := ev.Args["queue"].(string); ok && ev.Ph == "b" {
			traced[q]++
		}
	}
	if len(traced) == 0 {
		t.Fatalf("-trace recorded no job")
	}
	t.Logf("-trace: jobs per queue %v", traced)
	if svg, err := os.ReadFile(strings.TrimSuffix(c.trace, ".json") + ".svg"); err != nil {
		t.Fatal(err)
	} else if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Fatalf("-trace SVG: %v", err)
	}

	// The JSON: valid, with the device and date, and figures of every workload run.
	data, err := os.ReadFile(c.json)
	if err != nil {
		t.Fatal(err)
	}
	var rep jsonReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, data)
	}
	if rep.Device == "" || rep.Driver == "" || rep.Date == "" {
		t.Errorf("JSON lacks the device, driver or date: %+v", rep)
	}
	workloadOf := map[string]string{ // figure workloads that belong to a suite workload
		"submit": "submit", "round-trip": "submit", "burst64": "queue", "chain": "chain", "pipeline": "pipeline",
		"host-signal": "responsiveness", "kill-10k": "responsiveness", "timeout": "responsiveness", "idle": "idle",
		"priority": "priority", "fair": "priority", "hang": "hang",
	}
	seen := map[string]bool{}
	for _, f := range rep.Figures {
		w, ok := workloadOf[f.Workload]
		if !ok {
			t.Errorf("figure of unknown workload %q", f.Workload)
		}
		seen[w] = true
		if f.Variant == "" || f.Jobs <= 0 || f.NsPerJob <= 0 || f.JobsPerSec <= 0 {
			t.Errorf("incomplete figure %+v", f)
		}
		if (f.Workload == "idle") != (f.CPUPercent != nil) || (f.CPUPercent != nil && *f.CPUPercent < 0) {
			t.Errorf("figure %s/%s: CPU share %v", f.Workload, f.Variant, f.CPUPercent)
		}
		if (f.Ratio != 0) != (f.RelativeTo != "") {
			t.Errorf("figure %s/%s: ratio %v relative to %q", f.Workload, f.Variant, f.Ratio, f.RelativeTo)
		}
		for _, r := range f.Ratios {
			if r.Ratio <= 0 || r.RelativeTo == "" {
				t.Errorf("figure %s/%s: bad ratio %+v", f.Workload, f.Variant, r)
			}
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("JSON has no figure of workload %s", w)
		}
	}
	// The chain compares with its yardsticks: raw on one VkQueue and across two, and
	// completion-gated; every chain, pipeline and host-signal row names its VkQueues.
	chained := 0
	for _, f := range rep.Figures {
		if f.Workload == "chain" && strings.HasPrefix(f.Variant, "vkdep (GPU-side waits)") {
			chained++
			if len(f.Ratios) != 3 {
				t.Errorf("chain figure %+v: want ratios to both raw chains and to completion-gated", f)
			}
		}
		if (f.Workload == "chain" || f.Workload == "pipeline" || f.Workload == "host-signal") && !strings.HasPrefix(f.VkQueues, "VkQueue") {
			t.Errorf("figure %s/%s does not name its VkQueues: %q", f.Workload, f.Variant, f.VkQueues)
		}
	}
	if seen["chain"] && chained != 2 {
		t.Errorf("%d vkdep GPU-side chain figures, want 2 (default placement, forced across two)", chained)
	}
	// T7: a hang bans no bystander (the note counts them, so the GPU run's figure is kept
	// even when it is not 0).
	if seen["hang"] && !slices.ContainsFunc(rep.Notes, func(n string) bool {
		return strings.HasPrefix(n, "hang: innocent queues banned: 0 of ")
	}) {
		t.Errorf("the hang workload banned a bystander, or did not say: %q", rep.Notes)
	}
	if len(rep.Notes) == 0 {
		t.Errorf("JSON has no notes (placement costs, VkQueues that coincide)")
	}

	checkSVG(t, c.svg, rep.Figures)

	// The gobench lines: name, iterations, then value-unit pairs.
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "Benchmark") {
			if k, _, ok := strings.Cut(line, ":"); !ok || strings.ContainsAny(k, " \t") {
				t.Errorf("gobench: line %q is neither a benchmark nor a key: value", line)
			}
			continue
		}
		lines++
		fields := strings.Fields(line)
		if len(fields) < 4 || len(fields)%2 != 0 {
			t.Errorf("gobench: %q: want name, iterations and value-unit pairs", line)
			continue
		}
		if n, err := strconv.Atoi(fields[1]); err != nil || n <= 0 {
			t.Errorf("gobench: %q: iterations %q", line, fields[1])
		}
		for i := 2; i < len(fields); i += 2 {
			if _, err := strconv.ParseFloat(fields[i], 64); err != nil {
				t.Errorf("gobench: %q: value %q: %v", line, fields[i], err)
			}
		}
	}
	if lines != len(rep.Figures) {
		t.Errorf("gobench has %d benchmark lines, JSON %d figures", lines, len(rep.Figures))
	}
}

// checkSVG checks that the chart at path is well-formed XML with an svg root and a bar for
// every figure that has a ratio.
func checkSVG(t *testing.T, path string, figures []jsonFigure) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	bars := map[string]int{} // data-figure of each bar rect
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, data)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Local
		}
		if se.Name.Local != "rect" {
			continue
		}
		var class, figure string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "class":
				class = a.Value
			case "data-figure":
				figure = a.Value
			}
		}
		if class == "bar" {
			bars[figure]++
		}
	}
	if root != "svg" {
		t.Errorf("SVG root element is %q, want svg", root)
	}
	want := 0
	for _, f := range figures {
		if len(f.Ratios) == 0 {
			continue
		}
		want += len(f.Ratios)
		if n := bars[f.Workload+"/"+f.Variant]; n != len(f.Ratios) {
			t.Errorf("SVG has %d bars for %s/%s, want one per ratio (%d)", n, f.Workload, f.Variant, len(f.Ratios))
		}
	}
	if got := strings.Count(string(data), "<rect class=\"bar\""); got != want || want == 0 {
		t.Errorf("SVG has %d bar rects, want %d (one per ratio, at least one)", got, want)
	}
}
