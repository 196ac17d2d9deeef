package vkdep

import (
	"fmt"
	"sync/atomic"
	"time"

	"vkdep.dev/internal/vk"
)

// Test-only views of internals that the behaviour tests check.

// SetAbortGrace sets blame's abortGrace (T7) and returns a function that restores it.
func SetAbortGrace(d time.Duration) (restore func()) {
	old := abortGrace.Swap(int64(d))
	return func() { abortGrace.Store(old) }
}

// JobDeps is the number of dependencies j keeps after D1–D3 filtering.
func JobDeps(j *Job) int { return len(j.deps) }

// SetFault installs the binding's fault-injection hook on d (V1 tests).
func SetFault(d *Device, hook func(vk.FaultPoint) error) { d.vk.SetFault(hook) }

// DebugQueue describes q's queued jobs, for diagnosing a stuck schedule.
func DebugQueue(q *Queue) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	c, _ := q.dev.vk.Counter(q.tl.sem)
	s := fmt.Sprintf("%s counter=%d seen=%d done=%d submitted=%d stopped=%v killed=%v closed=%v dead=%v finished=%v\n",
		q.tl.name, c, q.tl.seen.Load(), q.tl.done.Load(), q.submitted.Load(), q.stopped, q.killed, q.closed, q.dead, q.finished)
	dump := func(kind string, l *jobList) {
		for i := range l.len() {
			j := l.at(i)
			s += fmt.Sprintf("  %s value=%d state=%d skip=%v err=%v registered=%v cost=%d\n", kind, j.value, j.state, j.skip, j.err, j.registered, j.cost)
			for _, f := range j.deps {
				s += fmt.Sprintf("    dep %s %d completed=%v err=%v\n", f.tl.name, f.value, f.Completed(), f.Err())
			}
			for _, f := range j.gpuDeps {
				s += fmt.Sprintf("    gpuDep %s %d completed=%v\n", f.tl.name, f.value, f.Completed())
			}
		}
	}
	dump("inflight", &q.inflight)
	dump("pending", &q.pending)
	return s
}

// SetFlushHook installs fn, called at the start of every flush of any queue (after resolve chose
// the batch, before it is submitted), with the queue's lock held; nil removes it.
func SetFlushHook(fn func(*Queue)) { setHook(&flushHook, fn) }

// SetFlushCheckedHook installs fn, called in every flush after its D6 check of the batch's
// dependencies and before the batch's submits are built, with the queue's lock held; nil removes
// it.
func SetFlushCheckedHook(fn func(*Queue)) { setHook(&flushCheckedHook, fn) }

func setHook(h *atomic.Pointer[func(*Queue)], fn func(*Queue)) {
	if fn == nil {
		h.Store(nil)
		return
	}
	h.Store(&fn)
}

// LiveSemaphores is the number of timeline semaphores of d's queues and host timelines that exist
// (created, not destroyed): X4's churn test shows it stays flat.
func LiveSemaphores(d *Device) int64 { return d.sems.Load() }

// OnBeforeDestroy makes Close call fn once the device is idle, before anything is destroyed: a
// test that lets Close finish its queues frees its own objects on the device there.
func OnBeforeDestroy(d *Device, fn func()) { d.beforeDestroy = fn }

// WaitingForTurn reports whether q is recorded as waiting for a turn of its VkQueue's arbiter
// (H1–H3): tests wait for it before releasing a blocked VkQueue, so that the order they check
// is the arbiter's, not the order in which the queues' workers happened to run.
func WaitingForTurn(q *Queue) bool {
	q.mu.Lock()
	a := &q.hw.arb
	q.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	return q.turnWait
}
