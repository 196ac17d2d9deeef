package vkdep_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vkdep.dev/vkdep"
)

// The arbiter's cost and its depth bound, in one run (go test -bench 'Arbiter|DriverDepth'
// ./vkdep/). Only ratios mean anything.

func openSched(b *testing.B, opts vkdep.Options) *vkdep.Device {
	b.Helper()
	d, err := vkdep.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			b.Error(err)
		}
	})
	return d
}

// BenchmarkArbiterAlone is BenchmarkPushBypass with the layer on and off: a queue alone on its
// VkQueue pays only for counting its turns (the overhead target is 3 %).
func BenchmarkArbiterAlone(b *testing.B) {
	for _, m := range []vkdep.Scheduling{vkdep.ScheduleFIFO, vkdep.SchedulePriority} {
		b.Run(m.String(), func(b *testing.B) {
			d := openSched(b, vkdep.Options{Scheduling: m})
			q := benchQueue(b, d, vkdep.QueueOptions{Name: "alone", Credits: benchCredits, Bypass: true, VkQueueIndex: 1})
			streamJobs(b, []*vkdep.Queue{q})
			reportStats(b, q.Stats())
		})
	}
}

// BenchmarkDriverDepth measures the throughput of two equal queues flooding one VkQueue with
// empty jobs (too small for the GPU-time budget to bound), by the bound on jobs in the driver
// (H2): each refill of the driver waits for vkdep to see a completion, so a small bound costs
// throughput.
func BenchmarkDriverDepth(b *testing.B) {
	for _, depth := range []int{1, 4, 16, 64, 256} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			d := openSched(b, vkdep.Options{DriverDepth: depth, DriverBudget: time.Hour})
			qs := []*vkdep.Queue{
				benchQueue(b, d, vkdep.QueueOptions{Name: "a", Credits: benchCredits, Bypass: true, VkQueueIndex: 1}),
				benchQueue(b, d, vkdep.QueueOptions{Name: "b", Credits: benchCredits, Bypass: true, VkQueueIndex: 1}),
			}
			streamJobs(b, qs)
		})
	}
	b.Run("fifo", func(b *testing.B) {
		d := openSched(b, vkdep.Options{Scheduling: vkdep.ScheduleFIFO})
		qs := []*vkdep.Queue{
			benchQueue(b, d, vkdep.QueueOptions{Name: "a", Credits: benchCredits, Bypass: true, VkQueueIndex: 1}),
			benchQueue(b, d, vkdep.QueueOptions{Name: "b", Credits: benchCredits, Bypass: true, VkQueueIndex: 1}),
		}
		streamJobs(b, qs)
	})
}

// streamJobs submits b.N empty jobs round-robin over qs, at most about 2×benchWindow per queue
// in flight, and waits for the last of each.
func streamJobs(b *testing.B, qs []*vkdep.Queue) {
	ctx := context.Background()
	ws := make([]window, len(qs))
	last := make([]vkdep.Fence, len(qs))
	for i := range ws {
		ws[i] = window{b: b, ctx: ctx}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(qs)
		f, err := qs[k].Submit(qs[k].NewJob())
		if err != nil {
			b.Fatal(err)
		}
		ws[k].add(i/len(qs), f)
		last[k] = f
	}
	for _, f := range last {
		if err := f.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
