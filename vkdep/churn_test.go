package vkdep_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// TestQueueChurnLeaksNothing/X4_queue_churn_leaks_nothing creates, uses and closes thousands of queues on one device, as
// a compositor replacing its clients does: live semaphores, Go heap and goroutines stay flat (X4).
// Before, every finished queue's semaphore was kept until Device.Close.
func TestQueueChurnLeaksNothing(t *testing.T) {
	t.Run("X4_queue_churn_leaks_nothing", func(t *testing.T) {
		n := 6000
		if testing.Short() {
			n = 2000
		}
		d := vktest.Open(t)
		ctx := context.Background()
		cycle := func(i int) {
			q, err := d.NewQueue(vkdep.QueueOptions{Name: "churn", Bypass: i%2 == 0})
			if err != nil {
				t.Fatalf("cycle %d: NewQueue: %v", i, err)
			}
			f, err := q.Submit(q.NewJob())
			if err != nil {
				t.Fatalf("cycle %d: Submit: %v", i, err)
			}
			if err := f.Wait(ctx); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			q.Close()
			<-q.Done()
		}
		measure := func() (sems int64, heap uint64, goroutines int) {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return vkdep.LiveSemaphores(d), ms.HeapInuse, runtime.NumGoroutine()
		}
		for i := range 100 { // warm up pools and rings
			cycle(i)
		}
		s0, h0, g0 := measure()
		start := time.Now()
		for i := range n {
			cycle(i)
		}
		elapsed := time.Since(start)
		s1, h1, g1 := measure()
		t.Logf("%d queue lifetimes in %v (%v each): live semaphores %d → %d, heap in use %.1f → %.1f MiB, goroutines %d → %d",
			n, elapsed.Round(time.Millisecond), (elapsed / time.Duration(n)).Round(time.Microsecond), s0, s1,
			float64(h0)/(1<<20), float64(h1)/(1<<20), g0, g1)
		// At most one finished queue per VkQueue waits for a later completion (retire.go).
		if s1 > s0+int64(len(d.VkQueues())) {
			t.Fatalf("live semaphores grew from %d to %d over %d queue lifetimes", s0, s1, n)
		}
		// A leak of even 100 bytes per queue would show as 200 KB here; allow noise of 1 MiB.
		if h1 > h0+1<<20 {
			t.Fatalf("heap in use grew from %d to %d bytes over %d queue lifetimes", h0, h1, n)
		}
		if g1 > g0+2 {
			t.Fatalf("goroutines grew from %d to %d", g0, g1)
		}
	})
}
