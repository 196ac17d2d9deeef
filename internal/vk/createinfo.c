#include <string.h>
#include "createinfo.h"

enum { MAX_CHAIN = 256 };

int vkdep_read_create_info(uintptr_t create_info, vkdep_enabled *out) {
	const VkDeviceCreateInfo *ci = (const VkDeviceCreateInfo *)create_info;
	memset(out, 0, sizeof *out);
	if (ci->sType != VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO)
		return -1;
	// The features may come in any of the structs that carry them: the Vulkan 1.2/1.3 feature
	// blocks, or the per-feature structs promoted from VK_KHR_timeline_semaphore and
	// VK_KHR_synchronization2 (VUID-VkDeviceCreateInfo-pNext-02830 and -06532 forbid chaining a
	// VulkanXYFeatures block together with the per-feature structs it covers, so at most one of
	// each pair is present).
	int n = 0;
	for (const VkBaseInStructure *s = ci->pNext; s; s = s->pNext) {
		if (++n > MAX_CHAIN)
			return -2;
		switch (s->sType) {
		case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES:
			out->timeline_semaphore |= ((const VkPhysicalDeviceVulkan12Features *)s)->timelineSemaphore;
			break;
		case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES:
			out->timeline_semaphore |= ((const VkPhysicalDeviceTimelineSemaphoreFeatures *)s)->timelineSemaphore;
			break;
		case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES:
			out->synchronization2 |= ((const VkPhysicalDeviceVulkan13Features *)s)->synchronization2;
			break;
		case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES:
			out->synchronization2 |= ((const VkPhysicalDeviceSynchronization2Features *)s)->synchronization2;
			break;
		default:
			break;
		}
	}
	out->queue_info_count = ci->queueCreateInfoCount;
	for (uint32_t i = 0; i < ci->queueCreateInfoCount && i < VKDEP_MAX_QUEUE_INFOS; i++) {
		out->queue_family[i] = ci->pQueueCreateInfos[i].queueFamilyIndex;
		out->queue_count[i] = ci->pQueueCreateInfos[i].queueCount;
		out->queue_flags[i] = ci->pQueueCreateInfos[i].flags;
	}
	return 0;
}
