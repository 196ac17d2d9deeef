package vkdep_test

import (
	"context"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// TestPerformancePromises shows F1 by counting, not timing: allocations are deterministic where
// durations on a shared two-core machine are not.
func TestPerformancePromises(t *testing.T) {
	t.Run("F1_bypass_allocates_nothing_in_steady_state", func(t *testing.T) {
		d := sharedDevice(t)
		q, err := d.NewQueue(vkdep.QueueOptions{Name: "f1", Bypass: true, Credits: 4096})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var last, mark vkdep.Fence
		i := 0
		submit := func() {
			f, err := q.Submit(q.NewJob())
			if err != nil {
				t.Fatal(err)
			}
			last = f
			if i++; i%1024 == 0 {
				mark.Wait(ctx) // keep the window bounded without a wait per job
				mark = f
			}
		}
		for range 8192 { // fill the job pool and the queue's rings
			submit()
		}
		allocs := testing.AllocsPerRun(4096, submit)
		last.Wait(ctx)
		// Every goroutine's allocations count here, the completion goroutine's included.
		if allocs >= 1 {
			t.Fatalf("%.2f allocations per bypass Submit in steady state, want 0", allocs)
		}
		if s := q.Stats(); s.Bypassed == 0 {
			t.Fatalf("nothing went through bypass: %+v", s)
		}
	})
}

// BenchmarkCostPerJobVsRaw (F2) times, in the same run, N empty raw vkQueueSubmit2 calls signalling
// a timeline and N empty vkdep jobs through bypass and through the worker, and reports vkdep's
// jobs/s as a ratio of raw (F2). Ratios, not absolute times, are comparable between runs.
func BenchmarkCostPerJobVsRaw(b *testing.B) {
	b.Run("F2_cost_per_job_vs_raw", costPerJobVsRaw)
}

func costPerJobVsRaw(b *testing.B) {
	d := vktest.OpenBench(b)
	r := newRawTimeline(b, d)
	raw := func(n int) time.Duration {
		start := time.Now()
		for range n {
			r.submit()
		}
		r.wait()
		return time.Since(start)
	}
	viaQueue := func(q *vkdep.Queue, n int) time.Duration {
		ctx := context.Background()
		start := time.Now()
		var last, mark vkdep.Fence
		for i := range n {
			f, _ := q.Submit(q.NewJob())
			last = f
			if i%1024 == 1023 {
				mark.Wait(ctx)
				mark = f
			}
		}
		last.Wait(ctx)
		return time.Since(start)
	}
	bypass, _ := d.NewQueue(vkdep.QueueOptions{Name: "f2 bypass", Bypass: true, Credits: 4096})
	worker, _ := d.NewQueue(vkdep.QueueOptions{Name: "f2 worker", Credits: 4096})
	var tRaw, tBypass, tWorker time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += 4096 {
		n := min(4096, b.N-done)
		tRaw += raw(n)
		tBypass += viaQueue(bypass, n)
		tWorker += viaQueue(worker, n)
	}
	b.ReportMetric(float64(tRaw.Nanoseconds())/float64(b.N), "raw-ns/job")
	b.ReportMetric(tRaw.Seconds()/tBypass.Seconds(), "bypass/raw")
	b.ReportMetric(tRaw.Seconds()/tWorker.Seconds(), "worker/raw")
}
