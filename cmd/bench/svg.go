package main

import (
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"vkdep.dev/vkdep"
)

// svgBar is one bar of the chart: one ratio of one figure.
type svgBar struct {
	workload, variant string
	ratio             ratio
}

// esc escapes s for use as SVG text or an attribute value.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

// textWidth estimates the width in pixels of s in a sans-serif font of the given size.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * 0.6
}

// svgColours: faster than the baseline, slower than it.
const (
	svgFaster = "#1b7837"
	svgSlower = "#c2410c"
)

// writeSVG writes a horizontal bar chart of every ratio of rows to path: one bar per ratio,
// grouped by workload, on a log axis with a reference line at parity (1×).
func writeSVG(path string, info vkdep.DeviceInfo, date time.Time, rows []row) error {
	return os.WriteFile(path, []byte(svgChart(info, date, rows)), 0o644)
}

func svgChart(info vkdep.DeviceInfo, date time.Time, rows []row) string {
	var bars []svgBar
	lo, hi := 0.5, 2.0 // the axis covers at least 0.5× to 2×
	for _, r := range rows {
		for _, x := range ratios(r, rows) {
			if x.Ratio <= 0 || math.IsInf(x.Ratio, 0) || math.IsNaN(x.Ratio) {
				continue
			}
			bars = append(bars, svgBar{workload: r.workload, variant: r.variant, ratio: x})
			lo, hi = min(lo, x.Ratio), max(hi, x.Ratio)
		}
	}
	// Whole decades at both ends, so ticks land on round numbers.
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))

	const (
		font     = 13.0
		barH     = 18.0
		rowH     = 26.0
		groupGap = 12.0
		plotW    = 520.0
		top      = 78.0 // below the title and legend
		margin   = 16.0
	)
	labels := make([]string, len(bars))
	values := make([]string, len(bars))
	labelW, valueW := 0.0, 0.0
	for i, b := range bars {
		labels[i] = b.workload + " · " + b.variant
		values[i] = fmt.Sprintf("%.2f× %s", b.ratio.Ratio, b.ratio.RelativeTo)
		labelW = max(labelW, textWidth(labels[i], font))
		valueW = max(valueW, textWidth(values[i], font))
	}
	plotX := margin + labelW + 10
	xOf := func(v float64) float64 {
		v = min(max(v, lo), hi)
		return plotX + plotW*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}

	// Rows, with a gap between workloads.
	ys := make([]float64, len(bars))
	y := top
	for i, b := range bars {
		if i > 0 && b.workload != bars[i-1].workload {
			y += groupGap
		}
		ys[i] = y
		y += rowH
	}
	plotBottom := y
	captions := []string{
		"ratio = jobs/s of the variant over the named baseline, same run; above 1 is faster.",
		fmt.Sprintf("Log-scale axis (%s to %s): equal distances are equal factors, so 0.1× and 10× sit equally far from parity.", fmtTick(lo), fmtTick(hi)),
		"Latency rows count one sample as one job, so their ratio is the inverse of the mean latency ratio.",
	}
	title := fmt.Sprintf("vkdep bench: %s, %s", info.Name, date.Format("2006-01-02 15:04 MST"))
	width := plotX + plotW + 8 + valueW + margin
	for _, c := range captions {
		width = max(width, margin+textWidth(c, font-1)+margin)
	}
	width = max(width, margin+textWidth(title, 17)+margin)
	width = math.Ceil(width)
	captionTop := plotBottom + 34
	height := math.Ceil(captionTop + float64(len(captions))*18 + 8)

	var s strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&s, format, a...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="%.0f">`+"\n",
		width, height, width, height, font)
	p(`<title>%s</title>`+"\n", esc(title))
	p(`<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", width, height)
	p(`<text x="%.1f" y="28" font-size="17" font-weight="bold" fill="#111">%s</text>`+"\n", margin, esc(title))

	// Legend.
	lx := margin
	for _, l := range []struct{ colour, text string }{
		{svgFaster, "faster than its baseline (> 1×)"},
		{svgSlower, "slower than its baseline (< 1×)"},
	} {
		p(`<rect class="legend" x="%.1f" y="44" width="14" height="14" fill="%s"/>`+"\n", lx, l.colour)
		p(`<text x="%.1f" y="56" fill="#333">%s</text>`+"\n", lx+20, esc(l.text))
		lx += 20 + textWidth(l.text, font) + 24
	}

	// Grid lines and ticks at 1, 2 and 5 of each decade.
	for d := lo; d < hi*1.001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v > hi*1.001 {
				break
			}
			x := xOf(v)
			p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e2e2e2" stroke-width="1"/>`+"\n", x, top-6, x, plotBottom)
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555" font-size="11">%s</text>`+"\n", x, plotBottom+14, esc(fmtTick(v)+"×"))
		}
	}

	// Group bands and bars; then the parity line over the bars, and the labels and values over it
	// (the values carry a white halo, so the line never crosses text out).
	px := xOf(1)
	var texts strings.Builder
	for i, b := range bars {
		if i == 0 || b.workload != bars[i-1].workload {
			end := i
			for end < len(bars) && bars[end].workload == b.workload {
				end++
			}
			if len(groupNames(bars[:i]))%2 == 1 {
				p(`<rect class="band" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f4f4f6"/>`+"\n",
					margin/2, ys[i]-4, width-margin, ys[end-1]+rowH-ys[i])
			}
		}
		cy := ys[i] + barH/2
		fmt.Fprintf(&texts, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#111">%s</text>`+"\n", plotX-10, cy+font*0.35, esc(labels[i]))
		colour := svgFaster
		if b.ratio.Ratio < 1 {
			colour = svgSlower
		}
		x1 := xOf(b.ratio.Ratio)
		p(`<rect class="bar" data-figure="%s" x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s</title></rect>`+"\n",
			esc(b.workload+"/"+b.variant), plotX, ys[i], max(x1-plotX, 1), barH, colour, esc(labels[i]+": "+values[i]))
		fmt.Fprintf(&texts, `<text x="%.1f" y="%.1f" fill="#111" stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke">%s</text>`+"\n",
			x1+6, cy+font*0.35, esc(values[i]))
	}

	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#111" stroke-width="2" stroke-dasharray="5,3"/>`+"\n", px, top-10, px, plotBottom+2)
	s.WriteString(texts.String())

	// The axis and the parity label.
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444" stroke-width="1"/>`+"\n", plotX, top-6, plotX, plotBottom)
	p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold" fill="#111">%s</text>`+"\n", px, plotBottom+30, esc("parity (1×)"))
	if len(bars) == 0 {
		p(`<text x="%.1f" y="%.1f" fill="#555">%s</text>`+"\n", plotX+10, top+14, esc("no figure with a ratio in this run"))
	}

	for i, c := range captions {
		p(`<text x="%.1f" y="%.1f" font-size="%.0f" fill="#333">%s</text>`+"\n", margin, captionTop+14+float64(i)*18, font-1, esc(c))
	}
	p("</svg>\n")
	return s.String()
}

// groupNames lists the workloads of bars in order, each once per run of bars.
func groupNames(bars []svgBar) []string {
	var out []string
	for i, b := range bars {
		if i == 0 || b.workload != bars[i-1].workload {
			out = append(out, b.workload)
		}
	}
	return out
}

// fmtTick formats an axis value: 0.1, 0.5, 1, 20.
func fmtTick(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
