// C side of the vulkan-go bridge: the Vulkan 1.2 structs vulkan-go's 1.1 headers lack, built in C
// memory so that vulkan-go's C structs may point at them (cgo forbids C memory holding pointers
// into Go memory).
#ifndef VKDEP_VULKANGO_BRIDGE_H
#define VKDEP_VULKANGO_BRIDGE_H
#include <stdint.h>
#include <vulkan/vulkan.h>

VkTimelineSemaphoreSubmitInfo *vkdep_vg_timeline_info(void);
// vkdep_vg_set_values replaces the wait (signal=0) or signal (signal=1) values of ti with n values
// copied from vals, freeing the previous array.
int vkdep_vg_set_values(VkTimelineSemaphoreSubmitInfo *ti, int signal, uint32_t n, const uint64_t *vals);
void vkdep_vg_free_timeline_info(VkTimelineSemaphoreSubmitInfo *ti);
VkResult vkdep_vg_create_timeline(uintptr_t device, uint64_t initial, uint64_t *out);
#endif
