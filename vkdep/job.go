package vkdep

import (
	"fmt"
	"sync"
	"sync/atomic"

	"vkdep.dev/internal/vk"
)

// Job is what an application submits to a Queue: command buffers (raw VkCommandBuffer handles, so
// any Go Vulkan binding can record them), extra semaphores to wait on and signal (swapchain
// acquire and present, the application's own timelines), dependencies on fences, a cost in
// credits and a release hook.
//
// Lifecycle (the kernel's drm_dep rule: everything that can fail happens before Arm, nothing
// after): Queue.NewJob → add command buffers and dependencies → Arm → Push; or Queue.Submit, which
// arms and pushes atomically. A Job belongs to one goroutine until it is pushed (E3); after Push
// the queue owns it and recycles it once its release hook has run, so the caller must not touch
// it again: any use of it after Push (adding to it, pushing it again) panics with a message naming
// the misuse, also once it has been recycled (L7).
type Job struct {
	// own says who owns the job: the caller (from NewJob until Push), the queue, or the pool.
	// Only it is read before ownership is known, atomically, so a Job used after its Push is
	// caught without a data race, also once it has been recycled (L7).
	own atomic.Uint32
	jobFields
}

// Values of Job.own.
const (
	ownNone   uint32 = iota // a Job not made by NewJob (the zero Job)
	ownCaller               // being built, armed: the caller's
	ownQueue                // pushed: the queue's
	ownFree                 // released and back in the pool
)

// jobFields is the state of a job that recycling clears.
type jobFields struct {
	q       *Queue
	value   uint64
	state   jobState
	cmds    []vk.CommandBuffer
	waits   []vk.SemOp // the application's own waits (binary or timeline)
	signals []vk.SemOp // the application's own signals
	deps    []Fence    // deduplicated per timeline (D2)
	cost    int
	release func()

	// Set while queued, under the queue's lock.
	err        error   // what the fence completes with; fixed before the value can be reached
	skip       bool    // reach the value without running the work (killed, closed, failed dependency)
	registered bool    // callbacks for its unresolved dependencies are in place
	waitingOn  int     // 1 + index of the GPU-side producer a completion callback is set on (D7)
	gpuDeps    []Fence // dependencies waited on GPU-side at submission (D4, D7)
	hostHeld   bool    // submitted waiting GPU-side on a host point not yet completed (D5)
	hostFreed  int64   // when its host points completed (now()), 0 if it had none: its GPU time starts then (T1, T7)
	hwSeq      uint64  // number of its VkQueue's submit that carried it, 0 if none (retire.go)
	orphan     bool    // armed, never pushed, completed by Close: kept out of the pool for its late Push
	turn       uint64  // the turn of its VkQueue's arbiter it holds until retired (H2), 0: none
	turnCost   int64   // the GPU time (ns) its turn was charged

	// Observability (observe.go): when each phase was reached, on the package's clock, how it
	// was submitted, and its runtime/trace task while tracing is on.
	armedAt, pushedAt, readyAt, submittedAt, doneAt int64
	batch                                           uint16
	vkq                                             uint16 // 1 + position of the VkQueue it went to
	bypass                                          bool
	trace                                           *jobTask
}

type jobState uint8

const (
	jobNew       jobState = iota
	jobArmed              // has a value, not pushed
	jobPushed             // owned by the queue
	jobSubmitted          // handed to the driver (or its value's signal was)
)

var jobPool = sync.Pool{New: func() any { return new(Job) }}

// NewJob returns an empty job for q, with cost 1. It may come from a pool of recycled jobs.
//
// The returned pointer is valid until the job is pushed. A recycled job may be handed out again by
// a later NewJob: a pointer kept past Push and used once its memory is another job's cannot be
// told from that job's (L7 catches every use until then).
func (q *Queue) NewJob() *Job {
	j := jobPool.Get().(*Job)
	j.q = q
	j.cost = 1
	j.own.Store(ownCaller)
	return j
}

// reset clears j for the pool, keeping its slices' capacity. Ownership moves to the pool first:
// a caller still holding the job then panics before touching what is cleared here (L7).
func (j *Job) reset() {
	j.own.Store(ownFree)
	clear(j.deps)
	clear(j.gpuDeps)
	j.jobFields = jobFields{cmds: j.cmds[:0], waits: j.waits[:0], signals: j.signals[:0], deps: j.deps[:0], gpuDeps: j.gpuDeps[:0]}
}

// mustOwn panics unless the caller owns j: made by NewJob and not pushed yet (L7, E2).
func (j *Job) mustOwn(what string) {
	if j == nil {
		panic("vkdep: " + what + " on a nil Job")
	}
	switch j.own.Load() {
	case ownCaller:
		return
	case ownQueue:
		panic("vkdep: " + what + " on a Job used after its Push (pushed twice, or changed after Push): the queue owns it (L7: a Job may be pushed once)")
	case ownFree:
		panic("vkdep: " + what + " on a Job used after its Push: vkdep has already released and recycled it (L7: a Job may be pushed once)")
	}
	panic("vkdep: " + what + " on a Job not made by Queue.NewJob")
}

// AddCommandBuffers appends raw VkCommandBuffer handles, recorded for a queue family the job's
// queue can run (Queue.Family), executed in order. It returns ErrArmed after Arm, changing nothing.
func (j *Job) AddCommandBuffers(cmds ...uint64) error {
	j.mustOwn("AddCommandBuffers")
	if j.state != jobNew {
		return j.armedErr()
	}
	for _, c := range cmds {
		j.cmds = append(j.cmds, vk.CommandBuffer(c))
	}
	return nil
}

// WaitSemaphore makes the job's submit wait for a semaphore of the application: a binary
// semaphore (value ignored; e.g. a swapchain acquire) or a timeline reaching value, before stage
// (a VkPipelineStageFlags2 mask; 0 means all commands). The application guarantees that the signal
// has been submitted by the time the job can be (for a binary semaphore, before Push: vkdep may
// submit in Push). A job that does not run still waits (see SignalSemaphore). It returns ErrArmed
// after Arm.
func (j *Job) WaitSemaphore(sem, value, stage uint64) error {
	j.mustOwn("WaitSemaphore")
	if j.state != jobNew {
		return j.armedErr()
	}
	if stage == 0 {
		stage = vk.StageAllCommands
	}
	j.waits = append(j.waits, vk.SemOp{Semaphore: vk.Semaphore(sem), Value: value, Stage: stage})
	return nil
}

// SignalSemaphore makes the job's submit also signal a semaphore of the application when its
// work completes: a binary semaphore (value ignored; e.g. for present) or a timeline to value.
// Before presenting, or before any other submit of the application waits on a binary semaphore
// signalled here, wait for the job's submission with Fence.WaitSubmitted: Vulkan requires the
// signal of a binary semaphore to be submitted before its wait is.
//
// A job that does not run (killed, skipped after a failed dependency or on a closed queue) still
// performs its semaphore waits and signals, in order, in a submit without its command buffers:
// the application's swapchain and timelines stay consistent, and its fence carries the error. Only
// where vkdep can no longer submit at all (device lost, or a push after the queue finished) are
// they not signalled; WaitSubmitted then returns the fence's error. It returns ErrArmed after Arm.
func (j *Job) SignalSemaphore(sem, value uint64) error {
	j.mustOwn("SignalSemaphore")
	if j.state != jobNew {
		return j.armedErr()
	}
	j.signals = append(j.signals, vk.SemOp{Semaphore: vk.Semaphore(sem), Value: value, Stage: vk.StageAllCommands})
	return nil
}

// AddDependency makes the job run only after f has completed. A zero or already successful
// fence is dropped (D1); of several fences of one timeline only the latest is kept (D2); a fence
// of the job's own queue is dropped, since queue order implies it (D3). A fence of another Queue of
// the same Device becomes a GPU-side wait (D4); any other is resolved on the CPU (D5). After Arm it
// returns ErrArmed and leaves the job unchanged (L2).
func (j *Job) AddDependency(f Fence) error {
	j.mustOwn("AddDependency")
	if j.state != jobNew {
		return j.armedErr()
	}
	if f.tl == nil || (f.Completed() && f.Err() == nil) || f.tl == &j.q.tl {
		return nil
	}
	for i, d := range j.deps {
		if d.tl == f.tl {
			if f.value > d.value {
				j.deps[i] = f
			}
			return nil
		}
	}
	j.deps = append(j.deps, f)
	return nil
}

// SetCost sets the job's cost in credits (at least 1; default 1). It returns ErrArmed after Arm.
func (j *Job) SetCost(credits int) error {
	j.mustOwn("SetCost")
	if j.state != jobNew {
		return j.armedErr()
	}
	j.cost = max(credits, 1)
	return nil
}

// OnRelease sets the release hook. It runs exactly once (L6), on the device's completion
// goroutine, after the job's fence has completed and the GPU no longer uses anything the job
// referenced: the place to free or reuse its command buffers and resources. It runs for every
// pushed job, also killed, skipped and failed ones. It must not block. It returns ErrArmed after
// Arm.
func (j *Job) OnRelease(fn func()) error {
	j.mustOwn("OnRelease")
	if j.state != jobNew {
		return j.armedErr()
	}
	j.release = fn
	return nil
}

// Fence returns the job's finished fence. Before Arm there is none: it returns ErrNotArmed (L1).
func (j *Job) Fence() (Fence, error) {
	j.mustOwn("Fence")
	if j.state == jobNew {
		return Fence{}, fmt.Errorf("%s: %w", j.q.tl.name, ErrNotArmed)
	}
	return Fence{tl: &j.q.tl, value: j.value}, nil
}

// external reports whether j waits on or signals semaphores of the application.
func (j *Job) external() bool { return len(j.waits)+len(j.signals) > 0 }

func (j *Job) armedErr() error {
	return fmt.Errorf("%s value %d: %w", j.q.tl.name, j.value, ErrArmed)
}

// Arm validates the job and gives it the queue's next timeline value and its finished fence
// (L3). What can fail fails here (L5): a cost above the queue's credit limit (ErrTooBig), a zero
// command-buffer or semaphore handle, a second Arm (ErrArmed); the job is then unchanged and can
// be fixed or dropped. After Arm the job must be pushed, in Arm order, and cannot fail any more.
// Arm and Push of one job must not interleave with Arm of another job of the same queue (L4);
// Queue.Submit does both atomically.
func (j *Job) Arm() (Fence, error) {
	j.mustOwn("Arm")
	j.q.armMu.Lock()
	defer j.q.armMu.Unlock()
	return j.arm()
}

func (j *Job) arm() (Fence, error) {
	q := j.q
	if j.state != jobNew {
		return Fence{}, j.armedErr()
	}
	if j.cost > q.credits {
		return Fence{}, fmt.Errorf("%s: job cost %d above the credit limit %d: %w", q.tl.name, j.cost, q.credits, ErrTooBig)
	}
	for i, c := range j.cmds {
		if c == 0 {
			return Fence{}, fmt.Errorf("%s: command buffer %d is VK_NULL_HANDLE: %w", q.tl.name, i, ErrBadHandle)
		}
	}
	for _, ops := range [][]vk.SemOp{j.waits, j.signals} {
		for _, op := range ops {
			if op.Semaphore == 0 {
				return Fence{}, fmt.Errorf("%s: semaphore is VK_NULL_HANDLE: %w", q.tl.name, ErrBadHandle)
			}
		}
	}
	q.mu.Lock()
	q.nextValue++
	j.value = q.nextValue
	j.state = jobArmed
	j.armedAt = now()
	j.startTask()
	q.pending.push(j)
	q.mu.Unlock()
	return Fence{tl: &q.tl, value: j.value}, nil
}

// Push hands the armed job to its queue, which owns it from now on (L6). It never fails: on a
// killed or closed queue, or a lost device, the job's fence completes with that error and its
// release hook runs. With QueueOptions.Bypass the submit may happen right here, in the caller's
// goroutine (P1). Pushing a job that is not armed, twice, or out of Arm order is a programming
// error and panics (L4, E2).
func (j *Job) Push() {
	j.mustOwn("Push")
	j.q.push(j)
}

// jobList is a FIFO of jobs in value order: a slice used as a ring, so steady state does not
// allocate.
type jobList struct {
	buf        []*Job
	head, size int
}

func (l *jobList) len() int { return l.size }

func (l *jobList) push(j *Job) {
	if l.size == len(l.buf) {
		n := make([]*Job, max(16, 2*len(l.buf)))
		for i := range l.size {
			n[i] = l.buf[(l.head+i)%len(l.buf)]
		}
		l.buf, l.head = n, 0
	}
	l.buf[(l.head+l.size)%len(l.buf)] = j
	l.size++
}

func (l *jobList) at(i int) *Job { return l.buf[(l.head+i)%len(l.buf)] }

func (l *jobList) pop() *Job {
	j := l.buf[l.head]
	l.buf[l.head] = nil
	l.head = (l.head + 1) % len(l.buf)
	l.size--
	return j
}
