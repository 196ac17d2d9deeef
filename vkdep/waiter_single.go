package vkdep

import (
	"context"
	"math"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"vkdep.dev/internal/vk"
)

// The single-semaphore completion waiter (F3).
//
// Mesa's common runtime implements vkWaitSemaphores with VK_SEMAPHORE_WAIT_ANY_BIT over more than
// one semaphore, when the driver's sync type cannot wait on many at once (lavapipe's emulated
// timelines), as a loop that polls every semaphore until the timeout (vk_sync_wait_many). The
// wait-any waiter (waiter.go) always waits on at least two, so on such a driver an idle device
// keeps a core busy. A wait on ONE timeline blocks there on a condition variable.
//
// So where Open measures that the wait-any spins, each watched timeline gets one goroutine locked
// to its own OS thread that blocks in a one-semaphore vkWaitSemaphores for the timeline's next
// value, and hands the counter it reads to the completion goroutine. The completion goroutine
// stays the only place that completes fences (E4); it sleeps in a Go select, woken by the watch
// threads, by posted tasks and kicks (nudge) and by a Go timer for the nearest timeout deadline
// (T1). Nothing is ever host-signalled to wake a thread (no race with GPU signals,
// VUID-VkSemaphoreSignalInfo-value-03258/03259): a watch thread waits in the driver only for a value
// that a submit already handed to the driver signals (flush reports them, waiter.submitted), so
// that wait always ends; with no such value above what it has seen it parks on a Go channel, and
// flush wakes it. Unwatch and shutdown therefore find every thread either parked (it leaves at
// once) or waiting for a value that will land; done runs only after the thread has left the
// semaphore (VUID-vkDestroySemaphore-semaphore-01137).
//
// O6 holds: the threads are per watched timeline (per queue), never per waiting fence, and at most
// maxWatchThreads of them. Timelines beyond that are read by the completion goroutine with
// vkGetSemaphoreCounterValue every pollPeriod while they have submitted work it has not seen, and
// not at all otherwise, so an idle device still costs nothing.
//
// Validation layer 1.3.239 handles a successful one-semaphore wait as a wait-all and waits for the
// signal operation of exactly that value (see tlWatch.sigs); the semaphores waited on are queue
// timelines that only the GPU signals, so no host signal races it. The waiter's wake and idle
// timelines are still created (Close destroys them) but not used.

// waiterEnv overrides the choice made at Open: "any" (the wait-any waiter), "single" (this one);
// anything else measures.
const waiterEnv = "VKDEP_WAITER"

// maxWatchThreads bounds the OS threads the single waiter blocks (O6). A variable for tests.
var maxWatchThreads = 64

// pollPeriod is how often the completion goroutine reads the counters of the timelines beyond
// maxWatchThreads that have submitted work it has not seen yet.
const pollPeriod = time.Millisecond

// singleWait is the single waiter's state; byTL and threads are guarded by waiter.mu.
type singleWait struct {
	byTL    map[*timeline]*tlWatch
	snap    atomic.Pointer[map[*timeline]*tlWatch] // a copy of byTL for flush, read without a lock
	threads int                                    // live watch threads
	lost    bool                                   // a counter read failed: stop polling; completion goroutine only
	timer   *time.Timer
}

// tlWatch is one watched timeline of the single waiter.
type tlWatch struct {
	t       *timeline
	thread  bool          // it has a watch thread; false: polled (over maxWatchThreads)
	counter atomic.Uint64 // the highest counter the thread has read
	quit    atomic.Bool
	wake    chan struct{}
	left    chan struct{} // closed when the thread has left the semaphore for good

	mu sync.Mutex
	// sigs are the values the queue's submits signal on the timeline, ascending, that the thread
	// has not seen reached. The thread only ever waits for one of them: a value some submit
	// signals exactly. Validation layers before 1.3.296 handle a successful one-semaphore wait
	// by waiting for the signal operation of exactly that value, and report
	// UNASSIGNED-VkSemaphore-state-timeout after 10 s when there is none (a value inside a run
	// of skipped jobs, which one submit reaches at once, O5).
	sigs   []uint64
	parked bool // the thread waits on wake: no signal submitted that it has not seen
}

// watchSingleLocked starts watching t. The caller holds w.mu.
func (w *waiter) watchSingleLocked(t *timeline) {
	s := w.single
	if s.byTL == nil {
		s.byTL = map[*timeline]*tlWatch{}
	}
	x := &tlWatch{t: t, thread: s.threads < maxWatchThreads, wake: make(chan struct{}, 1), left: make(chan struct{})}
	s.byTL[t] = x
	s.publishLocked()
	if x.thread {
		s.threads++
		go w.watchThread(x)
	}
}

func (s *singleWait) publishLocked() {
	m := make(map[*timeline]*tlWatch, len(s.byTL))
	for t, x := range s.byTL {
		m[t] = x
	}
	s.snap.Store(&m)
}

// unwatchSingle is unwatch's task on the completion goroutine: t leaves the set; done runs once
// its thread (if it has one) has left the semaphore (VUID-vkDestroySemaphore-semaphore-01137).
func (w *waiter) unwatchSingle(t *timeline, done func()) {
	s := w.single
	w.mu.Lock()
	w.dropWatchedLocked(t)
	x := s.byTL[t]
	delete(s.byTL, t)
	s.publishLocked()
	w.mu.Unlock()
	if x == nil || !x.thread {
		if done != nil {
			done()
		}
		return
	}
	// The completion goroutine waits for the thread here, so that done (which may close the
	// queue's Done) runs in the order unwatch was posted, before later tasks such as the CPU
	// completion of jobs pushed after the queue finished. The wait is short: a finished queue's
	// values have all been reached, so the thread is parked or returning from its last wait.
	x.quit.Store(true)
	x.poke()
	<-x.left
	if done != nil {
		done()
	}
}

func (x *tlWatch) poke() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// submitted tells the waiter what t's queue has just handed the driver (flush, after a
// successful vkQueueSubmit2): descs and ops as submitted, where each submit's waits come first and
// its first signal is t's own value. A parked watch thread goes back to waiting in the driver; a
// polled timeline wakes the completion goroutine to start polling. The caller holds the queue's
// lock, which orders the calls. It allocates nothing in steady state.
func (w *waiter) submitted(t *timeline, descs []vk.SubmitDesc, ops []vk.SemOp) {
	s := w.single
	if s == nil {
		return
	}
	m := s.snap.Load()
	if m == nil {
		return
	}
	x := (*m)[t]
	switch {
	case x == nil:
	case !x.thread:
		w.nudgeCompletion()
	default:
		x.mu.Lock()
		off := 0
		for _, d := range descs {
			if i := off + int(d.Waits); d.Signals > 0 && ops[i].Semaphore == t.sem {
				x.sigs = append(x.sigs, ops[i].Value)
			}
			off += int(d.Waits + d.Signals)
		}
		if x.parked && len(x.sigs) > 0 {
			x.parked = false
			x.poke()
		}
		x.mu.Unlock()
	}
}

// next returns the first submitted signal value above last, dropping those at or below it, or
// 0 after marking the thread parked when there is none.
func (x *tlWatch) next(last uint64) uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := 0
	for k < len(x.sigs) && x.sigs[k] <= last {
		k++
	}
	n := copy(x.sigs, x.sigs[k:])
	x.sigs = x.sigs[:n]
	if n == 0 {
		x.parked = true
		return 0
	}
	return x.sigs[0]
}

// nudgeCompletion wakes a completion goroutine that sleeps on nudge (the single waiter's, or
// either one after the device was lost), without blocking.
func (w *waiter) nudgeCompletion() {
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

// watchThread blocks in vkWaitSemaphores on x's timeline, for the next value a submit signals, on
// an OS thread of its own, and hands each new counter to the completion goroutine.
func (w *waiter) watchThread(x *tlWatch) {
	// Locked and never unlocked: the thread ends with the goroutine, so the threads the waiter
	// holds are exactly its live watch threads.
	runtime.LockOSThread()
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("vkdep", "completion-watch")))
	sems := []vk.Semaphore{x.t.sem}
	vals := []uint64{0}
	ctrs := []uint64{0}
	var last uint64
	for !x.quit.Load() {
		v := x.next(last)
		if v == 0 {
			// Nothing submitted to wait for: park until flush or unwatch pokes. A poke
			// that came before parked was set is still in the channel.
			<-x.wake
			continue
		}
		vals[0] = v
		// No timeout: a submitted signal always lands (or the device is lost). A hung job
		// holds the thread here; the timeout watch runs on the completion goroutine (T1).
		err := w.dev.WaitAllRead(sems, vals, math.MaxUint64, ctrs)
		if err != nil {
			w.post(func() { w.onLost("vkWaitSemaphores (completion watch)", err) })
			for !x.quit.Load() {
				<-x.wake
			}
			break
		}
		if c := ctrs[0]; c > last {
			last = c
			x.counter.Store(c)
			w.nudgeCompletion()
		}
	}
	w.mu.Lock()
	w.single.threads--
	close(x.left)
	w.kickLocked()
	w.mu.Unlock()
}

// runSingle is the completion goroutine of the single waiter: tasks, then the counters the watch
// threads handed over, then the timeout deadlines (T1), then sleep until one of them has more.
func (w *waiter) runSingle() {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("vkdep", "completion")))
	s := w.single
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	defer func() {
		s.timer.Stop()
		w.exit()
	}()
	for {
		w.mu.Lock()
		tasks := w.tasks
		w.tasks = w.spare[:0]
		if w.stopping {
			// Shutdown: every thread leaves (a parked one at once, one in the driver when
			// its value lands), and the waiter exits only after the last one has.
			for _, x := range s.byTL {
				x.quit.Store(true)
				x.poke()
			}
			if len(tasks) == 0 && s.threads == 0 {
				w.mu.Unlock()
				return
			}
		}
		w.mu.Unlock()
		for i, fn := range tasks {
			fn()
			tasks[i] = nil
		}
		w.spare = tasks[:0]

		w.mu.Lock()
		w.tls = append(w.tls[:0], w.watched...)
		w.mu.Unlock()
		poll := false
		m := s.snap.Load()
		for _, t := range w.tls {
			var x *tlWatch
			if m != nil {
				x = (*m)[t]
			}
			if x == nil {
				continue
			}
			var c uint64
			if x.thread {
				c = x.counter.Load()
			} else if !s.lost && t.queue.submitted.Load() > t.seen.Load() {
				var err error
				if c, err = w.dev.Counter(t.sem); err != nil {
					s.lost = true
					w.onLost("vkGetSemaphoreCounterValue (completion poll)", err)
					continue
				}
				poll = true
			}
			if c > t.seen.Load() {
				t.seen.Store(c)
				t.queue.reached(c)
			}
		}

		// T1: a deadline that has passed asks its queue; the timer is set for the next one.
		next := time.Duration(math.MaxInt64)
		if poll {
			next = pollPeriod
		}
		var now int64 // read only when some queue has a deadline, as in run
		for _, t := range w.tls {
			dl := t.queue.deadlineNanos()
			if dl == 0 {
				continue
			}
			if now == 0 {
				now = time.Now().UnixNano()
			}
			if dl <= now {
				t.queue.checkTimeout(false)
				if dl = t.queue.deadlineNanos(); dl != 0 && dl <= now {
					// Still due: the job finished and its counter is on its way from
					// the watch thread. Look again shortly rather than spin.
					dl = now + int64(pollPeriod)
				}
				if dl == 0 {
					continue
				}
			}
			next = min(next, time.Duration(dl-now))
		}
		w.mu.Lock()
		again := len(w.tasks) > 0 || (w.stopping && s.threads == 0)
		w.mu.Unlock()
		if again {
			continue // more was posted meanwhile, or shutdown can finish now
		}
		if next != time.Duration(math.MaxInt64) {
			s.timer.Reset(next)
		}
		select {
		case <-w.nudge:
		case <-s.timer.C:
		}
		s.timer.Stop()
	}
}

// kind names the device's completion waiter, for tests, benchmarks and logs.
func (w *waiter) kind() string {
	if w.single != nil {
		return "single"
	}
	return "any"
}
