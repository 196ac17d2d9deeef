package jobtrace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
	"vkdep.dev/vkdep/jobtrace"
)

// run records a small run on a real device: 30 jobs on queue "a", 30 on "b" each waiting GPU-side
// for its partner on "a" (D4), and 3 jobs on "c" held behind a host timeline and killed.
func run(t *testing.T) *jobtrace.Recorder {
	t.Helper()
	d := vktest.Open(t)
	rec := jobtrace.New(0)
	stop := d.Observe(rec.Observe)
	defer stop()
	newQ := func(name string) *vkdep.Queue {
		q, err := d.NewQueue(vkdep.QueueOptions{Name: name, Bypass: name == "a"})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	a, b, c := newQ("a"), newQ("b"), newQ("c")
	var fences []vkdep.Fence
	for range 30 {
		fa, err := a.Submit(a.NewJob())
		if err != nil {
			t.Fatal(err)
		}
		jb := b.NewJob()
		jb.AddDependency(fa)
		fb, err := b.Submit(jb)
		if err != nil {
			t.Fatal(err)
		}
		fences = append(fences, fa, fb)
	}
	h, err := d.NewHostTimeline("gate")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		j := c.NewJob()
		j.AddDependency(h.Point(1))
		f, err := c.Submit(j)
		if err != nil {
			t.Fatal(err)
		}
		fences = append(fences, f)
	}
	c.Kill(errors.New("traced kill"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, f := range fences {
		err := f.Wait(ctx)
		if f.Timeline() == `queue "c"` {
			if !errors.Is(err, vkdep.ErrKilled) {
				t.Fatalf("%s value %d: %v, want ErrKilled", f.Timeline(), f.Value(), err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// Records are delivered before fences complete: all are in.
	if recs, _ := rec.Records(); len(recs) != 63 {
		t.Fatalf("%d records once every fence completed, want 63", len(recs))
	}
	return rec
}

// TestChromeTrace shows that the trace JSON parses and holds every job of the run with its queue
// and phases, each phase opened and closed in order.
func TestChromeTrace(t *testing.T) {
	rec := run(t)
	var buf bytes.Buffer
	if err := rec.WriteChrome(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			Ts   float64        `json:"ts"`
			Pid  uint64         `json:"pid"`
			ID   string         `json:"id"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("trace JSON does not parse: %v", err)
	}
	procs := map[uint64]string{}
	type job struct {
		queue  string
		phases []string // "b name" / "e name", in order
		err    string
		last   float64
	}
	jobs := map[string]*job{}
	for _, ev := range doc.TraceEvents {
		switch ev.Ph {
		case "M":
			if ev.Name == "process_name" {
				procs[ev.Pid] = ev.Args["name"].(string)
			}
		case "b", "e":
			j := jobs[ev.ID]
			if j == nil {
				j = &job{}
				jobs[ev.ID] = j
			}
			if ev.Ts < j.last {
				t.Fatalf("job %s: event %s %s at %.1f µs goes back in time", ev.ID, ev.Ph, ev.Name, ev.Ts)
			}
			j.last = ev.Ts
			if q, ok := ev.Args["queue"].(string); ok {
				j.queue = q
				if !strings.Contains(procs[ev.Pid], fmt.Sprintf("%q", q)) {
					t.Fatalf("job %s of queue %q drawn in process %q", ev.ID, q, procs[ev.Pid])
				}
			}
			if e, ok := ev.Args["error"].(string); ok {
				j.err = e
			}
			j.phases = append(j.phases, ev.Ph+" "+strings.Fields(ev.Name)[0])
		default:
			t.Fatalf("unexpected event phase %q", ev.Ph)
		}
	}
	count := map[string]int{}
	for id, j := range jobs {
		count[j.queue]++
		got := strings.Join(j.phases, ",")
		want := "b value,b waiting,e waiting,b ready,e ready,b gpu,e gpu,e value"
		if j.queue == "c" {
			want = "b value,b waiting,e waiting,e value"
			if !strings.Contains(j.err, "traced kill") {
				t.Errorf("killed job %s: error %q", id, j.err)
			}
		}
		if got != want {
			t.Errorf("job %s of queue %q: events %s, want %s", id, j.queue, got, want)
		}
	}
	if count["a"] != 30 || count["b"] != 30 || count["c"] != 3 {
		t.Fatalf("jobs per queue %v, want a:30 b:30 c:3", count)
	}
}

// TestSVG shows that the SVG timeline is well-formed XML with one job group per job and a row per
// queue, and that WriteFiles writes both files.
func TestSVG(t *testing.T) {
	rec := run(t)
	var buf bytes.Buffer
	if err := rec.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	jobs, root := 0, ""
	texts := ""
	dec := xml.NewDecoder(&buf)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
			}
			for _, a := range el.Attr {
				if el.Name.Local == "g" && a.Name.Local == "class" && a.Value == "job" {
					jobs++
				}
			}
		case xml.CharData:
			texts += string(el) + "\n"
		}
	}
	if root != "svg" || jobs != 63 {
		t.Fatalf("root <%s> with %d job groups, want <svg> with 63", root, jobs)
	}
	for _, q := range []string{`queue "a"`, `queue "b"`, `queue "c"`, "traced kill"} {
		if !strings.Contains(texts, q) {
			t.Errorf("SVG text does not mention %s", q)
		}
	}

	dir := t.TempDir()
	svg, err := rec.WriteFiles(dir + "/run.trace.json")
	if err != nil {
		t.Fatal(err)
	}
	if svg != dir+"/run.trace.svg" {
		t.Fatalf("SVG written to %s", svg)
	}
	for _, p := range []string{dir + "/run.trace.json", svg} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", p, err)
		}
	}
}
