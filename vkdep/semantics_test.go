package vkdep_test

import (
	"context"
	"errors"
	"golang.org/x/sync/errgroup"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// TestSemantics shows, on a real device with validation on, each behaviour of the queue's
// contract, named after its number. Work is real GPU work: jobs append their ids to a buffer, so
// results show the order things ran in.
func TestSemantics(t *testing.T) {
	t.Run("L1_no_fence_before_arm", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "l1"})
		j := r.job(q, 1)
		if f, err := j.Fence(); !errors.Is(err, vkdep.ErrNotArmed) || !f.IsZero() {
			t.Fatalf("Fence before Arm: %v, %v", f, err)
		}
		f, err := j.Arm()
		if err != nil {
			t.Fatal(err)
		}
		if g, err := j.Fence(); err != nil || g != f {
			t.Fatalf("Fence after Arm: %v, %v (Arm gave %v)", g, err, f)
		}
		r.track(f)
		j.Push()
		r.check()
	})

	t.Run("L2_dependency_after_arm", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "l2"})
		h, _ := r.d.NewHostTimeline("never")
		j := r.job(q, 1)
		f, _ := j.Arm()
		r.track(f)
		if err := j.AddDependency(h.Point(1)); !errors.Is(err, vkdep.ErrArmed) {
			t.Fatalf("AddDependency after Arm: %v", err)
		}
		for _, err := range []error{j.AddCommandBuffers(r.appendCmd(q.Family(), 2)), j.SetCost(2), j.OnRelease(nil)} {
			if !errors.Is(err, vkdep.ErrArmed) {
				t.Fatalf("change after Arm: %v", err)
			}
		}
		j.Push()
		// The refused dependency on a point nobody signals did not stick: the job runs.
		if err := r.wait(f); err != nil {
			t.Fatal(err)
		}
		if got := r.ids(); !slices.Equal(got, []uint32{1}) {
			t.Fatalf("ran %v, want [1]: the refused command buffer must not have been added", got)
		}
		r.check()
	})

	t.Run("L3_values_strictly_increase_in_arm_order", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "l3", Bypass: true})
		var prev uint64
		for i := range uint32(5) {
			f := r.submit(q, r.job(q, i))
			if f.Value() != prev+1 {
				t.Fatalf("value %d after %d", f.Value(), prev)
			}
			prev = f.Value()
		}
		// Concurrent submitters: every value used once, no gaps.
		var mu sync.Mutex
		var vals []uint64
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					f := r.submit(q, r.job(q, uint32(100+g*25+i)))
					mu.Lock()
					vals = append(vals, f.Value())
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		slices.Sort(vals)
		for i, v := range vals {
			if v != prev+1+uint64(i) {
				t.Fatalf("concurrent values %v: gap or repeat at %d", vals, i)
			}
		}
		r.check()
	})

	t.Run("L4_push_out_of_arm_order_panics", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "l4"})
		j1, j2 := r.job(q, 1), r.job(q, 2)
		f1, _ := j1.Arm()
		f2, _ := j2.Arm()
		r.track(f1)
		r.track(f2)
		mustPanic(t, "out of Arm order", j2.Push)
		j1.Push()
		j2.Push()
		r.check()
		if got := r.ids(); !slices.Equal(got, []uint32{1, 2}) {
			t.Fatalf("ran %v", got)
		}
	})

	t.Run("L5_arm_validates_and_leaves_job_unchanged", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "l5", Credits: 4})
		j := r.job(q, 1)
		j.SetCost(5)
		if _, err := j.Arm(); !errors.Is(err, vkdep.ErrTooBig) || !strings.Contains(err.Error(), `queue "l5"`) {
			t.Fatalf("Arm with cost 5 of 4 credits: %v", err)
		}
		if _, err := j.Fence(); !errors.Is(err, vkdep.ErrNotArmed) {
			t.Fatalf("job armed by a failed Arm: %v", err)
		}
		j.SetCost(4)
		r.submit(q, j)
		z := q.NewJob()
		z.AddCommandBuffers(0)
		if _, err := q.Submit(z); !errors.Is(err, vkdep.ErrBadHandle) {
			t.Fatalf("zero command buffer: %v", err)
		}
		r.check()
	})

	t.Run("L6_release_once_after_fence_and_gpu", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "l6"})
		hold, release := r.held("l6 hold")
		type seen struct {
			done bool
			ran  bool
		}
		var mu sync.Mutex
		var hooks []seen
		var fs []vkdep.Fence
		for i := range uint32(4) {
			j := q.NewJob()
			j.AddCommandBuffers(r.appendCmd(q.Family(), i+1))
			if i == 0 {
				hold(j)
			}
			var f vkdep.Fence
			id := i + 1
			j.OnRelease(func() {
				mu.Lock()
				hooks = append(hooks, seen{done: f.Completed(), ran: slices.Contains(r.ids(), id)})
				mu.Unlock()
			})
			f, _ = q.Submit(j)
			fs = append(fs, f)
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		if len(hooks) != 0 {
			t.Fatalf("release hooks ran while the GPU still held the jobs: %v", hooks)
		}
		mu.Unlock()
		release()
		for _, f := range fs {
			r.wait(f)
		}
		eventually(t, "4 release hooks", func() bool { mu.Lock(); defer mu.Unlock(); return len(hooks) == 4 })
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if len(hooks) != 4 {
			t.Fatalf("%d hook calls for 4 jobs", len(hooks))
		}
		for i, h := range hooks {
			if !h.done || !h.ran {
				t.Fatalf("hook %d ran before its fence completed or its work ran: %+v", i, h)
			}
		}
	})

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

	t.Run("S1_stop_start", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "s1", Bypass: true})
		hold, release := r.held("s1")
		j := r.job(q, 1)
		hold(j)
		first := r.submit(q, j)
		eventually(t, "job 1 in flight", func() bool { return q.Stats().InFlight == 1 })
		q.Stop()
		for i := range uint32(5) {
			r.submit(q, r.job(q, i+2))
		}
		release() // work already submitted goes on
		r.wait(first)
		time.Sleep(30 * time.Millisecond)
		if s := q.Stats(); s.Pending != 5 || s.InFlight != 0 {
			t.Fatalf("stopped queue submitted: %+v", s)
		}
		q.Start()
		r.check()
		if got := r.ids(); !slices.Equal(got, seq(1, 6)) {
			t.Fatalf("ran %v", got)
		}
	})

	t.Run("K1_kill", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "k1"})
		hold, release := r.held("k1")
		j := r.job(q, 1)
		hold(j)
		running := r.submit(q, j)
		eventually(t, "job 1 in flight", func() bool { return q.Stats().InFlight == 1 })
		q.Stop()
		var killed []vkdep.Fence
		for i := range uint32(5) {
			killed = append(killed, r.submit(q, r.job(q, i+2)))
		}
		cause := errors.New("client crashed")
		q.Kill(cause)
		q.Kill(errors.New("second kill"))
		late := r.job(q, 9)
		lf, err := q.Submit(late)
		r.track(lf)
		if !errors.Is(err, vkdep.ErrKilled) {
			t.Fatalf("Submit after Kill: %v", err)
		}
		release()
		if err := r.wait(running); err != nil {
			t.Fatalf("submitted job of a killed queue: %v", err)
		}
		for _, f := range append(killed, lf) {
			err := r.wait(f)
			if !errors.Is(err, vkdep.ErrKilled) || !errors.Is(err, cause) {
				t.Fatalf("killed job %d: %v", f.Value(), err)
			}
		}
		r.check()
		if got := r.ids(); !slices.Equal(got, []uint32{1}) {
			t.Fatalf("ran %v: killed work must never run", got)
		}
		if s := q.Stats(); s.Killed != 6 {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("X1_close", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "x1"})
		hold, release := r.held("x1")
		j := r.job(q, 1)
		hold(j)
		f1 := r.submit(q, j)
		f2 := r.submit(q, r.job(q, 2))
		armed := r.job(q, 3)
		f3, _ := armed.Arm()
		r.track(f3)
		start := time.Now()
		q.Close()
		q.Close()
		if time.Since(start) > 5*time.Second {
			t.Fatal("Close blocked")
		}
		lf, err := q.Submit(r.job(q, 4))
		r.track(lf)
		if !errors.Is(err, vkdep.ErrQueueClosed) {
			t.Fatalf("Submit after Close: %v", err)
		}
		select {
		case <-q.Done():
			t.Fatal("Done closed with work in flight")
		default:
		}
		release()
		for _, f := range []vkdep.Fence{f1, f2} {
			if err := r.wait(f); err != nil {
				t.Fatalf("job pushed before Close: %v", err)
			}
		}
		for _, f := range []vkdep.Fence{f3, lf} {
			if err := r.wait(f); !errors.Is(err, vkdep.ErrQueueClosed) {
				t.Fatalf("job armed or pushed after Close: %v", err)
			}
		}
		armed.Push() // armed before Close, pushed after: already completed; pushing is harmless
		r.check()
		select {
		case <-q.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("Done never closed")
		}
		if got := r.ids(); !slices.Equal(got, []uint32{1, 2}) {
			t.Fatalf("ran %v", got)
		}
	})

	t.Run("X2_device_close_is_the_unload_barrier", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		d, err := vkdep.Open(vkdep.Options{Validate: true, OnValidation: func(m vkdep.ValidationMessage) { t.Errorf("validation: %v", m) }})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := d.NewQueue(vkdep.QueueOptions{Name: "a", Bypass: true})
		b, _ := d.NewQueue(vkdep.QueueOptions{Name: "b", Credits: 4})
		h, _ := d.NewHostTimeline("x2")
		var released sync.WaitGroup
		var fences []vkdep.Fence
		for i := range 30 {
			j := a.NewJob()
			if i == 10 {
				j.AddDependency(h.Point(1))
			}
			released.Add(2)
			j.OnRelease(released.Done)
			f, _ := a.Submit(j)
			k := b.NewJob()
			k.AddDependency(f)
			k.OnRelease(released.Done)
			g, _ := b.Submit(k)
			fences = append(fences, f, g)
		}
		// Signalled before Close: a point still unsignalled when Close starts fails (X4,
		// TestX4_close_with_job_held_by_host_point).
		h.Signal(1)
		if err := d.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, f := range fences {
			if !f.Completed() || f.Err() != nil {
				t.Fatalf("after Device.Close: fence %s %d completed=%v err=%v", f.Timeline(), f.Value(), f.Completed(), f.Err())
			}
		}
		released.Wait() // every release hook ran (or this hangs and the test times out)
		for _, q := range []*vkdep.Queue{a, b} {
			select {
			case <-q.Done():
			default:
				t.Fatalf("%s not done after Device.Close", q.Name())
			}
		}
		if _, err := d.NewQueue(vkdep.QueueOptions{}); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Fatalf("NewQueue after Close: %v", err)
		}
	})

	t.Run("X3_fences_readable_after_close", func(t *testing.T) {
		r := newOwnRig(t) // closes its device
		q := r.queue(vkdep.QueueOptions{Name: "x3"})
		f := r.submit(q, r.job(q, 1))
		r.wait(f)
		q.Stop()
		k := r.submit(q, r.job(q, 2))
		q.Kill(errors.New("x3"))
		r.check()
		r.g.Close()
		r.d.Close(context.Background())
		if !f.Completed() || f.Err() != nil || f.Wait(context.Background()) != nil {
			t.Fatalf("successful fence unreadable after close: completed=%v err=%v wait=%v", f.Completed(), f.Err(), f.Wait(context.Background()))
		}
		if !errors.Is(k.Err(), vkdep.ErrKilled) {
			t.Fatalf("killed fence after close: %v", k.Err())
		}
	})

	t.Run("E1_errors_match_sentinels_and_name_queue_and_value", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "render"})
		q.Stop()
		r.submit(q, r.job(q, 1))
		f := r.submit(q, r.job(q, 2))
		q.Kill(nil)
		err := r.wait(f)
		var fe *vkdep.FenceError
		if !errors.Is(err, vkdep.ErrKilled) || !errors.As(err, &fe) || fe.Value != 2 || !strings.Contains(err.Error(), `queue "render" value 2`) {
			t.Fatalf("error %q", err)
		}
		r.check()
	})

	t.Run("E2_misuse_panics_bad_data_errors", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "e2"})
		other := r.queue(vkdep.QueueOptions{Name: "other"})
		// Held on the GPU, so the queue cannot have recycled the job when it is pushed again
		// (touching a job after Push is the caller's error; this shows it is caught).
		hold, release := r.rawHold()
		j := r.job(q, 1)
		hold(j)
		r.submit(q, j)
		mustPanic(t, "pushed twice", j.Push)
		release()
		mustPanic(t, "not made by Queue.NewJob", func() { (&vkdep.Job{}).Push() })
		mustPanic(t, "Submit of a job", func() { other.Submit(r.job(q, 2)) })
		z := q.NewJob()
		z.WaitSemaphore(0, 0, 0)
		if _, err := q.Submit(z); !errors.Is(err, vkdep.ErrBadHandle) {
			t.Fatalf("zero semaphore: %v", err)
		}
		r.check()
	})

	t.Run("E3_concurrent_use", func(t *testing.T) {
		r := newRig(t)
		qs := []*vkdep.Queue{
			r.queue(vkdep.QueueOptions{Name: "e3a", Bypass: true}),
			r.queue(vkdep.QueueOptions{Name: "e3b"}),
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var prev []vkdep.Fence
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 30 {
					q := qs[(g+i)%2]
					j := r.job(q, uint32(1000*g+i))
					mu.Lock()
					if len(prev) > 0 {
						j.AddDependency(prev[len(prev)-1])
					}
					mu.Unlock()
					f := r.submit(q, j)
					mu.Lock()
					prev = append(prev, f)
					mu.Unlock()
					_ = q.Stats()
				}
			}()
		}
		wg.Wait()
		r.check()
		if n := len(r.ids()); n != 120 {
			t.Fatalf("%d jobs ran, want 120", n)
		}
	})

	t.Run("E4_callbacks_and_release_on_completion_goroutine", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "e4", Bypass: true})
		me := goid()
		ids := make(chan int, 2)
		j := r.job(q, 1)
		j.OnRelease(func() { ids <- goid() })
		f, _ := q.Submit(j)
		f.OnDone(func(error) { ids <- goid() })
		a, b := <-ids, <-ids
		if a == me || a != b {
			t.Fatalf("release on goroutine %d, callback on %d, caller %d", a, b, me)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
