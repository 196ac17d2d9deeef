// Non-hot object wrappers: every handle is a uint64_t, cast in objects.c.
#ifndef VKDEP_OBJECTS_H
#define VKDEP_OBJECTS_H
#include <stdint.h>
#include <vulkan/vulkan.h>

void vkdep_destroy_instance(uint64_t inst);
void vkdep_destroy_device(uint64_t dev);
VkResult vkdep_device_wait_idle(uint64_t dev);
uint64_t vkdep_get_queue(uint64_t dev, uint32_t family, uint32_t index);
VkResult vkdep_queue_wait_idle(uint64_t queue);

VkResult vkdep_create_semaphore(uint64_t dev, int timeline, uint64_t initial, uint64_t *out);
void vkdep_destroy_semaphore(uint64_t dev, uint64_t sem);

VkResult vkdep_create_buffer(uint64_t dev, uint64_t size, uint32_t usage, uint32_t nfam, const uint32_t *fams,
                             uint64_t *out, uint64_t *mem_size, uint32_t *mem_type_bits);
void vkdep_destroy_buffer(uint64_t dev, uint64_t buf);
VkResult vkdep_alloc_memory(uint64_t dev, uint64_t size, uint32_t type_index, uint64_t *out);
void vkdep_free_memory(uint64_t dev, uint64_t mem);
VkResult vkdep_bind_buffer_memory(uint64_t dev, uint64_t buf, uint64_t mem, uint64_t offset);
VkResult vkdep_map_memory(uint64_t dev, uint64_t mem, void **out);
void vkdep_unmap_memory(uint64_t dev, uint64_t mem);

VkResult vkdep_create_command_pool(uint64_t dev, uint32_t family, uint32_t flags, uint64_t *out);
void vkdep_destroy_command_pool(uint64_t dev, uint64_t pool);
VkResult vkdep_allocate_command_buffers(uint64_t dev, uint64_t pool, uint32_t n, uint64_t *out);
void vkdep_free_command_buffers(uint64_t dev, uint64_t pool, uint32_t n, const uint64_t *cmds);
VkResult vkdep_begin_command_buffer(uint64_t cmd, uint32_t flags);
VkResult vkdep_end_command_buffer(uint64_t cmd);
#endif
