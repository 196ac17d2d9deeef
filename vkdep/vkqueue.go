package vkdep

import (
	"slices"
	"sync"
	"sync/atomic"

	"vkdep.dev/internal/vk"
)

// The VkQueues of a device: the limited hardware that vkdep queues are placed on (placement.go)
// and take turns at (arbiter.go).
//
// The VkQueue lock rule. Host access to a VkQueue is externally synchronised (vkQueueSubmit2,
// vkQueueWaitIdle, vkQueuePresentKHR), and vkdep shares its VkQueues with the application, which
// takes the same lock (VkQueues, WrapQueue.Lock) and may hold it for long: lavapipe's present runs
// behind every job queued before it, a hung one included. So:
//   - every submit holds the VkQueue's lock (hwQueue.mu), and only for the submit itself;
//   - nobody waits for it while holding a queue's lock: flush puts the batch in flight and
//     releases q.mu for the submit (the submitting/again hand-off, queue.go);
//   - the completion goroutine never takes it: it never submits (Kill hands its signal-only
//     submits to the worker), so the timeout watch can always ban;
//   - Device.Close takes every one of them (drainQueues) once the queues are done.

// hwQueue is one VkQueue. Vulkan requires host synchronisation of a queue for submits
// (vkQueueSubmit2: "Host access to queue must be externally synchronized"), so every submit to it
// holds mu; several vkdep queues may share one hwQueue.
type hwQueue struct {
	family, index uint32
	flags         uint32
	handle        vk.Queue
	mu            queueLock
	users         atomic.Int32 // vkdep queues bound to it
	pos           int          // index in Device.hw: Device.VkQueues()[pos]
	gate          hostGate     // hostwait.go: GPU-side host waits on it hold other queues (D5)
	graves        graves       // finished queues' objects awaiting a later completion (retire.go)
	arb           arbiter      // which bound queue submits next (H1–H3)
	raised        bool         // created with a raised global priority (H5)
}

// queueLock is a VkQueue's host-synchronisation lock: its own mutex (Open, and Wrap without an
// application lock), or the lock the application already holds around its own submits to that
// VkQueue (WrapQueue.Lock), so that vkdep and the application exclude each other with one lock.
// Its zero value is an unlocked mutex.
type queueLock struct {
	own sync.Mutex
	app sync.Locker // nil: use own
}

func (l *queueLock) Lock() {
	if l.app != nil {
		l.app.Lock()
		return
	}
	l.own.Lock()
}

func (l *queueLock) Unlock() {
	if l.app != nil {
		l.app.Unlock()
		return
	}
	l.own.Unlock()
}

func (h *hwQueue) release() { h.users.Add(-1) }

// drainQueues waits, before vkdep destroys its semaphores and abort-word buffer, until no GPU work
// can still use them: raw submits of the application may wait on or signal vkdep's semaphores and
// read the abort words, and lavapipe's submit thread can touch a semaphore after signalling it
// (see retire.go). Every queue's lock is held meanwhile, because vkDeviceWaitIdle needs host
// access to all of the device's queues externally synchronised and vkQueueWaitIdle to its queue.
//
// A device vkdep opened has all its VkQueues in d.hw, so vkDeviceWaitIdle under all their locks is
// valid. A wrapped device may have queues vkdep was not given and cannot lock, so it waits for
// each of its own VkQueues instead; the application's work on other queues is the application's
// to finish (see Wrap).
func (d *Device) drainQueues() {
	// Queues may share one application lock (WrapQueue.Lock): take each lock once.
	var locks []sync.Locker
	for _, h := range d.hw {
		var l sync.Locker = &h.mu
		if h.mu.app != nil {
			l = h.mu.app
		}
		if !slices.Contains(locks, l) {
			locks = append(locks, l)
		}
	}
	for _, l := range locks {
		l.Lock()
	}
	defer func() {
		for _, l := range locks {
			l.Unlock()
		}
	}()
	if d.vk.Owned() {
		if err := d.vk.WaitIdle(); err != nil {
			d.log.Warn("vkdep: vkDeviceWaitIdle at close", "err", err)
		}
		return
	}
	for _, h := range d.hw {
		if err := vk.QueueWaitIdle(h.handle); err != nil {
			d.log.Warn("vkdep: vkQueueWaitIdle at close", "family", h.family, "index", h.index, "err", err)
		}
	}
}

// VkQueue is one Vulkan queue of the device, for applications that also submit to it
// themselves.
type VkQueue struct {
	Family, Index uint32
	Handle        uint64
	// Lock is the queue's host-synchronisation lock. Vulkan requires host access to a queue to
	// be externally synchronised, and vkdep submits to it from its own goroutines: hold Lock
	// around every vkQueueSubmit*, vkQueueWaitIdle or vkQueuePresentKHR on Handle.
	Lock sync.Locker
}

// VkQueues lists the device's Vulkan queues with their locks; none once the device is closed.
func (d *Device) VkQueues() []VkQueue {
	d.mu.Lock()
	closed := d.state == devClosed
	d.mu.Unlock()
	if closed {
		return nil
	}
	out := make([]VkQueue, len(d.hw))
	for i, q := range d.hw {
		out[i] = VkQueue{Family: q.family, Index: q.index, Handle: uint64(q.handle), Lock: &q.mu}
	}
	return out
}
