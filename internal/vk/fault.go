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
