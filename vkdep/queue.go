package vkdep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// QueueOptions configure a Queue. The zero value is a sane queue: 64 credits, no timeout, no
// bypass, jobs with a failed dependency not run.
type QueueOptions struct {
	// Name appears in errors and logs ("queue \"render\"").
	Name string
	// Credits is the credit limit: jobs are submitted only while the cost of the jobs in flight
	// stays within it (C1). 0 means 64.
	Credits int
	// JobTimeout is how long the oldest submitted job may stay on the GPU before OnTimeout is
	// asked about it (T1). 0 disables the timeout watch.
	JobTimeout time.Duration
	// OnTimeout decides what a timed-out job means (T2); nil bans the queue. It runs on the
	// device's completion goroutine and must not block.
	OnTimeout func(TimedOut) TimeoutAction
	// Bypass lets Push submit in the caller's goroutine when nothing is waiting ahead of the job
	// (P1).
	Bypass bool
	// RunOnDependencyError runs jobs whose dependency failed, instead of completing them with
	// ErrDependency without running them (D6); their fences then do not inherit the error (D7)
	// either.
	RunOnDependencyError bool
	// Placement (H4, placement.go). VkQueueIndex pins the queue to
	// Device.VkQueues()[VkQueueIndex-1]; With places it on the VkQueue of another queue of the
	// device (affinity: dependencies between the two cost least there); Exclusive gives it a
	// VkQueue that no other vkdep queue uses while it lives (an error where none is free). At
	// most one of the three. With none, vkdep chooses: the least used VkQueue that can run
	// compute work, so independent queues run side by side, and it may later move the queue,
	// between jobs and within its queue family, next to a queue its jobs keep depending on.
	VkQueueIndex int
	With         *Queue
	Exclusive    bool
	// Priority orders this queue's ready jobs against those of other queues on the same VkQueue
	// (H1–H3, see Options.Scheduling), and places high and realtime queues on VkQueues of a
	// raised global priority where the device has them (H5). The zero value is PriorityNormal.
	Priority Priority
	// Logger receives the queue's diagnostics (kill, close, timeouts). Nil uses the device's.
	Logger *slog.Logger
}

// Queue is a drm_dep queue: one submission context, in order, bound to one VkQueue (several
// Queues may share one). Its fences are values on its own timeline semaphore. Methods are safe for
// concurrent use (E3).
type Queue struct {
	dev  *Device
	hw   *hwQueue // the VkQueue it submits to now; changes only under q.mu, between jobs (H4)
	tl   timeline
	opts QueueOptions
	log  *slog.Logger
	id   uint64 // JobRecord.QueueID

	credits int

	// armMu serialises Arm, and Arm+Push in Submit (L4).
	armMu sync.Mutex

	// The job lists and the queue's state, under mu.
	//
	// The submitting/again hand-off. flush releases mu while it waits for the VkQueue's lock and
	// submits (the VkQueue lock rule, vkqueue.go), with the batch already in inflight. While
	// submitting is set, nobody else may submit for the queue (a later batch would overtake it,
	// O1) or recycle its in-flight jobs: a pump that finds it set records again and leaves, and
	// the submitting pump looks at the pending jobs once more when its submit returns; drainCPU
	// and reached record drainLater and reachLater, and flush posts them when done.
	mu          sync.Mutex
	nextValue   uint64  // last armed value
	pushedUpTo  uint64  // last pushed value
	pending     jobList // armed, not yet submitted, in value order
	inflight    jobList // submitted, not yet retired
	creditsUsed int
	submitting  bool // a goroutine is in flush's vkQueueSubmit2 with mu released
	again       bool // pump was called meanwhile: the submitting goroutine looks again
	drainLater  bool // drainCPU was asked for meanwhile: flush posts it when done
	reachLater  bool // reached stopped at a job being submitted: flush posts it again when done
	stopped     bool
	killed      error // the error killed jobs complete with, once killed
	closed      bool
	dead        error // device lost or closed under the queue: jobs complete on the CPU only
	finished    bool  // Vulkan objects freed, done closed
	stats       Stats
	pushToSub   latencyRing
	subToDone   latencyRing

	submitScratch // submit.go: one vkQueueSubmit2's arrays, reused
	subNotify     // submitted.go: what dependents learn before completion (D4, D6)
	// gpuRefs counts jobs of other queues, in flight, that wait on this timeline on the GPU:
	// the semaphore may not be destroyed before they finish (VUID-vkDestroySemaphore-semaphore-01137).
	gpuRefs atomic.Int64

	kickCh      chan struct{}
	done        chan struct{}
	kickFn      func(error) // q.kick as a fence callback, bound once
	recheckFn   func(error) // re-run completion once a GPU-side producer completes (D7)
	recheckTask func()
	retiring    []*Job // completion goroutine's scratch (complete.go)

	timeoutWatch // timeout.go (T1–T4)
	abortState   // abort.go (T5)
	turnState    // arbiter.go (H1–H3), blame.go (T7)

	place placeInfo // placement.go: how it was placed, its recent dependencies (H4)
	hwait hostHold  // hostwait.go: jobs waiting GPU-side on host points (D5)
}

// NewQueue creates a queue on the device, with its own timeline semaphore and worker goroutine.
func (d *Device) NewQueue(opts QueueOptions) (*Queue, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	if err := opts.Priority.check(); err != nil {
		return nil, err
	}
	hw, err := d.pickVkQueue(opts) // H4, H5
	if err != nil {
		return nil, err
	}
	slot, err := d.abort.take()
	if err != nil {
		d.unpick(hw, opts)
		return nil, err
	}
	sem, err := d.createTimeline()
	if err != nil {
		d.unpick(hw, opts)
		d.abort.put(slot)
		return nil, d.vkErr("vkCreateSemaphore", err)
	}
	q := &Queue{
		dev: d, hw: hw, opts: opts, credits: opts.Credits, abortState: abortState{abortIndex: slot},
		kickCh: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if q.credits <= 0 {
		q.credits = 64
	}
	q.log = opts.Logger
	if q.log == nil {
		q.log = d.log
	}
	q.id = queueIDs.Add(1)
	q.tl = timeline{dev: d, sem: sem, name: fmt.Sprintf("queue %q", opts.Name), queue: q}
	q.kickFn = func(error) { q.kick() }
	// Posted, not called: a completion on one queue must not re-enter another's (or its own)
	// retirement through a chain of callbacks.
	q.recheckTask = func() { q.reached(q.tl.seen.Load()) }
	q.recheckFn = func(error) { d.waiter.post(q.recheckTask) }
	if !d.register(&q.tl, q.deviceGone, true) {
		d.destroySemaphore(sem)
		d.unpick(hw, opts)
		d.abort.put(slot)
		return nil, d.usable()
	}
	d.addQueue(q)
	d.placed(q)
	hw.arb.join(q)
	go q.worker()
	q.log.Debug("vkdep: queue created", "queue", opts.Name, "vkqueue", hw.pos+1, "family", hw.family,
		"credits", q.credits, "priority", opts.Priority, "bypass", opts.Bypass, "job_timeout", opts.JobTimeout)
	return q, nil
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.opts.Name }

// Family is the queue family of the VkQueue the queue submits to: command buffers of its jobs
// must be allocated from a pool of this family. It never changes: vkdep moves a queue only
// between VkQueues of one family (H4).
func (q *Queue) Family() uint32 { return q.place.family }

// VkQueue is the Vulkan queue the queue submits to now, with its lock. A queue vkdep placed
// (no VkQueueIndex, With or Exclusive) may move to another VkQueue of its family between jobs.
func (q *Queue) VkQueue() VkQueue {
	q.mu.Lock()
	h := q.hw
	q.mu.Unlock()
	return VkQueue{Family: h.family, Index: h.index, Handle: uint64(h.handle), Lock: &h.mu}
}

// Semaphore is the raw handle of the queue's timeline semaphore. It is valid until Done closes.
func (q *Queue) Semaphore() uint64 { return uint64(q.tl.sem) }

// Submit arms and pushes j atomically (L4) and returns its fence. Errors are Arm's (the job is
// then not queued and can be fixed or dropped). On a killed or closed queue the job is still armed
// and pushed, its fence completes with the queue's error and its release hook runs; Submit returns
// the fence and that error.
func (q *Queue) Submit(j *Job) (Fence, error) {
	j.mustOwn("Submit")
	if j.q != q {
		panic(fmt.Sprintf("vkdep: Submit of a job of %s to %s", j.q.tl.name, q.tl.name))
	}
	q.armMu.Lock()
	f, err := j.arm()
	if err != nil {
		q.armMu.Unlock()
		return f, err
	}
	q.push(j)
	q.armMu.Unlock()
	q.mu.Lock()
	qerr := q.refusing()
	q.mu.Unlock()
	return f, qerr
}

// refusing is the error jobs pushed now complete with, nil while the queue takes work.
func (q *Queue) refusing() error {
	switch {
	case q.dead != nil:
		return q.dead
	case q.killed != nil:
		return q.killed
	case q.closed:
		return ErrQueueClosed
	}
	return nil
}

func (q *Queue) push(j *Job) {
	q.mu.Lock()
	if j.orphan {
		// Armed before Close and never pushed: already completed with ErrQueueClosed. It is
		// never recycled; from now on it is the queue's like any pushed job (L7).
		j.own.Store(ownQueue)
		q.mu.Unlock()
		return
	}
	if j.state != jobArmed {
		q.mu.Unlock()
		panic(fmt.Sprintf("vkdep: Push of %s value %d: job not armed or pushed twice", q.tl.name, j.value))
	}
	if j.value != q.pushedUpTo+1 {
		q.mu.Unlock()
		panic(fmt.Sprintf("vkdep: Push out of Arm order on %s: value %d pushed while value %d is armed and not pushed",
			q.tl.name, j.value, q.pushedUpTo+1))
	}
	// L7: from here on the job is the queue's; any later use by the caller panics.
	j.own.Store(ownQueue)
	q.pushedUpTo = j.value
	j.state = jobPushed
	j.pushedAt = now()
	j.phase("pushed")
	q.stats.Pushed++
	if err := q.refusing(); err != nil {
		q.skipLocked(j, err)
	} else {
		q.notePush(j) // H4: may move an idle queue next to its producers, before j is submitted
	}
	if q.finished {
		// The worker has exited with the queue: complete the job from here (on the CPU, by
		// the completion goroutine).
		q.pump(false)
	} else if q.opts.Bypass && q.pending.at(0) == j {
		// P1: nothing of the queue waits ahead of j; try to submit it here. pump submits it
		// only if its dependencies are complete or pending on this device, credits allow and
		// the queue is not stopped; otherwise it stays for the worker.
		q.pump(true)
		if q.pending.len() > 0 {
			q.kick()
		}
	} else {
		q.kick()
	}
	q.mu.Unlock()
}

// skipLocked marks j to complete with err without running: its value is still reached on the
// semaphore, in order, by a signal-only submit (O5).
func (q *Queue) skipLocked(j *Job, err error) {
	if j.skip {
		return
	}
	j.skip = true
	j.err = err
	q.doom(j.value, err)
	if errors.Is(err, ErrKilled) {
		q.stats.Killed++
	} else {
		q.stats.Skipped++
	}
}

// kick wakes the worker.
func (q *Queue) kick() {
	select {
	case q.kickCh <- struct{}{}:
	default:
	}
}

func (q *Queue) worker() {
	// Profiles show the worker's time under its queue's name.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("vkdep.queue", q.opts.Name)))
	for {
		select {
		case <-q.kickCh:
		case <-q.done:
			return
		}
		q.mu.Lock()
		q.pump(false)
		q.mu.Unlock()
	}
}

// Stop halts submission to the GPU (S1): work already submitted goes on, Push still queues, the
// timeout watch pauses. Start resumes, in order.
func (q *Queue) Stop() {
	q.mu.Lock()
	if !q.stopped {
		q.stopped = true
		q.stoppedAt = time.Now().UnixNano()
		q.updateDeadlineLocked()
	}
	q.mu.Unlock()
}

// Start resumes submission after Stop.
func (q *Queue) Start() {
	q.mu.Lock()
	if q.stopped {
		q.stopped = false
		// The clock was paused, not reset: it resumes where it stopped.
		q.clockSince += time.Now().UnixNano() - q.stoppedAt
		q.updateDeadlineLocked()
	}
	q.mu.Unlock()
	q.kick()
}

// Kill completes every job not yet submitted, in order, with an error matching ErrKilled and
// cause, without its work ever running (K1); submitted jobs finish normally; later pushes complete
// at once with the same error. Kill is idempotent: the first cause stays. It does not block.
func (q *Queue) Kill(cause error) {
	q.mu.Lock()
	if q.killed == nil {
		q.killed = because(ErrKilled, cause)
		q.aborted.Store(true)
		q.abortedAt = now()
		if !q.finished {
			// T5: cooperative GPU work polling the word exits early. A finished queue's
			// word may belong to another queue now, or be unmapped by Device.Close (X3).
			q.dev.abort.set(q.abortIndex)
		}
		q.log.Info("vkdep: queue killed", "queue", q.opts.Name, "cause", cause)
	}
	for i := range q.pending.len() {
		if j := q.pending.at(i); j.state == jobPushed {
			q.skipLocked(j, q.killed)
		}
	}
	q.mu.Unlock()
	// The worker submits the killed jobs' signals. Kill does not do it itself: it is called
	// by the timeout watch on the completion goroutine, which must never wait for a VkQueue's
	// lock (that may be held, on a shared VkQueue, by whatever waits for the hung work).
	q.kick()
}

// Close stops the queue taking work and returns at once (X1): later pushes complete with
// ErrQueueClosed, jobs already pushed run to completion, then the queue frees its Vulkan objects
// and Done closes. A job armed but not yet pushed completes with ErrQueueClosed. Close is
// idempotent; Kill then Close is the fast teardown.
func (q *Queue) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		for i := range q.pending.len() {
			if j := q.pending.at(i); j.state == jobArmed {
				j.state = jobPushed // completes as if pushed; its late Push is a no-op
				j.orphan = true
				q.stats.Pushed++ // it completes as if pushed
				q.skipLocked(j, ErrQueueClosed)
				q.pushedUpTo = j.value
			}
		}
	}
	q.mu.Unlock()
	q.kick() // the worker submits what is pending; Close does not wait for a VkQueue's lock
	q.maybeFinish()
}

// Done is closed when the queue has been closed, every job pushed to it has completed and been
// released, and its Vulkan objects are freed.
func (q *Queue) Done() <-chan struct{} { return q.done }

func (q *Queue) String() string { return fmt.Sprintf("vkdep.Queue(%s)", q.tl.name) }
