package vkdep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"vkdep.dev/internal/vk"
)

// Device is one Vulkan logical device with vkdep's completion waiter: a single goroutine that
// completes the fences of every queue and host timeline of the device. Methods are safe for
// concurrent use (E3).
type Device struct {
	log  *slog.Logger
	inst *vk.SharedInstance // nil for a wrapped device
	// listener receives the instance's validation messages for this device; nil without
	// validation.
	listener *vk.Listener
	// appInstance is the application's VkInstance of a wrapped device; vkdep never destroys it.
	appInstance uint64
	vk          *vk.Device
	info        DeviceInfo
	hw          []*hwQueue
	sched       Scheduling // how queues sharing a VkQueue take turns (arbiter.go)
	depth       int32      // H2's bound per shared VkQueue, in jobs
	budget      int64      // and in estimated GPU time (ns)
	gpu         *gpuShare  // the Devices of this process on the same GPU, for blame (T7, blame.go)
	place       placer     // placement.go (H4)
	waiter      *waiter
	abort       *abortWords
	order       *submitOrder // how queue order reaches the GPU (D3, order.go)

	mu        sync.Mutex
	state     devState
	timelines []registered
	queues    map[*Queue]struct{}
	lost      error // set once (V1)
	isLost    atomic.Bool
	closeOnce sync.Once
	sems      atomic.Int64 // live semaphores of queues and host timelines (retire.go)
	// beforeDestroy, set by tests only, runs in Close once the device is idle, before vkdep
	// destroys anything: a test's own objects on the device go there.
	beforeDestroy func()

	obsMu     sync.Mutex                  // serialises changes to observers
	observers atomic.Pointer[[]*observer] // job observers (observe.go); nil when none
}

type devState int

const (
	devOpen devState = iota
	devClosing
	devClosed
)

// registered is a timeline of the device and what to do to it when the device dies.
type registered struct {
	tl   *timeline
	kill func(error) // completes everything pending with the error; completion goroutine
}

func (d *Device) addQueue(q *Queue) {
	d.mu.Lock()
	if d.queues == nil {
		d.queues = map[*Queue]struct{}{}
	}
	d.queues[q] = struct{}{}
	d.mu.Unlock()
}

func (d *Device) removeQueue(q *Queue) {
	d.mu.Lock()
	delete(d.queues, q)
	d.mu.Unlock()
}

// queuesLocked returns the device's live queues, for use after d.mu is released (Close, Drain,
// T7's blame). The caller holds d.mu.
func (d *Device) queuesLocked() []*Queue {
	queues := make([]*Queue, 0, len(d.queues))
	for q := range d.queues {
		queues = append(queues, q)
	}
	return queues
}

// unregister removes a timeline whose owner destroys its semaphore itself (a finished queue).
func (d *Device) unregister(tl *timeline) {
	d.mu.Lock()
	for i, r := range d.timelines {
		if r.tl == tl {
			d.timelines = append(d.timelines[:i], d.timelines[i+1:]...)
			break
		}
	}
	d.mu.Unlock()
}

// newDevice builds the vkdep Device over dev and its VkQueues hw (Open's or Wrap's) and starts
// the completion goroutine. On error nothing of vkdep's is left on dev; dev itself is the
// caller's.
func newDevice(dev *vk.Device, info DeviceInfo, hw []*hwQueue, log *slog.Logger) (*Device, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if info.GlobalPriority == "" {
		info.GlobalPriority = "the application's device decides (Wrap); priorities are vkdep's own (H1–H3)"
	}
	d := &Device{log: log, vk: dev, info: info, hw: hw}
	d.sched, d.depth, d.budget = schedConfig(SchedulePriority, 0, 0)
	for i, h := range hw {
		h.pos = i
	}
	abort, err := newAbortWords(dev)
	if err != nil {
		return nil, err
	}
	w, err := newWaiter(dev, d.markLost)
	if err != nil {
		dev.DestroyBuffer(abort.buf)
		return nil, fmt.Errorf("vkdep: creating the completion waiter's timeline: %w", err)
	}
	d.waiter = w
	d.abort = abort
	d.order = newSubmitOrder(dev, hw)
	d.joinGPU()
	log.Debug("vkdep: device open", "device", info.String(), "waiter", w.kind(), "queue_order", d.order.name())
	return d, nil
}

// Info describes the device.
func (d *Device) Info() DeviceInfo { return d.info }

// Handles are the raw Vulkan handles of a device, for code that records command buffers or
// creates resources with its own Vulkan binding.
type Handles struct {
	Instance       uint64
	PhysicalDevice uint64
	Device         uint64
	// QueueFamilies lists the families the device has queues on. Resources shared by vkdep
	// queues on different families need VK_SHARING_MODE_CONCURRENT over all of them.
	QueueFamilies []uint32
}

// Handles returns the device's raw Vulkan handles. They stay valid until Close returns.
func (d *Device) Handles() Handles {
	h := Handles{PhysicalDevice: uint64(d.vk.Physical.Handle), Device: d.vk.Handle, QueueFamilies: d.vk.Families}
	if d.inst != nil {
		h.Instance = uint64(d.inst.Handle)
	} else {
		h.Instance = d.appInstance
	}
	return h
}

// usable returns nil while the device accepts work, else ErrDeviceClosed or the lost error.
func (d *Device) usable() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.state != devOpen:
		return ErrDeviceClosed
	case d.lost != nil:
		return d.lost
	}
	return nil
}

// register adds a timeline to the device and, when watch is set (GPU-signalled timelines), to
// the completion waiter's wait set. It returns false when the device no longer accepts new
// objects.
func (d *Device) register(tl *timeline, kill func(error), watch bool) bool {
	d.mu.Lock()
	if d.state != devOpen || d.lost != nil {
		d.mu.Unlock()
		return false
	}
	d.timelines = append(d.timelines, registered{tl, kill})
	d.mu.Unlock()
	if watch {
		d.waiter.watch(tl)
	}
	return true
}

// vkErr turns a failed Vulkan call into vkdep's error, marking the device lost on
// VK_ERROR_DEVICE_LOST (V1).
func (d *Device) vkErr(where string, err error) error {
	if errors.Is(err, vk.ErrorDeviceLost) {
		d.markLost(where, err)
		return d.lostErr()
	}
	return fmt.Errorf("vkdep: %s: %w", where, err)
}

func (d *Device) lostErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lost
}

// Lost returns the device-lost error (matching ErrDeviceLost, naming where it was first seen),
// or nil while the device is not lost.
func (d *Device) Lost() error { return d.lostErr() }

// markLost records the loss once, remembering where, and completes every pending fence of the
// device with it (V1).
func (d *Device) markLost(where string, err error) {
	d.mu.Lock()
	if d.lost != nil {
		d.mu.Unlock()
		return
	}
	d.lost = fmt.Errorf("%w: %s returned %w", ErrDeviceLost, where, err)
	d.isLost.Store(true)
	lost := d.lost
	regs := append([]registered(nil), d.timelines...)
	d.mu.Unlock()
	d.log.Error("vkdep: device lost", "where", where, "err", err)
	d.waiter.post(func() {
		for _, r := range regs {
			r.kill(lost)
		}
	})
}

// Close is the unload barrier (X2): it fails every host-timeline point not yet signalled with
// ErrDeviceClosed, so that jobs held by one complete (X4), closes every queue, waits until all of
// them have finished, stops the completion goroutine and destroys the device. When it returns nil no vkdep goroutine of the
// device is left. If ctx ends first it returns ctx.Err() with nothing destroyed; call Close again
// to finish. After Close, calls on the device return ErrDeviceClosed; fences stay readable (X3).
// A wrapped device's VkDevice and VkInstance are left to the application (see Wrap); vkdep
// destroys only what it created on them. Close takes the lock of every VkQueue of the device
// (VkQueues) while it waits for the GPU to leave vkdep's objects: do not hold one while calling
// it.
func (d *Device) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.state == devClosed {
		d.mu.Unlock()
		return ErrDeviceClosed
	}
	d.state = devClosing
	queues := d.queuesLocked()
	var hosts []registered
	for _, r := range d.timelines {
		if r.tl.queue == nil {
			hosts = append(hosts, r)
		}
	}
	d.mu.Unlock()

	// X4: host points nobody signalled fail first, so that the jobs they hold complete (with
	// ErrDependency, D6) and the queues can finish; waiting for the queues before failing them
	// would wait forever (each waits for the other). Nothing new can register meanwhile.
	if len(hosts) > 0 {
		d.waiter.post(func() {
			for _, r := range hosts {
				r.kill(ErrDeviceClosed)
			}
		})
	}

	// Every queue finishes what was pushed to it, then frees its objects (X1).
	for _, q := range queues {
		q.Close()
	}
	for _, q := range queues {
		select {
		case <-q.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.mu.Lock()
	regs := append([]registered(nil), d.timelines...)
	d.mu.Unlock()

	d.closeOnce.Do(func() {
		d.waiter.post(func() {
			for _, r := range regs {
				r.kill(ErrDeviceClosed)
			}
		})
		d.waiter.stop()
	})
	select {
	case <-d.waiter.stopped:
	case <-ctx.Done():
		return ctx.Err()
	}

	d.mu.Lock()
	if d.state == devClosed {
		d.mu.Unlock()
		return ErrDeviceClosed
	}
	d.state = devClosed
	d.mu.Unlock()
	d.leaveGPU()
	d.drainQueues()
	if d.beforeDestroy != nil {
		d.beforeDestroy() // test seam (export_test.go): the device is idle, nothing destroyed yet
	}
	for _, r := range regs {
		d.destroySemaphore(r.tl.sem)
	}
	d.reapAll()
	d.vk.DestroySemaphore(d.waiter.wake)
	d.vk.DestroySemaphore(d.waiter.idle)
	d.vk.DestroyBuffer(d.abort.buf)
	d.order.destroy(d.vk)
	d.vk.Destroy()
	if d.inst != nil {
		if d.listener != nil {
			d.inst.Close(d.listener)
		}
		d.inst.Release()
	}
	return nil
}
