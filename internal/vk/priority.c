#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#include "priority.h"

int vkdep_device_has_extension(uint64_t phys, const char *name) {
	VkPhysicalDevice pd = (VkPhysicalDevice)(uintptr_t)phys;
	uint32_t n = 0;
	if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0)
		return 0;
	VkExtensionProperties *props = calloc(n, sizeof *props);
	if (!props)
		return 0;
	int found = 0;
	if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n && !found; i++)
			found = strcmp(props[i].extensionName, name) == 0;
	free(props);
	return found;
}
