package vkdep_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// BenchmarkKill10k is Kill of a stopped queue holding 10,000 pushed jobs, until every one of
// their fences has completed (killed jobs' values are reached by one signal-only submit). Goal:
// ≤ 10 ms. Reported as ms/kill.
func BenchmarkKill10k(b *testing.B) {
	d := vktest.OpenBench(b)
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		q, err := d.NewQueue(vkdep.QueueOptions{Name: "kill", Credits: 1})
		if err != nil {
			b.Fatal(err)
		}
		q.Stop()
		fences := make([]vkdep.Fence, 10_000)
		for k := range fences {
			fences[k], _ = q.Submit(q.NewJob())
		}
		start := time.Now()
		q.Kill(nil)
		for _, f := range fences {
			f.Wait(ctx)
		}
		total += time.Since(start)
		q.Close()
		<-q.Done()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/kill")
}

// BenchmarkTimeoutReport measures how late OnTimeout is called after a held job's deadline
// (JobTimeout after it was submitted), as p50 and p99 over the runs. Goal: ≤ 10 ms p99.
func BenchmarkTimeoutReport(b *testing.B) {
	d := vktest.OpenBench(b)
	g := rawDevice(b, d)
	const timeout = 20 * time.Millisecond
	var late []time.Duration
	for i := 0; i < b.N; i++ {
		hold, err := g.Timeline()
		if err != nil {
			b.Fatal(err)
		}
		reported := make(chan time.Time, 1)
		q, err := d.NewQueue(vkdep.QueueOptions{Name: "timeout", JobTimeout: timeout, OnTimeout: func(vkdep.TimedOut) vkdep.TimeoutAction {
			reported <- time.Now()
			return vkdep.TimeoutBan
		}})
		if err != nil {
			b.Fatal(err)
		}
		j := q.NewJob()
		j.WaitSemaphore(uint64(hold), 1, 0)
		if _, err := q.Submit(j); err != nil {
			b.Fatal(err)
		}
		submitted := time.Now()
		at := <-reported
		late = append(late, at.Sub(submitted.Add(timeout)))
		g.VK.Signal(hold, 1)
		q.Close()
		<-q.Done()
	}
	sort.Slice(late, func(a, c int) bool { return late[a] < late[c] })
	b.ReportMetric(float64(late[len(late)/2].Microseconds())/1000, "ms-late-p50")
	b.ReportMetric(float64(late[len(late)*99/100].Microseconds())/1000, "ms-late-p99")
}
