package vk

// FaultPoint names a call that the fault-injection seam can make fail.
type FaultPoint int

// The calls the seam covers.
const (
	FaultSubmit FaultPoint = iota // Device.Submit
	FaultWait                     // Device.Wait
	FaultSignal                   // Device.Signal
)

func (p FaultPoint) String() string {
	switch p {
	case FaultSubmit:
		return "vkQueueSubmit2"
	case FaultWait:
		return "vkWaitSemaphores"
	case FaultSignal:
		return "vkSignalSemaphore"
	}
	return "unknown call"
}

// FaultHook decides, before a covered call reaches the driver, whether it fails instead: it
// returns nil to let the call through, or the error (ErrorDeviceLost, say) to return.
type FaultHook func(FaultPoint) error

// SetFault installs hook on d (nil removes it). It is the fault-injection seam for vkdep's tests:
// this package is internal, so nothing outside the module can reach it, and without a hook the
// seam costs one atomic load per covered call.
func (d *Device) SetFault(hook FaultHook) {
	if hook == nil {
		d.faultHook.Store(nil)
		return
	}
	d.faultHook.Store(&hook)
}

func (d *Device) fault(p FaultPoint) error {
	if h := d.faultHook.Load(); h != nil {
		return (*h)(p)
	}
	return nil
}
