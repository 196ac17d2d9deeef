package vkdep

import (
	"os"
	"time"

	"vkdep.dev/internal/vk"
)

// How a queue's order becomes a GPU-side dependency (D3), chosen per device at Open.
//
// By semaphore (the default): every job's submit waits for the queue's previous value. That is
// exact on every driver, but on lavapipe (Mesa's emulated timelines) a wait on a value whose
// signal is still pending takes every submit through Mesa's deferred-submit path, which costs
// more than the submit itself: measured 2.6 µs per bypassed empty job with the wait, 1.7 µs
// without (go test -bench PushBypass, 2026-11-30).
//
// By submission order: a vkdep queue submits to one VkQueue only, in value order (O1), so job
// v-1 is always submitted to the same VkQueue in an earlier vkQueueSubmit2 or earlier in the same
// one. A semaphore signal defined by vkQueueSubmit2 includes in its first synchronization scope
// every command earlier in submission order. So a submit with no command buffers and no waits (an
// empty job, a skipped run's signal, O5) needs no wait for v-1: its value is reached only after
// the work of every earlier value of the queue has completed. The rest keeps its order like this:
//   - a job with command buffers keeps the wait for v-1 (D3: its commands see the writes of the
//     jobs before it). A full barrier at the start of its commands would do the same, but on
//     lavapipe the barrier cost more than the wait (cmd/bench chain: ~25–28 µs per job with it,
//     ~23 µs with the wait), so jobs with work stay as they were;
//   - a submit with waits but no command buffers (a sync-only job, a skipped job passing its
//     application semaphores) runs vkdep's barrier command buffer after its waits, so every later
//     signal of the VkQueue, whose first scope includes that command, comes after those waits: an
//     empty job cannot reach its value while an earlier one is still held back by a wait.
//
// Signals with nothing left between them land in submission order on every driver vkdep has met
// (queues complete in order); the spec leaves that to the driver, which is one reason this is
// measured and chosen per device, not assumed.
type submitOrder struct {
	bySubmission bool
	pools        []vk.CommandPool
	barrier      []vk.CommandBuffer // by queue family index; 0 where no VkQueue of the family
}

// orderEnv overrides the choice: "semaphore" or "submission"; anything else measures.
const orderEnv = "VKDEP_ORDER"

// newSubmitOrder records the barrier command buffers and decides, by a short measurement on the
// device's first VkQueue, whether submission order is faster there than the semaphore wait. It
// never fails: without its command buffers the device keeps the semaphore wait.
func newSubmitOrder(dev *vk.Device, hw []*hwQueue) *submitOrder {
	o := &submitOrder{}
	mode := os.Getenv(orderEnv)
	if mode == "semaphore" || len(hw) == 0 {
		return o
	}
	for _, h := range hw {
		f := int(h.family)
		if f < len(o.barrier) && o.barrier[f] != 0 {
			continue
		}
		for len(o.barrier) <= f {
			o.barrier = append(o.barrier, 0)
		}
		cmd, ok := o.record(dev, h.family)
		if !ok {
			o.destroy(dev)
			return &submitOrder{}
		}
		o.barrier[f] = cmd
	}
	if mode == "submission" {
		o.bySubmission = true
		return o
	}
	o.bySubmission = submissionOrderFaster(dev, hw[0])
	if !o.bySubmission {
		o.destroy(dev)
		return &submitOrder{}
	}
	return o
}

func (o *submitOrder) record(dev *vk.Device, family uint32) (vk.CommandBuffer, bool) {
	pool, err := dev.CreateCommandPool(family)
	if err != nil {
		return 0, false
	}
	o.pools = append(o.pools, pool)
	cmds, err := dev.AllocateCommandBuffers(pool, 1)
	if err != nil {
		return 0, false
	}
	cmd := cmds[0]
	// Pending in many submits at once: simultaneous use.
	if cmd.Begin(vk.BeginSimultaneous) != nil {
		return 0, false
	}
	dev.Barrier(cmd, vk.StageAllCommands, vk.AccessMemoryWrite, vk.StageAllCommands, vk.AccessMemoryRead|vk.AccessMemoryWrite)
	if cmd.End() != nil {
		return 0, false
	}
	return cmd, true
}

// submissionOrderFaster times, on h, a run of empty submits each waiting for the value before it
// against the same run without the waits, best of three each, interleaved. Submission order is
// kept only where it is clearly faster (by a tenth), since the semaphore wait is the more
// conservative of the two.
func submissionOrderFaster(dev *vk.Device, h *hwQueue) bool {
	const n = 64
	sem, err := dev.CreateTimeline(0)
	if err != nil {
		return false
	}
	defer dev.DestroySemaphore(sem)
	var v uint64
	ops := make([]vk.SemOp, 2)
	run := func(wait bool) (time.Duration, bool) {
		start := time.Now()
		for range n {
			v++
			d := []vk.SubmitDesc{{Signals: 1}}
			o := ops[:0]
			if wait && v > 1 {
				o = append(o, vk.SemOp{Semaphore: sem, Value: v - 1, Stage: vk.StageAllCommands})
				d[0].Waits = 1
			}
			o = append(o, vk.SemOp{Semaphore: sem, Value: v, Stage: vk.StageAllCommands})
			h.mu.Lock()
			err := dev.Submit(h.handle, d, o, nil)
			h.mu.Unlock()
			if err != nil {
				return 0, false
			}
		}
		if dev.WaitAll([]vk.Semaphore{sem}, []uint64{v}, uint64(time.Second)) != nil {
			return 0, false
		}
		return time.Since(start), true
	}
	// lavapipe's submit path can still touch a semaphore just after signalling it (see
	// retire.go): the queue is idle before the semaphore goes.
	defer func() {
		h.mu.Lock()
		_ = vk.QueueWaitIdle(h.handle)
		h.mu.Unlock()
	}()
	best := [2]time.Duration{1 << 62, 1 << 62}
	for range 3 {
		for i, wait := range []bool{true, false} {
			t, ok := run(wait)
			if !ok {
				return false
			}
			best[i] = min(best[i], t)
		}
	}
	return best[1]*10 < best[0]*9
}

// barrierFor returns the barrier command buffer for a VkQueue of family.
func (o *submitOrder) barrierFor(family uint32) vk.CommandBuffer { return o.barrier[family] }

// destroy frees the command buffers; the GPU must be done with them (Close, after the drain).
func (o *submitOrder) destroy(dev *vk.Device) {
	for _, p := range o.pools {
		dev.DestroyCommandPool(p)
	}
	o.pools, o.barrier = nil, nil
}

// name names the device's choice, for tests, benchmarks and logs.
func (o *submitOrder) name() string {
	if o.bySubmission {
		return "submission"
	}
	return "semaphore"
}
