#include <stdlib.h>
#include <string.h>
#include "extdev.h"
#include "_cgo_export.h"

#define H(T, x) ((T)(uintptr_t)(x))

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
	extdevMessage((uintptr_t)user, (int)severity, (char *)data->pMessageIdName, (char *)data->pMessage);
	return VK_FALSE;
}

VkResult extdev_create(uint32_t api, int validate, int timeline, int sync2, uintptr_t user, extdev **out,
                       const char **step) {
	extdev *d = calloc(1, sizeof *d);
	*out = NULL;
	if (!d) {
		*step = "calloc";
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	}
	VkDebugUtilsMessengerCreateInfoEXT mci = {
	    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
	    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
	                       VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
	    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
	                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
	    .pfnUserCallback = on_message,
	    .pUserData = (void *)user,
	};
	VkApplicationInfo app = {
	    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
	    .pApplicationName = "vkdep extdev",
	    .apiVersion = api,
	};
	const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
	const char *exts[] = {"VK_EXT_debug_utils"};
	VkInstanceCreateInfo ici = {
	    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
	    .pNext = validate ? &mci : NULL, // also reports on vkCreateInstance and vkDestroyInstance
	    .pApplicationInfo = &app,
	    .enabledLayerCount = validate ? 1 : 0,
	    .ppEnabledLayerNames = layers,
	    .enabledExtensionCount = validate ? 1 : 0,
	    .ppEnabledExtensionNames = exts,
	};
	VkResult r = vkCreateInstance(&ici, NULL, &d->instance);
	if (r != VK_SUCCESS) {
		*step = "vkCreateInstance";
		free(d);
		return r;
	}
	if (validate) {
		PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
		    d->instance, "vkCreateDebugUtilsMessengerEXT");
		d->destroy_messenger = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
		    d->instance, "vkDestroyDebugUtilsMessengerEXT");
		r = create ? create(d->instance, &mci, NULL, &d->messenger) : VK_ERROR_EXTENSION_NOT_PRESENT;
		if (r != VK_SUCCESS) {
			*step = "vkCreateDebugUtilsMessengerEXT";
			extdev_destroy(d);
			return r;
		}
	}

	VkPhysicalDevice phys[16];
	uint32_t n = 16;
	r = vkEnumeratePhysicalDevices(d->instance, &n, phys);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
		*step = "vkEnumeratePhysicalDevices";
		extdev_destroy(d);
		return r;
	}
	int found = 0;
	for (uint32_t i = 0; i < n && !found; i++) {
		VkQueueFamilyProperties fams[16];
		uint32_t nf = 16;
		vkGetPhysicalDeviceQueueFamilyProperties(phys[i], &nf, fams);
		for (uint32_t f = 0; f < nf && !found; f++) {
			if (fams[f].queueFlags & VK_QUEUE_COMPUTE_BIT) {
				d->phys = phys[i];
				d->family = f;
				found = 1;
			}
		}
	}
	if (!found) {
		*step = "finding a physical device with a compute queue";
		extdev_destroy(d);
		return VK_ERROR_INCOMPATIBLE_DRIVER;
	}

	d->priority = 1.0f;
	d->qci = (VkDeviceQueueCreateInfo){
	    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
	    .queueFamilyIndex = d->family,
	    .queueCount = 1,
	    .pQueuePriorities = &d->priority,
	};
	// An instance created for an older apiVersion cannot use Vulkan 1.3 functionality on the
	// device, so it gets no VkPhysicalDeviceVulkan13Features (and vkdep.Wrap rejects it for its
	// APIVersion before looking at features).
	d->f13 = (VkPhysicalDeviceVulkan13Features){
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
	    .synchronization2 = sync2 ? VK_TRUE : VK_FALSE,
	};
	d->f12 = (VkPhysicalDeviceVulkan12Features){
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
	    .pNext = api >= VK_API_VERSION_1_3 ? &d->f13 : NULL,
	    .timelineSemaphore = timeline ? VK_TRUE : VK_FALSE,
	};
	d->ci = (VkDeviceCreateInfo){
	    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
	    .pNext = api >= VK_API_VERSION_1_2 ? &d->f12 : NULL,
	    .queueCreateInfoCount = 1,
	    .pQueueCreateInfos = &d->qci,
	};
	r = vkCreateDevice(d->phys, &d->ci, NULL, &d->device);
	if (r != VK_SUCCESS) {
		*step = "vkCreateDevice";
		extdev_destroy(d);
		return r;
	}
	vkGetDeviceQueue(d->device, d->family, 0, &d->queue);
	*out = d;
	return VK_SUCCESS;
}

void extdev_destroy(extdev *d) {
	if (d->device)
		vkDestroyDevice(d->device, NULL);
	if (d->messenger && d->destroy_messenger)
		d->destroy_messenger(d->instance, d->messenger, NULL);
	if (d->instance)
		vkDestroyInstance(d->instance, NULL);
	free(d);
}

VkResult extdev_create_semaphore(extdev *d, int timeline, uint64_t initial, uint64_t *out) {
	VkSemaphoreTypeCreateInfo ti = {
	    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
	    .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
	    .initialValue = initial,
	};
	VkSemaphoreCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = timeline ? &ti : NULL};
	VkSemaphore s = VK_NULL_HANDLE;
	VkResult r = vkCreateSemaphore(d->device, &ci, NULL, &s);
	*out = (uint64_t)(uintptr_t)s;
	return r;
}

void extdev_destroy_semaphore(extdev *d, uint64_t sem) { vkDestroySemaphore(d->device, H(VkSemaphore, sem), NULL); }

enum { MAX_OPS = 16 };

VkResult extdev_submit(extdev *d, uint32_t nwait, const uint64_t *wait_sems, const uint64_t *wait_values,
                       uint32_t ncmd, const uint64_t *cmds, uint32_t nsignal, const uint64_t *signal_sems,
                       const uint64_t *signal_values) {
	if (nwait > MAX_OPS || ncmd > MAX_OPS || nsignal > MAX_OPS)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	VkSemaphore waits[MAX_OPS], signals[MAX_OPS];
	VkPipelineStageFlags stages[MAX_OPS];
	VkCommandBuffer cbs[MAX_OPS];
	for (uint32_t i = 0; i < nwait; i++) {
		waits[i] = H(VkSemaphore, wait_sems[i]);
		stages[i] = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
	}
	for (uint32_t i = 0; i < nsignal; i++)
		signals[i] = H(VkSemaphore, signal_sems[i]);
	for (uint32_t i = 0; i < ncmd; i++)
		cbs[i] = H(VkCommandBuffer, cmds[i]);
	// Values of binary semaphores in these arrays are ignored (VkTimelineSemaphoreSubmitInfo).
	VkTimelineSemaphoreSubmitInfo ti = {
	    .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
	    .waitSemaphoreValueCount = nwait,
	    .pWaitSemaphoreValues = wait_values,
	    .signalSemaphoreValueCount = nsignal,
	    .pSignalSemaphoreValues = signal_values,
	};
	VkSubmitInfo si = {
	    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
	    .pNext = &ti,
	    .waitSemaphoreCount = nwait,
	    .pWaitSemaphores = waits,
	    .pWaitDstStageMask = stages,
	    .commandBufferCount = ncmd,
	    .pCommandBuffers = cbs,
	    .signalSemaphoreCount = nsignal,
	    .pSignalSemaphores = signals,
	};
	return vkQueueSubmit(d->queue, 1, &si, VK_NULL_HANDLE);
}

VkResult extdev_wait(extdev *d, uint64_t sem, uint64_t value, uint64_t timeout_ns) {
	VkSemaphore s = H(VkSemaphore, sem);
	VkSemaphoreWaitInfo wi = {
	    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
	    .semaphoreCount = 1,
	    .pSemaphores = &s,
	    .pValues = &value,
	};
	return vkWaitSemaphores(d->device, &wi, timeout_ns);
}

VkResult extdev_signal(extdev *d, uint64_t sem, uint64_t value) {
	VkSemaphoreSignalInfo si = {
	    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
	    .semaphore = H(VkSemaphore, sem),
	    .value = value,
	};
	return vkSignalSemaphore(d->device, &si);
}

VkResult extdev_counter(extdev *d, uint64_t sem, uint64_t *out) {
	return vkGetSemaphoreCounterValue(d->device, H(VkSemaphore, sem), out);
}

VkResult extdev_device_wait_idle(extdev *d) { return vkDeviceWaitIdle(d->device); }
