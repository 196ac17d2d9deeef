package vkdep_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vkdep.dev/vkdep"
)

// TestSemanticsLifecycle shows, on a real device with validation on, the promises L (a job's life) of SEMANTICS.md,
// each subtest named after its number. Work is real GPU work: jobs append their ids to a
// buffer, so results show the order things ran in.
func TestSemanticsLifecycle(t *testing.T) {
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

}
