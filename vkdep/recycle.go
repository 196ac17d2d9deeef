package vkdep

import (
	"context"
	"slices"
	"sync"
)

// Recycler hands command buffers back from jobs' release hooks to the goroutine that owns their
// VkCommandPool, and resets them there.
//
// A release hook runs on the device's completion goroutine (E4), but a command pool, and every
// command buffer allocated from it, must be externally synchronised by the application
// (vkResetCommandBuffer, vkBeginCommandBuffer: "Host access to the VkCommandPool that
// commandBuffer was allocated from must be externally synchronized"), and the pool's owner is
// usually recording on another goroutine at that moment. So the hook only queues the buffer,
// without blocking; Get and TryGet, called by the pool's owner, reset it with the application's
// reset function and hand it out for recording again.
//
// Use one Recycler per command pool (typically per queue and recording goroutine). Its methods
// are safe for concurrent use, but reset runs on whichever goroutine calls Get or TryGet.
type Recycler struct {
	reset func(cmd uint64) error

	mu     sync.Mutex
	free   []uint64
	notify chan struct{} // capacity 1: something was put back
}

// NewRecycler returns a Recycler that resets each buffer with reset before handing it out again:
// vkResetCommandBuffer through the application's binding (its pool created with
// VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT), or nil when vkBeginCommandBuffer's implicit
// reset is enough.
func NewRecycler(reset func(cmd uint64) error) *Recycler {
	return &Recycler{reset: reset, notify: make(chan struct{}, 1)}
}

// Attach adds cmds to j (Job.AddCommandBuffers) and sets j's release hook to hand them back to
// r. It replaces a release hook set before; use Hook inside a hook of your own instead.
func (r *Recycler) Attach(j *Job, cmds ...uint64) error {
	if err := j.AddCommandBuffers(cmds...); err != nil {
		return err
	}
	return j.OnRelease(r.Hook(cmds...))
}

// Hook returns a function that hands cmds back to r, for a release hook. It never blocks.
func (r *Recycler) Hook(cmds ...uint64) func() {
	own := slices.Clone(cmds)
	return func() { r.Put(own...) }
}

// Put hands command buffers back, for the next Get. It never blocks.
func (r *Recycler) Put(cmds ...uint64) {
	r.mu.Lock()
	r.free = append(r.free, cmds...)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// TryGet returns a command buffer whose job has been released, reset on the calling goroutine,
// or ok false when none is back yet. A reset error is returned with the buffer, which is then no
// longer r's.
func (r *Recycler) TryGet() (cmd uint64, ok bool, err error) {
	r.mu.Lock()
	if len(r.free) == 0 {
		r.mu.Unlock()
		return 0, false, nil
	}
	cmd = r.free[0]
	r.free = r.free[1:]
	more := len(r.free) > 0
	r.mu.Unlock()
	if more {
		// Keep the notification for the next waiter.
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}
	if r.reset != nil {
		err = r.reset(cmd)
	}
	return cmd, true, err
}

// Get is TryGet that waits, parked, until a buffer is back or ctx ends.
func (r *Recycler) Get(ctx context.Context) (uint64, error) {
	for {
		cmd, ok, err := r.TryGet()
		if ok {
			return cmd, err
		}
		select {
		case <-r.notify:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Len is the number of buffers back and not yet taken.
func (r *Recycler) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.free)
}
