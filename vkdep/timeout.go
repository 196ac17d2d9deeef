package vkdep

import (
	"fmt"
	"sync/atomic"
	"time"
)

// TimeoutAction is OnTimeout's answer about a job that has been on the GPU longer than the
// queue's JobTimeout (T2).
type TimeoutAction int

const (
	// TimeoutBan, the default without a callback: the job's fence completes with ErrTimedOut,
	// then the queue is killed with that cause and its abort word is set (T5).
	TimeoutBan TimeoutAction = iota
	// TimeoutStillRunning is the kernel's NO_HANG: the job is making progress; the clock is
	// re-armed for the same job.
	TimeoutStillRunning
	// TimeoutSignalled says the job finished meanwhile: nothing to do (the clock is re-armed in
	// case it did not).
	TimeoutSignalled
)

// TimedOut describes the job OnTimeout is asked about.
type TimedOut struct {
	Queue *Queue
	Fence Fence         // the job's finished fence
	OnGPU time.Duration // since it became the queue's oldest job on the GPU; a re-arm (TimeoutStillRunning) does not restart it
}

// timeoutWatch is a queue's timeout watch (T1), embedded in Queue: the watched job, since when,
// and the deadline the completion goroutine reads without the lock. Guarded by q.mu, except
// deadline.
type timeoutWatch struct {
	watchedValue uint64
	headSince    int64        // when the watched job became the oldest on the GPU: TimedOut.OnGPU
	clockSince   int64        // where the timeout clock starts: headSince, moved by re-arms and Stop
	stoppedAt    int64        // when Stop paused the clock
	abortedAt    int64        // when Kill (or a ban) set the queue's abort word (now()), for blame (T7); 0 if not
	deadline     atomic.Int64 // unix nanoseconds, 0: none
}

// TriggerTimeout runs the timeout check now, without waiting for the clock (T3): OnTimeout is
// asked about the queue's oldest submitted, incomplete job, if there is one. The check runs on the
// completion goroutine; TriggerTimeout does not wait for it.
func (q *Queue) TriggerTimeout() {
	q.dev.waiter.post(func() { q.checkTimeout(true) })
}

// watchedJob is the job the timeout watch is on: the oldest submitted job whose fence has not
// completed (T1). The caller holds q.mu.
func (q *Queue) watchedJob() *Job {
	done := q.tl.done.Load()
	for i := range q.inflight.len() {
		if j := q.inflight.at(i); j.value > done && !j.skip {
			if j.hostHeld {
				return nil // T1: waiting for the host is not time on the GPU (D5)
			}
			return j
		}
	}
	return nil
}

// updateDeadlineLocked recomputes the timeout deadline after anything that can change it: a
// submit, a completion, Stop, Start, a ban. The clock restarts whenever the watched job changes,
// and does not run while the queue is stopped or has nothing in flight (T1). When the deadline
// appears or moves earlier, the completion goroutine is woken to shorten its wait. The caller holds
// q.mu.
func (q *Queue) updateDeadlineLocked() {
	if q.opts.JobTimeout <= 0 {
		return
	}
	old := q.deadline.Load()
	j := q.watchedJob()
	if j == nil || q.stopped {
		if j == nil {
			q.watchedValue = 0
		}
		q.deadline.Store(0)
		return
	}
	if j.value != q.watchedValue {
		q.watchedValue = j.value
		q.headSince = time.Now().UnixNano()
		q.clockSince = q.headSince
	}
	dl := q.clockSince + int64(q.opts.JobTimeout)
	q.deadline.Store(dl)
	if old == 0 || dl < old {
		q.dev.waiter.kick()
	}
}

// deadlineNanos is read by the completion goroutine, which must not take q.mu while holding its
// own lock.
func (q *Queue) deadlineNanos() int64 { return q.deadline.Load() }

// checkTimeout runs on the completion goroutine when the deadline has passed (or now, forced by
// TriggerTimeout) and asks OnTimeout about the watched job.
func (q *Queue) checkTimeout(force bool) {
	now := time.Now().UnixNano()
	q.mu.Lock()
	j := q.watchedJob()
	dl := q.deadline.Load()
	if j == nil || (!force && (q.stopped || dl == 0 || now < dl)) {
		q.mu.Unlock()
		return
	}
	value := j.value
	if err := j.err; err != nil {
		// T6: failed already (submitted behind a banned job, D3), it only waits for the GPU,
		// which work that ignores its abort word may hold for good (T4). There is nothing to
		// ask: its fence completes now with its own error, as the banned job's did (T2), and
		// the clock moves on to the next job. Asking would ban it again, under a bare
		// ErrTimedOut.
		q.mu.Unlock()
		q.tl.complete(value, err)
		q.mu.Lock()
		q.updateDeadlineLocked()
		q.mu.Unlock()
		return
	}
	info := TimedOut{Queue: q, Fence: Fence{tl: &q.tl, value: value}, OnGPU: time.Duration(now - q.headSince)}
	cb := q.opts.OnTimeout
	q.mu.Unlock()

	// T7: blame lands on the job on the GPU longest, GPU-wide; TriggerTimeout asks anyway.
	if !force {
		if guilty, until, ok := q.blamesAnother(); ok {
			q.spare(value, guilty, info.OnGPU, until)
			return
		}
	}

	// Finished meanwhile, and the completion goroutine will retire it this round: no report.
	// The read is timed: the Khronos validation layer records vkGetSemaphoreCounterValue by
	// waiting for its own queue threads to retire the submission that signalled the value read
	// (up to 10 s), which would delay the ban behind a hang; issue 16 saw a timeout fire seconds
	// late under validation on the H200.
	t0 := time.Now()
	c, err := q.dev.vk.Counter(q.tl.sem)
	if d := time.Since(t0); d > slowCounterRead {
		q.log.Warn("vkdep: reading the timeline counter for the timeout check was slow", "queue", q.opts.Name,
			"took", d, "validation", q.dev.info.Validation)
	}
	if err == nil && c >= value {
		return
	}
	action := TimeoutBan
	if cb != nil {
		action = cb(info)
	}
	q.log.Warn("vkdep: job timed out", "queue", q.opts.Name, "value", value, "on_gpu", info.OnGPU, "action", action)
	if action == TimeoutBan {
		q.ban(value, info)
		return
	}
	q.rearm(value)
}

// slowCounterRead is how long checkTimeout's counter read may take before it is logged.
const slowCounterRead = 10 * time.Millisecond

// rearm restarts the clock of the watched job value, if it is still the one watched.
func (q *Queue) rearm(value uint64) {
	q.rearmAt(value, 0)
}

// rearmAt re-arms the watched job value with its next deadline at deadline (unix nanoseconds),
// or a whole JobTimeout from now when deadline is 0.
func (q *Queue) rearmAt(value uint64, deadline int64) {
	q.mu.Lock()
	if q.watchedValue == value {
		// Re-armed: the clock starts again, but OnGPU still counts from when the job became
		// the oldest on the GPU (TimedOut's doc).
		q.clockSince = time.Now().UnixNano()
		if deadline != 0 {
			q.clockSince = min(q.clockSince, deadline-int64(q.opts.JobTimeout))
		}
		q.deadline.Store(0)
	}
	q.updateDeadlineLocked()
	q.mu.Unlock()
}

// ban is T2's default: the job's fence completes with ErrTimedOut now, on the CPU, although its
// GPU work may still be running; then the queue is killed with that cause, which sets the abort
// word (T5). The job itself stays in flight: its release hook waits until its value is reached on
// the semaphore — the GPU really finished with it — or the device is lost (T4).
func (q *Queue) ban(value uint64, info TimedOut) {
	err := fmt.Errorf("%w: on the GPU for %v, over the queue's JobTimeout of %v",
		ErrTimedOut, info.OnGPU.Round(time.Millisecond), q.opts.JobTimeout)
	q.mu.Lock()
	q.stats.TimedOut++
	behind := because(ErrDependency, err)
	for i := range q.inflight.len() {
		j := q.inflight.at(i)
		switch {
		case j.value == value && j.err == nil:
			j.err = err
		case j.value > value && j.err == nil && !j.skip:
			// T6: submitted behind the timed-out job, which queue order made them
			// depend on (D3, D7). Decided to fail from now on, also for their own
			// consumers (D4).
			j.err = behind
			q.doom(j.value, behind)
		}
	}
	q.mu.Unlock()
	// The queue is killed (which sets the abort word, T5) before the fence fails, so that
	// whoever sees the failure also sees a queue that refuses new work. The killed jobs' values
	// land behind the hung one, so they still complete after it (O2).
	q.Kill(err)
	q.tl.complete(value, err)
	q.mu.Lock()
	q.updateDeadlineLocked()
	q.mu.Unlock()
}

func (a TimeoutAction) String() string {
	switch a {
	case TimeoutBan:
		return "ban"
	case TimeoutStillRunning:
		return "still running"
	case TimeoutSignalled:
		return "signalled"
	}
	return fmt.Sprintf("TimeoutAction(%d)", int(a))
}
