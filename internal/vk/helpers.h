// C side of the vkdep Vulkan binding.
//
// Every handle crosses the cgo boundary as uint64_t and is cast back here, so the Go side never
// converts between C pointers and integers. Hot paths (submit, wait, host signal, counter) build
// their Vulkan structs here, in one cgo crossing, from flat arrays that the Go side reuses.
#ifndef VKDEP_HELPERS_H
#define VKDEP_HELPERS_H

#include <stdint.h>
#include <stdlib.h>
#include <vulkan/vulkan.h>
#include "corefeatures.h"

// Device-level entry points used on hot paths, loaded with vkGetDeviceProcAddr so that calls skip
// the loader trampoline. Lives in C memory.
typedef struct {
	VkDevice device;
	PFN_vkQueueSubmit2 queueSubmit2;
	PFN_vkCmdPipelineBarrier2 cmdPipelineBarrier2;
	PFN_vkWaitSemaphores waitSemaphores;
	PFN_vkSignalSemaphore signalSemaphore;
	PFN_vkGetSemaphoreCounterValue getSemaphoreCounterValue;
} vkdep_dispatch;

// One semaphore wait or signal: the layout of vk.SemOp.
typedef struct {
	uint64_t semaphore;
	uint64_t value;
	uint64_t stage;
} vkdep_sem_op;

// How many waits, command buffers and signals one VkSubmitInfo2 takes from the flat arrays: the
// layout of vk.SubmitDesc.
typedef struct {
	uint32_t waits;
	uint32_t cmds;
	uint32_t signals;
} vkdep_submit_desc;

// What vkdep needs to know about a physical device.
#define VKDEP_MAX_FAMILIES 16
#define VKDEP_MAX_MEMTYPES 32
typedef struct {
	char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
	char driver_name[VK_MAX_DRIVER_NAME_SIZE];
	char driver_info[VK_MAX_DRIVER_INFO_SIZE];
	uint32_t api_version;
	uint32_t driver_version;
	uint32_t vendor_id;
	uint32_t device_id;
	uint32_t device_type;
	uint32_t driver_id;
	uint32_t timeline_semaphore;
	uint32_t synchronization2;
	uint32_t khr_synchronization2_ext;
	uint32_t family_count;
	uint32_t family_flags[VKDEP_MAX_FAMILIES];
	uint32_t family_queues[VKDEP_MAX_FAMILIES];
	uint32_t memtype_count;
	uint32_t memtype_flags[VKDEP_MAX_MEMTYPES];
	uint32_t memtype_heap[VKDEP_MAX_MEMTYPES];
	float timestamp_period;
	uint32_t max_workgroup_count_x;
	uint64_t max_timeline_difference;
	uint8_t device_uuid[VK_UUID_SIZE];
} vkdep_phys_info;

VkResult vkdep_create_instance(const char *app_name, uint32_t api_version, int validate, int sync_validation,
                               uint32_t ext_count, const char *const *exts, uint64_t *out);
VkResult vkdep_create_messenger(uint64_t instance, uintptr_t user_data, uint64_t *out);
void vkdep_destroy_messenger(uint64_t instance, uint64_t messenger);
uint32_t vkdep_layer_version(const char *name);
VkResult vkdep_physical_devices(uint64_t instance, uint32_t *count, uint64_t *out);
void vkdep_physical_info(uint64_t phys, vkdep_phys_info *out);
// extra, when not NULL, holds further core features to enable (corefeatures.h); it is modified.
VkResult vkdep_create_device(uint64_t phys, uint32_t family_count, const uint32_t *families, const uint32_t *counts,
                             const uint32_t *global_prios,
                             int core_sync2, uint32_t ext_count, const char *const *exts, vkdep_features *extra,
                             uint64_t *out);
VkResult vkdep_load_dispatch(uint64_t device, vkdep_dispatch *out);

VkResult vkdep_queue_submit2(const vkdep_dispatch *d, uint64_t queue, uint32_t n, const vkdep_submit_desc *descs,
                             const vkdep_sem_op *ops, const uint64_t *cmds);
VkResult vkdep_wait_semaphores(const vkdep_dispatch *d, uint32_t any, uint32_t n, const uint64_t *sems,
                               const uint64_t *values, uint64_t timeout, uint32_t first_counter, uint64_t *counters);
VkResult vkdep_signal_semaphore(const vkdep_dispatch *d, uint64_t sem, uint64_t value);
VkResult vkdep_semaphore_counter(const vkdep_dispatch *d, uint64_t sem, uint64_t *out);

void vkdep_cmd_barrier(const vkdep_dispatch *d, uint64_t cmd, uint64_t src_stage, uint64_t src_access,
                       uint64_t dst_stage, uint64_t dst_access);

#endif
