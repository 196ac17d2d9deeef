#include <stdlib.h>
#include <string.h>
#include "bridge.h"

VkTimelineSemaphoreSubmitInfo *vkdep_vg_timeline_info(void) {
	VkTimelineSemaphoreSubmitInfo *ti = calloc(1, sizeof *ti);
	if (ti)
		ti->sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO;
	return ti;
}

int vkdep_vg_set_values(VkTimelineSemaphoreSubmitInfo *ti, int signal, uint32_t n, const uint64_t *vals) {
	uint64_t *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof *copy);
		if (!copy)
			return -1;
		memcpy(copy, vals, n * sizeof *copy);
	}
	if (signal) {
		free((void *)ti->pSignalSemaphoreValues);
		ti->pSignalSemaphoreValues = copy;
		ti->signalSemaphoreValueCount = n;
	} else {
		free((void *)ti->pWaitSemaphoreValues);
		ti->pWaitSemaphoreValues = copy;
		ti->waitSemaphoreValueCount = n;
	}
	return 0;
}

void vkdep_vg_free_timeline_info(VkTimelineSemaphoreSubmitInfo *ti) {
	if (!ti)
		return;
	free((void *)ti->pWaitSemaphoreValues);
	free((void *)ti->pSignalSemaphoreValues);
	free(ti);
}

VkResult vkdep_vg_create_timeline(uintptr_t device, uint64_t initial, uint64_t *out) {
	VkSemaphoreTypeCreateInfo type = {
	    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
	    .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
	    .initialValue = initial,
	};
	VkSemaphoreCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &type};
	VkSemaphore s = VK_NULL_HANDLE;
	VkResult r = vkCreateSemaphore((VkDevice)device, &ci, NULL, &s);
	*out = (uint64_t)(uintptr_t)s;
	return r;
}
