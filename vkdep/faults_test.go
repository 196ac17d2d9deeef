package vkdep_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

// rawHold returns a raw timeline of the test's own: a job waiting on it stays on the GPU until
// release signals it. Unlike a HostTimeline it keeps working after the device is marked lost.
func (r *rig) rawHold() (hold func(*vkdep.Job), release func()) {
	sem, err := r.g.Timeline()
	if err != nil {
		r.t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if err := r.g.VK.Signal(sem, 1); err != nil {
				r.t.Error(err)
			}
		})
	}
	// A failing test must not leave GPU work waiting forever: cleanup destroys what it uses.
	r.t.Cleanup(release)
	return func(j *vkdep.Job) {
		if err := j.WaitSemaphore(uint64(sem), 1, 0); err != nil {
			r.t.Fatal(err)
		}
	}, release
}

// gateJob makes a job of q that spins on the GPU until the test's release word is set or q's
// abort word is (T5), for at most about workgroups × 1–2 ms / lavapipe threads. It returns the
// words the gate reports: result[0] has bit 1<<reason set for each reason a workgroup stopped for
// (shaders.GateReleased, GateAborted, GateBudgetExhausted).
func (r *rig) gateJob(q *vkdep.Queue, workgroups uint32) (j *vkdep.Job, releaseWord, result []uint32) {
	r.t.Helper()
	rel, err := r.g.Buffer(16)
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := r.g.Buffer(16)
	if err != nil {
		r.t.Fatal(err)
	}
	aw := q.AbortWord()
	abortBuf := &vk.Buffer{Handle: aw.Buffer, Size: aw.Size}
	cmd, err := r.g.Record(q.Family(), func(c vk.CommandBuffer) {
		r.g.Gate(c, gpu.GateSpec{Gate: rel, AbortBuf: abortBuf, ResultBuf: res, Abort: aw.Index, Workgroups: workgroups})
		r.g.VK.Barrier(c, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageHost, vk.AccessHostRead)
	})
	if err != nil {
		r.t.Fatal(err)
	}
	j = q.NewJob()
	j.AddCommandBuffers(uint64(cmd))
	return j, rel.Uint32s(), res.Uint32s()
}

func TestFaults(t *testing.T) {
	t.Run("T1_timeout_reported_after_deadline_clock_per_head_job", func(t *testing.T) {
		r := newRig(t)
		const timeout = 200 * time.Millisecond
		var mu sync.Mutex
		var reports []vkdep.TimedOut
		var at []time.Time
		q := r.queue(vkdep.QueueOptions{Name: "t1", JobTimeout: timeout, OnTimeout: func(x vkdep.TimedOut) vkdep.TimeoutAction {
			mu.Lock()
			reports = append(reports, x)
			at = append(at, time.Now())
			mu.Unlock()
			return vkdep.TimeoutBan
		}})
		// Two jobs, each on the GPU for less than the timeout, together for more: the clock
		// restarts for each head job, so neither times out.
		hold1, release1 := r.rawHold()
		hold2, release2 := r.rawHold()
		j1, j2 := r.job(q, 1), r.job(q, 2)
		hold1(j1)
		hold2(j2)
		f1, f2 := r.submit(q, j1), r.submit(q, j2)
		time.Sleep(timeout * 6 / 10)
		release1()
		r.wait(f1)
		time.Sleep(timeout * 6 / 10)
		release2()
		if err := r.wait(f2); err != nil {
			t.Fatalf("job 2: %v", err)
		}
		// The clock does not run while the queue is stopped.
		hold3, release3 := r.rawHold()
		j3 := r.job(q, 3)
		hold3(j3)
		f3 := r.submit(q, j3)
		eventually(t, "job 3 in flight", func() bool { return q.Stats().InFlight == 1 })
		q.Stop()
		time.Sleep(2 * timeout)
		mu.Lock()
		if len(reports) != 0 {
			t.Fatalf("timeouts while nothing exceeded its time on the GPU: %+v", reports)
		}
		mu.Unlock()
		start := time.Now()
		q.Start()
		err := r.wait(f3)
		if !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("job 3 on the GPU past its timeout: %v", err)
		}
		mu.Lock()
		if len(reports) != 1 || reports[0].Fence != f3 || at[0].Before(start) {
			t.Fatalf("reports %+v", reports)
		}
		t.Logf("timeout reported %v after Start (timeout %v, some of it spent before Stop)", at[0].Sub(start), timeout)
		mu.Unlock()
		release3()
		r.check()
	})

	t.Run("T2_on_timeout_still_running_signalled_ban", func(t *testing.T) {
		r := newRig(t)
		const timeout = 100 * time.Millisecond
		answers := []vkdep.TimeoutAction{vkdep.TimeoutStillRunning, vkdep.TimeoutSignalled, vkdep.TimeoutBan}
		var mu sync.Mutex
		var times []time.Time
		// One credit: job 2 stays pending behind job 1, so the ban kills it unsubmitted.
		q := r.queue(vkdep.QueueOptions{Name: "t2", Credits: 1, JobTimeout: timeout, OnTimeout: func(x vkdep.TimedOut) vkdep.TimeoutAction {
			mu.Lock()
			defer mu.Unlock()
			times = append(times, time.Now())
			return answers[min(len(times), len(answers))-1]
		}})
		other := r.queue(vkdep.QueueOptions{Name: "t2 consumer"})
		hold, release := r.rawHold()
		j := r.job(q, 1)
		hold(j)
		submitted := time.Now()
		f := r.submit(q, j)
		pending := r.submit(q, r.job(q, 2))
		dep := r.job(other, 3)
		dep.AddDependency(f)
		df := r.submit(other, dep)
		err := r.wait(f)
		if !errors.Is(err, vkdep.ErrTimedOut) || !strings.Contains(err.Error(), `queue "t2" value 1`) {
			t.Fatalf("banned job: %v", err)
		}
		mu.Lock()
		if len(times) != 3 {
			t.Fatalf("OnTimeout called %d times, want 3 (still running, signalled, ban)", len(times))
		}
		for i, at := range times {
			if at.Sub(submitted) < time.Duration(i+1)*timeout {
				t.Fatalf("report %d after %v: the clock was not re-armed", i, at.Sub(submitted))
			}
		}
		mu.Unlock()
		if !q.Aborted() {
			t.Fatal("banned queue's abort word not set")
		}
		// The killed job's value can only land behind the held job on the GPU (T4).
		release()
		if err := r.wait(pending); !errors.Is(err, vkdep.ErrKilled) || !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("job queued behind the banned one: %v", err)
		}
		if err := r.wait(df); !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("dependent of the banned job (D7): %v", err)
		}
		r.check()
		if s := q.Stats(); s.TimedOut != 1 {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("T2_default_is_ban", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "t2 default", JobTimeout: 50 * time.Millisecond})
		hold, release := r.rawHold()
		j := r.job(q, 1)
		hold(j)
		f := r.submit(q, j)
		if err := r.wait(f); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("got %v", err)
		}
		if _, err := q.Submit(r.job(q, 2)); !errors.Is(err, vkdep.ErrKilled) || !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("push to a banned queue: %v", err)
		}
		release()
	})

	t.Run("T3_trigger_timeout", func(t *testing.T) {
		r := newRig(t)
		called := make(chan vkdep.TimedOut, 4)
		q := r.queue(vkdep.QueueOptions{Name: "t3", JobTimeout: time.Hour, OnTimeout: func(x vkdep.TimedOut) vkdep.TimeoutAction {
			called <- x
			return vkdep.TimeoutStillRunning
		}})
		q.TriggerTimeout() // nothing in flight: nothing to ask about
		// The check runs on the completion goroutine, in the order tasks were posted: a host
		// signal seen through a fence means it has run.
		flush, _ := r.d.NewHostTimeline("t3 flush")
		flush.Signal(1)
		r.wait(flush.Point(1))
		hold, release := r.rawHold()
		j := r.job(q, 1)
		hold(j)
		f := r.submit(q, j)
		eventually(t, "job in flight", func() bool { return q.Stats().InFlight == 1 })
		q.TriggerTimeout()
		select {
		case x := <-called:
			if x.Fence != f {
				t.Fatalf("asked about %v, want %v", x.Fence, f)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("TriggerTimeout did not run the check")
		}
		release()
		if err := r.wait(f); err != nil {
			t.Fatalf("still-running job: %v", err)
		}
		if len(called) != 0 {
			t.Fatal("empty-queue TriggerTimeout asked about a job")
		}
		r.check()
	})

	t.Run("T4_release_waits_for_the_gpu", func(t *testing.T) {
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "t4", JobTimeout: 50 * time.Millisecond})
		hold, release := r.rawHold()
		j := q.NewJob()
		hold(j) // no abort polling: the GPU keeps it until the hold is released
		released := make(chan struct{})
		j.OnRelease(func() { close(released) })
		f, _ := q.Submit(j)
		if err := r.wait(f); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("got %v", err)
		}
		select {
		case <-released:
			t.Fatal("release hook ran while the GPU still held the timed-out job")
		case <-time.After(200 * time.Millisecond):
		}
		release()
		select {
		case <-released:
		case <-time.After(30 * time.Second):
			t.Fatal("release hook never ran after the GPU finished")
		}
	})

	t.Run("T5_cooperative_abort_unblocks_a_shared_vkqueue", func(t *testing.T) {
		r := newRig(t)
		// Both queues on one VkQueue, as on lavapipe: the hung gate blocks the other queue's
		// work behind it in the driver until the ban sets the abort word.
		a := r.queue(vkdep.QueueOptions{Name: "hung client", VkQueueIndex: 1, JobTimeout: 300 * time.Millisecond})
		b := r.queue(vkdep.QueueOptions{Name: "compositor", VkQueueIndex: 1})
		gate, _, result := r.gateJob(a, 2000) // ~17 s of spinning on lavapipe unless aborted
		gateDone := make(chan struct{})
		gate.OnRelease(func() { close(gateDone) }) // the GPU is done with it (T4)
		start := time.Now()
		gf, _ := a.Submit(gate)
		bf := r.submit(b, r.job(b, 1))
		if err := r.wait(gf); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("gate: %v", err)
		}
		if err := r.wait(bf); err != nil {
			t.Fatalf("job behind the hung gate: %v", err)
		}
		stall := time.Since(start)
		select {
		case <-gateDone:
		case <-time.After(30 * time.Second):
			t.Fatal("the gate's release hook never ran")
		}
		if result[0]&(1<<shaders.GateAborted) == 0 {
			t.Fatalf("gate reasons %#b after %v (iterations %d): no workgroup saw the abort word", result[0], stall, result[1])
		}
		t.Logf("other queue stalled %v behind the hung gate (job timeout 300ms)", stall)
		if stall > 15*time.Second {
			t.Fatalf("the abort did not cut the hang short: %v", stall)
		}
	})

	t.Run("V1_device_lost", func(t *testing.T) {
		r := newOwnRig(t) // loses its device
		q := r.queue(vkdep.QueueOptions{Name: "v1", Bypass: true})
		other := r.queue(vkdep.QueueOptions{Name: "v1 other"})
		hold, release := r.rawHold()
		j := r.job(q, 1)
		hold(j)
		inflight := r.submit(q, j)
		eventually(t, "job in flight", func() bool { return q.Stats().InFlight == 1 })
		other.Stop()
		pending := r.submit(other, r.job(other, 2))
		h, _ := r.d.NewHostTimeline("v1")
		hp := h.Point(5)

		calls := 0
		vkdep.SetFault(r.d, func(p vk.FaultPoint) error {
			if p == vk.FaultSubmit {
				calls++
				return vk.ErrorDeviceLost
			}
			return nil
		})
		f, err := q.Submit(r.job(q, 3))
		r.track(f)
		if err != nil {
			t.Logf("Submit that hit the loss: %v", err)
		}
		for _, fence := range []vkdep.Fence{inflight, pending, f, hp} {
			if err := r.wait(fence); !errors.Is(err, vkdep.ErrDeviceLost) {
				t.Fatalf("%s value %d after loss: %v", fence.Timeline(), fence.Value(), err)
			}
		}
		lost := r.d.Lost()
		if !errors.Is(lost, vkdep.ErrDeviceLost) || !errors.Is(lost, vk.ErrorDeviceLost) || !strings.Contains(lost.Error(), `vkQueueSubmit2 on queue "v1"`) {
			t.Fatalf("Lost() = %v", lost)
		}
		// Later pushes fail with it; the loss is remembered once, where it first happened.
		lf, err := other.Submit(r.job(other, 4))
		r.track(lf)
		if !errors.Is(err, vkdep.ErrDeviceLost) || !errors.Is(r.wait(lf), vkdep.ErrDeviceLost) {
			t.Fatalf("push after loss: %v / %v", err, lf.Err())
		}
		if _, err := r.d.NewQueue(vkdep.QueueOptions{}); !errors.Is(err, vkdep.ErrDeviceLost) {
			t.Fatalf("NewQueue after loss: %v", err)
		}
		if r.d.Lost().Error() != lost.Error() {
			t.Fatalf("loss re-recorded: %v", r.d.Lost())
		}
		r.check()
		// lavapipe is not really lost: let its held work drain before Close destroys things.
		vkdep.SetFault(r.d, nil)
		release()
		if err := r.g.VK.WaitIdle(); err != nil {
			t.Fatal(err)
		}
		r.g.Close()
		if err := r.d.Close(context.Background()); err != nil {
			t.Fatalf("Close after loss: %v", err)
		}
		_ = calls
	})
}
