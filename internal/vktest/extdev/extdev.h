// An application's own Vulkan device, created with plain <vulkan/vulkan.h> calls and nothing of
// vkdep's binding, for tests and examples of vkdep.Wrap.
#ifndef EXTDEV_H
#define EXTDEV_H
#include <stdint.h>
#include <vulkan/vulkan.h>

typedef struct {
	VkInstance instance;
	VkDebugUtilsMessengerEXT messenger;
	VkPhysicalDevice phys;
	VkDevice device;
	VkQueue queue;
	uint32_t family;
	// The create info given to vkCreateDevice, kept alive with the device so that its address
	// can be handed to vkdep.Wrap.
	float priority;
	VkDeviceQueueCreateInfo qci;
	VkPhysicalDeviceVulkan13Features f13;
	VkPhysicalDeviceVulkan12Features f12;
	VkDeviceCreateInfo ci;
	PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;
} extdev;

// extdev_create makes an instance (apiVersion api; with validate, the Khronos validation layer
// and a messenger that reports to extdevMessage with user), picks the first physical device with
// a compute queue family and creates a device with one queue of it, enabling timelineSemaphore
// and synchronization2 as asked. On failure *step names the call that failed and everything made
// so far is destroyed.
VkResult extdev_create(uint32_t api, int validate, int timeline, int sync2, uintptr_t user, extdev **out,
                       const char **step);
void extdev_destroy(extdev *d);

VkResult extdev_create_semaphore(extdev *d, int timeline, uint64_t initial, uint64_t *out);
void extdev_destroy_semaphore(extdev *d, uint64_t sem);
// extdev_submit is one vkQueueSubmit (the Vulkan 1.0 entry point, with
// VkTimelineSemaphoreSubmitInfo), waiting at all commands. The caller holds the queue's lock.
VkResult extdev_submit(extdev *d, uint32_t nwait, const uint64_t *wait_sems, const uint64_t *wait_values,
                       uint32_t ncmd, const uint64_t *cmds, uint32_t nsignal, const uint64_t *signal_sems,
                       const uint64_t *signal_values);
VkResult extdev_wait(extdev *d, uint64_t sem, uint64_t value, uint64_t timeout_ns);
VkResult extdev_signal(extdev *d, uint64_t sem, uint64_t value);
VkResult extdev_counter(extdev *d, uint64_t sem, uint64_t *out);
VkResult extdev_device_wait_idle(extdev *d);
#endif
