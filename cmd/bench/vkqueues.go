package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"vkdep.dev/vkdep"
)

// Which VkQueues a variant used, and how its queues' GPU phases overlapped: every row names the
// VkQueues it ran on (a dependency across two VkQueues can cost far more than one on one, so
// figures mean little without it), and the pipeline's parallel branches are checked for overlap.

// vkqTracker records the JobRecords of the named queues, from Device.Observe.
type vkqTracker struct {
	mu   sync.Mutex
	recs []vkdep.JobRecord
}

// track starts recording; stop ends it.
func track(d *vkdep.Device) (*vkqTracker, func()) {
	t := &vkqTracker{}
	stop := d.Observe(func(r vkdep.JobRecord) {
		t.mu.Lock()
		t.recs = append(t.recs, r)
		t.mu.Unlock()
	})
	return t, stop
}

// take returns the records seen since the last take and forgets them.
func (t *vkqTracker) take() []vkdep.JobRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.recs
	t.recs = nil
	return r
}

// vkqNames says which VkQueues the records' jobs ran on: "VkQueue 1", "VkQueues 1+2".
func vkqNames(recs []vkdep.JobRecord) string {
	var used []int
	for _, r := range recs {
		if r.VkQueue > 0 && !slices.Contains(used, r.VkQueue) {
			used = append(used, r.VkQueue)
		}
	}
	return vkqList(used...)
}

func vkqList(pos ...int) string {
	pos = slices.Clone(pos)
	slices.Sort(pos)
	pos = slices.Compact(pos)
	s := make([]string, len(pos))
	for i, p := range pos {
		s[i] = fmt.Sprint(p)
	}
	if len(s) == 1 {
		return "VkQueue " + s[0]
	}
	return "VkQueues " + strings.Join(s, "+")
}

// computeVkQueues returns up to n VkQueues (1-based) that can run compute work, all of one
// family: the last ones of the family with the most such VkQueues, which vkdep's default
// placement (least used, first on a tie) reaches last, so pinned and placed queues of one
// workload do not share.
func computeVkQueues(d *vkdep.Device, n int) []int {
	var best []int
	for _, f := range d.Info().QueueFamilies {
		if !f.Compute {
			continue
		}
		var pos []int
		for i, q := range d.VkQueues() {
			if q.Family == f.Index {
				pos = append(pos, i+1)
			}
		}
		if len(pos) > len(best) {
			best = pos
		}
	}
	return best[len(best)-min(n, len(best)):]
}

// overlap is how much the GPU phases of two queues' jobs overlapped, pairing their k-th jobs: the
// sum of the overlaps over the sum of the shorter phase of each pair (0: one after the other, 1:
// fully side by side). A job's GPU phase is taken as from when it was submitted and its
// dependencies were done (start of each pair: the later of its own Submitted and after's Done
// for the k-th job of after) to its Done: from the records, not GPU timestamps, so an estimate.
func overlap(recs []vkdep.JobRecord, a, b, after string) (float64, int) {
	by := func(name string) []vkdep.JobRecord {
		var out []vkdep.JobRecord
		for _, r := range recs {
			if r.Queue == name {
				out = append(out, r)
			}
		}
		slices.SortFunc(out, func(x, y vkdep.JobRecord) int { return x.Done.Compare(y.Done) })
		return out
	}
	ra, rb, rp := by(a), by(b), by(after)
	var both, shorter time.Duration
	n := min(len(ra), len(rb))
	for k := range n {
		start := func(r vkdep.JobRecord) time.Time {
			s := r.Submitted
			// The producer's k-th job of this pair (the pipeline's readback is every other
			// job of its queue: its SAXPY jobs are the even ones).
			if 2*k < len(rp) && rp[2*k].Done.After(s) {
				s = rp[2*k].Done
			}
			return s
		}
		sa, sb := start(ra[k]), start(rb[k])
		ea, eb := ra[k].Done, rb[k].Done
		la, lb := ea.Sub(sa), eb.Sub(sb)
		if la <= 0 || lb <= 0 {
			continue
		}
		shorter += min(la, lb)
		end := ea
		if eb.Before(end) {
			end = eb
		}
		if d := end.Sub(later(sa, sb)); d > 0 {
			both += d
		}
	}
	if shorter == 0 {
		return 0, n
	}
	return float64(both) / float64(shorter), n
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
