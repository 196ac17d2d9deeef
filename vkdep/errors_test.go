package vkdep_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// TestSemanticsErrors shows, on a real device with validation on, the promises E (errors and goroutines) of SEMANTICS.md,
// each subtest named after its number. Work is real GPU work: jobs append their ids to a
// buffer, so results show the order things ran in.
func TestSemanticsErrors(t *testing.T) {
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

func TestVkResultPrintsName(t *testing.T) {
	var err error = vk.ErrorDeviceLost
	if err.Error() != "VK_ERROR_DEVICE_LOST" {
		t.Fatalf("VkResult prints %q", err.Error())
	}
	var r vkdep.VkResult
	if !errors.As(err, &r) || r != vk.ErrorDeviceLost {
		t.Fatal("errors.As into VkResult failed")
	}
	if s := vkdep.VkResult(-123456).Error(); s != "VkResult(-123456)" {
		t.Fatalf("unknown result prints %q", s)
	}
}
