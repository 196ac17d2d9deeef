package vkdep_test

import (
	"context"
	"testing"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// The raw-Vulkan yardsticks every vkdep figure is divided by, measured in the same run (go test
// -bench . ./vkdep/). They run without validation: the layer costs more than what is measured.

// rawTimeline is the raw yardstick's machinery: empty vkQueueSubmit2 calls, each signalling the
// next value of a timeline of its own, on the device's first VkQueue under that queue's lock — the
// way an application submits by hand. Its scratch is allocated once: submit and wait allocate
// nothing.
type rawTimeline struct {
	b     testing.TB
	g     *gpu.Ctx
	q     vkdep.VkQueue
	ops   []vk.SemOp
	desc  []vk.SubmitDesc
	sems  []vk.Semaphore
	vals  []uint64
	value uint64 // last value submitted
}

func newRawTimeline(b testing.TB, d *vkdep.Device) *rawTimeline {
	g := rawDevice(b, d)
	sem, err := g.Timeline()
	if err != nil {
		b.Fatal(err)
	}
	return &rawTimeline{
		b: b, g: g, q: d.VkQueues()[0],
		ops:  []vk.SemOp{{Semaphore: sem, Stage: vk.StageAllCommands}},
		desc: []vk.SubmitDesc{{Signals: 1}},
		sems: []vk.Semaphore{sem}, vals: []uint64{0},
	}
}

// submit issues one empty submit signalling the next value.
func (r *rawTimeline) submit() {
	r.value++
	r.ops[0].Value = r.value
	r.q.Lock.Lock()
	err := r.g.VK.Submit(vk.Queue(r.q.Handle), r.desc, r.ops, nil)
	r.q.Lock.Unlock()
	if err != nil {
		r.b.Fatal(err)
	}
}

// wait blocks on the host until the last submitted value is reached.
func (r *rawTimeline) wait() {
	r.vals[0] = r.value
	if err := r.g.VK.WaitAll(r.sems, r.vals, uint64(time.Minute)); err != nil {
		r.b.Fatal(err)
	}
}

// BenchmarkRawSubmit is one empty vkQueueSubmit2 signalling the next value of a timeline, under
// the VkQueue's lock, the way an application submits by hand. The timed region ends when the last
// value is reached, so ns/op is the sustained per-submit cost.
func BenchmarkRawSubmit(b *testing.B) {
	r := newRawTimeline(b, vktest.OpenBench(b))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.submit()
	}
	r.wait()
}

// BenchmarkRawRoundTrip is submit → host vkWaitSemaphores until that submit's value is reached:
// the latency of one empty submit seen from the CPU.
func BenchmarkRawRoundTrip(b *testing.B) {
	r := newRawTimeline(b, vktest.OpenBench(b))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.submit()
		r.wait()
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
