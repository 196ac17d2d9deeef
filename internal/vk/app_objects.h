// Compute pipelines, descriptor sets and recording, for cmd/ and internal/gpu only: the library
// (vkdep/) records nothing but barriers (helpers.h). Every handle is a uint64_t, cast in
// app_objects.c.
#ifndef VKDEP_APP_OBJECTS_H
#define VKDEP_APP_OBJECTS_H
#include <stdint.h>
#include <vulkan/vulkan.h>

VkResult vkdep_create_shader_module(uint64_t dev, const uint32_t *code, size_t size, uint64_t *out);
void vkdep_destroy_shader_module(uint64_t dev, uint64_t m);
VkResult vkdep_create_storage_set_layout(uint64_t dev, uint32_t bindings, uint64_t *out);
void vkdep_destroy_set_layout(uint64_t dev, uint64_t l);
VkResult vkdep_create_pipeline_layout(uint64_t dev, uint64_t set_layout, uint32_t push_size, uint64_t *out);
void vkdep_destroy_pipeline_layout(uint64_t dev, uint64_t l);
VkResult vkdep_create_compute_pipeline(uint64_t dev, uint64_t module, uint64_t layout, uint64_t *out);
void vkdep_destroy_pipeline(uint64_t dev, uint64_t p);
VkResult vkdep_create_descriptor_pool(uint64_t dev, uint32_t max_sets, uint32_t storage_buffers, uint64_t *out);
void vkdep_destroy_descriptor_pool(uint64_t dev, uint64_t pool);
VkResult vkdep_allocate_set(uint64_t dev, uint64_t pool, uint64_t layout, uint64_t *out);
void vkdep_update_storage_set(uint64_t dev, uint64_t set, uint32_t n, const uint64_t *buffers,
                              const uint64_t *offsets, const uint64_t *ranges);

void vkdep_cmd_bind_compute(uint64_t cmd, uint64_t pipeline, uint64_t layout, uint64_t set);
void vkdep_cmd_push_constants(uint64_t cmd, uint64_t layout, uint32_t size, const void *data);
void vkdep_cmd_dispatch(uint64_t cmd, uint32_t x, uint32_t y, uint32_t z);
void vkdep_cmd_fill_buffer(uint64_t cmd, uint64_t buf, uint64_t offset, uint64_t size, uint32_t data);
void vkdep_cmd_copy_buffer(uint64_t cmd, uint64_t src, uint64_t dst, uint64_t src_off, uint64_t dst_off,
                           uint64_t size);
#endif
