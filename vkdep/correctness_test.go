package vkdep_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// Tests of issue 11: each shows a promise that an earlier version broke.

// D6: a producer that vkdep decided to fail is a failed dependency from that moment (D4), even
// while its signal-only submit is on its way: its consumer never runs on the GPU.
func TestD6_killed_producer_consumer_never_runs(t *testing.T) {
	r := newRig(t)
	p := r.queue(vkdep.QueueOptions{Name: "producer", Credits: 1})
	c := r.queue(vkdep.QueueOptions{Name: "consumer", Bypass: true})
	hold, release := r.rawHold()
	busy := r.job(p, 1)
	hold(busy) // takes p's only credit until released
	fb := r.submit(p, busy)
	if err := fb.WaitSubmitted(context.Background()); err != nil {
		t.Fatal(err)
	}
	prod := r.job(p, 2) // waits for a credit: not submitted
	fp := r.submit(p, prod)
	cons := r.job(c, 3)
	if err := cons.AddDependency(fp); err != nil {
		t.Fatal(err)
	}
	fc := r.submit(c, cons) // held on the CPU (D5): its producer is not submitted
	cause := errors.New("producer killed")
	p.Kill(cause)
	// The killed producer's signal-only submit reaches the driver (behind the held job); the
	// consumer must not be submitted on its strength.
	if err := fp.WaitSubmitted(context.Background()); err != nil {
		t.Fatalf("WaitSubmitted of the killed producer: %v", err)
	}
	release()
	if err := r.wait(fb); err != nil {
		t.Fatalf("held job: %v", err)
	}
	if err := r.wait(fp); !errors.Is(err, vkdep.ErrKilled) || !errors.Is(err, cause) {
		t.Fatalf("producer: %v, want ErrKilled and the cause", err)
	}
	if err := r.wait(fc); !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, cause) {
		t.Fatalf("consumer: %v, want ErrDependency and the cause", err)
	}
	r.check()
	if slices.Contains(r.ids(), 3) {
		t.Fatalf("the consumer of a killed producer ran on the GPU: log %v", r.ids())
	}
}

// failProducerInFlush is the D6 flush-window scenario: a producer's gate on a queue of its own,
// and a consumer of it (job id) on another. When the consumer's flush reaches the hook that set
// installs, the producer is banned (TriggerTimeout) and its fence waited for; then after, if
// set, runs there (an error it returns fails the test). The consumer must complete with
// ErrDependency and ErrTimedOut without running. It returns the producer's fence.
func failProducerInFlush(t *testing.T, r *rig, set func(func(*vkdep.Queue)), id uint32,
	after func(ctx context.Context, p *vkdep.Queue) error) vkdep.Fence {
	t.Helper()
	p := r.queue(vkdep.QueueOptions{Name: "producer", JobTimeout: time.Hour})
	// High: the producer's gate fills the VkQueue's driver budget (H2) once the device has seen
	// long jobs, and equal-priority work would then wait for it to end before its flush.
	c := r.queue(vkdep.QueueOptions{Name: "consumer", Priority: vkdep.PriorityHigh})
	gate, _, _ := r.gateJob(p, 2000)
	fp := submitUntracked(t, p, gate)
	if err := fp.WaitSubmitted(context.Background()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var hookErr error
	set(func(q *vkdep.Queue) {
		if q != c {
			return
		}
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p.TriggerTimeout()
			_ = fp.Wait(ctx)
			if after != nil {
				hookErr = after(ctx, p)
			}
		})
	})
	t.Cleanup(func() { set(nil) })
	cons := r.job(c, id)
	cons.AddDependency(fp)
	err := r.wait(r.submit(c, cons))
	if hookErr != nil {
		t.Fatalf("hook: %v", hookErr)
	}
	if !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, vkdep.ErrTimedOut) {
		t.Fatalf("consumer: %v, want ErrDependency and ErrTimedOut", err)
	}
	r.check()
	if slices.Contains(r.ids(), id) {
		t.Fatalf("the consumer of a failed producer ran on the GPU: log %v", r.ids())
	}
	return fp
}

// D6: a dependency that completes with an error between the moment the consumer was found ready
// (its producer is submitted) and its submit is not dropped: the consumer completes with
// ErrDependency and does not run.
func TestD6_dependency_failing_before_flush_is_not_dropped(t *testing.T) {
	r := newRig(t)
	fp := failProducerInFlush(t, r, vkdep.SetFlushHook, 7, nil)
	if err := r.wait(fp); !errors.Is(err, vkdep.ErrTimedOut) {
		t.Fatalf("producer: %v, want ErrTimedOut", err)
	}
}

// D6: the producer is banned inside the consumer's flush, after its D6 check and before its
// submit is built (the window a random schedule, seed 12456 of 11000–13499, once hit). The
// dependency is already complete then, with an error: it must still fail the consumer (which
// does not run), not be dropped as complete.
func TestD6_dependency_failing_during_flush_is_not_dropped(t *testing.T) {
	r := newRig(t)
	fp := failProducerInFlush(t, r, vkdep.SetFlushCheckedHook, 8, nil)
	if err := r.wait(fp); !errors.Is(err, vkdep.ErrTimedOut) {
		t.Fatalf("producer: %v, want ErrTimedOut", err)
	}
}

// D6, X4: the producer fails inside the consumer's flush, after its D6 check, and its queue,
// closed, finishes and has its semaphore destroyed (a later job on its VkQueue retires it,
// retire.go) before the consumer's submit is built. The consumer must not wait on that semaphore
// (a wait on a destroyed semaphore crashed lavapipe's vkQueueSubmit2): the dependency is looked
// at once, with its producer pinned, and having failed it fails the consumer without running it.
func TestD6_producer_freed_during_flush_is_not_waited_on(t *testing.T) {
	r := newOwnRig(t)
	x := r.queue(vkdep.QueueOptions{Name: "bystander", Priority: vkdep.PriorityHigh})
	failProducerInFlush(t, r, vkdep.SetFlushCheckedHook, 9, func(ctx context.Context, p *vkdep.Queue) error {
		p.Close()
		select {
		case <-p.Done():
		case <-ctx.Done():
			return errors.New("the producer's queue did not finish")
		}
		live := vkdep.LiveSemaphores(r.d)
		fx, err := x.Submit(x.NewJob())
		if err == nil {
			err = fx.Wait(ctx)
		}
		if err != nil {
			return err
		}
		for vkdep.LiveSemaphores(r.d) >= live {
			if ctx.Err() != nil {
				return errors.New("the producer's semaphore was not destroyed")
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	})
}

// D6 stress: a producer killed while its cross-queue consumer is pending, over and over, with
// bypass and without. The consumer completes with ErrDependency every time, never nil, and its
// work never runs.
func TestD6_kill_while_consumer_pending_stress(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	r := newRig(t)
	failed := map[uint32]bool{}
	for i := range n {
		p := r.queue(vkdep.QueueOptions{Name: fmt.Sprintf("p%d", i), Credits: 1, Bypass: i%2 == 0})
		c := r.queue(vkdep.QueueOptions{Name: fmt.Sprintf("c%d", i), Bypass: i%3 != 0})
		first := r.submit(p, r.job(p, uint32(3*i+1)))
		prod := r.job(p, uint32(3*i+2))
		fp := r.submit(p, prod)
		cons := r.job(c, uint32(3*i+3))
		cons.AddDependency(fp)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Kill(errors.New("stress kill"))
		}()
		fc := r.submit(c, cons)
		wg.Wait()
		r.wait(first)
		perr := r.wait(fp)
		err := r.wait(fc)
		if perr != nil && err == nil {
			t.Fatalf("iteration %d: producer failed (%v) and its consumer completed with no error", i, perr)
		}
		if perr != nil && !errors.Is(err, vkdep.ErrDependency) {
			t.Fatalf("iteration %d: consumer: %v, want ErrDependency", i, err)
		}
		if err != nil {
			failed[uint32(3*i+3)] = true
		}
		p.Close()
		c.Close()
	}
	r.check()
	for _, id := range r.ids() {
		if failed[id] {
			t.Fatalf("consumer %d completed with an error but its work ran on the GPU", id)
		}
	}
}

// submitUntracked submits a job the rig does not count releases of (a gate).
func submitUntracked(t *testing.T, q *vkdep.Queue, j *vkdep.Job) vkdep.Fence {
	t.Helper()
	f, err := q.Submit(j)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// X2/X4: Device.Close returns in finite time while a pushed job waits on a HostTimeline point that
// is never signalled: the point fails with ErrDeviceClosed first, so the job completes.
func TestCloseWithJobHeldByHostPoint(t *testing.T) {
	t.Run("X4_close_with_job_held_by_host_point", func(t *testing.T) {
		d := vktest.Open(t)
		h := newHost(t, d, "never")
		q, err := d.NewQueue(vkdep.QueueOptions{Name: "held"})
		if err != nil {
			t.Fatal(err)
		}
		released := make(chan struct{})
		j := q.NewJob()
		j.AddDependency(h.Point(1))
		j.OnRelease(func() { close(released) })
		f, err := q.Submit(j)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Fatalf("Device.Close with a job held by a host point: %v", err)
		}
		if err := f.Err(); !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Fatalf("held job: %v, want ErrDependency and ErrDeviceClosed", err)
		}
		select {
		case <-released:
		default:
			t.Fatal("held job not released when Close returned")
		}
	})
}

// X3: every method of a Queue, Fence, HostTimeline (and Job) is safe after Device.Close: it returns
// an error or a fixed answer, never blocks, never touches freed memory.
func TestX3_every_method_after_device_close(t *testing.T) {
	d := vktest.Open(t)
	q, err := d.NewQueue(vkdep.QueueOptions{Name: "after", Bypass: true, JobTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	killed, err := d.NewQueue(vkdep.QueueOptions{Name: "killed"})
	if err != nil {
		t.Fatal(err)
	}
	killed.Kill(errors.New("before close"))
	h := newHost(t, d, "after")
	f, err := q.Submit(q.NewJob())
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, f)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		_, _, _, _ = q.Name(), q.Family(), q.VkQueue(), q.Semaphore()
		_, _ = q.AbortWord(), q.String()
		if q.Aborted() {
			t.Error("Aborted after Close: true for a queue never killed")
		}
		if !killed.Aborted() {
			t.Error("Aborted after Close: false for a killed queue")
		}
		q.Stop()
		q.Start()
		q.TriggerTimeout()
		_ = q.Stats()
		j := q.NewJob()
		j.SetCost(1)
		j.OnRelease(func() {})
		j.AddDependency(f)
		j.AddDependency(h.Point(3))
		j.WaitSemaphore(h.Semaphore(), 1, 0)
		j.SignalSemaphore(h.Semaphore(), 2)
		if _, err := j.Fence(); !errors.Is(err, vkdep.ErrNotArmed) {
			t.Errorf("Job.Fence before Arm after Close: %v", err)
		}
		g, err := q.Submit(j)
		if err == nil || g.IsZero() {
			t.Errorf("Submit after Close: %v, %v; want a fence and an error", g, err)
		}
		if err := g.Wait(ctx); err == nil {
			t.Error("a job submitted after Close completed with no error")
		}
		j2 := q.NewJob()
		g2, err := j2.Arm()
		if err != nil {
			t.Errorf("Arm after Close: %v", err)
		} else {
			j2.Push()
			if err := g2.Wait(ctx); err == nil {
				t.Error("a job pushed after Close completed with no error")
			}
		}
		q.Kill(errors.New("after close"))
		q.Close()
		<-q.Done()
		for _, fe := range []vkdep.Fence{f, g, h.Point(1), h.Point(9)} {
			_, _, _, _ = fe.IsZero(), fe.Value(), fe.Semaphore(), fe.Timeline()
			_, _ = fe.Completed(), fe.Err()
			<-fe.Done()
			_ = fe.Wait(ctx)
			_ = fe.WaitSubmitted(ctx)
			_ = fe.Submitted()
			called := make(chan error, 1)
			fe.OnDone(func(err error) { called <- err })
			<-called
		}
		_, _, _ = h.Point(1), h.Semaphore(), h.Value()
		if err := h.Signal(10); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Errorf("HostTimeline.Signal after Close: %v", err)
		}
		if err := h.Fail(11, errors.New("x")); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Errorf("HostTimeline.Fail after Close: %v", err)
		}
		if _, err := d.NewQueue(vkdep.QueueOptions{}); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Errorf("NewQueue after Close: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a method called after Device.Close blocked")
	}
}

// X3: Aborted is the queue's own answer: a queue that finished does not report the state of
// whichever queue reuses its abort word.
func TestX3_aborted_is_the_queues_own(t *testing.T) {
	d := vktest.Open(t)
	a, err := d.NewQueue(vkdep.QueueOptions{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	<-a.Done()
	for i := range 4 { // whichever of them reuses a's word, it is killed
		b, err := d.NewQueue(vkdep.QueueOptions{Name: fmt.Sprint("b", i)})
		if err != nil {
			t.Fatal(err)
		}
		b.Kill(errors.New("b"))
		if !b.Aborted() {
			t.Fatal("killed queue not aborted")
		}
	}
	if a.Aborted() {
		t.Fatal("a finished queue that was never killed reports Aborted")
	}
}

// L7: a Job used after its Push panics naming the misuse, also once vkdep has released and
// recycled it; never a data race or a misleading message.
func TestJobUsedAfterPushPanics(t *testing.T) {
	t.Run("L7_job_used_after_push_panics", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "l7", Bypass: true})
		hold, release := r.rawHold()
		j := r.job(q, 1)
		hold(j)
		f := r.submit(q, j)
		mustPanic(t, "used after its Push", func() { j.AddDependency(vkdep.Fence{}) })
		mustPanic(t, "used after its Push", func() { j.AddCommandBuffers(1) })
		mustPanic(t, "pushed twice", j.Push)
		release()
		r.wait(f)
		r.check() // released: the queue has recycled the job
		mustPanic(t, "used after its Push", j.Push)
		mustPanic(t, "used after its Push", func() { q.Submit(j) })
		mustPanic(t, "used after its Push", func() { j.SetCost(2) })
		mustPanic(t, "used after its Push", func() { j.Arm() })
		// A new job may reuse the memory; the queue keeps working.
		r.wait(r.submit(q, r.job(q, 2)))
		r.check()
	})
}

// T6: after a ban, jobs of the banned queue already submitted behind the timed-out job complete
// with ErrDependency and ErrTimedOut: queue order made them depend on it.
func TestJobsBehindABannedJobFail(t *testing.T) {
	t.Run("T6_jobs_behind_a_banned_job_fail", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "t6", JobTimeout: time.Hour})
		gate, _, _ := r.gateJob(q, 2000)
		fg := submitUntracked(t, q, gate)
		behind := r.submit(q, r.job(q, 2))
		if err := behind.WaitSubmitted(context.Background()); err != nil {
			t.Fatal(err)
		}
		q.TriggerTimeout()
		if err := r.wait(fg); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("timed-out job: %v", err)
		}
		if err := r.wait(behind); !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("job submitted behind the banned one: %v, want ErrDependency and ErrTimedOut", err)
		}
		r.check()
	})

	t.Run("T6_jobs_behind_a_ban_that_does_not_end_the_hang_fail_once", func(t *testing.T) {
		// The banned job ignores its abort word and stays on the GPU (T4). The job behind it
		// failed at the ban (T6) and waits for the GPU; when its own clock runs out it is not
		// asked about, nor banned again under a bare ErrTimedOut: its fence completes with its
		// T6 error, while the hang still holds the GPU.
		r := newRig(t)
		var asked atomic.Int32
		q := r.queue(vkdep.QueueOptions{Name: "t6 lasting", JobTimeout: 100 * time.Millisecond,
			OnTimeout: func(vkdep.TimedOut) vkdep.TimeoutAction { asked.Add(1); return vkdep.TimeoutBan }})
		hog, release := r.hogJob(q)
		fh := submitUntracked(t, q, hog)
		behind := r.submit(q, r.job(q, 2))
		if err := behind.WaitSubmitted(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := r.wait(fh); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("hog: %v", err)
		}
		switch done, err := waitWithin(behind, 3*time.Second); {
		case !done:
			t.Errorf("the job behind the banned hog did not complete in 3 s while the hog stayed")
		case !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, vkdep.ErrTimedOut):
			t.Errorf("job behind the banned hog: %v, want ErrDependency and ErrTimedOut", err)
		}
		if n := asked.Load(); n != 1 {
			t.Errorf("OnTimeout asked %d times, want once (the hog)", n)
		}
		release()
		r.check()
	})
}

// T1/T2: TimedOut.OnGPU is the time since the job became the queue's oldest on the GPU: a re-arm
// (still running) does not restart it.
func TestT2_OnGPU_counts_from_head_not_from_rearm(t *testing.T) {
	r := newRig(t)
	const timeout = 150 * time.Millisecond
	var mu sync.Mutex
	var onGPU []time.Duration
	q := r.queue(vkdep.QueueOptions{Name: "ongpu", JobTimeout: timeout, OnTimeout: func(x vkdep.TimedOut) vkdep.TimeoutAction {
		mu.Lock()
		defer mu.Unlock()
		onGPU = append(onGPU, x.OnGPU)
		if len(onGPU) < 3 {
			return vkdep.TimeoutStillRunning
		}
		return vkdep.TimeoutBan
	}})
	gate, _, _ := r.gateJob(q, 4000)
	f := submitUntracked(t, q, gate)
	if err := r.wait(f); !errors.Is(err, vkdep.ErrTimedOut) {
		t.Fatalf("gate: %v", err)
	}
	r.check()
	mu.Lock()
	defer mu.Unlock()
	// Each report comes at least one JobTimeout after the one before: OnGPU grows with them.
	for i, d := range onGPU {
		if want := time.Duration(i+1) * timeout; d < want {
			t.Fatalf("report %d: OnGPU %v, want at least %v (reports %v)", i, d, want, onGPU)
		}
	}
	if err := f.Err(); !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("ban error %v", err)
	}
}

// E1: options and arguments vkdep cannot use return an error matching ErrInvalidOptions.
func TestE1_invalid_options_match_a_sentinel(t *testing.T) {
	d := vktest.Open(t)
	hs := d.Handles()
	_, err := vkdep.Wrap(vkdep.WrapOptions{Instance: hs.Instance, PhysicalDevice: hs.PhysicalDevice, Device: hs.Device})
	if !errors.Is(err, vkdep.ErrInvalidOptions) {
		t.Errorf("Wrap with no queues: %v, want ErrInvalidOptions", err)
	}
	if _, err := d.NewQueue(vkdep.QueueOptions{VkQueueIndex: 1000}); !errors.Is(err, vkdep.ErrInvalidOptions) {
		t.Errorf("NewQueue on VkQueue 1000: %v, want ErrInvalidOptions", err)
	}
	h := newHost(t, d, "fail")
	if err := h.Fail(1, nil); err != nil {
		t.Fatal(err)
	}
	if err := waitDone(t, h.Point(1)); !errors.Is(err, vkdep.ErrInvalidOptions) {
		t.Errorf("point failed with a nil error: %v, want ErrInvalidOptions", err)
	}
}

// X4: Device.Close also ends GPU work waiting on a HostTimeline's semaphore that nobody signals:
// the failed points are still reached on the semaphore (D5), so the queue finishes.
func TestCloseReachesHostSemaphoreForGpuWaits(t *testing.T) {
	t.Run("X4_close_reaches_host_semaphore_for_gpu_waits", func(t *testing.T) {
		d := vktest.Open(t)
		h := newHost(t, d, "gpu-wait")
		q, err := d.NewQueue(vkdep.QueueOptions{Name: "gpu-held"})
		if err != nil {
			t.Fatal(err)
		}
		j := q.NewJob()
		j.WaitSemaphore(h.Semaphore(), 5, 0)
		f, err := q.Submit(j)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.WaitSubmitted(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Fatalf("Device.Close with GPU work waiting on a host semaphore: %v", err)
		}
		if !f.Completed() {
			t.Fatal("job not complete after Close")
		}
	})
}
