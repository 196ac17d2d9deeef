package vkdep_test

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// schedDepth is the job bound the H tests run under, with a GPU-time budget too large to matter:
// the tests count jobs, which estimates of GPU time on a busy CPU would blur.
const schedDepth = 4

func newSchedRig(t *testing.T) *rig {
	t.Helper()
	d, _ := vktest.OpenWith(t, vkdep.Options{DriverDepth: schedDepth, DriverBudget: time.Hour})
	return newRigOn(t, d)
}

// blockVkQueue submits a gate job on a queue of its own on VkQueue 1, so that everything
// submitted to that VkQueue afterwards waits behind it in the driver (lavapipe runs a VkQueue in
// order), and returns the function that releases it.
func (r *rig) blockVkQueue(prio vkdep.Priority) (release func()) {
	r.t.Helper()
	g := r.queue(vkdep.QueueOptions{Name: "blocker", VkQueueIndex: 1, Priority: prio})
	gate, rel, _ := r.gateJob(g, 1024) // long enough to outlast the test's setup on a loaded machine
	f, err := g.Submit(gate)           // not tracked: check counts the rig's own jobs' release hooks
	if err != nil {
		r.t.Fatal(err)
	}
	eventually(r.t, "the blocker on the GPU", f.Submitted)
	r.t.Cleanup(func() { atomic.StoreUint32(&rel[0], 1) })
	return func() { atomic.StoreUint32(&rel[0], 1) }
}

// flood submits n jobs with ids from..from+n-1 to q.
func (r *rig) flood(q *vkdep.Queue, from, n uint32) []vkdep.Fence {
	var fs []vkdep.Fence
	for id := from; id < from+n; id++ {
		fs = append(fs, r.submit(q, r.job(q, id)))
	}
	return fs
}

// before counts the ids in [lo, hi) that the GPU ran before the last id in [xlo, xhi).
func before(ids []uint32, lo, hi, xlo, xhi uint32) int {
	last := -1
	for i, id := range ids {
		if id >= xlo && id < xhi {
			last = i
		}
	}
	n := 0
	for _, id := range ids[:max(last, 0)] {
		if id >= lo && id < hi {
			n++
		}
	}
	return n
}

func TestHardwareScheduling(t *testing.T) {
	t.Run("H1_higher_priority_submitted_first", func(t *testing.T) {
		r := newSchedRig(t)
		release := r.blockVkQueue(vkdep.PriorityNormal)
		low := r.queue(vkdep.QueueOptions{Name: "low", VkQueueIndex: 1, Priority: vkdep.PriorityLow})
		high := r.queue(vkdep.QueueOptions{Name: "high", VkQueueIndex: 1, Priority: vkdep.PriorityHigh, Bypass: true})
		r.flood(low, 100, 30)
		eventually(t, "low's turns taken", func() bool { return low.Stats().InFlight > 0 })
		r.flood(high, 200, 10)
		eventually(t, "high's jobs submitted", func() bool { return high.Stats().InFlight == 10 })
		release()
		r.check()
		ids := r.ids()
		// Only what was in the driver before high's jobs arrived runs ahead of them: at most
		// the driver depth (H2), whatever the flood behind.
		if n := before(ids, 100, 130, 200, 210); n > schedDepth {
			t.Fatalf("%d low-priority jobs ran before the last high-priority one (bound %d): %v", n, schedDepth, ids)
		}
		// O1: each queue in its own order.
		var lows, highs []uint32
		for _, id := range ids {
			if id >= 200 {
				highs = append(highs, id)
			} else if id >= 100 {
				lows = append(lows, id)
			}
		}
		if !slices.Equal(lows, seq(100, 129)) || !slices.Equal(highs, seq(200, 209)) {
			t.Fatalf("per-queue order broken: %v", ids)
		}
	})

	t.Run("H1_waiting_higher_priority_goes_before_lower", func(t *testing.T) {
		// Neither queue is alone at the top (a realtime blocker is): both wait for turns, and
		// each freed turn goes to the higher priority.
		r := newSchedRig(t)
		release := r.blockVkQueue(vkdep.PriorityRealtime)
		low := r.queue(vkdep.QueueOptions{Name: "low", VkQueueIndex: 1, Priority: vkdep.PriorityLow})
		normal := r.queue(vkdep.QueueOptions{Name: "normal", VkQueueIndex: 1})
		r.flood(low, 100, 20)
		eventually(t, "low's turns taken", func() bool { return low.Stats().InFlight > 0 })
		r.flood(normal, 200, 10)
		// Pushed is not enough: normal's worker must have asked for a turn and been refused,
		// or low's worker can take freed turns before normal ever asks.
		eventually(t, "normal waiting for a turn", func() bool { return vkdep.WaitingForTurn(normal) })
		release()
		r.check()
		ids := r.ids()
		// The bound's worth of low jobs was in the driver before normal asked (H2 lets it be),
		// and a turn is taken before its submit: in the moment between normal's last turn and
		// its vkQueueSubmit2, low may take the turns that normal's earlier jobs freed and submit
		// first, again at most a bound's worth. FIFO runs all 20 first.
		if n := before(ids, 100, 120, 200, 210); n > 2*schedDepth {
			t.Fatalf("%d low-priority jobs ran before the last normal one (bound 2×%d): %v", n, schedDepth, ids)
		}
	})

	t.Run("H2_driver_depth_bounds_shared_vkqueue", func(t *testing.T) {
		r := newSchedRig(t)
		release := r.blockVkQueue(vkdep.PriorityRealtime)
		q := r.queue(vkdep.QueueOptions{Name: "flood", VkQueueIndex: 1})
		r.flood(q, 100, 30)
		eventually(t, "the flood's turns taken", func() bool { return q.Stats().InFlight > 0 })
		// The flood gets the bound's turns and no more, however long it waits (the blocker is
		// released only after this look). The realtime blocker's own turn does not count
		// against a lower priority: it is not work a higher priority would find ahead.
		for range 50 {
			s := q.Stats()
			if s.InFlight > schedDepth {
				t.Fatalf("%d jobs of the flood in the driver, bound %d", s.InFlight, schedDepth)
			}
			if s.InFlight+s.Pending != 30 {
				t.Fatalf("stats %+v", s)
			}
		}
		release()
		r.check()
		if ids := r.ids(); !slices.Equal(ids, seq(100, 129)) {
			t.Fatalf("order %v", ids)
		}
	})

	t.Run("H2_queue_alone_on_its_vkqueue_is_not_bounded", func(t *testing.T) {
		r := newSchedRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "alone", VkQueueIndex: 1})
		gate, rel, _ := r.gateJob(q, 64)
		if _, err := q.Submit(gate); err != nil {
			t.Fatal(err)
		}
		r.flood(q, 100, 30)
		eventually(t, "all 31 jobs in the driver", func() bool { return q.Stats().InFlight == 31 })
		atomic.StoreUint32(&rel[0], 1)
		r.check()
	})

	t.Run("H2_driver_budget_in_gpu_time", func(t *testing.T) {
		// A budget below any job's estimated GPU time: one job in the driver at a time.
		d, _ := vktest.OpenWith(t, vkdep.Options{DriverBudget: time.Nanosecond})
		r := newRigOn(t, d)
		q := r.queue(vkdep.QueueOptions{Name: "flood", VkQueueIndex: 1})
		r.queue(vkdep.QueueOptions{Name: "idle", VkQueueIndex: 1}) // shared: estimates are kept
		for id := range uint32(3) {                                // the queue's jobs get an estimate
			r.wait(r.submit(q, r.job(q, 90+id)))
		}
		release := r.blockVkQueue(vkdep.PriorityRealtime)
		r.flood(q, 100, 10)
		eventually(t, "the flood's first job in the driver", func() bool { return q.Stats().InFlight == 1 })
		for range 50 {
			if s := q.Stats(); s.InFlight != 1 || s.Pending != 9 {
				t.Fatalf("budget 1ns: one job at a time, got %+v", s)
			}
		}
		release()
		r.check()
	})

	t.Run("H2_a_new_queue_is_estimated_by_its_own_first_job", func(t *testing.T) {
		// A queue joins a VkQueue whose last jobs were long (~300 ms each, another queue's),
		// with a budget between the two: 60 ms (its short jobs measure 0.5–7 ms, loaded).
		// Until its first job is measured it is charged the VkQueue's estimate; from then on
		// its own. (Averaged with the inherited one, the estimate stayed near 225 ms after
		// that job, and the budget let one job in at a time.)
		d, _ := vktest.OpenWith(t, vkdep.Options{DriverBudget: 60 * time.Millisecond})
		r := newRigOn(t, d)
		long := r.queue(vkdep.QueueOptions{Name: "long jobs", VkQueueIndex: 1})
		r.queue(vkdep.QueueOptions{Name: "idle", VkQueueIndex: 1}) // shared: estimates are kept
		for range 2 {
			gate, rel, _ := r.gateJob(long, 2000)
			f, err := long.Submit(gate) // not tracked: check counts the rig's own jobs
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			atomic.StoreUint32(&rel[0], 1)
			r.wait(f)
		}
		q := r.queue(vkdep.QueueOptions{Name: "short jobs", VkQueueIndex: 1})
		r.wait(r.submit(q, r.job(q, 1))) // its first job: measured
		release := r.blockVkQueue(vkdep.PriorityRealtime)
		fs := r.flood(q, 100, 10)
		for start := time.Now(); q.Stats().InFlight < 2; time.Sleep(time.Millisecond) {
			if time.Since(start) > 3*time.Second {
				s := q.Stats()
				// Let the flood finish before the rig frees its command buffers.
				release()
				for _, f := range fs {
					r.wait(f)
				}
				t.Fatalf("one short job in the driver at a time: %+v", s)
			}
		}
		release()
		r.check()
	})

	t.Run("H2_driver_depth_option", func(t *testing.T) {
		d, _ := vktest.OpenWith(t, vkdep.Options{DriverDepth: 2, DriverBudget: time.Hour})
		r := newRigOn(t, d)
		release := r.blockVkQueue(vkdep.PriorityRealtime)
		q := r.queue(vkdep.QueueOptions{Name: "flood", VkQueueIndex: 1})
		r.flood(q, 100, 10)
		eventually(t, "the flood's turns taken", func() bool { return q.Stats().InFlight == 2 })
		if s := q.Stats(); s.InFlight != 2 || s.Pending != 8 {
			t.Fatalf("depth 2: %+v", s)
		}
		release()
		r.check()
	})

	t.Run("H3_equal_priorities_take_turns", func(t *testing.T) {
		r := newSchedRig(t)
		release := r.blockVkQueue(vkdep.PriorityRealtime)
		a := r.queue(vkdep.QueueOptions{Name: "a", VkQueueIndex: 1})
		b := r.queue(vkdep.QueueOptions{Name: "b", VkQueueIndex: 1})
		r.flood(a, 100, 30)
		eventually(t, "a's turns taken", func() bool { return a.Stats().InFlight > 0 })
		r.flood(b, 200, 30)
		eventually(t, "b waiting for a turn", func() bool { return vkdep.WaitingForTurn(b) })
		release()
		r.check()
		ids := r.ids()
		// Without fair share, a's 30 jobs all run before b's first (FIFO: a lead of 30). With
		// it, while both have work, neither gets ahead of the other by more than a few driver
		// depths of jobs (equal jobs: equal GPU time per job).
		lastA, lastB := slices.Index(ids, 129), slices.Index(ids, 229)
		lead, na, nb := 0, 0, 0
		for _, id := range ids[:min(lastA, lastB)] {
			if id < 200 {
				na++
			} else {
				nb++
			}
			lead = max(lead, na-nb, nb-na)
		}
		if lead > 5*schedDepth {
			t.Fatalf("one queue got %d jobs ahead of the other: %v", lead, ids)
		}
		t.Logf("largest lead of one queue over the other: %d jobs", lead)
	})

	t.Run("H1_priority_out_of_range_refused", func(t *testing.T) {
		r := newSchedRig(t)
		if _, err := r.d.NewQueue(vkdep.QueueOptions{Priority: vkdep.PriorityRealtime + 1}); err == nil {
			t.Fatal("NewQueue took a priority above realtime")
		}
	})

	t.Run("H2_higher_priority_work_does_not_hold_lower_out", func(t *testing.T) {
		// A high queue's frames always in the driver (a compositor) leave the bound to the
		// lower priorities: they still get turns (no starvation by strict priority).
		r := newSchedRig(t)
		release := r.blockVkQueue(vkdep.PriorityHigh)
		high := r.queue(vkdep.QueueOptions{Name: "high", VkQueueIndex: 1, Priority: vkdep.PriorityHigh})
		r.flood(high, 200, 10)
		low := r.queue(vkdep.QueueOptions{Name: "low", VkQueueIndex: 1, Priority: vkdep.PriorityLow})
		r.flood(low, 100, 10)
		// At least a full bound of turns (in flight, or already done where a loaded machine let
		// the blocker's gate run out its own budget first).
		eventually(t, "low's turns", func() bool {
			s := low.Stats()
			return s.InFlight+int(s.Completed) >= schedDepth
		})
		release()
		r.check()
	})

	t.Run("H5_global_priority_reported_H1_holds", func(t *testing.T) {
		r := newSchedRig(t)
		info := r.d.Info()
		t.Logf("global priority: %s", info.GlobalPriority)
		if info.GlobalPriority == "" {
			t.Fatal("DeviceInfo.GlobalPriority is empty: vkdep must say what the device allowed")
		}
		if r.d.Info().IsCPU() && !strings.Contains(info.GlobalPriority, "not supported") {
			t.Fatalf("lavapipe has no VK_KHR_global_priority, yet GlobalPriority = %q", info.GlobalPriority)
		}
		// Whatever the device allowed, vkdep's own ordering holds (H1) on a shared VkQueue.
		release := r.blockVkQueue(vkdep.PriorityNormal)
		low := r.queue(vkdep.QueueOptions{Name: "low", VkQueueIndex: 1, Priority: vkdep.PriorityLow})
		rt := r.queue(vkdep.QueueOptions{Name: "realtime", VkQueueIndex: 1, Priority: vkdep.PriorityRealtime})
		r.flood(low, 100, 30)
		eventually(t, "low's turns taken", func() bool { return low.Stats().InFlight > 0 })
		r.flood(rt, 200, 5)
		eventually(t, "realtime submitted", func() bool { return rt.Stats().InFlight == 5 })
		release()
		r.check()
		if n := before(r.ids(), 100, 130, 200, 205); n > schedDepth {
			t.Fatalf("%d low jobs before the last realtime one", n)
		}
	})
}
