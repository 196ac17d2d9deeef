package vkdep

import (
	"sync"
	"sync/atomic"
)

// What other queues learn about a queue's values before they complete: which signals have been
// handed to the driver (D4: a dependent may wait for them on the GPU from then on) and which
// values vkdep has decided to fail (D4, D6: a dependent must not). Fence.WaitSubmitted waits here
// too.

// subNotify is the queue's "submitted" notification, embedded in Queue. Its fields are guarded by
// subMu, a leaf lock (taken under q.mu, never the other way), except the atomics.
type subNotify struct {
	// submitted is the highest value whose signal operation has been handed to the driver
	// (D4: dependents may wait for it GPU-side from then on).
	submitted atomic.Uint64
	subMu     sync.Mutex
	subWaits  []subWait     // dependents waiting for a value to be submitted
	subCh     chan struct{} // closed at the next submit, for Fence.WaitSubmitted; nil: nobody waits
	// doomed lists the values vkdep has decided to fail (skipped, killed, failed dependency, behind
	// a ban) that have not completed yet, under subMu: from that decision on they are failed
	// dependencies (D4, D6), even while their signal-only submit is on its way. ndoomed lets
	// resolve skip the lock while there are none.
	doomed  []doomSpan
	ndoomed atomic.Int32
}

type subWait struct {
	value uint64
	q     *Queue
}

// depFailed returns the error of dependency f if it completed with one, or if vkdep has decided to
// fail it (D4, D6): a skipped, killed or doomed producer whose value may already be signalled, or
// about to be, by a signal-only submit. A GPU-side wait on that signal would run the consumer's
// work on the strength of a producer that never ran.
func depFailed(f Fence) error {
	// The doomed list first: a value leaves it only once done has moved past it, so missing it
	// there means Completed below is true.
	if p := f.tl.queue; p != nil {
		if err := p.doomedErr(f.value); err != nil {
			return &FenceError{Timeline: p.tl.name, Value: f.value, Err: err}
		}
	}
	if f.Completed() {
		return f.Err()
	}
	return nil
}

// doomSpan records that the values [from, to] of a queue are decided to fail with err.
type doomSpan struct {
	from, to uint64
	err      error
}

// doom records that value v will complete with err without running (D4, D6). The caller holds
// q.mu; spans already completed are dropped, so the list stays as short as what is pending.
func (q *Queue) doom(v uint64, err error) {
	q.subMu.Lock()
	done := q.tl.done.Load()
	keep := q.doomed[:0]
	for _, s := range q.doomed {
		if s.to > done {
			keep = append(keep, s)
		}
	}
	clear(q.doomed[len(keep):])
	q.doomed = keep
	if n := len(q.doomed); n > 0 && q.doomed[n-1].to+1 == v && sameErr(q.doomed[n-1].err, err) {
		q.doomed[n-1].to = v
	} else {
		q.doomed = append(q.doomed, doomSpan{from: v, to: v, err: err})
	}
	q.ndoomed.Store(int32(len(q.doomed)))
	// Consumers waiting for v's submit learn now that it failed, not when its signal-only
	// submit gets through (which may sit behind hung work).
	q.kickSubWaitsLocked(v, v)
	q.subMu.Unlock()
}

// doomedErr returns the error value v was decided to fail with, nil if none.
func (q *Queue) doomedErr(v uint64) error {
	if q.ndoomed.Load() == 0 {
		return nil
	}
	q.subMu.Lock()
	defer q.subMu.Unlock()
	for _, s := range q.doomed {
		if s.from <= v && v <= s.to {
			return s.err
		}
	}
	return nil
}

// onSubmitted asks q to kick dep once value's signal has been submitted.
func (q *Queue) onSubmitted(value uint64, dep *Queue) {
	q.subMu.Lock()
	if q.submitted.Load() >= value {
		q.subMu.Unlock()
		dep.kick()
		return
	}
	q.subWaits = append(q.subWaits, subWait{value, dep})
	q.subMu.Unlock()
}

// submitSignal returns a channel closed at the next submit of q (Fence.WaitSubmitted). It is made
// only when somebody waits, so submits allocate nothing otherwise.
func (q *Queue) submitSignal() <-chan struct{} {
	q.subMu.Lock()
	if q.subCh == nil {
		q.subCh = make(chan struct{})
	}
	ch := q.subCh
	q.subMu.Unlock()
	return ch
}

func (q *Queue) notifySubmitted(value uint64) {
	q.subMu.Lock()
	if q.subCh != nil {
		close(q.subCh)
		q.subCh = nil
	}
	q.kickSubWaitsLocked(0, value)
	q.subMu.Unlock()
}

// kickSubWaitsLocked kicks the dependents waiting for a value in [lo, hi] and forgets them. The
// caller holds q.subMu.
func (q *Queue) kickSubWaitsLocked(lo, hi uint64) {
	keep := q.subWaits[:0]
	for _, w := range q.subWaits {
		if lo <= w.value && w.value <= hi {
			w.q.kick()
		} else {
			keep = append(keep, w)
		}
	}
	clear(q.subWaits[len(keep):])
	q.subWaits = keep
}
