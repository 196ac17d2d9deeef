package vkdep

import (
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"

	"vkdep.dev/internal/vk"
)

// WrapOptions describe an application's own Vulkan device for Wrap. Handles are raw Vulkan
// handles as integers, so that any Go Vulkan binding can provide them.
type WrapOptions struct {
	// Instance, PhysicalDevice and Device are the application's VkInstance, the VkPhysicalDevice
	// it created the device on, and the VkDevice. vkdep checks them for VK_NULL_HANDLE only: a
	// non-zero handle that is not what it claims to be cannot be detected and crashes the
	// process or the driver. They must come from the process's Vulkan loader (libvulkan.so.1),
	// which vkdep calls directly.
	Instance, PhysicalDevice, Device uint64
	// APIVersion is the apiVersion of the VkApplicationInfo the application passed to
	// vkCreateInstance, packed as VK_MAKE_API_VERSION packs it. A device's usable core version
	// is the lower of this and the physical device's, and vkdep needs 1.3 (vkQueueSubmit2);
	// Vulkan gives no way to read it back from the instance.
	APIVersion uint32
	// CreateInfo is the address of the VkDeviceCreateInfo the application passed to
	// vkCreateDevice (a `const VkDeviceCreateInfo*`, with its pNext chain and queue create infos
	// still in memory for the duration of the Wrap call). Vulkan has no query for the features a
	// device was created with, so vkdep reads them here: timelineSemaphore from
	// VkPhysicalDeviceVulkan12Features or VkPhysicalDeviceTimelineSemaphoreFeatures,
	// synchronization2 from VkPhysicalDeviceVulkan13Features or
	// VkPhysicalDeviceSynchronization2Features; it also checks that every queue in Queues was
	// created. Wrap does not keep the pointer.
	CreateInfo uintptr
	// Features declares the enabled features instead, for applications whose binding cannot
	// give CreateInfo. vkdep trusts the declaration; a false one is undefined behaviour in the
	// driver (and a validation error, when the application's validation layer is on). Ignored
	// when CreateInfo is set.
	Features *EnabledFeatures
	// Queues lists the VkQueues vkdep may submit to, by family and index; at least one must
	// support compute work. They must have been created with the device (by a
	// VkDeviceQueueCreateInfo with flags 0: vkdep gets them with vkGetDeviceQueue).
	Queues []WrapQueue
	// Logger receives vkdep's own diagnostics. Nil is silent.
	Logger *slog.Logger
}

// EnabledFeatures declares which of the features vkdep needs the application enabled at
// vkCreateDevice (see WrapOptions.Features).
type EnabledFeatures struct {
	TimelineSemaphore bool
	Synchronization2  bool
}

// WrapQueue is one VkQueue of the application's device that vkdep may submit to.
//
// Vulkan requires host access to a VkQueue to be externally synchronised (vkQueueSubmit2,
// vkQueueWaitIdle, vkQueuePresentKHR: "Host access to queue must be externally synchronized"),
// and vkdep submits to it from its own goroutines. So every submit to the queue, by vkdep or by
// the application, must hold one and the same lock:
//
//   - Lock set: the application's existing lock for that VkQueue. vkdep takes it around each of
//     its submits, so the application goes on locking as it did. Several WrapQueues may share one
//     Lock. It must be comparable (a pointer, typically *sync.Mutex).
//   - Lock nil: vkdep makes one, and the application must hold Device.VkQueues()[i].Lock around
//     its own calls on that VkQueue from now on, until Close returns.
//
// vkdep holds the lock only for the length of a vkQueueSubmit2 call (and, at Close, a
// vkQueueWaitIdle); it never waits on a fence or calls the application while holding it.
type WrapQueue struct {
	Family, Index uint32
	Lock          sync.Locker
}

// Wrap builds a vkdep Device over a VkDevice the application created and keeps owning: vkdep
// adds its queues, timelines and completion goroutine on top, and the application goes on using
// the device (and the same VkQueues, under their locks: see WrapQueue).
//
// Wrap checks, and reports what is missing with an error matching ErrMissingFeature that names
// it: Vulkan 1.3 on the physical device and in WrapOptions.APIVersion, timelineSemaphore and
// synchronization2 supported by the physical device and enabled on the device (WrapOptions
// CreateInfo or Features). Zero handles match ErrBadHandle; a queue family or index the device
// does not have is an error naming it.
//
// Ownership: the VkInstance, VkPhysicalDevice and VkDevice stay the application's. Device.Close
// destroys only what vkdep created on them (its semaphores, its abort-word buffer), after waiting
// until the GPU is done with them — every job has completed and each of the wrapped VkQueues is
// idle (vkQueueWaitIdle) — and never destroys the VkDevice or VkInstance. The application destroys
// those after Close returns, and must keep them alive until then. Work of the application on
// VkQueues not given to vkdep that uses vkdep's semaphores or abort words must have finished
// before Close, since vkdep cannot wait for queues it was not given.
//
// Ordering: an application submit that waits on a vkdep fence's semaphore (Fence.Semaphore), or
// on a binary semaphore a job signals (a present), must come after vkdep has submitted that job:
// wait for it with Fence.WaitSubmitted (a Bypass queue often submits in Submit already, when
// nothing is ahead of the job). A wait queued on a VkQueue
// before the signal it waits for can block that queue for good, the wait-before-signal that vkdep
// itself never hands the driver (D4). Likewise a binary semaphore a job waits on must have its
// signal submitted before the job is pushed (VUID-vkQueueSubmit-pWaitSemaphores-03238).
//
// Validation: vkdep creates no debug messenger on a wrapped device. Whatever validation layers and
// messengers the application's instance has also see vkdep's calls, and report on them there;
// Options.Validate and Options.OnValidation do not apply, and Info().Validation is "application".
func Wrap(opts WrapOptions) (*Device, error) {
	for _, h := range []struct {
		name string
		v    uint64
	}{{"Instance", opts.Instance}, {"PhysicalDevice", opts.PhysicalDevice}, {"Device", opts.Device}} {
		if h.v == 0 {
			return nil, fmt.Errorf("%w: WrapOptions.%s is VK_NULL_HANDLE", ErrBadHandle, h.name)
		}
	}
	if len(opts.Queues) == 0 {
		return nil, fmt.Errorf("%w: WrapOptions.Queues is empty: give vkdep at least one VkQueue (family, index) of the device", ErrInvalidOptions)
	}
	p := vk.QueryPhysical(vk.PhysicalDevice(opts.PhysicalDevice))
	hw, families, err := wrapQueues(p, opts)
	if err != nil {
		return nil, err
	}
	if err := checkWrapFeatures(p, opts); err != nil {
		return nil, err
	}
	dev, err := vk.WrapDevice(p, opts.Device, families)
	if err != nil {
		return nil, fmt.Errorf("vkdep: Wrap: loading the device's entry points: %w", err)
	}
	for _, h := range hw {
		h.handle = dev.Queue(h.family, h.index)
	}
	info := describe(-1, p)
	info.Validation = "application"
	d, err := newDevice(dev, info, hw, opts.Logger)
	if err != nil {
		dev.Destroy() // frees vkdep's dispatch table; the VkDevice is not owned
		return nil, err
	}
	d.appInstance = opts.Instance
	return d, nil
}

var vulkan13 = vk.APIVersion(1, 3, 0)

// checkWrapFeatures checks what vkdep needs of the device, physical device and instance.
func checkWrapFeatures(p vk.PhysicalInfo, opts WrapOptions) error {
	if p.APIVersion < vulkan13 {
		return fmt.Errorf("%w: physical device %s supports Vulkan %s; vkdep needs Vulkan 1.3",
			ErrMissingFeature, p.Name, vk.VersionString(p.APIVersion))
	}
	if opts.APIVersion < vulkan13 {
		return fmt.Errorf("%w: WrapOptions.APIVersion is %s: create the VkInstance with VkApplicationInfo.apiVersion 1.3 or later (the device's usable version is the lower of the instance's and the physical device's) and pass that value",
			ErrMissingFeature, vk.VersionString(opts.APIVersion))
	}
	if !p.TimelineSemaphore {
		return fmt.Errorf("%w: physical device %s does not support timelineSemaphore", ErrMissingFeature, p.Name)
	}
	if !p.Synchronization2 {
		return fmt.Errorf("%w: physical device %s does not support synchronization2", ErrMissingFeature, p.Name)
	}
	var en vk.Enabled
	switch {
	case opts.CreateInfo != 0:
		var err error
		if en, err = vk.ReadCreateInfo(opts.CreateInfo); err != nil {
			return fmt.Errorf("vkdep: WrapOptions.CreateInfo: %w", err)
		}
	case opts.Features != nil:
		en = vk.Enabled{TimelineSemaphore: opts.Features.TimelineSemaphore, Synchronization2: opts.Features.Synchronization2}
	default:
		return fmt.Errorf("%w: cannot tell which features the device was created with: set WrapOptions.CreateInfo (the VkDeviceCreateInfo given to vkCreateDevice) or WrapOptions.Features",
			ErrMissingFeature)
	}
	if !en.TimelineSemaphore {
		return fmt.Errorf("%w: wrapped device lacks timelineSemaphore: enable VkPhysicalDeviceVulkan12Features.timelineSemaphore at vkCreateDevice",
			ErrMissingFeature)
	}
	if !en.Synchronization2 {
		return fmt.Errorf("%w: wrapped device lacks synchronization2: enable VkPhysicalDeviceVulkan13Features.synchronization2 at vkCreateDevice",
			ErrMissingFeature)
	}
	if opts.CreateInfo != 0 {
		// Only the create info knows which queues exist; vkGetDeviceQueue on one that was not
		// created is invalid (VUID-vkGetDeviceQueue-queueIndex-00385), and a protected one must
		// be fetched with vkGetDeviceQueue2 (VUID-vkGetDeviceQueue-flags-01841).
		for _, q := range opts.Queues {
			if !created(en.Queues, q) {
				return fmt.Errorf("%w: WrapOptions.Queues: queue %d of family %d was not created by the VkDeviceCreateInfo (with flags 0)", ErrInvalidOptions,
					q.Index, q.Family)
			}
		}
	}
	return nil
}

func created(qs []vk.CreatedQueues, q WrapQueue) bool {
	for _, c := range qs {
		if c.Family == q.Family && q.Index < c.Count && c.Flags == 0 {
			return true
		}
	}
	return false
}

// wrapQueues checks opts.Queues against the physical device and returns vkdep's view of them
// (handles not yet filled in) and their distinct families.
func wrapQueues(p vk.PhysicalInfo, opts WrapOptions) ([]*hwQueue, []uint32, error) {
	var hw []*hwQueue
	var families []uint32
	seen := map[[2]uint32]bool{}
	compute := false
	for _, q := range opts.Queues {
		if int(q.Family) >= len(p.Families) {
			return nil, nil, fmt.Errorf("%w: WrapOptions.Queues: queue family %d out of range: %s has %d families", ErrInvalidOptions,
				q.Family, p.Name, len(p.Families))
		}
		if n := p.Families[q.Family].Count; q.Index >= n {
			return nil, nil, fmt.Errorf("%w: WrapOptions.Queues: queue index %d out of range: family %d of %s has %d queues", ErrInvalidOptions,
				q.Index, q.Family, p.Name, n)
		}
		key := [2]uint32{q.Family, q.Index}
		if seen[key] {
			return nil, nil, fmt.Errorf("%w: WrapOptions.Queues: queue %d of family %d listed twice", ErrInvalidOptions, q.Index, q.Family)
		}
		seen[key] = true
		if q.Lock != nil && !reflect.TypeOf(q.Lock).Comparable() {
			return nil, nil, fmt.Errorf("%w: WrapOptions.Queues: the Lock of queue %d of family %d is a %T, which is not comparable; pass a pointer", ErrInvalidOptions,
				q.Index, q.Family, q.Lock)
		}
		flags := p.Families[q.Family].Flags
		compute = compute || flags&vk.QueueCompute != 0
		h := &hwQueue{family: q.Family, index: q.Index, flags: flags}
		h.mu.app = q.Lock
		hw = append(hw, h)
		if !slices.Contains(families, q.Family) {
			families = append(families, q.Family)
		}
	}
	if !compute {
		return nil, nil, fmt.Errorf("%w: WrapOptions.Queues: none of the queues is of a family that supports compute", ErrInvalidOptions)
	}
	return hw, families, nil
}
