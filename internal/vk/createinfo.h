// Named createinfo.h, not features.h: the package directory is on the include path, and a
// features.h here would shadow glibc's <features.h> for every header that includes it.
// Reading what an application enabled on a VkDevice it created: Vulkan has no query for a
// device's enabled features, so vkdep reads the VkDeviceCreateInfo the application passed to
// vkCreateDevice.
#ifndef VKDEP_CREATEINFO_H
#define VKDEP_CREATEINFO_H
#include <stdint.h>
#include <vulkan/vulkan.h>

#define VKDEP_MAX_QUEUE_INFOS 32

typedef struct {
	uint32_t timeline_semaphore;
	uint32_t synchronization2;
	uint32_t queue_info_count; // entries of pQueueCreateInfos (at most VKDEP_MAX_QUEUE_INFOS kept)
	uint32_t queue_family[VKDEP_MAX_QUEUE_INFOS];
	uint32_t queue_count[VKDEP_MAX_QUEUE_INFOS];
	uint32_t queue_flags[VKDEP_MAX_QUEUE_INFOS];
} vkdep_enabled;

// vkdep_read_create_info fills out from the VkDeviceCreateInfo at create_info. It returns 0, or -1
// when the pointer is not a VkDeviceCreateInfo (wrong sType) and -2 when its pNext chain is
// longer than any real one (a cycle).
int vkdep_read_create_info(uintptr_t create_info, vkdep_enabled *out);

#endif
