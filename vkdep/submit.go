package vkdep

import (
	"errors"
	"fmt"
	"runtime/trace"
	"sync/atomic"

	"vkdep.dev/internal/vk"
)

// maxBatch bounds the jobs of one vkQueueSubmit2 (B1). Larger batches gain little, and up to 32
// submit infos the C side builds the structs on its stack.
const maxBatch = 32

// flushHook is a test seam (export_test.go): called at the start of each flush, queue lock held.
var flushHook atomic.Pointer[func(*Queue)]

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
		// Another goroutine is inside a vkQueueSubmit2 of this queue, with q.mu released; it
		// looks at the pending jobs again when it returns. Submitting from here would let
		// a later batch overtake it (O1).
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
				switch {
				case depErr != nil && !q.opts.RunOnDependencyError:
					// D6: the dependency failed; the job does not run.
					q.skipLocked(j, because(ErrDependency, depErr))
				case !ready:
				case q.stopped:
					ready = false
				case q.creditsUsed+j.cost > q.credits:
					ready = false
				case !q.turn(j):
					// H1–H3: the VkQueue's arbiter gives the turn to another queue.
					ready = false
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
	keepW := q.subWaits[:0]
	for _, w := range q.subWaits {
		if w.value == v {
			w.q.kick()
		} else {
			keepW = append(keepW, w)
		}
	}
	clear(q.subWaits[len(keepW):])
	q.subWaits = keepW
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
// meanwhile. q.submitting keeps other pumps of the queue (which would reorder), and drainCPU (which
// would recycle the jobs), away until the submit is done.
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
		for _, f := range j.deps {
			if f.Completed() {
				continue
			}
			q.ops = append(q.ops, vk.SemOp{Semaphore: f.tl.sem, Value: f.value, Stage: vk.StageAllCommands})
			j.gpuDeps = append(j.gpuDeps, f)
			if p := f.tl.queue; p != nil {
				p.gpuRefs.Add(1)
			} else {
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
	keep := q.subWaits[:0]
	for _, w := range q.subWaits {
		if w.value <= value {
			w.q.kick()
		} else {
			keep = append(keep, w)
		}
	}
	clear(q.subWaits[len(keep):])
	q.subWaits = keep
	q.subMu.Unlock()
}

// reached runs on the completion goroutine when the timeline's counter has moved to counter. It
// retires the jobs at or below it, in order (O2): completes their fences with their error, a
// dependency error if a producer they waited on GPU-side failed meanwhile (D7), returns their
// credits (C2) and runs their release hooks (L6).
func (q *Queue) reached(counter uint64) {
	retired := q.retiring[:0]
	t := now()
	var turns int32
	var oldest, cost int64
	var last uint64
	q.mu.Lock()
	for q.inflight.len() > 0 {
		j := q.inflight.at(0)
		if j.value > counter {
			break
		}
		if j.state != jobSubmitted {
			// Its submit has not returned yet (the GPU can be that fast): flush still
			// writes to it, so it is retired once flush is done.
			q.reachLater = true
			break
		}
		if !q.producersDone(j) {
			break
		}
		q.inflight.pop()
		j.doneAt = t
		if !j.skip {
			q.creditsUsed -= j.cost
			q.pushToSub.add(j.submittedAt - j.pushedAt)
			q.subToDone.add(t - j.submittedAt)
		}
		if j.err != nil {
			q.noteRetired(j, t) // T7
		}
		if j.turn != 0 {
			if turns == 0 {
				oldest = j.submittedAt
			}
			turns++
			cost += j.turnCost
			last = max(last, j.turn)
		}
		q.stats.Completed++
		retired = append(retired, j)
	}
	if len(retired) > 0 {
		q.lastProgress = t
	}
	more := q.pending.len() > 0
	if len(retired) > 0 {
		q.updateDeadlineLocked()
	}
	q.mu.Unlock()
	// The semaphore reached these jobs' values: the VkQueue's submit thread is past their
	// submits, and past every submit before them (retire.go). Read before retire recycles them.
	var seq uint64
	for _, j := range retired {
		seq = max(seq, j.hwSeq)
	}
	if turns > 0 {
		q.hw.arb.done(q, turns, cost, last, oldest, t)
	}
	q.retire(retired)
	clear(retired)
	q.retiring = retired
	q.dev.reap(q.hw, seq)
	if more && len(retired) > 0 {
		q.kick()
	}
	q.maybeFinish()
}

// producersDone reports whether every producer j waited on GPU-side has completed on the CPU,
// taking a producer's error as j's (D7). If one has not — its value was reached, but its
// completion is still being processed, or it is being failed without the GPU — j waits for it.
func (q *Queue) producersDone(j *Job) bool {
	for i, f := range j.gpuDeps {
		if !f.Completed() {
			switch {
			case f.tl.seen >= f.value:
				// Its value is reached and its queue completes it this round (the usual
				// case): look again next round, with a task bound once, allocation-free.
				q.dev.waiter.post(q.recheckTask)
			case j.waitingOn != i+1:
				// Once per producer: after this one completes, another may be the one
				// still pending, and it needs its own callback.
				j.waitingOn = i + 1
				f.OnDone(q.recheckFn)
			}
			return false
		}
		if err := f.Err(); err != nil && j.err == nil && !q.opts.RunOnDependencyError {
			j.err = because(ErrDependency, err)
		}
	}
	return true
}

// retire completes the jobs' fences, in order, then runs their release hooks and recycles them.
// Completion goroutine only.
func (q *Queue) retire(jobs []*Job) {
	// Observers see a job's record before its fence completes, so a record is there by the time
	// anybody waiting on the fence wakes up.
	if obs := q.dev.loadObservers(); len(obs) > 0 {
		for _, j := range jobs {
			rec := q.record(j)
			for _, o := range obs {
				o.fn(rec)
			}
		}
	}
	for i := 0; i < len(jobs); {
		k := i
		for k+1 < len(jobs) && sameErr(jobs[k+1].err, jobs[i].err) {
			k++
		}
		q.tl.complete(jobs[k].value, jobs[i].err)
		i = k + 1
	}
	for _, j := range jobs {
		j.phase("done")
		if j.release != nil {
			if j.trace != nil {
				trace.WithRegion(j.trace.ctx, "vkdep.release", j.release)
			} else {
				j.release()
			}
		}
		j.endTask()
		for _, f := range j.gpuDeps {
			if p := f.tl.queue; p != nil && p.gpuRefs.Add(-1) == 0 {
				p.maybeFinish()
			}
		}
		if !j.orphan {
			j.reset()
			jobPool.Put(j)
		}
	}
}

// drainCPU completes, on the CPU, the jobs of a queue whose device is gone or whose semaphore has
// been freed (pushes after the queue finished): the semaphore will not move any more. Completion
// goroutine only.
func (q *Queue) drainCPU() {
	var retired []*Job
	q.mu.Lock()
	if q.submitting {
		// A submit of the queue is under way with its jobs already in inflight: they are
		// drained when it returns (flush posts this again).
		q.drainLater = true
		q.mu.Unlock()
		return
	}
	for q.inflight.len() > 0 {
		retired = append(retired, q.inflight.pop())
	}
	for q.pending.len() > 0 && q.pending.at(0).state != jobArmed {
		retired = append(retired, q.pending.pop())
	}
	t := now()
	var turns int32
	var cost int64
	for _, j := range retired {
		if j.turn != 0 {
			turns++
			cost += j.turnCost
		}
		j.doneAt = t
		if j.err == nil {
			j.err = q.dead
		}
		if j.err == nil {
			j.err = ErrQueueClosed
		}
		q.stats.Completed++
	}
	q.creditsUsed = 0
	q.mu.Unlock()
	if turns > 0 {
		q.hw.arb.done(q, turns, cost, 0, t, t)
	}
	q.retire(retired)
	q.maybeFinish()
}

// deviceGone is the queue's part of V1, on the completion goroutine: every job not yet complete
// completes with err, in order, and its release hook runs; later pushes do the same.
func (q *Queue) deviceGone(err error) {
	q.mu.Lock()
	if q.dead == nil {
		q.dead = err
	}
	q.mu.Unlock()
	q.drainCPU()
}

// maybeFinish frees the queue's Vulkan objects and closes Done once it is closed and nothing of it
// or waiting on it is in flight (X1). The semaphore is destroyed on the completion goroutine, after
// it has left the wait set.
func (q *Queue) maybeFinish() {
	q.mu.Lock()
	if q.finished || !q.closed || q.pending.len() > 0 || q.inflight.len() > 0 || q.gpuRefs.Load() > 0 {
		q.mu.Unlock()
		return
	}
	q.finished = true
	pushed := q.stats.Pushed
	q.mu.Unlock()
	q.dev.unregister(&q.tl)
	q.dev.waiter.unwatch(&q.tl, func() {
		// X4: freed once a later completion on the VkQueue shows the driver is done with
		// them (retire.go).
		q.dev.bury(q.hw, q.tl.sem, q.abortIndex)
		q.hw.arb.leave(q)
		q.dev.unplace(q)
		q.dev.removeQueue(q)
		q.log.Debug("vkdep: queue finished", "queue", q.opts.Name, "jobs", pushed)
		close(q.done)
	})
}

func (q *Queue) String() string { return fmt.Sprintf("vkdep.Queue(%s)", q.tl.name) }
