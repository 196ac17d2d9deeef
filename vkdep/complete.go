package vkdep

import (
	"runtime/trace"
)

// The completion side of a queue, on the completion goroutine: the timeline's counter moved
// (reached), jobs retire in order (O2) with their producers' errors (D7), credits come back (C2),
// fences complete, release hooks run (L6); a dead queue's jobs complete on the CPU (drainCPU, V1);
// a closed queue frees its objects once nothing of it is in flight (maybeFinish, X1).

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
	more := q.pending.len() > 0
	if len(retired) > 0 {
		q.lastProgress = t
		q.updateDeadlineLocked()
	}
	// The VkQueue these jobs ran on: a move (placement.go) writes q.hw under q.mu, and may happen
	// as soon as inflight is empty, so it is read here, not after Unlock.
	hw := q.hw
	q.mu.Unlock()
	// The semaphore reached these jobs' values: the VkQueue's submit thread is past their
	// submits, and past every submit before them (retire.go). Read before retire recycles them.
	var seq uint64
	for _, j := range retired {
		seq = max(seq, j.hwSeq)
	}
	if turns > 0 {
		hw.arb.done(q, turns, cost, last, oldest, t)
	}
	q.retire(retired)
	clear(retired)
	q.retiring = retired
	q.dev.reap(hw, seq)
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
			case f.tl.seen.Load() >= f.value:
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
	hw := q.hw // as in reached: read under q.mu
	q.mu.Unlock()
	if turns > 0 {
		hw.arb.done(q, turns, cost, 0, t, t)
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
