package vkdep

import (
	"context"
	"math"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"vkdep.dev/internal/vk"
)

// waiter is a Device's completion goroutine: the one goroutine (and so the one OS thread) that
// blocks in vkWaitSemaphores, wait-any, over every timeline the device watches (O6). It is woken
// for new work — a timeline to watch, a task to run, shutdown — by a host signal on a private
// timeline, so it never polls.
//
// Everything that completes a fence runs here: that keeps each timeline's completions in order
// and gives callbacks one documented goroutine (E4).
type waiter struct {
	dev  *vk.Device
	wake vk.Semaphore
	// idle is a timeline nobody signals, waited for at 1 in every round, so that every wait
	// has at least two semaphores. Validation layers before 1.3.296 process a one-semaphore
	// wait as if it had waited for all, racing the host signal that woke it (see SyncAuto).
	idle vk.Semaphore
	// onLost is called (on this goroutine) when the wait reports a lost device.
	onLost func(where string, err error)
	// single, when set, replaces the wait-any with one blocked thread per watched timeline,
	// for drivers whose wait-any spins (F3, waiter_single.go); wake-ups then go through nudge.
	single   *singleWait
	anySpins bool // Open measured that the driver's wait-any spins

	mu       sync.Mutex
	watched  []*timeline
	tasks    []func()
	sleeping bool // blocked (or about to block) in vkWaitSemaphores on wakeAt
	// wakeAt is the wake timeline value every wait waits for; the timeline's counter is always
	// wakeAt-1. It moves on only when a kick has signalled it, never when a round ends for
	// another reason: validation layer 1.3.239 keeps a wait-any's unreached values as pending
	// and would flag a later, higher host signal (VUID-VkSemaphoreSignalInfo-value-03259).
	wakeAt   uint64
	stopping bool
	stopped  chan struct{}
	exited   bool
	// late holds tasks posted after exit; lateRunning: a goroutine runs them (post).
	late        []func()
	lateRunning bool
	// lost: the device is lost, vkWaitSemaphores only fails now; the waiter runs posted tasks,
	// woken by nudge instead of the wake timeline.
	lost  bool
	nudge chan struct{}

	// Scratch for the wait call, reused every round: the wait allocates nothing.
	sems     []vk.Semaphore
	vals     []uint64
	ctrs     []uint64
	tls      []*timeline
	expiring []*timeline // timelines with a timeout deadline this round
	spare    []func()
}

func newWaiter(dev *vk.Device, onLost func(string, error)) (*waiter, error) {
	wake, err := dev.CreateTimeline(0)
	if err != nil {
		return nil, err
	}
	idle, err := dev.CreateTimeline(0)
	if err != nil {
		dev.DestroySemaphore(wake)
		return nil, err
	}
	w := &waiter{dev: dev, wake: wake, idle: idle, wakeAt: 1, onLost: onLost, stopped: make(chan struct{}), nudge: make(chan struct{}, 1)}
	var single bool
	single, w.anySpins = chooseSingle(dev)
	if single {
		w.single = &singleWait{}
		go w.runSingle()
		return w, nil
	}
	go w.run()
	return w, nil
}

// watch adds t, a queue's timeline, to the set of timelines the waiter waits on. Each round it
// waits for t.seen+1 (any progress), hands a new counter to t.queue.reached (complete.go), and
// asks t.queue.checkTimeout when t.queue.deadlineNanos has passed (timeout.go). Host timelines
// are not watched: HostTimeline.signal posts their completions.
func (w *waiter) watch(t *timeline) {
	w.mu.Lock()
	w.watched = append(w.watched, t)
	if w.single != nil {
		w.watchSingleLocked(t)
	}
	w.kickLocked()
	w.mu.Unlock()
}

// unwatch removes t; after the next round starts the waiter no longer touches t's semaphore.
// done runs on the completion goroutine once that is true, so it may destroy the semaphore.
func (w *waiter) unwatch(t *timeline, done func()) {
	w.post(func() {
		if w.single != nil {
			w.unwatchSingle(t, done)
			return
		}
		w.mu.Lock()
		w.dropWatchedLocked(t)
		w.mu.Unlock()
		if done != nil {
			done()
		}
	})
}

// dropWatchedLocked removes t from the wait set (both waiters' unwatch). The caller holds w.mu.
func (w *waiter) dropWatchedLocked(t *timeline) {
	if i := slices.Index(w.watched, t); i >= 0 {
		w.watched = slices.Delete(w.watched, i, i+1)
	}
}

// post runs fn on the completion goroutine. After the waiter has exited (device closed) it runs
// fn on a short-lived goroutine that runs such late tasks in order, never on the caller's: callers
// post with their own locks held (push posts drainCPU under the queue's lock), and fn may take
// them (X3: nothing blocks after Close).
func (w *waiter) post(fn func()) {
	w.mu.Lock()
	if w.exited {
		w.late = append(w.late, fn)
		if !w.lateRunning {
			w.lateRunning = true
			go w.runLate()
		}
		w.mu.Unlock()
		return
	}
	w.tasks = append(w.tasks, fn)
	w.kickLocked()
	w.mu.Unlock()
}

// runLate runs the tasks posted after the waiter exited, in order, then ends.
func (w *waiter) runLate() {
	for {
		w.mu.Lock()
		tasks := w.late
		w.late = nil
		if len(tasks) == 0 {
			w.lateRunning = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		for _, fn := range tasks {
			fn()
		}
	}
}

// kick wakes the waiter for a changed target.
func (w *waiter) kick() {
	w.mu.Lock()
	w.kickLocked()
	w.mu.Unlock()
}

// kickLocked wakes the waiter if it is blocked. One host signal per blocked wait at most: the
// flag is cleared here, and the value it signals is the one the wait is waiting for, wakeAt,
// which is above the wake timeline's counter (VUID-VkSemaphoreSignalInfo-value-03258) because
// only this path signals it.
func (w *waiter) kickLocked() {
	if w.lost || w.single != nil {
		w.nudgeCompletion()
		return
	}
	if !w.sleeping {
		return
	}
	w.sleeping = false
	err := w.dev.Signal(w.wake, w.wakeAt)
	w.wakeAt++
	if err != nil {
		// A failing host signal means the device is gone; from now on tasks wake the waiter
		// through nudge.
		w.lost = true
		w.tasks = append(w.tasks, func() { w.onLost("vkSignalSemaphore (completion wake-up)", err) })
		w.nudgeCompletion()
	}
}

// stop asks the waiter to run what is posted and exit; stopped closes when it has.
func (w *waiter) stop() {
	w.mu.Lock()
	w.stopping = true
	w.kickLocked()
	w.mu.Unlock()
}

// exit ends the completion goroutine (either waiter's): tasks posted until now still run here,
// later ones on a goroutine of their own (post), and stopped closes.
func (w *waiter) exit() {
	w.mu.Lock()
	w.exited = true
	tasks := w.tasks
	w.tasks = nil
	w.mu.Unlock()
	for _, fn := range tasks {
		fn()
	}
	close(w.stopped)
}

func (w *waiter) run() {
	// Profiles show fence callbacks and release hooks under the completion goroutine's name.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("vkdep", "completion")))
	defer w.exit()
	for {
		// Posted tasks run first, before the wait set is built: a task may remove a timeline
		// and destroy its semaphore (unwatch), which must then not be waited on.
		w.mu.Lock()
		tasks := w.tasks
		w.tasks = w.spare[:0]
		if w.stopping && len(tasks) == 0 {
			w.mu.Unlock()
			return
		}
		lost := w.lost
		w.mu.Unlock()
		for i, fn := range tasks {
			fn()
			tasks[i] = nil
		}
		w.spare = tasks[:0]
		if lost {
			if len(tasks) == 0 {
				<-w.nudge
			}
			continue
		}

		w.mu.Lock()
		w.sems = append(w.sems[:0], w.wake, w.idle)
		w.vals = append(w.vals[:0], w.wakeAt, 1)
		w.tls = w.tls[:0]
		for _, t := range w.watched {
			// Any progress past what was seen: a submit never has to wake the waiter.
			w.sems = append(w.sems, t.sem)
			w.vals = append(w.vals, t.seen.Load()+1)
			w.tls = append(w.tls, t)
		}
		// The nearest timeout deadline bounds the wait (T1): the waiter doubles as the timeout
		// watch, so no timer goroutine is needed.
		// The clock is read only when some queue has a deadline: most rounds have none.
		timeout := uint64(math.MaxUint64)
		var now int64
		w.expiring = w.expiring[:0]
		for _, t := range w.watched {
			if dl := t.queue.deadlineNanos(); dl != 0 {
				if now == 0 {
					now = time.Now().UnixNano()
				}
				w.expiring = append(w.expiring, t)
				timeout = min(timeout, uint64(max(dl-now, 0)))
			}
		}
		if len(w.tasks) > 0 || w.stopping {
			timeout = 0 // more was posted meanwhile: only look at the counters
		} else {
			w.sleeping = true
		}
		w.mu.Unlock()

		if cap(w.ctrs) < len(w.sems) {
			w.ctrs = make([]uint64, len(w.sems), 2*len(w.sems))
		}
		w.ctrs = w.ctrs[:len(w.sems)]
		// The wake timeline's counter is not read: a wake-up only means "start a new round", and
		// reading it while a host signal of it is in flight trips validation layers before
		// 1.3.296 (see SyncAuto).
		err := w.dev.WaitAny(w.sems, w.vals, timeout, 2, w.ctrs)
		w.mu.Lock()
		w.sleeping = false
		w.mu.Unlock()
		if err != nil && err != vk.Timeout {
			w.mu.Lock()
			w.lost = true
			w.mu.Unlock()
			w.onLost("vkWaitSemaphores (completion waiter)", err)
			continue
		}
		for i, t := range w.tls {
			if c := w.ctrs[i+2]; c > t.seen.Load() {
				t.seen.Store(c)
				t.queue.reached(c)
			}
		}
		if len(w.expiring) > 0 {
			now := time.Now().UnixNano()
			for _, t := range w.expiring {
				if dl := t.queue.deadlineNanos(); dl != 0 && dl <= now {
					t.queue.checkTimeout(false)
				}
			}
		}
	}
}
