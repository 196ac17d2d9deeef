package vkdep_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// TestSemanticsDependencies shows, on a real device with validation on, the promises D (dependencies) of SEMANTICS.md,
// each subtest named after its number. Work is real GPU work: jobs append their ids to a
// buffer, so results show the order things ran in.
func TestSemanticsDependencies(t *testing.T) {
	t.Run("D1_nil_and_completed_dependencies_dropped", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "d1"})
		h, _ := r.d.NewHostTimeline("done")
		h.Signal(1)
		r.wait(h.Point(1))
		j := r.job(q, 1)
		j.AddDependency(vkdep.Fence{})
		j.AddDependency(h.Point(1))
		if n := vkdep.JobDeps(j); n != 0 {
			t.Fatalf("%d dependencies kept, want 0", n)
		}
		r.submit(q, j)
		r.check()
	})

	t.Run("D2_dedup_keeps_later", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "d2"})
		h, _ := r.d.NewHostTimeline("frames")
		j := r.job(q, 1)
		j.AddDependency(h.Point(3))
		j.AddDependency(h.Point(1))
		if n := vkdep.JobDeps(j); n != 1 {
			t.Fatalf("%d dependencies kept for one timeline", n)
		}
		f := r.submit(q, j)
		h.Signal(1)
		time.Sleep(50 * time.Millisecond)
		if f.Completed() || len(r.ids()) != 0 {
			t.Fatal("job ran after point 1: the later dependency (3) was not kept")
		}
		h.Signal(3)
		r.check()
		if got := r.ids(); !slices.Equal(got, []uint32{1}) {
			t.Fatalf("ran %v", got)
		}
	})

	t.Run("D3_own_queue_dependency_dropped", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "d3"})
		f1 := r.submit(q, r.job(q, 1))
		j := r.job(q, 2)
		j.AddDependency(f1)
		if n := vkdep.JobDeps(j); n != 0 {
			t.Fatalf("own-queue dependency kept")
		}
		r.submit(q, j)
		r.check()
		if got := r.ids(); !slices.Equal(got, []uint32{1, 2}) {
			t.Fatalf("ran %v", got)
		}
	})

	t.Run("D4_cross_queue_wait_on_gpu_submitted_before_producer_completes", func(t *testing.T) {
		r := newRig(t)
		a := r.queue(vkdep.QueueOptions{Name: "producer"})
		b := r.queue(vkdep.QueueOptions{Name: "consumer"})
		const n = 4096
		x, _ := r.g.Buffer(4 * n)
		y, _ := r.g.Buffer(4 * n)
		z, _ := r.g.Buffer(4 * n)
		for i := range n {
			x.Float32s()[i] = float32(i)
			y.Float32s()[i] = 1
			z.Float32s()[i] = float32(i % 3)
		}
		prodCmd, _ := r.g.Record(a.Family(), func(c vk.CommandBuffer) { r.g.SAXPY(c, x, y, 2, n) }) // y = 2x + y
		consCmd, _ := r.g.Record(b.Family(), func(c vk.CommandBuffer) {
			r.g.SAXPY(c, y, z, 3, n) // z = 3y + z
			r.g.VK.Barrier(c, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageHost, vk.AccessHostRead)
		})
		hold, release := r.held("producer input")
		pj := a.NewJob()
		pj.AddCommandBuffers(uint64(prodCmd))
		hold(pj) // the producer is submitted, but its GPU work waits for the host
		pf := r.submit(a, pj)
		cj := b.NewJob()
		cj.AddCommandBuffers(uint64(consCmd))
		cj.AddDependency(pf)
		cf := r.submit(b, cj)
		eventually(t, "the consumer in the driver", func() bool { return b.Stats().InFlight == 1 })
		if pf.Completed() {
			t.Fatal("producer completed before its input was released")
		}
		if s := b.Stats(); s.WorkerSubmitted+s.Bypassed != 1 {
			t.Fatalf("consumer stats %+v", s)
		}
		release()
		if err := r.wait(cf); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			want := 3*(2*float32(i)+1) + float32(i%3)
			if z.Float32s()[i] != want {
				t.Fatalf("z[%d] = %v, want %v: the consumer did not see the producer's result", i, z.Float32s()[i], want)
			}
		}
		r.wait(pf)
	})

	t.Run("D5_host_and_unsubmitted_dependencies_held_on_cpu", func(t *testing.T) {
		r := newRig(t)
		a := r.queue(vkdep.QueueOptions{Name: "a"})
		b := r.queue(vkdep.QueueOptions{Name: "b"})
		h, _ := r.d.NewHostTimeline("upload")
		pj := r.job(a, 1)
		pj.AddDependency(h.Point(1))
		pf := r.submit(a, pj)
		cj := r.job(b, 2)
		cj.AddDependency(pf) // producer not submitted yet: held on the CPU too
		r.submit(b, cj)
		time.Sleep(50 * time.Millisecond)
		if sa, sb := a.Stats(), b.Stats(); sa.InFlight != 0 || sa.Pending != 1 || sb.InFlight != 0 || sb.Pending != 1 {
			t.Fatalf("jobs reached the driver before the host signal: a %+v b %+v", sa, sb)
		}
		// The second device's fences are also resolved on the CPU.
		d2 := newOwnRig(t) // a second device: its fences are foreign to r's
		other := d2.queue(vkdep.QueueOptions{Name: "other device"})
		hold, release := d2.held("other hold")
		oj := d2.job(other, 7)
		hold(oj)
		of := d2.submit(other, oj)
		xj := r.job(b, 3)
		xj.AddDependency(of)
		xf := r.submit(b, xj)
		h.Signal(1)
		r.wait(pf)
		time.Sleep(50 * time.Millisecond)
		if xf.Completed() || b.Stats().InFlight != 0 {
			t.Fatalf("job depending on another device's pending fence reached the driver: %+v", b.Stats())
		}
		release()
		r.check()
		d2.check()
		if got := r.ids(); !slices.Equal(got, []uint32{1, 2, 3}) {
			t.Fatalf("ran %v", got)
		}
	})

	t.Run("D6_failed_dependency_skips_job", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "d6"})
		run := r.queue(vkdep.QueueOptions{Name: "d6 run anyway", RunOnDependencyError: true})
		h, _ := r.d.NewHostTimeline("input")
		cause := errors.New("decode failed")
		j := r.job(q, 1)
		j.AddDependency(h.Point(1))
		f := r.submit(q, j)
		k := r.job(run, 2)
		k.AddDependency(h.Point(1))
		g := r.submit(run, k)
		h.Fail(1, cause)
		err := r.wait(f)
		if !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, cause) || !strings.Contains(err.Error(), `queue "d6" value 1`) {
			t.Fatalf("job with a failed dependency: %v", err)
		}
		if err := r.wait(g); err != nil {
			t.Fatalf("RunOnDependencyError job: %v", err)
		}
		r.check()
		if got := r.ids(); !slices.Equal(got, []uint32{2}) {
			t.Fatalf("ran %v, want only the run-anyway job", got)
		}
	})

	t.Run("D7_producer_fails_after_dependent_submitted", func(t *testing.T) {
		r := newRig(t)
		a := r.queue(vkdep.QueueOptions{Name: "producer"})
		b := r.queue(vkdep.QueueOptions{Name: "consumer"})
		h, _ := r.d.NewHostTimeline("gate")
		pj := r.job(a, 1)
		pj.AddDependency(h.Point(1))
		pf := r.submit(a, pj)
		cj := r.job(b, 2)
		cj.AddDependency(pf)
		cf := r.submit(b, cj)
		// Killing the producer reaches its value by a signal-only submit, which lets the
		// consumer be submitted with a GPU-side wait; the producer then completes killed.
		a.Kill(errors.New("client gone"))
		if err := r.wait(pf); !errors.Is(err, vkdep.ErrKilled) {
			t.Fatalf("producer: %v", err)
		}
		if err := r.wait(cf); !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, vkdep.ErrKilled) {
			t.Fatalf("consumer of a failed producer: %v", err)
		}
		r.check()
	})

	t.Run("D8_no_cycles", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "d8"})
		j := r.job(q, 1)
		f, err := j.Fence()
		if err == nil {
			t.Fatal("a job has a fence before Arm, so it could depend on itself")
		}
		_ = j.AddDependency(f) // the zero fence: dropped
		f, _ = j.Arm()
		r.track(f)
		if err := j.AddDependency(f); !errors.Is(err, vkdep.ErrArmed) {
			t.Fatalf("dependency on its own fence after Arm: %v", err)
		}
		j.Push()
		r.check()
	})

}

// TestSemanticsOrder shows, on a real device with validation on, the promises O (order and completion) of SEMANTICS.md,
// each subtest named after its number. Work is real GPU work: jobs append their ids to a
// buffer, so results show the order things ran in.
func TestSemanticsOrder(t *testing.T) {
	t.Run("O1_submitted_in_value_order", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "o1", Bypass: true})
		h, _ := r.d.NewHostTimeline("late")
		for i := range uint32(30) {
			j := r.job(q, i+1)
			if i == 10 {
				j.AddDependency(h.Point(1)) // held (on the GPU: q is alone, D5): everything after it waits
			}
			r.submit(q, j)
		}
		time.Sleep(30 * time.Millisecond)
		if got := r.ids(); !slices.Equal(got, seq(1, 10)) {
			t.Fatalf("before the held job's dependency: ran %v, want 1..10", got)
		}
		h.Signal(1)
		r.check()
		if got := r.ids(); !slices.Equal(got, seq(1, 30)) {
			t.Fatalf("ran %v", got)
		}
	})

	t.Run("O2_completed_in_value_order", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "o2"})
		var mu sync.Mutex
		var order []uint64
		for i := range uint32(50) {
			f := r.submit(q, r.job(q, i+1))
			f.OnDone(func(error) {
				mu.Lock()
				order = append(order, f.Value())
				mu.Unlock()
			})
		}
		r.check()
		eventually(t, "50 callbacks", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 50 })
		if !slices.IsSorted(order) {
			t.Fatalf("completion order %v", order)
		}
	})

	t.Run("O3_every_fence_completes", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "o3"})
		h, _ := r.d.NewHostTimeline("o3")
		for i := range uint32(20) {
			j := r.job(q, i+1)
			if i%5 == 0 {
				j.AddDependency(h.Point(uint64(i + 1)))
			}
			r.submit(q, j)
		}
		h.Fail(6, errors.New("bad input"))
		h.Signal(20)
		q.Kill(errors.New("done"))
		q.Close()
		r.submit(q, r.job(q, 99))
		r.check()
		select {
		case <-q.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("queue Done never closed")
		}
	})

	t.Run("O4_error_fixed_before_done", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "o4"})
		q.Stop()
		var fs []vkdep.Fence
		for i := range uint32(5) {
			fs = append(fs, r.submit(q, r.job(q, i+1)))
		}
		errs := make(chan error, 5)
		for _, f := range fs {
			go func() { <-f.Done(); errs <- f.Err() }()
		}
		q.Kill(errors.New("o4"))
		for range fs {
			if err := <-errs; err == nil {
				t.Fatal("a fence reported done before its error was set")
			}
		}
		for _, f := range fs {
			a, b := f.Err(), f.Err()
			if a.Error() != b.Error() || !errors.Is(a, vkdep.ErrKilled) {
				t.Fatalf("error changed or wrong: %v / %v", a, b)
			}
		}
		r.check()
	})

	t.Run("O5_skipped_values_reached_on_semaphore", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "o5"})
		q.Stop()
		var last vkdep.Fence
		for i := range uint32(10) {
			last = r.submit(q, r.job(q, i+1))
		}
		q.Kill(errors.New("o5"))
		// A raw Vulkan waiter on the queue's semaphore sees the timeline reach the last value.
		err := r.g.VK.WaitAll([]vk.Semaphore{vk.Semaphore(q.Semaphore())}, []uint64{last.Value()}, uint64(30*time.Second))
		if err != nil {
			t.Fatalf("raw wait for the killed jobs' last value: %v", err)
		}
		r.check()
		if got := r.ids(); len(got) != 0 {
			t.Fatalf("killed jobs ran: %v", got)
		}
	})

	t.Run("O6_wait_holds_no_thread_and_cancel_changes_nothing", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "o6"})
		hold, release := r.held("o6")
		j := r.job(q, 1)
		hold(j)
		f := r.submit(q, j)
		threadsBefore := threads(t)
		var waiters errgroup.Group
		for range 500 {
			waiters.Go(func() error { return f.Wait(context.Background()) })
		}
		time.Sleep(50 * time.Millisecond)
		if th := threads(t); th > threadsBefore+4 {
			t.Fatalf("OS threads %d → %d with 500 goroutines waiting on a fence", threadsBefore, th)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := f.Wait(ctx); !errors.Is(err, context.Canceled) || f.Completed() {
			t.Fatalf("cancelled Wait: %v", err)
		}
		release()
		if err := waiters.Wait(); err != nil {
			t.Fatalf("a waiter: %v", err)
		}
		r.check()
	})

}

// TestSemanticsCredits shows, on a real device with validation on, the promises C (credits) of SEMANTICS.md,
// each subtest named after its number. Work is real GPU work: jobs append their ids to a
// buffer, so results show the order things ran in.
func TestSemanticsCredits(t *testing.T) {
	t.Run("C1_credit_limit", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "c1", Credits: 3})
		hold, release := r.held("c1")
		for i := range uint32(6) {
			j := r.job(q, i+1)
			hold(j)
			if i == 2 {
				j.SetCost(2)
			}
			r.submit(q, j)
		}
		eventually(t, "two jobs in flight", func() bool { return q.Stats().InFlight == 2 })
		time.Sleep(30 * time.Millisecond)
		if s := q.Stats(); s.InFlight != 2 || s.CreditsInUse != 2 || s.Pending != 4 {
			t.Fatalf("with 3 credits and a cost-2 third job: %+v", s)
		}
		release()
		r.check()
		if s := q.Stats(); s.CreditsInUse != 0 {
			t.Fatalf("credits not returned: %+v", s)
		}
	})

	t.Run("C2_credits_return_waiters_served_in_order", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "c2", Credits: 1, Bypass: true})
		for i := range uint32(40) {
			r.submit(q, r.job(q, i+1))
		}
		r.check()
		if got := r.ids(); !slices.Equal(got, seq(1, 40)) {
			t.Fatalf("ran %v", got)
		}
	})

}

// TestSemanticsBypass shows, on a real device with validation on, the promises P (bypass) and B (batching) of SEMANTICS.md,
// each subtest named after its number. Work is real GPU work: jobs append their ids to a
// buffer, so results show the order things ran in.
func TestSemanticsBypass(t *testing.T) {
	t.Run("P1_bypass_submits_in_caller", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "p1", Bypass: true})
		// Another queue on its VkQueue: a host point then holds a job on the CPU (D5). Of lower
		// priority, so that q stays strictly the highest there and the arbiter never refuses it
		// a turn (H1, H2): bypass is for a queue alone or highest on its VkQueue.
		r.queue(vkdep.QueueOptions{Name: "p1 beside", With: q, Priority: vkdep.PriorityLow})
		for i := range uint32(20) {
			r.submit(q, r.job(q, i+1))
		}
		r.check()
		if s := q.Stats(); s.Bypassed != 20 || s.WorkerSubmitted != 0 {
			t.Fatalf("all-ready jobs with bypass: %+v", s)
		}
		// Something waiting ahead: later jobs go to the worker.
		h, _ := r.d.NewHostTimeline("p1")
		j := r.job(q, 21)
		j.AddDependency(h.Point(1))
		r.submit(q, j)
		r.submit(q, r.job(q, 22))
		q.Stop()
		r.submit(q, r.job(q, 23))
		h.Signal(1)
		q.Start()
		r.check()
		if s := q.Stats(); s.Bypassed != 20 || s.WorkerSubmitted != 3 {
			t.Fatalf("after a held job: %+v", s)
		}
		if got := r.ids(); !slices.Equal(got, seq(1, 23)) {
			t.Fatalf("ran %v", got)
		}
	})

	t.Run("P2_bypass_changes_where_not_what", func(t *testing.T) {
		outcome := func(bypass bool) ([]uint32, []string) {
			r := newRig(t)
			q := r.queue(vkdep.QueueOptions{Name: "p2", Bypass: bypass})
			// Another queue on its VkQueue: the host point is held on the CPU, so whether the
			// failed point's job runs does not depend on when it was submitted (on a VkQueue
			// of its own it would wait on the GPU and run, failing with ErrDependency: D5, D7).
			r.queue(vkdep.QueueOptions{Name: "p2 beside", With: q})
			h, _ := r.d.NewHostTimeline("p2")
			var fs []vkdep.Fence
			for i := range uint32(12) {
				j := r.job(q, i+1)
				if i == 4 {
					j.AddDependency(h.Point(1))
				}
				fs = append(fs, r.submit(q, j))
			}
			h.Fail(1, errors.New("p2"))
			r.check()
			var errs []string
			for _, f := range fs {
				errs = append(errs, f.Timeline()+" "+errString(f.Err()))
			}
			return r.ids(), errs
		}
		ids1, errs1 := outcome(true)
		ids2, errs2 := outcome(false)
		if !slices.Equal(ids1, ids2) || !slices.Equal(errs1, errs2) {
			t.Fatalf("bypass %v %v\nworker %v %v", ids1, errs1, ids2, errs2)
		}
	})

	t.Run("B1_ready_jobs_batched_in_order", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "b1", Credits: 256})
		q.Stop()
		for i := range uint32(64) {
			r.submit(q, r.job(q, i+1))
		}
		q.Start()
		r.check()
		s := q.Stats()
		if s.SubmitCalls > 4 || s.WorkerSubmitted != 64 {
			t.Fatalf("64 ready jobs in %d vkQueueSubmit2 calls: %+v", s.SubmitCalls, s)
		}
		if got := r.ids(); !slices.Equal(got, seq(1, 64)) {
			t.Fatalf("ran %v", got)
		}
	})

}
