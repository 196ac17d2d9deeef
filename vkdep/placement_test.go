package vkdep_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// computeVkQueues counts the device's VkQueues that can run compute work.
func computeVkQueues(d *vkdep.Device) int {
	n := 0
	for _, f := range d.Info().QueueFamilies {
		if f.Compute {
			n += int(f.Queues)
		}
	}
	return n
}

// TestAffinity/H4_affinity shows placement as asked: With shares the other queue's VkQueue, VkQueueIndex
// pins, Exclusive keeps a VkQueue to itself, and jobs' records name the VkQueue they went to.
func TestAffinity(t *testing.T) {
	t.Run("H4_affinity", func(t *testing.T) {
		r := newRig(t)
		d := r.d
		var (
			mu   sync.Mutex
			recs = map[string][]int{}
		)
		defer d.Observe(func(rec vkdep.JobRecord) {
			mu.Lock()
			recs[rec.Queue] = append(recs[rec.Queue], rec.VkQueue)
			mu.Unlock()
		})()

		t.Run("With_shares_the_VkQueue", func(t *testing.T) {
			a := r.queue(vkdep.QueueOptions{Name: "anchor"})
			b := r.queue(vkdep.QueueOptions{Name: "beside", With: a})
			if a.VkQueue().Handle != b.VkQueue().Handle || a.Family() != b.Family() {
				t.Fatalf("With: %s on %+v, %s on %+v", a.Placement(), a.VkQueue(), b.Placement(), b.VkQueue())
			}
			if !strings.Contains(b.Placement(), "with") {
				t.Errorf("Placement() = %q, want it to say with", b.Placement())
			}
			f := r.submit(a, r.job(a, 1))
			j := r.job(b, 2)
			j.AddDependency(f)
			r.wait(r.submit(b, j))
			a.Close()
			b.Close()
			<-a.Done()
			<-b.Done()
			r.check()
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(recs["anchor"], recs["beside"]) || len(recs["anchor"]) != 1 {
				t.Fatalf("JobRecord.VkQueue: anchor %v, beside %v; want one job each on one VkQueue", recs["anchor"], recs["beside"])
			}
		})

		t.Run("VkQueueIndex_pins", func(t *testing.T) {
			n := len(d.VkQueues())
			q := r.queue(vkdep.QueueOptions{Name: "pinned", VkQueueIndex: n})
			if q.VkQueue().Handle != d.VkQueues()[n-1].Handle {
				t.Fatalf("VkQueueIndex %d: on %+v, want %+v", n, q.VkQueue(), d.VkQueues()[n-1])
			}
			if _, err := d.NewQueue(vkdep.QueueOptions{Name: "out of range", VkQueueIndex: n + 1}); !errors.Is(err, vkdep.ErrInvalidOptions) {
				t.Fatalf("VkQueueIndex past the end: %v, want ErrInvalidOptions", err)
			}
			if _, err := d.NewQueue(vkdep.QueueOptions{Name: "both", VkQueueIndex: 1, With: q}); !errors.Is(err, vkdep.ErrInvalidOptions) {
				t.Fatalf("VkQueueIndex and With together: %v, want ErrInvalidOptions", err)
			}
			q.Close()
			<-q.Done()
		})

		t.Run("Exclusive_keeps_its_VkQueue", func(t *testing.T) {
			x := r.queue(vkdep.QueueOptions{Name: "exclusive", Exclusive: true})
			if !strings.Contains(x.Placement(), "exclusive") {
				t.Errorf("Placement() = %q", x.Placement())
			}
			if _, err := d.NewQueue(vkdep.QueueOptions{Name: "beside exclusive", With: x}); !errors.Is(err, vkdep.ErrNoVkQueue) {
				t.Fatalf("With an Exclusive queue: %v, want ErrNoVkQueue", err)
			}
			other, err := d.NewQueue(vkdep.QueueOptions{Name: "default"})
			if computeVkQueues(d) == 1 {
				// lavapipe: the one VkQueue is taken.
				if !errors.Is(err, vkdep.ErrNoVkQueue) {
					t.Fatalf("default placement with the only VkQueue exclusive: %v, want ErrNoVkQueue", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if other.VkQueue().Handle == x.VkQueue().Handle {
					t.Fatalf("default placement shares the Exclusive queue's VkQueue %+v", x.VkQueue())
				}
				other.Close()
			}
			x.Close()
			<-x.Done()
			// Once it has finished, its VkQueue is free again.
			y := r.queue(vkdep.QueueOptions{Name: "after"})
			y.Close()
			<-y.Done()
		})
	})
}

// hostRig is a rig with a host timeline and a bypass queue alone on its VkQueue: Exclusive, or
// (VkQueueIndex set) pinned, so that another queue may join it.
func hostRig(t *testing.T, opts vkdep.QueueOptions) (*rig, *vkdep.HostTimeline, *vkdep.Queue) {
	r := newRig(t)
	h := newHost(t, r.d, "host")
	t.Cleanup(func() { _ = h.Signal(1 << 20) }) // a failing test must not leave GPU work waiting
	if opts.Name == "" {
		opts.Name = "alone"
	}
	opts.Bypass = true
	opts.Exclusive = opts.VkQueueIndex == 0
	return r, h, r.queue(opts)
}

// TestD5_host_point_waited_on_the_GPU: on a VkQueue no other vkdep queue uses, a job that depends
// on a host point is submitted at once, with a GPU-side wait (D5 revised).
func TestD5_host_point_waited_on_the_GPU(t *testing.T) {
	t.Run("unshared_VkQueue_submits_before_the_signal", func(t *testing.T) {
		r, h, q := hostRig(t, vkdep.QueueOptions{})
		j := r.job(q, 1)
		j.AddDependency(h.Point(1))
		f := r.submit(q, j)
		later := r.submit(q, r.job(q, 2)) // behind it in queue order, on the GPU too
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := f.WaitSubmitted(ctx); err != nil {
			t.Fatalf("the job was not submitted before its host point was signalled: %v\n%s", err, vkdep.DebugQueue(q))
		}
		if !f.Submitted() || f.Completed() || later.Completed() {
			t.Fatalf("submitted %v, completed %v (later %v): want submitted, not complete", f.Submitted(), f.Completed(), later.Completed())
		}
		if err := h.Signal(1); err != nil {
			t.Fatal(err)
		}
		if err := r.wait(later); err != nil {
			t.Fatal(err)
		}
		if err := f.Err(); err != nil {
			t.Fatal(err)
		}
		if got := r.ids(); !slices.Equal(got, []uint32{1, 2}) {
			t.Fatalf("ran %v, want [1 2]", got)
		}
		r.check()
	})

	t.Run("shared_VkQueue_holds_on_the_CPU", func(t *testing.T) {
		r, h, q := hostRig(t, vkdep.QueueOptions{})
		q.Close() // free the VkQueue; two queues share the next one
		<-q.Done()
		a := r.queue(vkdep.QueueOptions{Name: "a", Bypass: true})
		b := r.queue(vkdep.QueueOptions{Name: "b", With: a, Bypass: true})
		j := r.job(a, 1)
		j.AddDependency(h.Point(1))
		f := r.submit(a, j)
		// Bypass submits in Submit when it can: a job not submitted on return is held.
		if f.Submitted() {
			t.Fatal("a job on a shared VkQueue was submitted with its host point unsignalled: it would stall the other queue")
		}
		other := r.submit(b, r.job(b, 2))
		if err := r.wait(other); err != nil {
			t.Fatal(err)
		}
		if f.Submitted() || f.Completed() {
			t.Fatal("held job submitted or completed before its point")
		}
		h.Signal(1)
		if err := r.wait(f); err != nil {
			t.Fatal(err)
		}
		if got := r.ids(); !slices.Equal(got, []uint32{2, 1}) {
			t.Fatalf("ran %v, want [2 1]", got)
		}
		r.check()
	})

	t.Run("D7_failed_point_is_reached_with_ErrDependency", func(t *testing.T) {
		r, h, q := hostRig(t, vkdep.QueueOptions{})
		j := r.job(q, 1)
		j.AddDependency(h.Point(2))
		f := r.submit(q, j)
		if !f.Submitted() {
			t.Fatal("not submitted at once")
		}
		cause := errors.New("upload failed")
		if err := h.Fail(2, cause); err != nil {
			t.Fatal(err)
		}
		err := r.wait(f)
		if !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, cause) {
			t.Fatalf("job waiting GPU-side on a failed point: %v, want ErrDependency and the cause", err)
		}
		// The queue goes on.
		if err := r.wait(r.submit(q, r.job(q, 3))); err != nil {
			t.Fatal(err)
		}
		r.check()
	})

	t.Run("T1_waiting_for_the_host_is_not_time_on_the_GPU", func(t *testing.T) {
		const timeout = 50 * time.Millisecond
		var calls atomic.Int32
		r, h, q := hostRig(t, vkdep.QueueOptions{JobTimeout: timeout, OnTimeout: func(vkdep.TimedOut) vkdep.TimeoutAction {
			calls.Add(1)
			return vkdep.TimeoutStillRunning
		}})
		j := r.job(q, 1)
		j.AddDependency(h.Point(1))
		f := r.submit(q, j)
		if !f.Submitted() {
			t.Fatal("not submitted at once")
		}
		time.Sleep(5 * timeout) // the job waits for the host, not on the GPU: no timeout
		if n := calls.Load(); n != 0 {
			t.Fatalf("OnTimeout called %d times while the job waited for its host point", n)
		}
		h.Signal(1)
		if err := r.wait(f); err != nil {
			t.Fatal(err)
		}
		r.check()
	})

	t.Run("a_queue_joining_the_VkQueue_is_held_behind_the_host_wait", func(t *testing.T) {
		r, h, q := hostRig(t, vkdep.QueueOptions{VkQueueIndex: 1})
		j := r.job(q, 1)
		j.AddDependency(h.Point(1))
		f := r.submit(q, j)
		if !f.Submitted() {
			t.Fatal("not submitted at once")
		}
		// q is pinned, not Exclusive, here: a queue With it shares the stalled VkQueue.
		b := r.queue(vkdep.QueueOptions{Name: "joiner", With: q, Bypass: true})
		g := r.submit(b, r.job(b, 2))
		if g.Submitted() {
			t.Fatal("a job of another queue went behind the host wait on the same VkQueue")
		}
		h.Signal(1)
		if err := r.wait(g); err != nil {
			t.Fatal(err)
		}
		if err := r.wait(f); err != nil {
			t.Fatal(err)
		}
		r.check()
	})
}

// TestV1_loss_with_a_GPU_side_host_wait: when the device is lost while a job waits GPU-side on a
// host point nobody signals, the dying host timeline signals its semaphore past the waited value,
// so the GPU is not left waiting forever: Close, which waits for the device to go idle, returns.
func TestV1_loss_with_a_GPU_side_host_wait(t *testing.T) {
	r, h, q := hostRig(t, vkdep.QueueOptions{})
	j := r.job(q, 1)
	j.AddDependency(h.Point(1))
	f := r.submit(q, j)
	if !f.Submitted() {
		t.Fatal("not submitted at once")
	}
	vkdep.SetFault(r.d, func(p vk.FaultPoint) error {
		if p == vk.FaultSubmit {
			return vk.ErrorDeviceLost
		}
		return nil
	})
	lf := r.submit(q, r.job(q, 2)) // its submit reports the loss
	for _, fence := range []vkdep.Fence{f, lf, h.Point(1)} {
		if err := r.wait(fence); !errors.Is(err, vkdep.ErrDeviceLost) {
			t.Fatalf("%s value %d after loss: %v", fence.Timeline(), fence.Value(), err)
		}
	}
	r.check()
	vkdep.SetFault(r.d, nil)
	// lavapipe is not really lost: its VkQueue still holds the job's wait, which only the
	// host timeline's dying signal can end.
	idle := make(chan error, 1)
	go func() { idle <- r.g.VK.WaitIdle() }()
	select {
	case err := <-idle:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the GPU still waits for a host point of a dead timeline")
	}
	r.g.Close()
	if err := r.d.Close(context.Background()); err != nil {
		t.Fatalf("Close after loss: %v", err)
	}
}
