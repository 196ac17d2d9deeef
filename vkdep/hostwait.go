package vkdep

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Host points waited on the GPU (D5, revised).
//
// A job that depends on a HostTimeline point is normally held on the CPU until the point is
// signalled. Where its queue is the only vkdep queue on its VkQueue, it is instead submitted at
// once with a GPU-side wait on the host timeline's semaphore: a wait-before-signal, which
// timeline semaphores allow. The stall it causes on that VkQueue can hold up nobody else, and
// when the host signals, the job starts at GPU latency instead of after a CPU round trip.
//
// What keeps "nobody else" true afterwards:
//   - a queue placed on that VkQueue later is held on the CPU (hostGate) until the host points
//     have completed: its jobs would queue behind the stall;
//   - another queue's job that depends on a held job's value treats that value as not yet
//     submitted (hostHold.from) until the host points have completed: a GPU-side wait on it would
//     carry the stall to the consumer's VkQueue. (So such consumers pay the CPU round trip, as
//     before.)
//   - the timeout watch does not run while the watched job waits for the host (T1);
//   - a host timeline that dies (Device.Close, loss) signals its semaphore past every value
//     handed to a GPU wait (HostTimeline.kill): it is only ever host-signalled, so that signal
//     cannot race a GPU signal (VUID-VkSemaphoreSignalInfo-value-03258). The waiting job's value
//     lands and its fence completes with the point's error as ErrDependency (D7).
//
// Only on devices vkdep opened: on a wrapped device the application submits to the same
// VkQueues and would queue behind the stall. Applications that submit to a VkQueue of an opened
// device themselves (Device.VkQueues) should place their vkdep queues elsewhere, or know that
// their submits may wait for a host point a vkdep job waits on. Fences of another Device are
// still resolved on the CPU: a semaphore of one VkDevice cannot be waited on by another without
// external-semaphore export, which vkdep does not set up.

// hostHold is a queue's record of its jobs in flight that wait GPU-side on host points.
type hostHold struct {
	n         int           // such jobs, under q.mu
	from      atomic.Uint64 // the lowest such value, 0 for none
	mu        sync.Mutex
	waiters   []*Queue // consumers to kick when from moves
	clearTask func()   // posted when a host point a job waits on completes
	clearFn   func(error)
}

// hostGate is a VkQueue's record of GPU-side host waits on it: while n > 0, jobs of queues other
// than owner are held on the CPU. n is written under mu, and is atomic so that admitted, which
// pump calls for every job of every queue on the VkQueue, need not take mu while it is 0.
type hostGate struct {
	mu      sync.Mutex
	owner   *Queue
	n       atomic.Int32
	waiters []*Queue
}

// gpuWaitable reports whether the not yet completed dependency f of a job of q can be waited on
// GPU-side now: a value of another queue of the device whose signal has been submitted (D4) and
// is not stuck behind a host point, or a point of a host timeline of the device when q's VkQueue
// carries no other vkdep queue (D5). The caller holds q.mu.
func (q *Queue) gpuWaitable(f Fence) bool {
	if p := f.tl.queue; p != nil {
		if p.dev != q.dev || p.submitted.Load() < f.value {
			return false
		}
		if from := p.hwait.from.Load(); from == 0 || from > f.value {
			return true
		}
		p.hwait.addWaiter(q)
		// Looked at again after registering: a clear between the two loads kicks q.
		from := p.hwait.from.Load()
		return from == 0 || from > f.value
	}
	h := f.tl.host
	if h == nil || h.tl.dev != q.dev || q.dev.inst == nil || q.hw.users.Load() != 1 {
		return false
	}
	return h.handWait(f.value)
}

// admitted reports whether jobs of q may go to its VkQueue now: not while another queue's job
// waits there for a host point. The caller holds q.mu.
func (q *Queue) admitted() bool {
	g := &q.hw.gate
	if g.n.Load() == 0 {
		// As good as the same look under mu: a hold that starts after either is a race with
		// this submit that the lock would not have settled either.
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n.Load() == 0 || g.owner == q {
		return true
	}
	if !slices.Contains(g.waiters, q) {
		g.waiters = append(g.waiters, q)
	}
	return false
}

func (h *hostHold) addWaiter(q *Queue) {
	h.mu.Lock()
	if !slices.Contains(h.waiters, q) {
		h.waiters = append(h.waiters, q)
	}
	h.mu.Unlock()
}

// holdLocked records that j, about to be submitted, waits GPU-side on host points: its
// completion callbacks on them clear the hold. The caller holds q.mu (flush).
func (q *Queue) holdLocked(j *Job) {
	if q.hwait.clearTask == nil {
		q.hwait.clearTask = q.hostCleared
		q.hwait.clearFn = func(error) { q.dev.waiter.post(q.hwait.clearTask) }
	}
	q.hwait.n++
	if q.hwait.from.Load() == 0 {
		q.hwait.from.Store(j.value)
	}
	g := &q.hw.gate
	g.mu.Lock()
	g.owner = q
	g.n.Add(1)
	g.mu.Unlock()
	for _, f := range j.gpuDeps {
		if f.tl.host != nil {
			f.OnDone(q.hwait.clearFn)
		}
	}
}

// hostCleared runs on the completion goroutine when a host point a job of q waits on has
// completed: jobs whose host points all completed stop holding others, and the timeout watch
// starts their clock (T1).
func (q *Queue) hostCleared() {
	q.mu.Lock()
	n := 0
	var from uint64
	for i := range q.inflight.len() {
		j := q.inflight.at(i)
		if !j.hostHeld {
			continue
		}
		if hostDepsDone(j) {
			j.hostHeld = false
			j.hostFreed = now()
			continue
		}
		n++
		if from == 0 {
			from = j.value
		}
	}
	// Jobs already retired (their host point completed, then their value) left the count too.
	released := q.hwait.n - n
	q.hwait.n = n
	q.hwait.from.Store(from)
	q.updateDeadlineLocked()
	g := &q.hw.gate
	q.mu.Unlock()

	var kick []*Queue
	if released > 0 {
		g.mu.Lock()
		if g.owner == q {
			if g.n.Add(-int32(released)) <= 0 {
				g.n.Store(0)
				g.owner = nil
				kick, g.waiters = g.waiters, nil
			}
		}
		g.mu.Unlock()
	}
	h := &q.hwait
	h.mu.Lock()
	if from == 0 || len(h.waiters) > 0 {
		kick = append(kick, h.waiters...)
		h.waiters = h.waiters[:0]
	}
	h.mu.Unlock()
	for _, c := range kick {
		c.kick()
	}
}

func hostDepsDone(j *Job) bool {
	for _, f := range j.gpuDeps {
		if f.tl.host != nil && !f.Completed() {
			return false
		}
	}
	return true
}

// handWait records that a GPU wait for value v is about to be submitted, so that a dying
// timeline signals past it. It returns false once the timeline is dead: the point then
// completes with the timeline's error on the CPU, and the job resolves that way.
func (h *HostTimeline) handWait(v uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed != nil {
		return false
	}
	h.gpuMax = max(h.gpuMax, v)
	if v > h.signalled {
		i, found := slices.BinarySearch(h.gpuWaits, v)
		if !found {
			h.gpuWaits = slices.Insert(h.gpuWaits, i, v)
		}
	}
	return true
}

// stepTo host-signals the semaphore up to v, stopping first at every value between that a
// GPU-side wait was handed, in ascending order. One signal straight to v would do for Vulkan; the
// steps are for validation layers before 1.3.296 (Debian 12 ships 1.3.239), whose state tracker
// retires a host signal by erasing the semaphore's earliest pending timepoint rather than the
// signalled one: signalling past a value a queue waits on leaves the signal recorded as pending,
// and the next host signal is reported as VUID-VkSemaphoreSignalInfo-value-03259. Stepping through
// the waited values keeps the earliest timepoint the one being signalled. The caller holds h.mu.
func (h *HostTimeline) stepTo(v uint64) error {
	for len(h.gpuWaits) > 0 && h.gpuWaits[0] <= v {
		w := h.gpuWaits[0]
		h.gpuWaits = h.gpuWaits[1:]
		if w <= h.signalled || w == v {
			continue
		}
		if err := h.tl.dev.vk.Signal(h.tl.sem, w); err != nil {
			return err
		}
		h.signalled = w
	}
	if err := h.tl.dev.vk.Signal(h.tl.sem, v); err != nil {
		return err
	}
	h.signalled = v
	return nil
}
