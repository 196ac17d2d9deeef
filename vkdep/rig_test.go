package vkdep_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// rig runs real GPU work for the behaviour tests: every job appends its id to one log buffer with
// an atomic add, so the buffer shows the order in which the GPU executed them. It also tracks every
// fence a test armed and every release hook, so that check can show O3 and L6 after each test.
type rig struct {
	t   *testing.T
	d   *vkdep.Device
	g   *gpu.Ctx
	log *vk.Buffer

	mu       sync.Mutex
	cmds     map[[2]uint32]uint64
	fences   []vkdep.Fence
	releases map[uint32]int
	released chan struct{}
}

const logCap = 4096

// newRig returns a rig on the test binary's shared device (see sharedDevice): the queues the test
// creates are its own, and are closed when it ends.
func newRig(t *testing.T) *rig {
	t.Helper()
	d := sharedDevice(t)
	before := liveSet(d)
	r := newRigOn(t, d)
	// Registered after the rig's own cleanups, so it runs before them: the test's queues finish
	// (pending jobs submitted and retired) before the recording context frees their command
	// buffers.
	t.Cleanup(func() { closeLeftQueues(t, d, before) })
	return r
}

// newOwnRig returns a rig on a device of its own, closed when the test ends: for tests that close
// or lose the device, or need a second one.
func newOwnRig(t *testing.T) *rig {
	t.Helper()
	return newRigOn(t, vktest.Open(t))
}

// shared is the validated device that the tests of this binary share, one after another (none of
// them is parallel). A validated open costs ~5 s on the NVIDIA driver and the driver refuses more
// than ~30 VkInstances per process (PLATFORM.md), so a device per test made the -short suite take
// many minutes there. Tests that close or lose the device, count its goroutines, set its options or
// need a second device open their own. VKDEP_TEST_SHARED=0 gives every test its own again, to tell
// a failure caused by an earlier test from one of the test itself.
var shared struct {
	mu    sync.Mutex
	d     *vkdep.Device
	msgs  *vktest.Messages
	opens int
}

// sharedDevice returns the shared device, opening it on first use or after a test left it closed
// or lost. When the test ends, the queues it created are closed and waited for, and it fails on
// every validation message seen meanwhile (a message the layer reports late is charged to the test
// running then; none is lost, see TestMain).
func sharedDevice(t *testing.T) *vkdep.Device {
	t.Helper()
	if os.Getenv("VKDEP_TEST_SHARED") == "0" {
		return vktest.Open(t)
	}
	shared.mu.Lock()
	if shared.d == nil {
		shared.d, shared.msgs = vktest.OpenKept(t)
		shared.opens++
	}
	d, msgs := shared.d, shared.msgs
	shared.mu.Unlock()
	before := liveSet(d)
	t.Cleanup(func() {
		ok := closeLeftQueues(t, d, before)
		for _, m := range msgs.Take() {
			t.Errorf("validation: %v", m)
		}
		if ok && vkdep.Usable(d) == nil {
			return
		}
		// Closed or lost by the test, or a queue of it never finished: the next test gets a
		// fresh device.
		shared.mu.Lock()
		if shared.d == d {
			shared.d = nil
		}
		shared.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil && !errors.Is(err, vkdep.ErrDeviceClosed) && ok {
			t.Errorf("closing the shared device after the test: %v", err)
		}
	})
	return d
}

// closeShared closes the shared device, if one is open, so that a test measuring the whole
// process (the idle CPU of F3) sees only its own device: the shared one may have been opened with
// another waiter (make gotest forces VKDEP_WAITER=any, which spins on lavapipe by design). The
// next test that asks for it gets a fresh one.
func closeShared(t *testing.T) {
	t.Helper()
	shared.mu.Lock()
	d, msgs := shared.d, shared.msgs
	shared.d = nil
	shared.mu.Unlock()
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil && !errors.Is(err, vkdep.ErrDeviceClosed) {
		t.Errorf("closing the shared device: %v", err)
	}
	for _, m := range msgs.Take() {
		t.Errorf("validation: %v", m)
	}
}

func liveSet(d *vkdep.Device) map[*vkdep.Queue]bool {
	m := map[*vkdep.Queue]bool{}
	for _, q := range vkdep.LiveQueues(d) {
		m[q] = true
	}
	return m
}

// closeLeftQueues closes the queues of d created since before and waits for them (X1: what was
// pushed runs, then the queue finishes). It returns false, failing the test, when one does not
// finish within a generous deadline.
func closeLeftQueues(t *testing.T, d *vkdep.Device, before map[*vkdep.Queue]bool) bool {
	t.Helper()
	var left []*vkdep.Queue
	for _, q := range vkdep.LiveQueues(d) {
		if !before[q] {
			q.Close()
			left = append(left, q)
		}
	}
	deadline := time.After(30 * time.Second)
	for _, q := range left {
		select {
		case <-q.Done():
		case <-deadline:
			t.Errorf("queue %s left open by the test never finished after Close:\n%s", q.Name(), vkdep.DebugQueue(q))
			return false
		}
	}
	return true
}

// TestMain closes the shared device after the last test and example, failing the run on a
// validation message that came after the last test ended.
func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	d, msgs := shared.d, shared.msgs
	shared.mu.Unlock()
	if d != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := d.Close(ctx); err != nil && !errors.Is(err, vkdep.ErrDeviceClosed) {
			fmt.Fprintf(os.Stderr, "closing the shared test device: %v\n", err)
			code = max(code, 1)
		}
		cancel()
		for _, msg := range msgs.Take() {
			fmt.Fprintf(os.Stderr, "validation after the last test: %v\n", msg)
			code = max(code, 1)
		}
	}
	if testing.Verbose() {
		fmt.Printf("shared test device opened %d times\n", shared.opens)
	}
	os.Exit(code)
}

func newRigOn(t *testing.T, d *vkdep.Device) *rig {
	t.Helper()
	g := rawDevice(t, d)
	log, err := g.Buffer(4 * (1 + logCap))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, d: d, g: g, log: log, cmds: map[[2]uint32]uint64{}, releases: map[uint32]int{},
		released: make(chan struct{}, 1<<16)}
	// Before the recording context frees command buffers and buffers, whatever the test left on
	// the GPU finishes (after the holds below are released, which run first).
	t.Cleanup(func() {
		if d.Lost() != nil {
			return
		}
		idle := make(chan struct{})
		go func() {
			for _, q := range d.VkQueues() {
				q.Lock.Lock()
				_ = vk.QueueWaitIdle(vk.Queue(q.Handle))
				q.Lock.Unlock()
			}
			close(idle)
		}()
		select {
		case <-idle:
		case <-time.After(time.Minute):
			// A failed test left a job waiting GPU-side on a host point (D5): report, do not hang.
			t.Errorf("the device is still busy a minute after the test")
		}
	})
	return r
}

func (r *rig) queue(opts vkdep.QueueOptions) *vkdep.Queue {
	r.t.Helper()
	q, err := r.d.NewQueue(opts)
	if err != nil {
		r.t.Fatalf("NewQueue(%s): %v", opts.Name, err)
	}
	return q
}

// appendCmd returns a command buffer that appends id to the log, recorded once per family.
func (r *rig) appendCmd(family, id uint32) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := [2]uint32{family, id}
	if c, ok := r.cmds[key]; ok {
		return c
	}
	cmd, err := r.g.Record(family, func(cmd vk.CommandBuffer) {
		r.g.Append(cmd, r.log, id)
		r.g.VK.Barrier(cmd, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageHost, vk.AccessHostRead)
	})
	if err != nil {
		r.t.Fatalf("recording append %d: %v", id, err)
	}
	r.cmds[key] = uint64(cmd)
	return uint64(cmd)
}

// job makes a job of q that appends id and counts its release.
func (r *rig) job(q *vkdep.Queue, id uint32) *vkdep.Job {
	j := q.NewJob()
	if err := j.AddCommandBuffers(r.appendCmd(q.Family(), id)); err != nil {
		r.t.Fatal(err)
	}
	j.OnRelease(func() {
		r.mu.Lock()
		r.releases[id]++
		r.mu.Unlock()
		r.released <- struct{}{}
	})
	return j
}

// submit arms and pushes j, tracking its fence.
func (r *rig) submit(q *vkdep.Queue, j *vkdep.Job) vkdep.Fence {
	r.t.Helper()
	f, err := q.Submit(j)
	if f.IsZero() {
		r.t.Fatalf("Submit: %v", err)
	}
	r.track(f)
	return f
}

func (r *rig) track(f vkdep.Fence) {
	r.mu.Lock()
	r.fences = append(r.fences, f)
	r.mu.Unlock()
}

// ids returns the ids appended so far, in execution order.
func (r *rig) ids() []uint32 {
	w := r.log.Uint32s()
	n := min(int(w[0]), logCap)
	return slices.Clone(w[1 : 1+n])
}

// wait waits for f, failing the test if it does not complete within a generous deadline.
func (r *rig) wait(f vkdep.Fence) error {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := f.Wait(ctx)
	if err == context.DeadlineExceeded {
		r.t.Fatalf("%s value %d never completed", f.Timeline(), f.Value())
	}
	return err
}

// check shows O3 and L6 for everything the test armed: every fence completed, and every release
// hook ran exactly once.
func (r *rig) check() {
	r.t.Helper()
	r.mu.Lock()
	fences := slices.Clone(r.fences)
	r.mu.Unlock()
	for _, f := range fences {
		r.wait(f)
	}
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		n := 0
		for id, c := range r.releases {
			if c != 1 {
				r.mu.Unlock()
				r.t.Fatalf("release hook of job %d ran %d times", id, c)
			}
			n++
		}
		r.mu.Unlock()
		if n >= len(fences) {
			return
		}
		select {
		case <-r.released:
		case <-deadline:
			r.t.Fatalf("%d release hooks ran for %d jobs", n, len(fences))
		}
	}
}

// held returns a host timeline whose point 1 holds GPU work: a job waiting on it stays on the
// GPU (submitted, not complete) until release is called.
func (r *rig) held(name string) (wait func(*vkdep.Job), release func()) {
	h, err := r.d.NewHostTimeline(name)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = h.Signal(1) }) // a failing test must not leave GPU work waiting
	return func(j *vkdep.Job) {
			if err := j.WaitSemaphore(h.Semaphore(), 1, 0); err != nil {
				r.t.Fatal(err)
			}
		}, func() {
			if err := h.Signal(1); err != nil {
				r.t.Error(err)
			}
		}
}

func seq(from, to uint32) []uint32 {
	var s []uint32
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func mustPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		if p == nil {
			t.Fatalf("no panic, want one saying %q", want)
		}
		if msg := fmt.Sprint(p); !strings.Contains(msg, want) {
			t.Fatalf("panic %q does not say %q", msg, want)
		}
	}()
	fn()
}

// goid returns the calling goroutine's id, to tell which goroutine ran a callback.
func goid() int {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := bytes.Fields(buf[:n])
	id, _ := strconv.Atoi(string(f[1]))
	return id
}

func newHost(t *testing.T, d *vkdep.Device, name string) *vkdep.HostTimeline {
	t.Helper()
	h, err := d.NewHostTimeline(name)
	if err != nil {
		t.Fatalf("NewHostTimeline: %v", err)
	}
	return h
}

// waitDone waits for f with a generous deadline: a fence that never completes fails the test
// instead of hanging it.
func waitDone(t *testing.T, f vkdep.Fence) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := f.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fence %s value %d did not complete", f.Timeline(), f.Value())
	}
	return err
}

// waitWithin waits up to d for f: done is false when f has not completed by then.
func waitWithin(f vkdep.Fence, d time.Duration) (done bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err = f.Wait(ctx); err != nil && ctx.Err() != nil && !f.Completed() {
		return false, nil
	}
	return true, err
}

// threads returns the process's OS thread count.
func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads line")
	return 0
}
