package vkdep

import (
	"container/heap"
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"vkdep.dev/internal/vk"
)

// timeline is the CPU side of one timeline semaphore: the completion record every Fence on it
// reads. Fences of one timeline complete in value order (O2), so the record is a counter — every
// fence at or below done has completed — plus the spans of values that completed with an error.
// Nothing is allocated per fence: a Fence is just (timeline, value).
//
// The record is separate from the semaphore's counter. The counter says what the GPU (or a host
// signal) has reached; done says which fences have reported. They differ when vkdep completes a
// fence without the GPU (a timed-out or lost job, T2 and V1) and briefly while the completion
// goroutine catches up.
type timeline struct {
	dev   *Device
	sem   vk.Semaphore
	name  string        // `queue "render"`, `host timeline "uploads"`: how errors name it
	queue *Queue        // the queue whose timeline this is; nil for a host timeline
	host  *HostTimeline // the host timeline this is; nil for a queue's

	done   atomic.Uint64 // every fence with value <= done has completed, its error fixed (O4)
	hasErr atomic.Bool   // any span recorded: lets Err skip the lock on the success path

	mu    sync.Mutex
	errs  []errSpan // ascending, disjoint
	waits waitHeap  // CPU waiters (Done channels, Wait, callbacks) on values above done

	// seen is the last counter value the completion waiter handed to the queue's reached
	// (complete.go); written by the completion goroutine only. Atomic for blame (T7), which
	// reads it from the completion goroutine of another Device on the same GPU. The wait-any
	// waiter waits for seen+1 on every watched timeline: any progress, so a submit never has
	// to wake it.
	seen atomic.Uint64
}

// errSpan records that the fences with values in (from, to] completed with err.
type errSpan struct {
	from, to uint64
	err      error
}

// waitEntry is one CPU waiter on a value: a channel to close or a callback to run.
type waitEntry struct {
	value uint64
	ch    chan struct{}
	fn    func(error)
	index int
}

type waitHeap []*waitEntry

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].value < h[j].value }
func (h waitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *waitHeap) Push(x any)        { e := x.(*waitEntry); e.index = len(*h); *h = append(*h, e) }
func (h *waitHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// errAt returns the error fence value completed with, nil for success. The caller has seen
// value <= done.
func (t *timeline) errAt(value uint64) error {
	if !t.hasErr.Load() {
		return nil
	}
	t.mu.Lock()
	i := sort.Search(len(t.errs), func(i int) bool { return t.errs[i].to >= value })
	var err error
	if i < len(t.errs) && t.errs[i].from < value {
		err = t.errs[i].err
	}
	t.mu.Unlock()
	if err == nil {
		return nil
	}
	return &FenceError{Timeline: t.name, Value: value, Err: err}
}

// complete reports every fence up to upTo done, those above the current done with err. It runs
// on the completion goroutine only, which keeps completions in order and runs callbacks there
// (E4). A value at or below done is ignored: completion happens once (O3).
func (t *timeline) complete(upTo uint64, err error) {
	t.mu.Lock()
	from := t.done.Load()
	if upTo <= from {
		t.mu.Unlock()
		return
	}
	if err != nil {
		// The error is recorded before done moves, so no reader sees the fence done without
		// its error (O4).
		if n := len(t.errs); n > 0 && t.errs[n-1].to == from && sameErr(t.errs[n-1].err, err) {
			t.errs[n-1].to = upTo
		} else {
			t.errs = append(t.errs, errSpan{from: from, to: upTo, err: err})
		}
		t.hasErr.Store(true)
	}
	t.done.Store(upTo)
	var ready []*waitEntry
	for len(t.waits) > 0 && t.waits[0].value <= upTo {
		ready = append(ready, heap.Pop(&t.waits).(*waitEntry))
	}
	t.mu.Unlock()
	for _, e := range ready {
		if e.ch != nil {
			close(e.ch)
		}
		if e.fn != nil {
			e.fn(t.errAt(e.value))
		}
	}
}

// seal completes every fence of the timeline, present and future, with err: the timeline will
// never move again (device lost or closed).
func (t *timeline) seal(err error) { t.complete(math.MaxUint64, err) }

// addWait registers a waiter on value. It returns false, registering nothing, when the value
// has already completed.
func (t *timeline) addWait(e *waitEntry) bool {
	t.mu.Lock()
	if e.value <= t.done.Load() {
		t.mu.Unlock()
		return false
	}
	heap.Push(&t.waits, e)
	t.mu.Unlock()
	return true
}

// removeWait drops a waiter that gave up (Wait's context ended). Harmless if it already fired.
func (t *timeline) removeWait(e *waitEntry) {
	t.mu.Lock()
	if e.index >= 0 && e.index < len(t.waits) && t.waits[e.index] == e {
		heap.Remove(&t.waits, e.index)
	}
	t.mu.Unlock()
}
