package vk

/*
#include <stdlib.h>
#include "priority.h"
*/
import "C"

import "unsafe"

// Global queue priorities (VkQueueGlobalPriorityKHR), for QueueRequest.GlobalPriority.
const (
	GlobalPriorityLow      uint32 = 128
	GlobalPriorityMedium   uint32 = 256
	GlobalPriorityHigh     uint32 = 512
	GlobalPriorityRealtime uint32 = 1024
)

// GlobalPriorityExtension names the device extension that lets queues be created with a global
// priority: VK_KHR_global_priority, else VK_EXT_global_priority, else "".
func GlobalPriorityExtension(phys PhysicalInfo) string {
	for _, name := range []string{"VK_KHR_global_priority", "VK_EXT_global_priority"} {
		c := C.CString(name)
		ok := C.vkdep_device_has_extension(C.uint64_t(phys.Handle), c) != 0
		C.free(unsafe.Pointer(c))
		if ok {
			return name
		}
	}
	return ""
}
