// Package jobtrace records the jobs of a vkdep Device and writes them as a timeline: Chrome trace
// JSON (open it in https://ui.perfetto.dev or chrome://tracing) and an SVG picture that any
// browser shows.
//
//	rec := jobtrace.New(0)
//	stop := dev.Observe(rec.Observe)
//	... run jobs ...
//	stop()
//	rec.WriteFiles("run.trace.json") // and run.trace.svg
//
// Each job is drawn from Arm to the completion of its fence, in three phases: waiting (armed,
// its dependencies not met yet: other queues' work not submitted, host timelines not signalled),
// ready (dependencies met, waiting for credits, a stopped queue or the worker) and gpu (its
// vkQueueSubmit2 returned; until the completion goroutine saw its value). A job that never ran
// (killed, failed dependency, closed queue) has only the waiting phase and its error.
package jobtrace

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"vkdep.dev/vkdep"
)

// Recorder keeps the JobRecords it observes, up to a limit. Its methods are safe for concurrent
// use; Observe is cheap (an append under a lock) and never blocks on anything but that lock.
type Recorder struct {
	mu      sync.Mutex
	limit   int
	recs    []vkdep.JobRecord
	dropped int
}

// DefaultLimit is the number of records a Recorder keeps when New is given 0.
const DefaultLimit = 1 << 20

// New returns a Recorder keeping up to limit records (0: DefaultLimit); later ones are counted
// and dropped.
func New(limit int) *Recorder {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return &Recorder{limit: limit}
}

// Observe records one job. Pass it to vkdep.Device.Observe.
func (r *Recorder) Observe(rec vkdep.JobRecord) {
	r.mu.Lock()
	if len(r.recs) < r.limit {
		r.recs = append(r.recs, rec)
	} else {
		r.dropped++
	}
	r.mu.Unlock()
}

// Records returns a copy of the records so far, ordered by arm time, and how many were dropped.
func (r *Recorder) Records() (recs []vkdep.JobRecord, dropped int) {
	r.mu.Lock()
	recs, dropped = slices.Clone(r.recs), r.dropped
	r.mu.Unlock()
	slices.SortStableFunc(recs, func(a, b vkdep.JobRecord) int { return a.Armed.Compare(b.Armed) })
	return recs, dropped
}

// Phase is one phase of a job: "waiting", "ready" or "gpu".
type Phase struct {
	Name       string
	Start, End time.Time
}

// Phases splits a record into the phases it went through, skipping those it never reached.
func Phases(rec vkdep.JobRecord) []Phase {
	var ps []Phase
	end := rec.Done
	if !rec.Submitted.IsZero() {
		end = rec.Submitted
	}
	waitEnd := end
	if !rec.Ready.IsZero() {
		waitEnd = rec.Ready
	}
	ps = append(ps, Phase{"waiting", rec.Armed, waitEnd})
	if !rec.Ready.IsZero() {
		ps = append(ps, Phase{"ready", rec.Ready, end})
	}
	if !rec.Submitted.IsZero() {
		ps = append(ps, Phase{"gpu", rec.Submitted, rec.Done})
	}
	return ps
}

// queueKey identifies a queue across records.
type queueKey struct {
	id   uint64
	name string
	vkq  int
}

func (k queueKey) label() string {
	return fmt.Sprintf("queue %q (VkQueue %d)", k.name, k.vkq)
}

// queues lists the queues of recs in order of first appearance.
func queues(recs []vkdep.JobRecord) []queueKey {
	var ks []queueKey
	seen := map[uint64]bool{}
	for _, r := range recs {
		if !seen[r.QueueID] {
			seen[r.QueueID] = true
			ks = append(ks, queueKey{r.QueueID, r.Queue, r.VkQueue})
		}
	}
	return ks
}

// chromeEvent is one event of the Chrome trace event format.
type chromeEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"` // microseconds
	Pid  uint64         `json:"pid"`
	Tid  uint64         `json:"tid"`
	ID   string         `json:"id,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// WriteChrome writes the records as Chrome trace event JSON. Each queue is a process (named after
// the queue), each job a nestable async slice "value N" holding its phases, so overlapping jobs
// of one queue get rows of their own. Times are microseconds from the first Arm.
func (r *Recorder) WriteChrome(w io.Writer) error {
	recs, dropped := r.Records()
	var t0 time.Time
	if len(recs) > 0 {
		t0 = recs[0].Armed
	}
	us := func(t time.Time) float64 { return float64(t.Sub(t0).Nanoseconds()) / 1e3 }
	var evs []chromeEvent
	for i, k := range queues(recs) {
		evs = append(evs,
			chromeEvent{Name: "process_name", Ph: "M", Pid: k.id, Args: map[string]any{"name": k.label()}},
			chromeEvent{Name: "process_sort_index", Ph: "M", Pid: k.id, Args: map[string]any{"sort_index": i}})
	}
	for _, rec := range recs {
		id := fmt.Sprintf("%d.%d", rec.QueueID, rec.Value)
		args := map[string]any{"queue": rec.Queue, "value": rec.Value, "cost": rec.Cost,
			"bypass": rec.Bypass, "batch": rec.Batch}
		if rec.Err != nil {
			args["error"] = rec.Err.Error()
		}
		name := fmt.Sprintf("value %d", rec.Value)
		evs = append(evs, chromeEvent{Name: name, Cat: "job", Ph: "b", Ts: us(rec.Armed), Pid: rec.QueueID, ID: id, Args: args})
		for _, p := range Phases(rec) {
			evs = append(evs,
				chromeEvent{Name: p.Name, Cat: "job", Ph: "b", Ts: us(p.Start), Pid: rec.QueueID, ID: id},
				chromeEvent{Name: p.Name, Cat: "job", Ph: "e", Ts: us(p.End), Pid: rec.QueueID, ID: id})
		}
		evs = append(evs, chromeEvent{Name: name, Cat: "job", Ph: "e", Ts: us(rec.Done), Pid: rec.QueueID, ID: id})
	}
	doc := struct {
		TraceEvents     []chromeEvent  `json:"traceEvents"`
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData"`
	}{evs, "ms", map[string]any{"producer": "vkdep/jobtrace", "jobs": len(recs), "dropped": dropped}}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteFiles writes the Chrome trace JSON to path and the SVG timeline beside it, with the
// extension replaced by .svg ("run.trace.json" → "run.trace.svg"). It returns the SVG's path.
func (r *Recorder) WriteFiles(path string) (svgPath string, err error) {
	svgPath = strings.TrimSuffix(path, ".json") + ".svg"
	if svgPath == path {
		svgPath = path + ".svg"
	}
	for p, write := range map[string]func(io.Writer) error{path: r.WriteChrome, svgPath: r.WriteSVG} {
		f, err := os.Create(p)
		if err != nil {
			return "", err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("jobtrace: writing %s: %w", p, err)
		}
	}
	return svgPath, nil
}

// byQueue groups records per queue, each group in value order.
func byQueue(recs []vkdep.JobRecord) map[uint64][]vkdep.JobRecord {
	m := map[uint64][]vkdep.JobRecord{}
	for _, r := range recs {
		m[r.QueueID] = append(m[r.QueueID], r)
	}
	for _, g := range m {
		slices.SortFunc(g, func(a, b vkdep.JobRecord) int { return cmp.Compare(a.Value, b.Value) })
	}
	return m
}
