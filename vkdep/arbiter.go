package vkdep

import (
	"slices"
	"sync"
	"sync/atomic"
)

// turnState is a queue's side of its VkQueue's arbiter, embedded in Queue: turns held, virtual
// GPU time and whether the queue waits for a turn (under hw.arb.mu), and whether this pump asked
// for one (q.mu).
type turnState struct {
	turns atomic.Int32
	cost  atomic.Int64 // estimated GPU time per job (ns), for the bound (H2)
	// costOwn says cost comes from the queue's own jobs, not the VkQueue's; vrt is its virtual
	// GPU time (H3). Atomic, as cost: written under the lock of the arbiter the queue is in, but
	// the completion goroutine may still report the last jobs of a queue that a move
	// (placement.go) has just put in another VkQueue's arbiter.
	costOwn   atomic.Bool
	vrt       atomic.Int64
	turnWait  bool
	askedTurn bool
	// lastProgress is when the completion goroutine last retired a job of the queue (now(), under
	// q.mu): the queue's oldest unfinished job has been on the GPU since then at most (T7,
	// blame.go).
	lastProgress int64
}

// arbiter is a VkQueue's scheduler (the seed's "orchestrator"): it decides which of the vkdep
// queues bound to the VkQueue may hand its next ready job to the driver. Each queue's pump asks it
// for a turn per job, as it checks credits (C1); a job holds its turn until it is retired.
//
//   - Depth (H2): while more than one live queue shares the VkQueue, the jobs holding a turn
//     may together cost at most budget of estimated GPU time (and be at most limit jobs), so work
//     of higher priority finds at most that much ahead of it in the driver. One job always may.
//     The queue of strictly highest priority on the VkQueue is not held back by the bound: work
//     queued ahead of it only ever delays lower priorities.
//   - Priority (H1): a queue is refused a turn while a queue of higher priority waits for one.
//   - Fair share (H3): among equal priorities, the waiting queue with the least virtual GPU time
//     goes first. A queue's virtual time grows by the GPU time of its jobs, estimated from
//     completion times; a queue that was idle starts again at the least virtual time of the
//     active queues of its priority, so idling banks no credit (as the kernel's fair policy).
//
// A refused queue is recorded as waiting; whoever frees a turn (a completion, a queue that gets
// its turn or leaves) kicks the best waiter's worker. Kicks never block, so the completion
// goroutine never takes a VkQueue's lock or a queue's lock here. Lock order: q.mu, then a.mu.
type arbiter struct {
	// Turns held — jobs submitted to the VkQueue and not yet retired — and their estimated GPU
	// time (ns), by priority (level p+1): each job is charged its queue's estimated cost per job
	// when admitted and gives it back when retired.
	depth    [levels]atomic.Int32
	inDriver [levels]atomic.Int64
	shared   atomic.Bool   // more than one live queue and priority scheduling: the gate applies
	seq      atomic.Uint64 // turns given so far: a job's turn number is its place in the VkQueue's order

	mu      sync.Mutex
	members []*Queue
	limit   int32
	budget  int64
	// The GPU-time estimate (H2, H3), written by the completion goroutine: the highest turn
	// seen retired, when, and the GPU time per job of the span that ended there.
	doneSeq uint64
	doneAt  int64
	perJob  int64
	recent  [8]int64 // the last per-job estimates, for the lag bound
	nrecent int
}

// join adds q to the VkQueue's queues.
func (a *arbiter) join(q *Queue) {
	mode := q.dev.sched
	a.mu.Lock()
	a.limit, a.budget = q.dev.depth, q.dev.budget
	q.cost.Store(a.perJob) // until its own jobs are measured here: the VkQueue's latest
	q.costOwn.Store(false) // also after a move (placement.go): its estimate was another VkQueue's
	q.vrt.Store(a.minVrtLocked(q, false))
	a.members = append(a.members, q)
	a.reshareLocked(mode)
	a.mu.Unlock()
}

// leave removes a finished queue.
func (a *arbiter) leave(q *Queue) {
	a.mu.Lock()
	if i := slices.Index(a.members, q); i >= 0 {
		a.members = slices.Delete(a.members, i, i+1)
	}
	a.reshareLocked(q.dev.sched)
	a.kickBestLocked()
	a.mu.Unlock()
}

// reshareLocked sets shared after a member joined or left: the gate applies with priority
// scheduling and more than one live queue.
func (a *arbiter) reshareLocked(mode Scheduling) {
	a.shared.Store(mode == SchedulePriority && len(a.members) > 1)
}

// minVrtLocked is the least virtual time of the queues of q's priority other than q, counting
// only active ones (holding or waiting for turns) when active is set; q's own when none.
func (a *arbiter) minVrtLocked(q *Queue, active bool) int64 {
	found, v := false, q.vrt.Load()
	for _, m := range a.members {
		if m == q || m.opts.Priority != q.opts.Priority || (active && m.turns.Load() == 0 && !m.turnWait) {
			continue
		}
		if mv := m.vrt.Load(); !found || mv < v {
			found, v = true, mv
		}
	}
	return v
}

// levels is the number of priorities.
const levels = int(PriorityRealtime-PriorityLow) + 1

func level(p Priority) int { return int(p - PriorityLow) }

// room reports whether H2's bound leaves room for one more job of priority p costing est. Only
// work of priority p and below counts: the bound is on what a job of higher priority can find
// ahead of it, and work of a higher priority in the driver is its own (it waits behind its own
// earlier jobs anyway), so it must not hold lower priorities out of the driver altogether.
func (a *arbiter) room(p Priority, est int64) bool {
	var d int32
	var t int64
	for l := range level(p) + 1 {
		d += a.depth[l].Load()
		t += a.inDriver[l].Load()
	}
	return d == 0 || (d < a.limit && t+est <= a.budget)
}

// take records a turn given to q for a job costing est.
func (a *arbiter) take(q *Queue, est int64) {
	l := level(q.opts.Priority)
	a.depth[l].Add(1)
	a.inDriver[l].Add(est)
	q.turns.Add(1)
}

// admit gives q a turn for one job, or records q as waiting and refuses. The caller holds q.mu
// and, once admitted, charges the job est (q.turn).
func (a *arbiter) admit(q *Queue, est int64) bool {
	if !a.shared.Load() {
		// Alone on the VkQueue (or FIFO): no gate, only the count, so that a queue joining
		// later sees what is already in the driver.
		if q.turnWait { // left waiting when the other queues went (q.mu guards its writes)
			a.mu.Lock()
			q.turnWait = false
			a.mu.Unlock()
		}
		a.take(q, est)
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if q.turns.Load() == 0 && !q.turnWait {
		// Becoming active after idling: no banked credit (H3).
		q.vrt.Store(max(q.vrt.Load(), a.minVrtLocked(q, true)))
	}
	highest := true
	for _, m := range a.members {
		if m == q {
			continue
		}
		if m.opts.Priority >= q.opts.Priority {
			highest = false
		}
		if m.turnWait && ahead(m, q) {
			q.turnWait = true // H1, H3: a better queue waits for this turn
			return false
		}
	}
	if !highest && !a.room(q.opts.Priority, est) {
		q.turnWait = true // H2: the driver holds enough
		return false
	}
	q.turnWait = false
	a.take(q, est)
	return true
}

// settle runs at the end of each pump of a queue. A queue that did not ask for a turn this time
// (nothing ready, stopped, killed) stops waiting for one; and whoever is now the best waiter is
// kicked if a turn is free. The caller holds q.mu.
func (a *arbiter) settle(q *Queue, asked bool) {
	if !a.shared.Load() && !q.turnWait {
		return
	}
	a.mu.Lock()
	if !asked {
		q.turnWait = false
	}
	a.kickBestLocked()
	a.mu.Unlock()
}

// kickBestLocked kicks the worker of the waiting queue that goes next, if a turn is free.
func (a *arbiter) kickBestLocked() {
	var best *Queue
	for _, m := range a.members {
		if m.turnWait && (best == nil || ahead(m, best)) {
			best = m
		}
	}
	if best == nil {
		return
	}
	if a.room(best.opts.Priority, best.cost.Load()) || best.opts.Priority > a.secondPriorityLocked(best) {
		best.kick()
	}
}

// ahead reports whether queue m's turn comes before q's: a higher priority (H1), or the same
// one with less virtual GPU time (H3). The caller holds a.mu.
func ahead(m, q *Queue) bool {
	return m.opts.Priority > q.opts.Priority || (m.opts.Priority == q.opts.Priority && m.vrt.Load() < q.vrt.Load())
}

// secondPriorityLocked is the highest priority among the members other than q.
func (a *arbiter) secondPriorityLocked(q *Queue) Priority {
	p := PriorityLow - 1
	for _, m := range a.members {
		if m != q && m.opts.Priority > p {
			p = m.opts.Priority
		}
	}
	return p
}

// done returns n turns of q, charged cost in all, whose jobs the completion goroutine retired at
// t (now()): last is the highest turn number among them, oldest the submit time of the first.
// Completion goroutine only, without q.mu.
//
// GPU time (H3) is estimated from completion times. The VkQueue runs its jobs in turn order, so
// when turn last is seen done, every job with a turn between the previous highest one seen done
// and last ran in the span since then (or since the first submit, if later): each is charged an
// equal share of that span. A job seen done later with a turn inside a span already measured
// (another queue's, retired in the same round of the completion goroutine) is charged that
// span's share too. So queues retired in one round are charged alike, whatever order the
// completion goroutine looks at them in.
func (a *arbiter) done(q *Queue, n int32, cost int64, last uint64, oldest, t int64) {
	l := level(q.opts.Priority)
	a.depth[l].Add(-n)
	a.inDriver[l].Add(-cost)
	q.turns.Add(-n)
	if !a.shared.Load() {
		// Alone: nothing to estimate for (a queue that joins starts from zero, and the
		// estimates come with the first completions after it).
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if last > a.doneSeq {
		span := t - max(a.doneAt, oldest)
		a.perJob = max(span, 0) / int64(last-a.doneSeq)
		a.doneSeq, a.doneAt = last, t
		a.recent[a.nrecent%len(a.recent)] = a.perJob
		a.nrecent++
	}
	// The queue's cost per job, for the bound (H2): a moving average of its jobs' estimates,
	// which starts at the first of them. The VkQueue's estimate it joined with (join) may be
	// another queue's long jobs: averaged in, it would hold a queue of short jobs to one job in
	// the driver for its first twenty or so.
	if c := q.cost.Load(); c == 0 || !q.costOwn.Load() {
		q.cost.Store(a.perJob)
		q.costOwn.Store(true)
	} else {
		q.cost.Store((3*c + a.perJob) / 4)
	}
	q.vrt.Add(int64(n) * a.perJob)
	a.boundLagLocked(q.opts.Priority)
	a.kickBestLocked()
}

// boundLagLocked keeps the active queues of priority p within two jobs' GPU time of the one
// furthest behind. Completion times on a busy CPU carry delays that can charge one job many
// times its real GPU time; without a bound, one such outlier would let the other queues run
// for that long alone. The bound is two jobs' worth by the median of the recent per-job
// estimates (delays only ever add time, so the median ignores them), as the kernel's fair
// policy bounds a task's lag.
func (a *arbiter) boundLagLocked(p Priority) {
	var tmp [len(a.recent)]int64
	n := copy(tmp[:], a.recent[:min(a.nrecent, len(a.recent))])
	slices.Sort(tmp[:n])
	lag := 2 * tmp[(n-1)/2]
	floor, found := int64(0), false
	for _, m := range a.members {
		if mv := m.vrt.Load(); m.opts.Priority == p && (m.turns.Load() > 0 || m.turnWait) && (!found || mv < floor) {
			floor, found = mv, true
		}
	}
	for _, m := range a.members {
		if m.opts.Priority == p && m.vrt.Load() > floor+lag {
			m.vrt.Store(floor + lag)
		}
	}
}

// turn asks the VkQueue's arbiter for j's turn. A job that waits on semaphores of the application
// needs none and holds none: what it waits for may depend on work the bound would hold back, so
// it must never fill the bound. The caller holds q.mu.
func (q *Queue) turn(j *Job) bool {
	if len(j.waits) > 0 {
		return true
	}
	q.askedTurn = true
	est := q.cost.Load()
	if !q.hw.arb.admit(q, est) {
		return false
	}
	j.turn = q.hw.arb.seq.Add(1)
	j.turnCost = est
	return true
}

// settleTurn ends a pump's dealings with the arbiter. The caller holds q.mu.
func (q *Queue) settleTurn() {
	q.hw.arb.settle(q, q.askedTurn)
	q.askedTurn = false
}

// Priority is the queue's priority (QueueOptions.Priority).
func (q *Queue) Priority() Priority { return q.opts.Priority }
