package jobtrace

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"vkdep.dev/vkdep"
)

// SVG layout, in pixels.
const (
	svgWidth   = 1200.0
	svgMargin  = 16.0
	svgFont    = 12.0
	svgLaneH   = 14.0
	svgRowGap  = 10.0
	svgTop     = 64.0 // title and legend
	svgAxisH   = 28.0
	svgMaxLane = 8 // lanes per queue; jobs beyond overlap in the last lane
)

// Phase colours; a job that failed or never ran gets a red outline.
var phaseColour = map[string]string{"waiting": "#c8c8c8", "ready": "#f2b134", "gpu": "#2f6db5"}

const failColour = "#c0392b"

// WriteSVG draws the records as a timeline: one band per queue, jobs from Arm to Done laid out in
// lanes so overlapping jobs of one queue do not hide each other, each phase in its colour, with a
// tooltip per job. Times are milliseconds from the first Arm.
func (r *Recorder) WriteSVG(w io.Writer) error {
	recs, dropped := r.Records()
	qs := queues(recs)
	groups := byQueue(recs)

	var t0, t1 time.Time // the first Arm (records come in Arm order) and the last Done
	if len(recs) > 0 {
		t0 = recs[0].Armed
	}
	for _, rec := range recs {
		if rec.Done.After(t1) {
			t1 = rec.Done
		}
	}
	span := max(t1.Sub(t0), time.Microsecond)

	labelW := 0.0
	for _, k := range qs {
		labelW = max(labelW, float64(len(k.label()))*svgFont*0.6)
	}
	plotX := svgMargin + labelW + 10
	plotW := svgWidth - plotX - svgMargin
	x := func(t time.Time) float64 { return plotX + plotW*float64(t.Sub(t0))/float64(span) }

	// Lanes: each job takes the first lane of its queue free at its Arm.
	type placed struct {
		rec  vkdep.JobRecord
		lane int
	}
	laid := map[uint64][]placed{}
	lanes := map[uint64]int{}
	for _, k := range qs {
		var free []time.Time // per lane: when its last job ends
		for _, rec := range groups[k.id] {
			lane := -1
			for i, end := range free {
				if !rec.Armed.Before(end) {
					lane = i
					break
				}
			}
			if lane < 0 {
				if len(free) < svgMaxLane {
					free = append(free, time.Time{})
					lane = len(free) - 1
				} else {
					lane = svgMaxLane - 1
				}
			}
			if rec.Done.After(free[lane]) {
				free[lane] = rec.Done
			}
			laid[k.id] = append(laid[k.id], placed{rec, lane})
		}
		lanes[k.id] = max(1, len(free))
	}

	height := svgTop + svgAxisH + svgMargin
	for _, k := range qs {
		height += float64(lanes[k.id])*svgLaneH + svgRowGap
	}

	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="%.0f">`+"\n",
		svgWidth, height, svgWidth, height, svgFont)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	title := fmt.Sprintf("vkdep jobs: %d jobs on %d queues over %s", len(recs), len(qs), span.Round(time.Microsecond))
	if dropped > 0 {
		title += fmt.Sprintf(" (%d more dropped)", dropped)
	}
	p(`<text x="%.0f" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", svgMargin, esc(title))
	lx := svgMargin
	for _, ph := range []string{"waiting", "ready", "gpu"} {
		p(`<rect x="%.0f" y="34" width="14" height="10" fill="%s"/><text x="%.0f" y="43">%s</text>`+"\n", lx, phaseColour[ph], lx+18, legend[ph])
		lx += 18 + float64(len(legend[ph]))*svgFont*0.6 + 16
	}
	p(`<rect x="%.0f" y="34" width="14" height="10" fill="none" stroke="%s" stroke-width="2"/><text x="%.0f" y="43">failed or never ran</text>`+"\n", lx, failColour, lx+18)

	// Time axis with round ticks.
	axisY := svgTop
	step := tickStep(span)
	p(`<g class="axis" stroke="#999">`)
	for t := time.Duration(0); t <= span; t += step {
		tx := x(t0.Add(t))
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke-dasharray="2,3"/>`, tx, axisY, tx, height-svgMargin)
	}
	p("</g>\n")
	for t := time.Duration(0); t <= span; t += step {
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`+"\n", x(t0.Add(t)), axisY-4, esc(fmtMillis(t)))
	}

	y := axisY + 8
	for i, k := range qs {
		h := float64(lanes[k.id]) * svgLaneH
		if i%2 == 1 {
			p(`<rect x="%.0f" y="%.1f" width="%.0f" height="%.1f" fill="#f4f6f8"/>`+"\n", svgMargin, y-2, svgWidth-2*svgMargin, h+4)
		}
		p(`<text x="%.0f" y="%.1f">%s</text>`+"\n", svgMargin, y+svgLaneH-3, esc(k.label()))
		for _, pl := range laid[k.id] {
			ly := y + float64(pl.lane)*svgLaneH
			writeJob(p, pl.rec, ly, x)
		}
		y += h + svgRowGap
	}
	p("</svg>\n")
	return bw.Flush()
}

var legend = map[string]string{
	"waiting": "waiting for dependencies",
	"ready":   "ready, not yet submitted",
	"gpu":     "submitted, until its fence completed",
}

// writeJob draws one job in the lane at y: its phases as bars (the GPU phase full height, the
// CPU phases thinner), and a tooltip.
func writeJob(p func(string, ...any), rec vkdep.JobRecord, y float64, x func(time.Time) float64) {
	p(`<g class="job">`)
	tip := fmt.Sprintf("queue %q value %d", rec.Queue, rec.Value)
	for _, ph := range Phases(rec) {
		tip += fmt.Sprintf("\n%s %s", ph.Name, ph.End.Sub(ph.Start).Round(time.Microsecond))
	}
	if rec.Bypass {
		tip += "\nsubmitted by the pushing goroutine (bypass)"
	}
	if rec.Batch > 1 {
		tip += fmt.Sprintf("\none of %d jobs in its vkQueueSubmit2", rec.Batch)
	}
	if rec.Err != nil {
		tip += "\nerror: " + rec.Err.Error()
	}
	p(`<title>%s</title>`, esc(tip))
	for _, ph := range Phases(rec) {
		x0, x1 := x(ph.Start), x(ph.End)
		w := math.Max(x1-x0, 0.5)
		top, hh := y+4, svgLaneH-8
		if ph.Name == "gpu" {
			top, hh = y+1, svgLaneH-2
		}
		p(`<rect x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="%s"/>`, x0, top, w, hh, phaseColour[ph.Name])
	}
	if rec.Err != nil || rec.Submitted.IsZero() {
		x0 := x(rec.Armed)
		p(`<rect x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="none" stroke="%s"/>`, x0, y+1, math.Max(x(rec.Done)-x0, 0.5), svgLaneH-2, failColour)
	}
	p("</g>\n")
}

// tickStep picks a round step giving 5–12 ticks over span.
func tickStep(span time.Duration) time.Duration {
	raw := float64(span) / 8
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if mag*m >= raw {
			return max(time.Duration(mag*m), 1)
		}
	}
	return time.Duration(mag * 10)
}

func fmtMillis(d time.Duration) string {
	ms := float64(d) / 1e6
	s := fmt.Sprintf("%.3f", ms)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + " ms"
}

// esc escapes s for SVG text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}
