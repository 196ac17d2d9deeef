package vk

/*
#include "createinfo.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// CreatedQueues is one VkDeviceQueueCreateInfo of a device: Count queues of Family created with
// Flags (VkDeviceQueueCreateFlags; non-zero flags mean protected queues).
type CreatedQueues struct {
	Family, Count, Flags uint32
}

// Enabled is what an application enabled at vkCreateDevice, as far as vkdep cares.
type Enabled struct {
	TimelineSemaphore bool
	Synchronization2  bool
	Queues            []CreatedQueues
}

// ReadCreateInfo reads the VkDeviceCreateInfo at createInfo (a `const VkDeviceCreateInfo*` the
// application passed to vkCreateDevice, still valid): the timelineSemaphore and synchronization2
// features enabled in its pNext chain, and the queues it created. Vulkan has no query for a
// device's enabled features, so this is the only way to learn them from the device itself. The
// pointer must point at readable memory: a wrong but non-zero pointer cannot be detected and
// crashes the process.
func ReadCreateInfo(createInfo uintptr) (Enabled, error) {
	if createInfo == 0 {
		return Enabled{}, errNullHandle
	}
	var out C.vkdep_enabled
	switch C.vkdep_read_create_info(C.uintptr_t(createInfo), &out) {
	case -1:
		return Enabled{}, errors.New("vk: not a VkDeviceCreateInfo (sType is not VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO)")
	case -2:
		return Enabled{}, fmt.Errorf("vk: VkDeviceCreateInfo pNext chain longer than any valid one (a cycle?)")
	}
	e := Enabled{TimelineSemaphore: out.timeline_semaphore != 0, Synchronization2: out.synchronization2 != 0}
	n := min(uint32(out.queue_info_count), C.VKDEP_MAX_QUEUE_INFOS)
	for i := range n {
		e.Queues = append(e.Queues, CreatedQueues{
			Family: uint32(out.queue_family[i]), Count: uint32(out.queue_count[i]), Flags: uint32(out.queue_flags[i]),
		})
	}
	return e, nil
}
