package vkdep

import (
	"errors"
	"fmt"
	"reflect"

	"vkdep.dev/internal/vk"
)

// Sentinel errors. Every error vkdep returns or records on a fence matches one of them with
// errors.Is; errors about a fence also name its timeline and value (see FenceError).
var (
	ErrKilled       = errors.New("vkdep: killed")
	ErrTimedOut     = errors.New("vkdep: timed out")
	ErrDependency   = errors.New("vkdep: dependency failed")
	ErrDeviceLost   = errors.New("vkdep: device lost")
	ErrQueueClosed  = errors.New("vkdep: queue closed")
	ErrDeviceClosed = errors.New("vkdep: device closed")
	ErrArmed        = errors.New("vkdep: job already armed")
	ErrNotArmed     = errors.New("vkdep: job not armed")
	ErrTooBig       = errors.New("vkdep: job cost above the queue's credit limit")
	// ErrBadSignal is returned for a host signal that Vulkan would reject: not above the
	// timeline's current value (VUID-VkSemaphoreSignalInfo-value-03258) or not below a pending
	// GPU signal (VUID-VkSemaphoreSignalInfo-value-03259).
	ErrBadSignal = errors.New("vkdep: invalid host signal")
	// ErrNoDevice is returned by Open when no usable Vulkan device is found.
	ErrNoDevice = errors.New("vkdep: no usable Vulkan device")
	// ErrBadHandle is returned by Arm for a VK_NULL_HANDLE command buffer or semaphore.
	ErrBadHandle = errors.New("vkdep: invalid Vulkan handle")
	// ErrMissingFeature is returned by Wrap when the application's device, its physical device
	// or its instance lacks what vkdep needs: Vulkan 1.3, and the timelineSemaphore and
	// synchronization2 features enabled at vkCreateDevice. The error names the missing piece and
	// where to enable it. (Open reports a device that lacks them with ErrNoDevice, since it
	// chooses the device itself, and a feature of Options.Features that the chosen device lacks
	// with ErrMissingFeature.)
	ErrMissingFeature = errors.New("vkdep: missing Vulkan feature")
	// ErrInvalidOptions is returned for options or arguments vkdep cannot use: WrapOptions.Queues
	// empty, out of range, listed twice or without compute; QueueOptions.VkQueueIndex out of range, or two placements at once; a
	// device with no compute queue; more queues open at once than abort words; HostTimeline.Fail
	// without an error. The message says which.
	ErrInvalidOptions = errors.New("vkdep: invalid options")
)

// VkResult is a Vulkan result code as an error; it prints the enum name (VK_ERROR_DEVICE_LOST).
// Match it with errors.As.
type VkResult = vk.Result

// FenceError is the error a fence completes with: it names the timeline and value it concerns,
// and unwraps to the cause (a sentinel above, often joined with the application's cause).
type FenceError struct {
	Timeline string // e.g. `queue "render"` or `host timeline "uploads"`
	Value    uint64
	Err      error
}

func (e *FenceError) Error() string {
	return fmt.Sprintf("%s value %d: %v", e.Timeline, e.Value, e.Err)
}

func (e *FenceError) Unwrap() error { return e.Err }

// because joins a sentinel with the cause that led to it, so that errors.Is matches both.
func because(sentinel, cause error) error {
	if cause == nil || errors.Is(cause, sentinel) {
		if cause == nil {
			return sentinel
		}
		return cause
	}
	return fmt.Errorf("%w: %w", sentinel, cause)
}

// sameErr reports whether a and b are the same error value, without panicking on error types
// that are not comparable.
func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}
