package vkdep

import (
	"context"
)

// Fence is a job's finished fence, or a point on a HostTimeline: a value on a timeline semaphore
// plus a CPU-side completion record that carries the error (errors cannot travel on a Vulkan
// semaphore). It is a small value: copy it freely, compare it with ==. The zero Fence is "no
// fence"; as a dependency it is dropped (D1), and it reports done with no error.
//
// A fence completes exactly once (O3), in value order with the other fences of its timeline (O2),
// and its error is fixed before it reports done (O4). Its state lives on the CPU, so it stays
// readable after its queue or device is closed (X3). All methods are safe for concurrent use.
type Fence struct {
	tl    *timeline
	value uint64
}

// IsZero reports whether f is the zero Fence.
func (f Fence) IsZero() bool { return f.tl == nil }

// Value is the fence's value on its timeline semaphore.
func (f Fence) Value() uint64 { return f.value }

// Semaphore is the raw VkSemaphore handle of the fence's timeline, for applications that wait on
// it with their own Vulkan calls. A Queue's semaphore is valid until the queue's Done closes
// (vkdep frees it soon after, X4); a HostTimeline's until its device is closed.
func (f Fence) Semaphore() uint64 {
	if f.tl == nil {
		return 0
	}
	return uint64(f.tl.sem)
}

// Timeline names the fence's timeline, as errors do: `queue "render"`, `host timeline "x"`.
func (f Fence) Timeline() string {
	if f.tl == nil {
		return ""
	}
	return f.tl.name
}

// Completed reports whether the fence has completed. It never blocks.
func (f Fence) Completed() bool { return f.tl == nil || f.value <= f.tl.done.Load() }

// Err returns nil while the fence is pending or when it completed successfully, and otherwise the
// error it completed with: a *FenceError naming the timeline and value, matching the sentinels
// with errors.Is. It never blocks.
func (f Fence) Err() error {
	if !f.Completed() || f.tl == nil {
		return nil
	}
	return f.tl.errAt(f.value)
}

// Done returns a channel that is closed when the fence completes. A pending fence allocates a
// channel per call; a completed one returns a shared closed channel. No goroutine or OS thread
// waits for it (O6): the device's completion goroutine closes it.
func (f Fence) Done() <-chan struct{} {
	if f.Completed() {
		return closedChan
	}
	e := &waitEntry{value: f.value, ch: make(chan struct{})}
	if !f.tl.addWait(e) {
		return closedChan
	}
	return e.ch
}

// Wait blocks until the fence completes or ctx ends. It returns the fence's error, or ctx.Err()
// when ctx ends first, in which case nothing changes: the fence goes on and can be waited again.
// The waiting goroutine is parked, not holding an OS thread (O6).
func (f Fence) Wait(ctx context.Context) error {
	if f.Completed() {
		return f.Err()
	}
	e := &waitEntry{value: f.value, ch: make(chan struct{})}
	if !f.tl.addWait(e) {
		return f.Err()
	}
	select {
	case <-e.ch:
		return f.Err()
	case <-ctx.Done():
		f.tl.removeWait(e)
		return ctx.Err()
	}
}

// OnDone arranges for fn to be called once with the fence's error (nil on success) when it
// completes; if it already has, fn is called soon. fn always runs on the device's completion
// goroutine (E4), never in the caller's: it must not block or wait on fences, or it stalls every
// completion of the device. A zero Fence calls fn(nil) on the caller's goroutine: it has no device.
func (f Fence) OnDone(fn func(err error)) {
	if f.tl == nil {
		fn(nil)
		return
	}
	if f.tl.addWait(&waitEntry{value: f.value, fn: fn}) {
		return
	}
	f.tl.dev.waiter.post(func() { fn(f.Err()) })
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// WaitSubmitted blocks until the fence's value has been handed to the driver — the submit that
// signals it has returned — or the fence has completed, or ctx ends. It is what an application
// waits for before it submits or presents something that waits on a binary semaphore the job
// signals (Job.SignalSemaphore): Vulkan requires a binary semaphore's signal to be submitted
// before any wait on it is (the binary-semaphore rules of vkQueueSubmit2 and vkQueuePresentKHR).
//
// It returns nil once the value's signal is submitted, even if the fence later fails (a timed-out
// job's semaphore signals are still pending on the GPU). If the fence completes without its value
// ever being submitted (a lost device, a queue already finished) it returns the fence's error:
// the job's semaphores will not be signalled. When ctx ends first it returns ctx.Err(). A point of a
// HostTimeline counts as submitted once it is signalled. The waiting goroutine is parked.
func (f Fence) WaitSubmitted(ctx context.Context) error {
	if f.tl == nil {
		return nil
	}
	q := f.tl.queue
	if q == nil {
		return f.Wait(ctx)
	}
	var e *waitEntry
	defer func() {
		if e != nil {
			f.tl.removeWait(e)
		}
	}()
	for {
		// Take the channel before reading the counter: a submit stores the counter before it
		// closes the channel, so either the read sees the value or the channel gets closed.
		ch := q.submitSignal()
		if q.submitted.Load() >= f.value {
			return nil
		}
		if f.Completed() {
			return f.Err()
		}
		if e == nil {
			e = &waitEntry{value: f.value, ch: make(chan struct{})}
			if !f.tl.addWait(e) {
				e = nil
				continue // completed meanwhile; the loop decides
			}
		}
		select {
		case <-ch:
		case <-e.ch:
			e = nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Submitted reports, without blocking, whether the fence's value has been handed to the driver
// (see WaitSubmitted). A HostTimeline point counts as submitted once signalled; the zero Fence
// always does.
func (f Fence) Submitted() bool {
	if f.tl == nil {
		return true
	}
	if q := f.tl.queue; q != nil {
		return q.submitted.Load() >= f.value
	}
	return f.Completed()
}
