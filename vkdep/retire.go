package vkdep

import (
	"sync"
	"sync/atomic"

	"vkdep.dev/internal/vk"
)

// Retirement of a finished queue's Vulkan objects (X4): its timeline semaphore and its abort word
// are freed once the GPU is done with them, not at Device.Close, so a device that replaces queues
// all its life (a compositor recreating clients) does not grow.
//
// When a queue finishes, every value of its semaphore has been reached and nothing waits on it
// (gpuRefs), but the driver may not be quite done with it: lavapipe's submit thread (Mesa 22.3)
// can still touch a semaphore shortly after signalling it, and destroying it then crashes the
// driver. A VkQueue's submissions are processed in order by that thread, so once a submission
// made to the same VkQueue after the queue finished has completed, the thread has let go of
// everything before it. Each VkQueue counts its submits; a grave remembers the count when the
// queue finished, and the first later-submitted job to complete on that VkQueue frees it. The
// graves of a VkQueue that sees no more work are freed at Device.Close, after vkDeviceWaitIdle: at
// most one queue's worth per VkQueue stays.

// grave is a finished queue's semaphore and abort word, waiting for a later completion on its
// VkQueue.
type grave struct {
	sem   vk.Semaphore
	abort uint32
	after uint64 // hwQueue.submits when the queue finished
}

// graves is the part of a hwQueue that holds them.
type graves struct {
	submits atomic.Uint64 // vkQueueSubmit2 calls vkdep made to the VkQueue; bumped under its lock
	n       atomic.Int32  // len(list): lets the completion path skip the lock
	mu      sync.Mutex
	list    []grave
}

// createTimeline creates a timeline semaphore of a queue or host timeline, counted (LiveSemaphores
// in tests shows X4).
func (d *Device) createTimeline() (vk.Semaphore, error) {
	s, err := d.vk.CreateTimeline(0)
	if err == nil {
		d.sems.Add(1)
		if d.listener != nil {
			d.listener.Own(uint64(s)) // its validation messages are this device's
		}
	}
	return s, err
}

func (d *Device) destroySemaphore(s vk.Semaphore) {
	if d.listener != nil {
		d.listener.Disown(uint64(s))
	}
	d.vk.DestroySemaphore(s)
	d.sems.Add(-1)
}

// bury takes a finished queue's semaphore and abort word, on the completion goroutine.
func (d *Device) bury(h *hwQueue, s vk.Semaphore, abort uint32) {
	h.graves.mu.Lock()
	h.graves.list = append(h.graves.list, grave{sem: s, abort: abort, after: h.graves.submits.Load()})
	h.graves.n.Store(int32(len(h.graves.list)))
	h.graves.mu.Unlock()
}

// reap frees the graves of h that a completed submit numbered seq proves the driver is done with.
// Completion goroutine only (destroying a semaphore must not race the waiter's wait on it; a
// buried one left the wait set before it was buried).
func (d *Device) reap(h *hwQueue, seq uint64) {
	if h.graves.n.Load() == 0 || seq == 0 {
		return
	}
	var free []grave
	h.graves.mu.Lock()
	keep := h.graves.list[:0]
	for _, g := range h.graves.list {
		if g.after < seq {
			free = append(free, g)
		} else {
			keep = append(keep, g)
		}
	}
	clear(h.graves.list[len(keep):])
	h.graves.list = keep
	h.graves.n.Store(int32(len(keep)))
	h.graves.mu.Unlock()
	for _, g := range free {
		d.destroySemaphore(g.sem)
		d.abort.put(g.abort)
	}
}

// reapAll frees every grave, at Device.Close after the device is idle.
func (d *Device) reapAll() {
	for _, h := range d.hw {
		h.graves.mu.Lock()
		list := h.graves.list
		h.graves.list = nil
		h.graves.n.Store(0)
		h.graves.mu.Unlock()
		for _, g := range list {
			d.destroySemaphore(g.sem)
		}
	}
}
