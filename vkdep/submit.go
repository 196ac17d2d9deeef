package vkdep

import (
	"errors"
	"runtime/trace"
	"sync/atomic"

	"vkdep.dev/internal/vk"
)

// maxBatch bounds the jobs of one vkQueueSubmit2 (B1). Larger batches gain little, and up to 32
// submit infos the C side builds the structs on its stack.
const maxBatch = 32

// submitScratch holds the arrays of one vkQueueSubmit2, embedded in Queue and reused under q.mu:
// the submit path allocates nothing.
type submitScratch struct {
	batch []*Job
	descs []vk.SubmitDesc
	ops   []vk.SemOp
	cmds  []vk.CommandBuffer
}

// flushHook and flushCheckedHook are test seams (export_test.go): called at the start of each
// flush, and after its D6 check, queue lock held.
var flushHook, flushCheckedHook atomic.Pointer[func(*Queue)]

// pump submits, in value order (O1), every job at the head of the queue that can go now: its
// dependencies are complete or pending on this device (D4), the queue is not stopped (S1) and
// credits allow (C1); or it is to be skipped (killed, closed, failed dependency), which only needs
// its value signalled (O5). Ready jobs leave in one vkQueueSubmit2 (B1). It stops at the first job
// that cannot go, so nothing overtakes it. The caller holds q.mu; flush releases it during the
// submit itself. inCaller says the caller is the pushing goroutine (bypass, P1) rather than the
// worker. It is the one submission path of a queue: bypass and worker differ only in the goroutine
// (P2). The completion goroutine never calls it: it must not wait for a VkQueue's lock.
func (q *Queue) pump(inCaller bool) {
	if q.submitting {
		// The submitting/again hand-off (Queue.submitting): the goroutine inside this queue's
		// vkQueueSubmit2 looks at the pending jobs again when it returns (O1).
		q.again = true
		return
	}
	defer q.settleTurn()
	for {
		if q.dead == nil && q.dev.isLost.Load() {
			// Lost, and the queue's share of it (deviceGone) has not run yet: nothing more
			// may reach the driver.
			q.dead = q.dev.lostErr()
		}
		if q.finished || q.dead != nil {
			// No semaphore to signal any more (freed, or its device is gone): pushed jobs
			// complete on the CPU, on the completion goroutine.
			if q.pending.len() > 0 && q.pending.at(0).state != jobArmed {
				q.dev.waiter.post(q.drainCPU)
			}
			return
		}
		q.batch = q.batch[:0]
		for n := 0; n < q.pending.len() && len(q.batch) < maxBatch; n++ {
			j := q.pending.at(n)
			if j.state == jobArmed {
				break // waits for its Push: nothing after it may go first
			}
			if !j.skip {
				ready, depErr := q.resolve(j)
				if ready && j.readyAt == 0 {
					j.readyAt = now()
					j.phase("ready")
				}
				if depErr != nil && !q.opts.RunOnDependencyError {
					// D6: the dependency failed; the job does not run.
					q.skipLocked(j, because(ErrDependency, depErr))
				} else if ready {
					ready = q.admit(j)
				}
				if !ready && !j.skip {
					break
				}
				if !j.skip {
					q.creditsUsed += j.cost
				}
			}
			q.batch = append(q.batch, j)
		}
		if len(q.batch) == 0 {
			return
		}
		for range q.batch {
			q.pending.pop()
		}
		full := len(q.batch) == maxBatch
		q.flush(inCaller)
		again := q.again
		q.again = false
		if !full && !again {
			return
		}
		if inCaller {
			// More to submit, some of it pushed by others meanwhile: that is the worker's
			// job, not the pushing goroutine's, which would otherwise keep submitting
			// for everybody.
			q.kick()
			return
		}
	}
}

// admit reports whether job j, whose dependencies allow it, may be submitted now: the queue is
// not stopped (S1), credits allow (C1) and the VkQueue's arbiter gives the queue the turn rather
// than another queue sharing it (H1–H3). The turn is asked for last: it is taken when given.
func (q *Queue) admit(j *Job) bool {
	switch {
	case q.stopped:
		return false
	case q.creditsUsed+j.cost > q.credits:
		return false
	}
	return q.turn(j)
}

// resolve reports whether j's dependencies let it be submitted now, or the error of one that
// failed. A dependency is satisfied when it has completed (D1) or when it is a fence of another
// queue of this device whose signal has been submitted: the job then waits for it on the GPU (D4).
// Anything else — a host timeline, another device, a producer not yet submitted — is resolved on
// the CPU (D5): the job registers for a wake-up once and stays.
func (q *Queue) resolve(j *Job) (ready bool, failed error) {
	ready = q.admitted() // not behind another queue's GPU-side host wait (hostwait.go)
	for _, f := range j.deps {
		if err := depFailed(f); err != nil && !q.opts.RunOnDependencyError {
			return false, err
		}
		if f.Completed() {
			continue
		}
		if q.gpuWaitable(f) {
			continue
		}
		ready = false
	}
	if !ready && !j.registered {
		// Every dependency gets its wake-ups, without looking at it again: one that completed
		// since the loop above still calls back (OnDone of a completed fence does), where
		// skipping it would lose the only wake-up the job was going to get.
		j.registered = true
		for _, f := range j.deps {
			if p := f.tl.queue; p != nil && p.dev == q.dev {
				p.onSubmitted(f.value, q)
			}
			f.OnDone(q.kickFn)
		}
	}
	return ready, nil
}

// flush submits q.batch in one vkQueueSubmit2. Each job gets one VkSubmitInfo2 that waits for the
// queue's previous value — queue order is a GPU-side dependency too, so a job sees the memory
// writes of the one before it (D3) — and for its GPU-side dependencies, runs its command buffers
// and signals its value. A run of skipped jobs becomes one signal-only submit of the run's last
// value: reaching it reaches every value below, in order, with no host-signal race (O5).
//
// The jobs join inflight before the submit, and q.mu is released while it waits for the VkQueue's
// lock and submits: that lock may be held for long by another queue's submit or the application's
// vkQueuePresentKHR (which lavapipe runs to completion behind every job queued before it, a hung
// one included), and the completion goroutine, the timeout watch and Kill must still get q.mu
// meanwhile: the submitting/again hand-off (Queue.submitting).
func (q *Queue) flush(inCaller bool) {
	if h := flushHook.Load(); h != nil {
		(*h)(q)
	}
	if !q.opts.RunOnDependencyError {
		// D6: a dependency may have failed, or its producer been doomed, since resolve found
		// the job ready. Looked at here, under q.mu, with nothing of the batch submitted yet:
		// from now on a dependency not complete becomes a GPU-side wait, whose producer can
		// no longer be doomed (it was submitted with its work) and whose later failure D7
		// catches at retirement.
		for _, j := range q.batch {
			if j.skip {
				continue
			}
			for _, f := range j.deps {
				if err := depFailed(f); err != nil {
					q.creditsUsed -= j.cost
					q.skipLocked(j, because(ErrDependency, err))
					break
				}
			}
		}
	}
	if h := flushCheckedHook.Load(); h != nil {
		(*h)(q)
	}
	q.descs, q.ops, q.cmds = q.descs[:0], q.ops[:0], q.cmds[:0]
	sem := q.tl.sem
	ord := q.dev.order // D3 by semaphore wait or by submission order (order.go)
	self := func(v uint64, hasCmds bool) uint32 {
		if v <= 1 || (ord.bySubmission && !hasCmds) {
			return 0
		}
		q.ops = append(q.ops, vk.SemOp{Semaphore: sem, Value: v - 1, Stage: vk.StageAllCommands})
		return 1
	}
	ran := 0
	for i := 0; i < len(q.batch); {
		j := q.batch[i]
		if !j.skip {
			q.pinDeps(j)
		}
		if j.skip {
			// A skipped job still passes its application semaphores through, without its
			// command buffers: its waits are consumed and its signals happen, so a swapchain
			// acquire is not left signalled and a present or an application's timeline
			// waiting on it is not left hanging. A job that has any gets a submit of its
			// own; a run of jobs that have none collapses into one signal.
			k := i
			for !j.external() && k+1 < len(q.batch) && q.batch[k+1].skip && !q.batch[k+1].external() {
				k++
			}
			waits := self(j.value, false) + uint32(len(j.waits))
			var cmds uint32
			if ord.bySubmission && waits > 0 {
				q.cmds = append(q.cmds, ord.barrierFor(q.hw.family))
				cmds = 1
			}
			q.ops = append(q.ops, j.waits...)
			q.ops = append(q.ops, vk.SemOp{Semaphore: sem, Value: q.batch[k].value, Stage: vk.StageAllCommands})
			q.ops = append(q.ops, j.signals...)
			q.descs = append(q.descs, vk.SubmitDesc{Waits: waits, Cmds: cmds, Signals: 1 + uint32(len(j.signals))})
			i = k + 1
			continue
		}
		waits := self(j.value, len(j.cmds) > 0)
		for _, f := range j.gpuDeps { // pinned by pinDeps
			q.ops = append(q.ops, vk.SemOp{Semaphore: f.tl.sem, Value: f.value, Stage: vk.StageAllCommands})
			if f.tl.queue == nil {
				j.hostHeld = true // a host point, waited on the GPU (D5)
			}
			waits++
		}
		if j.hostHeld {
			q.holdLocked(j)
		}
		q.ops = append(q.ops, j.waits...)
		waits += uint32(len(j.waits))
		cmds := uint32(len(j.cmds))
		if ord.bySubmission && cmds == 0 && waits > 0 {
			q.cmds = append(q.cmds, ord.barrierFor(q.hw.family))
			cmds++
		}
		q.cmds = append(q.cmds, j.cmds...)
		q.ops = append(q.ops, vk.SemOp{Semaphore: sem, Value: j.value, Stage: vk.StageAllCommands})
		q.ops = append(q.ops, j.signals...)
		q.descs = append(q.descs, vk.SubmitDesc{Waits: waits, Cmds: cmds, Signals: 1 + uint32(len(j.signals))})
		ran++
		i++
	}

	for _, j := range q.batch {
		j.vkq = uint16(q.hw.pos + 1)
		q.inflight.push(j)
	}
	q.submitting = true
	q.mu.Unlock()
	region := trace.StartRegion(q.batch[0].traceCtx(), "vkdep.submit")
	q.hw.mu.Lock()
	err := q.dev.vk.Submit(q.hw.handle, q.descs, q.ops, q.cmds)
	seq := q.hw.graves.submits.Add(1)
	q.hw.mu.Unlock()
	region.End()
	t := now()
	q.mu.Lock()
	if err != nil {
		err = q.submitFailed(err)
	}
	q.submitting = false
	if q.drainLater {
		q.drainLater = false
		q.dev.waiter.post(q.drainCPU)
	}
	if q.reachLater {
		q.reachLater = false
		q.dev.waiter.post(q.recheckTask)
	}
	if err == nil {
		q.stats.SubmitCalls++
		if inCaller {
			q.stats.Bypassed += uint64(ran)
		} else {
			q.stats.WorkerSubmitted += uint64(ran)
		}
	}
	for _, j := range q.batch {
		j.state = jobSubmitted
		j.hwSeq = seq
		if !j.skip {
			j.submittedAt, j.batch, j.bypass = t, uint16(ran), inCaller
			j.phase("submitted")
		}
	}
	last := q.batch[len(q.batch)-1].value
	clear(q.batch)
	if err == nil {
		// Only signals that reached the driver may be waited on by dependents (D4): after a
		// failed submit the values are reached on the CPU, never on the semaphore.
		q.submitted.Store(last)
		q.notifySubmitted(last)
		q.dev.waiter.submitted(&q.tl, q.descs, q.ops) // a parked watch thread of the single waiter waits again (F3)
	}
	q.updateDeadlineLocked()
}

// submitFailed handles a vkQueueSubmit2 that returned an error. A lost device is marked lost,
// which completes everything (V1). Any other error fails the batch's jobs: their values are still
// reached, by a signal-only submit, so nothing is left pending (O3); if even that fails the device
// is treated as lost. It returns nil when the values will be reached by the GPU.
func (q *Queue) submitFailed(err error) error {
	werr := q.dev.vkErr("vkQueueSubmit2 on "+q.tl.name, err)
	if errors.Is(werr, ErrDeviceLost) {
		return werr
	}
	q.log.Error("vkdep: submit failed; failing the batch", "queue", q.opts.Name, "err", werr)
	for _, j := range q.batch {
		if !j.skip {
			q.creditsUsed -= j.cost
		}
		j.skip = true
		if j.err == nil {
			j.err = werr
		}
		// Its value is reached by the signal-only submit below: a failed dependency from now
		// on (D4).
		q.doom(j.value, j.err)
	}
	first, last := q.batch[0].value, q.batch[len(q.batch)-1].value
	q.ops = q.ops[:0]
	desc := vk.SubmitDesc{Signals: 1}
	if first > 1 {
		q.ops = append(q.ops, vk.SemOp{Semaphore: q.tl.sem, Value: first - 1, Stage: vk.StageAllCommands})
		desc.Waits = 1
	}
	q.ops = append(q.ops, vk.SemOp{Semaphore: q.tl.sem, Value: last, Stage: vk.StageAllCommands})
	q.descs = append(q.descs[:0], desc)
	q.mu.Unlock() // as in flush: never wait for the VkQueue's lock holding q.mu
	q.hw.mu.Lock()
	err2 := q.dev.vk.Submit(q.hw.handle, q.descs, q.ops, nil)
	q.hw.graves.submits.Add(1)
	q.hw.mu.Unlock()
	q.mu.Lock()
	if err2 != nil {
		q.dev.markLost("vkQueueSubmit2 on "+q.tl.name, err2)
		return q.dev.lostErr()
	}
	return nil
}

// pinDeps decides, once for each dependency of j, whether it is complete (no wait; with an
// error, j is skipped: D6) or becomes a GPU-side wait (j.gpuDeps). A producer queue is pinned
// (gpuRefs) before the deciding look, so that one not complete then cannot finish and free its
// semaphore before the wait is submitted and retired. The caller holds q.mu (flush).
func (q *Queue) pinDeps(j *Job) {
	var failed error
	for _, f := range j.deps {
		// A dependency complete at the first look (the usual case) stays complete: no wait, no
		// pin. One that is not gets its producer's queue pinned before the look that decides.
		if !f.Completed() {
			p := f.tl.queue
			pinned := p != nil && p.dev == q.dev
			if pinned {
				p.gpuRefs.Add(1)
			}
			if !f.Completed() {
				j.gpuDeps = append(j.gpuDeps, f)
				continue
			}
			if pinned {
				unpin(p)
			}
		}
		if err := f.Err(); err != nil && failed == nil && !q.opts.RunOnDependencyError {
			failed = err
		}
	}
	if failed == nil {
		return
	}
	for _, f := range j.gpuDeps {
		if p := f.tl.queue; p != nil {
			unpin(p)
		}
	}
	clear(j.gpuDeps)
	j.gpuDeps = j.gpuDeps[:0]
	q.creditsUsed -= j.cost
	q.skipLocked(j, because(ErrDependency, failed))
}

// unpin drops a pin of pinDeps; the last one lets a closed producer finish (maybeFinish gave up
// while it was held).
func unpin(p *Queue) {
	if p.gpuRefs.Add(-1) == 0 {
		p.dev.waiter.post(p.maybeFinish)
	}
}
