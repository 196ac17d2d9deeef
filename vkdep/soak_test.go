package vkdep_test

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"vkdep.dev/vkdep"
)

// TestSoak pushes VKDEP_SOAK jobs (make soak: 1,000,000; by default 20,000, 5,000 with -short)
// over four queues with mixed dependencies — cross-queue GPU-side waits, host-timeline points,
// none — and reports heap in use and goroutine count at the start, halfway and the end: neither
// may grow with the job count. Every 512 jobs one queue is closed and replaced (X4): the live
// semaphore count may not grow with the replacements.
func TestSoak(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("VKDEP_SOAK"))
	if n <= 0 {
		n = 20_000
		if testing.Short() {
			n = 5_000
		}
	}
	d, err := vkdep.Open(vkdep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	var qs []*vkdep.Queue
	for i := range 4 {
		q, err := d.NewQueue(vkdep.QueueOptions{Name: "soak" + strconv.Itoa(i), Bypass: i%2 == 0, Credits: 256})
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	h, _ := d.NewHostTimeline("soak host")
	var hostAt uint64
	rng := rand.New(rand.NewPCG(1, 2))
	last := make([]vkdep.Fence, 4)
	var window []vkdep.Fence
	measure := func(when string) (heap uint64, goroutines int) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t.Logf("%-8s heap in use %7.1f MiB, goroutines %d", when, float64(ms.HeapInuse)/(1<<20), runtime.NumGoroutine())
		return ms.HeapInuse, runtime.NumGoroutine()
	}
	ctx := context.Background()
	start := time.Now()
	heap0, g0 := uint64(0), 0
	churned, sems0 := 0, vkdep.LiveSemaphores(d)
	var heapMid uint64
	for i := range n {
		k := rng.IntN(4)
		q := qs[k]
		j := q.NewJob()
		switch rng.IntN(4) {
		case 0, 1:
			j.AddDependency(last[rng.IntN(4)]) // another queue: GPU-side wait (or own: dropped)
		case 2:
			j.AddDependency(h.Point(hostAt + 1)) // held on the CPU until the next host signal
		}
		f, err := q.Submit(j)
		if err != nil {
			t.Fatal(err)
		}
		last[k] = f
		window = append(window, f)
		if i%64 == 63 {
			hostAt++
			if err := h.Signal(hostAt); err != nil {
				t.Fatal(err)
			}
		}
		if i%512 == 511 {
			// X4: queues come and go while the others push, as a compositor's clients do; a
			// finished queue's semaphore must not outlive it for long.
			qs[3].Close()
			nq, err := d.NewQueue(vkdep.QueueOptions{Name: "soak3", Credits: 256})
			if err != nil {
				t.Fatal(err)
			}
			qs[3] = nq
			churned++
		}
		if len(window) == 4096 {
			for _, f := range window[:2048] {
				if err := f.Wait(ctx); err != nil {
					t.Fatalf("job failed: %v", err)
				}
			}
			window = append(window[:0], window[2048:]...)
		}
		switch i {
		case min(10_000, n/4):
			heap0, g0 = measure("start")
		case n / 2:
			heapMid, _ = measure("halfway")
		}
	}
	h.Signal(hostAt + 1)
	for _, f := range window {
		if err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	heap1, g1 := measure("end")
	var submits uint64
	for _, q := range qs {
		s := q.Stats()
		submits += s.SubmitCalls
		t.Logf("%s: %+v", q.Name(), s)
	}
	t.Logf("%d jobs in %v (%.0f jobs/s, %.2f jobs per vkQueueSubmit2)", n, elapsed, float64(n)/elapsed.Seconds(), float64(n)/float64(submits))
	if n >= 100_000 && heap0 > 0 && (heap1 > 2*heap0+(8<<20) || heap1 > 2*heapMid+(8<<20)) {
		t.Errorf("heap grew with the job count: %d → %d → %d bytes", heap0, heapMid, heap1)
	}
	// The queues replaced (and each one's semaphore) are gone, but for the last few finishing
	// and one per VkQueue waiting for a later completion (retire.go).
	if sems := vkdep.LiveSemaphores(d); sems > sems0+4+int64(len(d.VkQueues())) {
		t.Errorf("live semaphores grew from %d to %d over %d queue replacements", sems0, sems, churned)
	}
	if g0 > 0 && g1 > g0 {
		t.Errorf("goroutines grew: %d → %d", g0, g1)
	}
}
