package vkdep_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"vkdep.dev/vkdep"
)

// TestSemanticsStopKill shows, on a real device with validation on, the promises S and K (stop, kill) of SEMANTICS.md,
// each subtest named after its number. Work is real GPU work: jobs append their ids to a
// buffer, so results show the order things ran in.
func TestSemanticsStopKill(t *testing.T) {
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

}

// TestSemanticsTeardown shows, on a real device with validation on, the promises X (teardown) of SEMANTICS.md,
// each subtest named after its number. Work is real GPU work: jobs append their ids to a
// buffer, so results show the order things ran in.
func TestSemanticsTeardown(t *testing.T) {
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
		// TestCloseWithJobHeldByHostPoint/X4_close_with_job_held_by_host_point).
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

}
