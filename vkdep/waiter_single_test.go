package vkdep_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// TestO6_watch_threads_bounded shows that the single-semaphore waiter (F3) keeps O6 with more
// queues than its thread bound: with the bound lowered to 2, five queues each run a chain of jobs
// that depend on the previous queue's, held on the GPU until released, and everything completes in
// order; the queues beyond the bound are read by the completion goroutine. Idle again, the device
// uses no CPU: the polled queues are read only while they have work submitted.
func TestO6_watch_threads_bounded(t *testing.T) {
	t.Setenv("VKDEP_WAITER", "single")
	defer vkdep.SetMaxWatchThreads(2)()
	d := vktest.Open(t)
	if k := vkdep.WaiterKind(d); k != "single" {
		t.Fatalf("waiter %s, want single", k)
	}
	r := newRigOn(t, d)
	var qs []*vkdep.Queue
	for i := range 5 {
		qs = append(qs, r.queue(vkdep.QueueOptions{Name: fmt.Sprintf("o6-%d", i), Bypass: i%2 == 0}))
	}
	hold, release := r.rawHold()
	var want []uint32
	var prev vkdep.Fence
	var fences []vkdep.Fence
	for round := range uint32(3) {
		for i, q := range qs {
			id := 10*round + uint32(i) + 1
			j := r.job(q, id)
			if round == 0 && i == 0 {
				hold(j)
			}
			if !prev.IsZero() {
				if err := j.AddDependency(prev); err != nil {
					t.Fatal(err)
				}
			}
			prev = r.submit(q, j)
			fences = append(fences, prev)
			want = append(want, id)
		}
	}
	time.Sleep(20 * time.Millisecond)
	for _, f := range fences {
		if f.Completed() {
			t.Fatalf("%s value %d completed while the first job is held", f.Timeline(), f.Value())
		}
	}
	release()
	for _, f := range fences {
		if err := r.wait(f); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.ids(); !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	r.check()

	time.Sleep(20 * time.Millisecond)
	cpu0, t0 := processCPU(t), time.Now()
	time.Sleep(500 * time.Millisecond)
	if share := float64(processCPU(t)-cpu0) / float64(time.Since(t0)); share > 0.20 {
		t.Fatalf("F3: idle device with polled queues used %.0f %% of a core", 100*share)
	} else {
		t.Logf("idle, 5 queues over a bound of 2 threads: %.1f %% of a core", 100*share)
	}
	for _, q := range qs {
		q.Close()
		<-q.Done()
	}
}
