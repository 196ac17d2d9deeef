package vkdep

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// HostTimeline is a timeline semaphore that the application signals from the CPU: an upload
// finished, a frame latched, another device's work done. Its points are Fences like any other and
// can be waited on, given callbacks, or used as job dependencies (resolved on the CPU, D5).
//
// Signalling value v completes every point up to v. Fail does the same with an error, which the
// points in (previous value, v] complete with. Methods are safe for concurrent use.
//
// The CPU side knows every value a HostTimeline reaches, because it is signalled through Signal
// and Fail only; the completion goroutine is told of each signal and never reads this semaphore.
// A signal of the raw semaphore by other means (a GPU submit, a raw vkSignalSemaphore) is not
// seen: GPU work belongs on a Queue.
type HostTimeline struct {
	tl timeline

	mu        sync.Mutex
	signalled uint64     // highest value signalled through this object
	pending   []hostFail // failures signalled but not yet seen by the completion goroutine
	closed    error      // ErrDeviceClosed or a lost-device error once the timeline is dead
	gpuMax    uint64     // highest value handed to a GPU-side wait (hostwait.go, D5)
	gpuWaits  []uint64   // values above signalled handed to GPU-side waits, ascending (stepTo)
}

type hostFail struct {
	from, value uint64 // the points in (from, value] fail
	err         error
}

// NewHostTimeline creates a host timeline starting at value 0. name appears in errors.
func (d *Device) NewHostTimeline(name string) (*HostTimeline, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	sem, err := d.createTimeline()
	if err != nil {
		return nil, d.vkErr("vkCreateSemaphore", err)
	}
	h := &HostTimeline{}
	h.tl = timeline{dev: d, sem: sem, name: fmt.Sprintf("host timeline %q", name), host: h}
	if !d.register(&h.tl, h.kill, false) {
		d.destroySemaphore(sem)
		return nil, d.usable()
	}
	return h, nil
}

// Point returns the fence for value v. It may be taken before v is signalled; it completes when
// the timeline reaches v.
func (h *HostTimeline) Point(v uint64) Fence { return Fence{tl: &h.tl, value: v} }

// Semaphore is the raw VkSemaphore, for applications that wait on it in their own submits.
func (h *HostTimeline) Semaphore() uint64 { return uint64(h.tl.sem) }

// Value returns the highest value that has completed on the CPU side.
func (h *HostTimeline) Value() uint64 { return h.tl.done.Load() }

// Signal moves the timeline to v, completing every point up to v successfully. v must be above
// every value signalled so far (VUID-VkSemaphoreSignalInfo-value-03258); otherwise Signal returns
// an error matching ErrBadSignal and changes nothing. The points complete on the completion
// goroutine, shortly after Signal returns.
func (h *HostTimeline) Signal(v uint64) error { return h.signal(v, nil) }

// Fail moves the timeline to v like Signal, but the points in (previous value, v] complete with
// an error that matches err (and names the point). Dependent jobs see a dependency error (D6).
func (h *HostTimeline) Fail(v uint64, err error) error {
	if err == nil {
		err = fmt.Errorf("%w: HostTimeline.Fail with a nil error", ErrInvalidOptions)
	}
	return h.signal(v, err)
}

func (h *HostTimeline) signal(v uint64, err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed != nil {
		return fmt.Errorf("%s: signal %d: %w", h.tl.name, v, h.closed)
	}
	if v <= h.signalled {
		return fmt.Errorf("%s: signal %d is not above the current value %d (VUID-VkSemaphoreSignalInfo-value-03258): %w",
			h.tl.name, v, h.signalled, ErrBadSignal)
	}
	if v == math.MaxUint64 {
		return fmt.Errorf("%s: signal %d: value reserved: %w", h.tl.name, v, ErrBadSignal)
	}
	if err != nil {
		// Recorded before the semaphore moves, so the completion goroutine finds it (O4).
		h.pending = append(h.pending, hostFail{from: h.signalled, value: v, err: err})
	}
	if serr := h.stepTo(v); serr != nil {
		if err != nil {
			h.pending = h.pending[:len(h.pending)-1]
		}
		return h.tl.dev.vkErr("vkSignalSemaphore", serr)
	}
	// The completion goroutine learns of the signal from here, not by reading the semaphore:
	// validation layers before 1.3.296 lose track of a timeline whose counter is read on one
	// thread while a host signal of it is still being recorded on another, and report a false
	// VUID-VkSemaphoreSignalInfo-value-03259 on the next signal.
	h.tl.dev.waiter.post(func() { h.reached(v) })
	return nil
}

// reached runs on the completion goroutine: complete up to the counter, failures first.
func (h *HostTimeline) reached(counter uint64) {
	h.mu.Lock()
	var fails []hostFail
	n := 0
	for n < len(h.pending) && h.pending[n].value <= counter {
		n++
	}
	if n > 0 {
		fails = append(fails, h.pending[:n]...)
		h.pending = append(h.pending[:0], h.pending[n:]...)
	}
	h.mu.Unlock()
	for _, f := range fails {
		h.tl.complete(f.from, nil)
		h.tl.complete(f.value, f.err)
	}
	h.tl.complete(counter, nil)
}

// kill is called by the device on close or loss, on the completion goroutine. What the
// application signalled before completes as signalled, even if the completion goroutine had not
// seen the semaphore move yet; every other point completes with err, and later signals fail.
func (h *HostTimeline) kill(err error) {
	h.mu.Lock()
	first := h.closed == nil
	if first {
		h.closed = err
	}
	signalled := h.signalled
	// The value the semaphore is moved to as the timeline dies. No host signal of this object can
	// follow (closed is set), and only the host signals it, so no GPU signal can race this one
	// (VUID-VkSemaphoreSignalInfo-value-03258).
	target := h.gpuMax // D5: jobs wait GPU-side on these values; reach them so they land (D7)
	if first && errors.Is(err, ErrDeviceClosed) {
		// X4: a failed point is still reached, so GPU work waiting on the semaphore (a job's
		// WaitSemaphore on it, or a GPU-side wait on a point) ends and Close can finish the
		// queues. The jump stays within maxTimelineSemaphoreValueDifference
		// (VUID-VkSemaphoreSignalInfo-value-03260).
		if step := min(h.tl.dev.vk.Physical.MaxTimelineDifference, 1<<32+1) - 1; step > 0 && signalled < math.MaxUint64-step {
			target = max(target, signalled+step)
		}
	}
	if target > h.signalled {
		_ = h.stepTo(target) // on a lost device it may fail: nothing runs there any more
	}
	h.mu.Unlock()
	h.reached(signalled)
	h.tl.seal(err)
}
