#include <string.h>
#include "helpers.h"
#include "handle.h"
#include "priority.h"
#include "_cgo_export.h"

_Static_assert(sizeof(VkSemaphore) == 8, "vkdep assumes 64-bit non-dispatchable handles");
_Static_assert(sizeof(vkdep_sem_op) == 24, "vkdep_sem_op layout");
_Static_assert(sizeof(vkdep_submit_desc) == 12, "vkdep_submit_desc layout");

static VKAPI_ATTR VkBool32 VKAPI_CALL debug_cb(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                               VkDebugUtilsMessageTypeFlagsEXT types,
                                               const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
	/* The objects let Go route the message to the device it concerns: one instance serves
	 * every device opened with the same configuration (shared.go). */
	int32_t ot[8];
	uint64_t oh[8];
	uint32_t n = data->objectCount < 8 ? data->objectCount : 8;
	for (uint32_t i = 0; i < n; i++) {
		ot[i] = (int32_t)data->pObjects[i].objectType;
		oh[i] = data->pObjects[i].objectHandle;
	}
	vkdepDebugMessage((uintptr_t)user, (int)severity, (int)types, (char *)data->pMessageIdName,
	                  (char *)data->pMessage, (int)n, ot, oh);
	return VK_FALSE;
}

uint32_t vkdep_layer_version(const char *name) {
	uint32_t n = 0;
	if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
		return 0;
	VkLayerProperties *props = calloc(n, sizeof *props);
	if (!props)
		return 0;
	uint32_t v = 0;
	if (vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(props[i].layerName, name) == 0)
				v = props[i].specVersion;
	free(props);
	return v;
}

VkResult vkdep_create_instance(const char *app_name, uint32_t api_version, int validate, int sync_validation,
                               uint32_t ext_count, const char *const *exts, uint64_t *out) {
	VkApplicationInfo app = {
	    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
	    .pApplicationName = app_name,
	    .pEngineName = "vkdep",
	    .apiVersion = api_version,
	};
	const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
	VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
	VkValidationFeaturesEXT features = {
	    .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
	    .enabledValidationFeatureCount = 1,
	    .pEnabledValidationFeatures = enables,
	};
	VkInstanceCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
	    .pNext = (validate && sync_validation) ? &features : NULL,
	    .pApplicationInfo = &app,
	    .enabledLayerCount = validate ? 1 : 0,
	    .ppEnabledLayerNames = layers,
	    .enabledExtensionCount = ext_count,
	    .ppEnabledExtensionNames = exts,
	};
	VkInstance inst = VK_NULL_HANDLE;
	VkResult r = vkCreateInstance(&ci, NULL, &inst);
	*out = (uint64_t)(uintptr_t)inst;
	return r;
}

VkResult vkdep_create_messenger(uint64_t instance, uintptr_t user_data, uint64_t *out) {
	VkInstance inst = H(VkInstance, instance);
	PFN_vkCreateDebugUtilsMessengerEXT create =
	    (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(inst, "vkCreateDebugUtilsMessengerEXT");
	if (!create)
		return VK_ERROR_EXTENSION_NOT_PRESENT;
	VkDebugUtilsMessengerCreateInfoEXT ci = {
	    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
	    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
	                       VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
	    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
	                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
	    .pfnUserCallback = debug_cb,
	    .pUserData = (void *)user_data,
	};
	VkDebugUtilsMessengerEXT m = VK_NULL_HANDLE;
	VkResult r = create(inst, &ci, NULL, &m);
	*out = (uint64_t)(uintptr_t)m;
	return r;
}

void vkdep_destroy_messenger(uint64_t instance, uint64_t messenger) {
	VkInstance inst = H(VkInstance, instance);
	PFN_vkDestroyDebugUtilsMessengerEXT destroy =
	    (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(inst, "vkDestroyDebugUtilsMessengerEXT");
	if (destroy)
		destroy(inst, H(VkDebugUtilsMessengerEXT, messenger), NULL);
}

VkResult vkdep_physical_devices(uint64_t instance, uint32_t *count, uint64_t *out) {
	VkPhysicalDevice devs[16];
	uint32_t n = 16;
	VkResult r = vkEnumeratePhysicalDevices(H(VkInstance, instance), &n, devs);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE)
		return r;
	if (n > *count)
		n = *count;
	for (uint32_t i = 0; i < n; i++)
		out[i] = (uint64_t)(uintptr_t)devs[i];
	*count = n;
	return VK_SUCCESS;
}

// vkdep_device_has_extension reports whether the physical device offers the named extension
// (declared in priority.h: global priority asks too).
int vkdep_device_has_extension(uint64_t phys, const char *name) {
	VkPhysicalDevice pd = H(VkPhysicalDevice, phys);
	uint32_t n = 0;
	if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0)
		return 0;
	VkExtensionProperties *props = calloc(n, sizeof *props);
	if (!props)
		return 0;
	int found = 0;
	if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(props[i].extensionName, name) == 0)
				found = 1;
	free(props);
	return found;
}

void vkdep_physical_info(uint64_t phys, vkdep_phys_info *out) {
	VkPhysicalDevice pd = H(VkPhysicalDevice, phys);
	memset(out, 0, sizeof *out);

	VkPhysicalDeviceProperties base;
	vkGetPhysicalDeviceProperties(pd, &base);
	VkPhysicalDeviceIDProperties id = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
	VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES, .pNext = &id};
	VkPhysicalDeviceTimelineSemaphoreProperties tl = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_PROPERTIES, .pNext = &drv};
	VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &tl};
	// Properties2 and the driver/timeline structs are core in 1.2; older devices keep zeros.
	if (base.apiVersion >= VK_API_VERSION_1_2)
		vkGetPhysicalDeviceProperties2(pd, &props);
	else
		props.properties = base;

	memcpy(out->name, props.properties.deviceName, sizeof out->name);
	memcpy(out->driver_name, drv.driverName, sizeof out->driver_name);
	memcpy(out->driver_info, drv.driverInfo, sizeof out->driver_info);
	out->api_version = props.properties.apiVersion;
	out->driver_version = props.properties.driverVersion;
	out->vendor_id = props.properties.vendorID;
	out->device_id = props.properties.deviceID;
	out->device_type = props.properties.deviceType;
	out->driver_id = drv.driverID;
	out->timestamp_period = props.properties.limits.timestampPeriod;
	out->max_workgroup_count_x = props.properties.limits.maxComputeWorkGroupCount[0];
	out->max_timeline_difference = tl.maxTimelineSemaphoreValueDifference;
	memcpy(out->device_uuid, id.deviceUUID, sizeof out->device_uuid);

	if (base.apiVersion >= VK_API_VERSION_1_2) {
		VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
		VkPhysicalDeviceSynchronization2Features s2 = {
		    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES};
		VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
		out->khr_synchronization2_ext = vkdep_device_has_extension(phys, "VK_KHR_synchronization2");
		if (base.apiVersion >= VK_API_VERSION_1_3)
			f12.pNext = &f13;
		else if (out->khr_synchronization2_ext)
			f12.pNext = &s2;
		VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12};
		vkGetPhysicalDeviceFeatures2(pd, &feats);
		out->timeline_semaphore = f12.timelineSemaphore;
		out->synchronization2 = base.apiVersion >= VK_API_VERSION_1_3 ? f13.synchronization2 : s2.synchronization2;
	}

	uint32_t nf = VKDEP_MAX_FAMILIES;
	VkQueueFamilyProperties fams[VKDEP_MAX_FAMILIES];
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &nf, fams);
	out->family_count = nf;
	for (uint32_t i = 0; i < nf; i++) {
		out->family_flags[i] = fams[i].queueFlags;
		out->family_queues[i] = fams[i].queueCount;
	}

	VkPhysicalDeviceMemoryProperties mem;
	vkGetPhysicalDeviceMemoryProperties(pd, &mem);
	out->memtype_count = mem.memoryTypeCount;
	for (uint32_t i = 0; i < mem.memoryTypeCount && i < VKDEP_MAX_MEMTYPES; i++) {
		out->memtype_flags[i] = mem.memoryTypes[i].propertyFlags;
		out->memtype_heap[i] = mem.memoryTypes[i].heapIndex;
	}
}

VkResult vkdep_create_device(uint64_t phys, uint32_t family_count, const uint32_t *families, const uint32_t *counts,
                             const uint32_t *global_prios,
                             int core_sync2, uint32_t ext_count, const char *const *exts, vkdep_features *extra,
                             uint64_t *out) {
	static const float prio[64] = {0};
	VkDeviceQueueCreateInfo qci[VKDEP_MAX_FAMILIES];
	// One global priority per family's create info (VK_KHR_global_priority); 0 leaves it out.
	VkDeviceQueueGlobalPriorityCreateInfoKHR gp[VKDEP_MAX_FAMILIES];
	if (family_count > VKDEP_MAX_FAMILIES)
		return VK_ERROR_INITIALIZATION_FAILED;
	for (uint32_t i = 0; i < family_count; i++) {
		gp[i] = (VkDeviceQueueGlobalPriorityCreateInfoKHR){
		    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_GLOBAL_PRIORITY_CREATE_INFO_KHR,
		    .globalPriority = (VkQueueGlobalPriorityKHR)global_prios[i],
		};
		qci[i] = (VkDeviceQueueCreateInfo){
		    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		    .pNext = global_prios[i] ? (const void *)&gp[i] : NULL,
		    .queueFamilyIndex = families[i],
		    .queueCount = counts[i] > 64 ? 64 : counts[i],
		    .pQueuePriorities = prio,
		};
	}
	VkPhysicalDeviceSynchronization2Features s2 = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES, .synchronization2 = VK_TRUE};
	VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
	                                        .synchronization2 = VK_TRUE};
	VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
	                                        .pNext = core_sync2 ? (void *)&f13 : (void *)&s2,
	                                        .timelineSemaphore = VK_TRUE};
	void *chain = &f12;
	if (extra) {
		// The application's features go into the same blocks as vkdep's: each feature struct may
		// appear once in the chain (VUID-VkDeviceCreateInfo-sType-unique).
		extra->f12.timelineSemaphore = VK_TRUE;
		if (core_sync2)
			extra->f13.synchronization2 = VK_TRUE;
		chain = vkdep_features_chain(extra, vkdep_features_used(extra, VKDEP_BLOCK_10),
		                             vkdep_features_used(extra, VKDEP_BLOCK_11), 1, core_sync2,
		                             core_sync2 ? NULL : (void *)&s2);
	}
	VkDeviceCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
	    .pNext = chain,
	    .queueCreateInfoCount = family_count,
	    .pQueueCreateInfos = qci,
	    .enabledExtensionCount = ext_count,
	    .ppEnabledExtensionNames = exts,
	};
	VkDevice dev = VK_NULL_HANDLE;
	VkResult r = vkCreateDevice(H(VkPhysicalDevice, phys), &ci, NULL, &dev);
	*out = (uint64_t)(uintptr_t)dev;
	return r;
}

VkResult vkdep_load_dispatch(uint64_t device, vkdep_dispatch *d) {
	VkDevice dev = H(VkDevice, device);
	memset(d, 0, sizeof *d);
	d->device = dev;
#define LOAD(field, name, alt)                                                                                         \
	d->field = (void *)vkGetDeviceProcAddr(dev, name);                                                             \
	if (!d->field && alt)                                                                                          \
		d->field = (void *)vkGetDeviceProcAddr(dev, alt);                                                      \
	if (!d->field)                                                                                                 \
		return VK_ERROR_FEATURE_NOT_PRESENT;
	LOAD(queueSubmit2, "vkQueueSubmit2", "vkQueueSubmit2KHR");
	LOAD(cmdPipelineBarrier2, "vkCmdPipelineBarrier2", "vkCmdPipelineBarrier2KHR");
	LOAD(waitSemaphores, "vkWaitSemaphores", "vkWaitSemaphoresKHR");
	LOAD(signalSemaphore, "vkSignalSemaphore", "vkSignalSemaphoreKHR");
	LOAD(getSemaphoreCounterValue, "vkGetSemaphoreCounterValue", "vkGetSemaphoreCounterValueKHR");
#undef LOAD
	return VK_SUCCESS;
}

enum { STACK_SUBMITS = 32, STACK_SEMS = 128, STACK_CMDS = 128 };

VkResult vkdep_queue_submit2(const vkdep_dispatch *d, uint64_t queue, uint32_t n, const vkdep_submit_desc *descs,
                             const vkdep_sem_op *ops, const uint64_t *cmds) {
	VkSubmitInfo2 submit_stack[STACK_SUBMITS];
	VkSemaphoreSubmitInfo sem_stack[STACK_SEMS];
	VkCommandBufferSubmitInfo cmd_stack[STACK_CMDS];

	uint32_t nsem = 0, ncmd = 0;
	for (uint32_t i = 0; i < n; i++) {
		nsem += descs[i].waits + descs[i].signals;
		ncmd += descs[i].cmds;
	}
	VkSubmitInfo2 *submits = n <= STACK_SUBMITS ? submit_stack : malloc(n * sizeof *submits);
	VkSemaphoreSubmitInfo *sems = nsem <= STACK_SEMS ? sem_stack : malloc(nsem * sizeof *sems);
	VkCommandBufferSubmitInfo *cbs = ncmd <= STACK_CMDS ? cmd_stack : malloc(ncmd * sizeof *cbs);
	VkResult r = VK_ERROR_OUT_OF_HOST_MEMORY;
	if (!submits || !sems || !cbs)
		goto out;

	for (uint32_t i = 0; i < nsem; i++)
		sems[i] = (VkSemaphoreSubmitInfo){
		    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO,
		    .semaphore = H(VkSemaphore, ops[i].semaphore),
		    .value = ops[i].value,
		    .stageMask = ops[i].stage,
		};
	for (uint32_t i = 0; i < ncmd; i++)
		cbs[i] = (VkCommandBufferSubmitInfo){
		    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO,
		    .commandBuffer = H(VkCommandBuffer, cmds[i]),
		};
	uint32_t si = 0, ci = 0;
	for (uint32_t i = 0; i < n; i++) {
		const vkdep_submit_desc *s = &descs[i];
		submits[i] = (VkSubmitInfo2){
		    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2,
		    .waitSemaphoreInfoCount = s->waits,
		    .pWaitSemaphoreInfos = s->waits ? &sems[si] : NULL,
		    .commandBufferInfoCount = s->cmds,
		    .pCommandBufferInfos = s->cmds ? &cbs[ci] : NULL,
		    .signalSemaphoreInfoCount = s->signals,
		    .pSignalSemaphoreInfos = s->signals ? &sems[si + s->waits] : NULL,
		};
		si += s->waits + s->signals;
		ci += s->cmds;
	}
	r = d->queueSubmit2(H(VkQueue, queue), n, submits, VK_NULL_HANDLE);
out:
	if (submits != submit_stack)
		free(submits);
	if (sems != sem_stack)
		free(sems);
	if (cbs != cmd_stack)
		free(cbs);
	return r;
}

VkResult vkdep_wait_semaphores(const vkdep_dispatch *d, uint32_t any, uint32_t n, const uint64_t *sems,
                               const uint64_t *values, uint64_t timeout, uint32_t first_counter, uint64_t *counters) {
	VkSemaphoreWaitInfo wi = {
	    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
	    .flags = any ? VK_SEMAPHORE_WAIT_ANY_BIT : 0,
	    .semaphoreCount = n,
	    .pSemaphores = (const VkSemaphore *)sems,
	    .pValues = values,
	};
	VkResult r = d->waitSemaphores(d->device, &wi, timeout);
	if (r < 0 || !counters)
		return r;
	for (uint32_t i = first_counter; i < n; i++) {
		VkResult rc = d->getSemaphoreCounterValue(d->device, H(VkSemaphore, sems[i]), &counters[i]);
		if (rc != VK_SUCCESS)
			return rc;
	}
	return r;
}

VkResult vkdep_signal_semaphore(const vkdep_dispatch *d, uint64_t sem, uint64_t value) {
	VkSemaphoreSignalInfo si = {
	    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
	    .semaphore = H(VkSemaphore, sem),
	    .value = value,
	};
	return d->signalSemaphore(d->device, &si);
}

VkResult vkdep_semaphore_counter(const vkdep_dispatch *d, uint64_t sem, uint64_t *out) {
	return d->getSemaphoreCounterValue(d->device, H(VkSemaphore, sem), out);
}

void vkdep_cmd_barrier(const vkdep_dispatch *d, uint64_t cmd, uint64_t src_stage, uint64_t src_access,
                       uint64_t dst_stage, uint64_t dst_access) {
	VkMemoryBarrier2 mb = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
	    .srcStageMask = src_stage,
	    .srcAccessMask = src_access,
	    .dstStageMask = dst_stage,
	    .dstAccessMask = dst_access,
	};
	VkDependencyInfo di = {
	    .sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
	    .memoryBarrierCount = 1,
	    .pMemoryBarriers = &mb,
	};
	d->cmdPipelineBarrier2(H(VkCommandBuffer, cmd), &di);
}
