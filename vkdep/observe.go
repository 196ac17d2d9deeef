package vkdep

import (
	"context"
	"runtime/trace"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Observability: every job carries the times of its phases (arm → push → ready → submitted →
// done) on the monotonic clock. They feed three things, none of which allocates unless asked for:
//
//   - Queue.Stats: push→submit and submit→done latency over the queue's recent jobs;
//   - job observers (Device.Observe): one JobRecord per completed job, which vkdep/jobtrace turns
//     into a Chrome/Perfetto trace and an SVG timeline;
//   - runtime/trace: while `go test -trace` or trace.Start is on, each job is a task with a log
//     entry per phase, and submits and release hooks are regions of it.

// epoch anchors the package's clock: now() is nanoseconds since it, read from the monotonic
// clock, so a JobRecord's times convert back to time.Time without allocating.
var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

func stamp(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return epoch.Add(time.Duration(ns))
}

// JobRecord is the life of one job, as a job observer sees it when the job's fence completes. A phase the job never reached has a zero time: a killed or skipped job is never
// Ready or Submitted.
type JobRecord struct {
	Queue   string // the queue's name
	QueueID uint64 // unique among the device's queues, for telling apart queues of one name
	VkQueue int    // the VkQueue its submit went to (1 + its index in Device.VkQueues); 0 if none
	Value   uint64 // the job's value on the queue's timeline
	Cost    int

	Armed     time.Time // Arm gave it its value
	Pushed    time.Time // Push handed it to the queue
	Ready     time.Time // its dependencies were met (complete, or submitted on this device: D4)
	Submitted time.Time // its vkQueueSubmit2 returned (or its value's signal-only submit)
	Done      time.Time // the completion goroutine saw its value reached and completed its fence

	Bypass bool  // submitted in the pushing goroutine (P1)
	Batch  int   // jobs in the vkQueueSubmit2 that carried it (B1); 0 if it was never submitted
	Err    error // what its fence completed with
}

type observer struct{ fn func(JobRecord) }

// Observe calls fn with the record of every job of the device whose fence completes from now on,
// until the returned stop function is called. fn runs on the device's completion goroutine just
// before the job's fence completes (so a goroutine woken by the fence finds the record already
// delivered), and before its release hook; it must not block or wait on fences. Several observers
// may be active; stop is idempotent. Observing costs nothing while no observer is set.
func (d *Device) Observe(fn func(JobRecord)) (stop func()) {
	o := &observer{fn}
	d.obsMu.Lock()
	d.setObservers(append(slices.Clone(d.loadObservers()), o))
	d.obsMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.obsMu.Lock()
			d.setObservers(slices.DeleteFunc(slices.Clone(d.loadObservers()), func(x *observer) bool { return x == o }))
			d.obsMu.Unlock()
		})
	}
}

func (d *Device) loadObservers() []*observer {
	if p := d.observers.Load(); p != nil {
		return *p
	}
	return nil
}

func (d *Device) setObservers(obs []*observer) {
	if len(obs) == 0 {
		d.observers.Store(nil)
		return
	}
	d.observers.Store(&obs)
}

// record is j's JobRecord. Completion goroutine, after its fence completed.
func (q *Queue) record(j *Job) JobRecord {
	return JobRecord{
		Queue: q.opts.Name, QueueID: q.id, VkQueue: int(j.vkq), Value: j.value, Cost: j.cost,
		Armed: stamp(j.armedAt), Pushed: stamp(j.pushedAt), Ready: stamp(j.readyAt),
		Submitted: stamp(j.submittedAt), Done: stamp(j.doneAt),
		Bypass: j.bypass, Batch: int(j.batch), Err: j.err,
	}
}

// Stats is a snapshot of a queue's counters.
type Stats struct {
	Pushed          uint64 // jobs pushed
	Bypassed        uint64 // submitted in the pushing goroutine (P1)
	WorkerSubmitted uint64 // submitted by the queue's worker
	SubmitCalls     uint64 // vkQueueSubmit2 calls: Bypassed+WorkerSubmitted over this is jobs per call
	Skipped         uint64 // completed without running: failed dependency, closed queue
	Killed          uint64 // completed with ErrKilled without running
	Completed       uint64 // fences completed
	TimedOut        uint64 // jobs banned by the timeout watch
	InFlight        int    // submitted, not yet complete
	Pending         int    // armed or pushed, not yet submitted
	CreditsInUse    int

	// Latencies over the queue's most recent 1024 jobs that ran (skipped and killed jobs are not
	// counted): from Push until its vkQueueSubmit2 returned (time spent waiting for
	// dependencies, credits, a stopped queue or the worker), and from then until the completion
	// goroutine completed its fence (GPU time plus completion latency).
	PushToSubmit Latency
	SubmitToDone Latency
}

// Stats returns a snapshot of the queue's counters and latencies. It does not block on the GPU;
// summarising the latencies takes a few tens of microseconds.
func (q *Queue) Stats() Stats {
	var a, b latencySnap
	q.mu.Lock()
	s := q.stats
	s.InFlight = q.inflight.len()
	s.Pending = q.pending.len()
	s.CreditsInUse = q.creditsUsed
	q.pushToSub.snapshot(&a)
	q.subToDone.snapshot(&b)
	q.mu.Unlock()
	s.PushToSubmit = a.summarise()
	s.SubmitToDone = b.summarise()
	return s
}

// Latency summarises one latency over a queue's most recent jobs that ran (up to 1024).
type Latency struct {
	P50, P99, Max time.Duration
	Last          time.Duration // of the most recent job
	Samples       int           // jobs summarised
}

// latencyWindow is how many recent jobs a Latency covers.
const latencyWindow = 1024

// latencyRing keeps the last latencyWindow samples of one latency. Written under the queue's lock
// by the completion goroutine; a fixed array, so recording allocates nothing.
type latencyRing struct {
	buf [latencyWindow]int64
	n   uint64 // samples ever recorded
}

func (r *latencyRing) add(ns int64) {
	r.buf[r.n%latencyWindow] = ns
	r.n++
}

// snapshot copies the ring into s; the caller holds the queue's lock. summarise sorts the copy
// outside it.
func (r *latencyRing) snapshot(s *latencySnap) {
	s.n = int(min(r.n, latencyWindow))
	copy(s.buf[:s.n], r.buf[:s.n])
	if r.n > 0 {
		s.last = r.buf[(r.n-1)%latencyWindow]
	}
}

type latencySnap struct {
	buf  [latencyWindow]int64
	n    int
	last int64
}

func (s *latencySnap) summarise() Latency {
	if s.n == 0 {
		return Latency{}
	}
	v := s.buf[:s.n]
	slices.Sort(v)
	// Nearest rank: the smallest sample with at least p of them at or below it.
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(v))+0.999999) - 1
		return time.Duration(v[max(0, min(i, len(v)-1))])
	}
	return Latency{P50: rank(0.50), P99: rank(0.99), Max: time.Duration(v[len(v)-1]), Last: time.Duration(s.last), Samples: s.n}
}

// jobTask is a job's runtime/trace task; it exists only for jobs armed while tracing is on.
type jobTask struct {
	ctx  context.Context
	task *trace.Task
}

// startTask makes j a runtime/trace task, when tracing is on.
func (j *Job) startTask() {
	if !trace.IsEnabled() {
		return
	}
	ctx, task := trace.NewTask(context.Background(), "vkdep.job")
	trace.Logf(ctx, "vkdep.queue", "%s value %d", j.q.opts.Name, j.value)
	j.trace = &jobTask{ctx, task}
}

// phase logs that j reached a phase, when j is traced.
func (j *Job) phase(name string) {
	if j.trace != nil {
		trace.Log(j.trace.ctx, "vkdep.phase", name)
	}
}

// traceCtx is the context regions about j belong to.
func (j *Job) traceCtx() context.Context {
	if j.trace != nil {
		return j.trace.ctx
	}
	return context.Background()
}

// endTask ends j's task, once its release hook has run.
func (j *Job) endTask() {
	if j.trace != nil {
		j.trace.task.End()
	}
}

// queueIDs numbers queues for JobRecord.QueueID.
var queueIDs atomic.Uint64
