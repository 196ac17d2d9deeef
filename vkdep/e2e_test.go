package vkdep_test

import (
	"testing"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// rawDevice wraps d for recording work with the internal binding; its objects are destroyed
// before the device closes.
func rawDevice(t testing.TB, d *vkdep.Device) *gpu.Ctx {
	t.Helper()
	g, err := gpu.New(d)
	if err != nil {
		t.Fatalf("gpu.New: %v", err)
	}
	t.Cleanup(g.Close)
	return g
}

// rawSubmit submits one batch to the device's first VkQueue under its lock.
func rawSubmit(t testing.TB, d *vkdep.Device, g *gpu.Ctx, waits, signals []vk.SemOp, cmds ...vk.CommandBuffer) {
	t.Helper()
	q := d.VkQueues()[0]
	ops := append(append([]vk.SemOp(nil), waits...), signals...)
	desc := []vk.SubmitDesc{{Waits: uint32(len(waits)), Cmds: uint32(len(cmds)), Signals: uint32(len(signals))}}
	q.Lock.Lock()
	err := g.VK.Submit(vk.Queue(q.Handle), desc, ops, cmds)
	q.Lock.Unlock()
	if err != nil {
		t.Fatalf("vkQueueSubmit2: %v", err)
	}
}

// TestEndToEndSAXPY is the first path through real GPU work: a SAXPY dispatch submitted to wait
// on a host-timeline point and signal a timeline value, shown not to run before the host signal,
// then released, waited on through a Fence, and checked element by element.
func TestEndToEndSAXPY(t *testing.T) {
	d := sharedDevice(t)
	g := rawDevice(t, d)
	const n = 100_000
	x, err := g.Buffer(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	y, err := g.Buffer(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	xs, ys := x.Float32s(), y.Float32s()
	for i := range n {
		xs[i] = float32(i)
		ys[i] = float32(3 * (i % 7))
	}
	const a = 2.5
	q := d.VkQueues()[0]
	cmd, err := g.Record(q.Family, func(cmd vk.CommandBuffer) {
		// Host writes before the submit are visible to the device (submission is a host
		// memory dependency); the barrier after makes the shader's writes visible to the host.
		g.SAXPY(cmd, x, y, a, n)
		g.VK.Barrier(cmd, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageHost, vk.AccessHostRead)
	})
	if err != nil {
		t.Fatal(err)
	}

	start := newHost(t, d, "start")
	done, err := g.Timeline()
	if err != nil {
		t.Fatal(err)
	}
	rawSubmit(t, d, g,
		[]vk.SemOp{{Semaphore: vk.Semaphore(start.Semaphore()), Value: 1, Stage: vk.StageComputeShader}},
		[]vk.SemOp{{Semaphore: done, Value: 1, Stage: vk.StageAllCommands}},
		cmd)

	time.Sleep(100 * time.Millisecond)
	if c, _ := g.VK.Counter(done); c != 0 {
		t.Fatal("work completed before the host signal released it")
	}
	for i := range n {
		if ys[i] != float32(3*(i%7)) {
			t.Fatalf("y[%d] = %v changed before the host signal", i, ys[i])
		}
	}

	if err := start.Signal(1); err != nil {
		t.Fatal(err)
	}
	if err := g.VK.WaitAll([]vk.Semaphore{done}, []uint64{1}, uint64(20*time.Second)); err != nil {
		t.Fatalf("waiting for the work: %v", err)
	}
	for i := range n {
		want := a*float32(i) + float32(3*(i%7))
		if ys[i] != want {
			t.Fatalf("y[%d] = %v, want %v", i, ys[i], want)
		}
	}
}

// TestEndToEndQueue is the same path through vkdep itself: a SAXPY job on a Queue whose
// dependency on a host-timeline point holds it back (on the GPU, its queue being alone on its
// VkQueue: D5), shown not to run before the signal, then waited on through its Fence and checked
// element by element.
func TestEndToEndQueue(t *testing.T) {
	d := sharedDevice(t)
	g := rawDevice(t, d)
	q, err := d.NewQueue(vkdep.QueueOptions{Name: "saxpy", Bypass: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	x, _ := g.Buffer(4 * n)
	y, _ := g.Buffer(4 * n)
	xs, ys := x.Float32s(), y.Float32s()
	for i := range n {
		xs[i] = float32(i)
		ys[i] = float32(3 * (i % 7))
	}
	const a = 2.5
	cmd, err := g.Record(q.Family(), func(cmd vk.CommandBuffer) {
		g.SAXPY(cmd, x, y, a, n)
		g.VK.Barrier(cmd, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageHost, vk.AccessHostRead)
	})
	if err != nil {
		t.Fatal(err)
	}
	start := newHost(t, d, "inputs uploaded")
	j := q.NewJob()
	j.AddCommandBuffers(uint64(cmd))
	j.AddDependency(start.Point(1))
	released := make(chan struct{})
	j.OnRelease(func() { close(released) })
	fence, err := q.Submit(j)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if fence.Completed() {
		t.Fatal("job completed before its host-timeline dependency")
	}
	for i := range n {
		if ys[i] != float32(3*(i%7)) {
			t.Fatalf("y[%d] changed before the host signal", i)
		}
	}
	if err := start.Signal(1); err != nil {
		t.Fatal(err)
	}
	if err := waitDone(t, fence); err != nil {
		t.Fatalf("fence: %v", err)
	}
	for i := range n {
		if want := a*float32(i) + float32(3*(i%7)); ys[i] != want {
			t.Fatalf("y[%d] = %v, want %v", i, ys[i], want)
		}
	}
	<-released
}
