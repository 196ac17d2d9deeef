package vkdep_test

import (
	"context"
	"testing"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/internal/vktest"
)

// The raw-Vulkan yardsticks every vkdep figure is divided by, measured in the same run (go test
// -bench . ./vkdep/). They run without validation: the layer costs more than what is measured.

// BenchmarkRawSubmit is one empty vkQueueSubmit2 signalling the next value of a timeline, under
// the VkQueue's lock, the way an application submits by hand. The timed region ends when the last
// value is reached, so ns/op is the sustained per-submit cost.
func BenchmarkRawSubmit(b *testing.B) {
	d := vktest.OpenBench(b)
	g := rawDevice(b, d)
	sem, err := g.Timeline()
	if err != nil {
		b.Fatal(err)
	}
	q := d.VkQueues()[0]
	ops := []vk.SemOp{{Semaphore: sem, Stage: vk.StageAllCommands}}
	desc := []vk.SubmitDesc{{Signals: 1}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ops[0].Value = uint64(i + 1)
		q.Lock.Lock()
		err := g.VK.Submit(vk.Queue(q.Handle), desc, ops, nil)
		q.Lock.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := g.VK.Wait(false, []vk.Semaphore{sem}, []uint64{uint64(b.N)}, uint64(time.Minute), 0, nil); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRawRoundTrip is submit → host vkWaitSemaphores until that submit's value is reached:
// the latency of one empty submit seen from the CPU.
func BenchmarkRawRoundTrip(b *testing.B) {
	d := vktest.OpenBench(b)
	g := rawDevice(b, d)
	sem, err := g.Timeline()
	if err != nil {
		b.Fatal(err)
	}
	q := d.VkQueues()[0]
	ops := []vk.SemOp{{Semaphore: sem, Stage: vk.StageAllCommands}}
	desc := []vk.SubmitDesc{{Signals: 1}}
	sems, vals := []vk.Semaphore{sem}, []uint64{0}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ops[0].Value = uint64(i + 1)
		vals[0] = uint64(i + 1)
		q.Lock.Lock()
		err := g.VK.Submit(vk.Queue(q.Handle), desc, ops, nil)
		q.Lock.Unlock()
		if err != nil {
			b.Fatal(err)
		}
		if err := g.VK.Wait(false, sems, vals, uint64(time.Minute), 0, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostSignalToFence is HostTimeline.Signal → the point's Wait returning: the cost of a
// completion going through vkdep's completion goroutine.
func BenchmarkHostSignalToFence(b *testing.B) {
	d := vktest.OpenBench(b)
	h, err := d.NewHostTimeline("bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.Signal(uint64(i + 1)); err != nil {
			b.Fatal(err)
		}
		if err := h.Point(uint64(i + 1)).Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
