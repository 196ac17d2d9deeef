package vkdep_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// TestX2_Drain_waits_for_releases_and_keeps_the_device: Device.Drain returns only after every job
// pushed before it, on every queue, has completed and run its release hook (L6); the device and
// its queues stay usable; a context that ends first makes it return the context's error.
func TestX2_Drain_waits_for_releases_and_keeps_the_device(t *testing.T) {
	r := newRig(t)
	a := r.queue(vkdep.QueueOptions{Name: "drain a"})
	b := r.queue(vkdep.QueueOptions{Name: "drain b"})
	hold, release := r.held("drain hold")
	released := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, c := range r.releases {
			n += c
		}
		return n
	}
	const n = 6
	var first vkdep.Fence
	for i := range uint32(n) {
		q := a
		if i%2 == 1 {
			q = b
		}
		j := r.job(q, i+1)
		if i == 0 {
			hold(j) // queue a's first job waits on the GPU until release
		}
		f := r.submit(q, j)
		if i == 0 {
			first = f
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.d.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain with an ended context while a job is held: %v", err)
	}
	drained := make(chan error, 1)
	go func() { drained <- r.d.Drain(context.Background()) }()
	eventually(t, "the held job submitted", first.Submitted)
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while a job was held on the GPU", err)
	default:
	}
	release()
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Drain did not return after the hold was released")
	}
	if got := released(); got != n {
		t.Fatalf("Drain returned with %d of %d release hooks run", got, n)
	}
	// Still open: a new job runs, and Drain with nothing pending returns at once.
	if err := r.wait(r.submit(a, r.job(a, 100))); err != nil {
		t.Fatalf("job after Drain: %v", err)
	}
	if err := r.d.Drain(context.Background()); err != nil {
		t.Fatalf("second Drain: %v", err)
	}
	r.check()
}

// TestX2_Drain_after_close: Drain on a closed device returns ErrDeviceClosed (X2: calls after
// Close), at once.
func TestX2_Drain_after_close(t *testing.T) {
	var msgs vktest.Messages
	d, err := vkdep.Open(vkdep.Options{Validate: true, OnValidation: msgs.Add})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Drain(context.Background()); !errors.Is(err, vkdep.ErrDeviceClosed) {
		t.Fatalf("Drain after Close: %v", err)
	}
	for _, m := range msgs.Take() {
		t.Errorf("validation: %v", m)
	}
}

func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	return strings.Fields(string(buf))[1]
}

// TestL6_Recycler_resets_on_the_callers_goroutine: command buffers handed back by release hooks
// come out of Get only after their job's fence completed and its hook ran (L6), and are reset on
// the goroutine that calls Get, never on the completion goroutine (E4), where a command pool the
// application records from elsewhere must not be touched.
func TestL6_Recycler_resets_on_the_callers_goroutine(t *testing.T) {
	r := newRig(t)
	q := r.queue(vkdep.QueueOptions{Name: "recycled"})
	me := goroutineID()
	var resets atomic.Int32
	var wrong atomic.Value
	rec := vkdep.NewRecycler(func(cmd uint64) error {
		if g := goroutineID(); g != me {
			wrong.Store(g)
		}
		resets.Add(1)
		return nil
	})
	wait, release := r.held("recycler hold")
	cmds := map[uint64]vkdep.Fence{}
	for i := range uint32(3) {
		j := q.NewJob()
		cmd := r.appendCmd(q.Family(), 10+i)
		if i == 0 {
			wait(j)
		}
		if err := rec.Attach(j, cmd); err != nil {
			t.Fatal(err)
		}
		f, err := q.Submit(j)
		if err != nil {
			t.Fatal(err)
		}
		cmds[cmd] = f
	}
	if _, ok, _ := rec.TryGet(); ok {
		t.Fatal("TryGet returned a buffer while every job was held")
	}
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		cmd, err := rec.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := cmds[cmd]
		if !ok {
			t.Fatalf("Get returned %#x, not one of the jobs' buffers", cmd)
		}
		if !f.Completed() {
			t.Fatalf("buffer %#x back before its fence completed", cmd)
		}
		delete(cmds, cmd)
	}
	if g := wrong.Load(); g != nil {
		t.Fatalf("reset ran on goroutine %v, not the caller's %s", g, me)
	}
	if resets.Load() != 3 {
		t.Fatalf("%d resets, want 3", resets.Load())
	}
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	if _, err := rec.Get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with nothing to come back: %v", err)
	}
}
