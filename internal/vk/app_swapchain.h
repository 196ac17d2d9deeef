// Presentation: surfaces, swapchains, and the image commands a compute compositor needs to get
// its pixels into a swapchain image (a layout barrier and a buffer-to-image copy).
#ifndef VKDEP_SWAPCHAIN_H
#define VKDEP_SWAPCHAIN_H
#include <stdint.h>
#include <vulkan/vulkan.h>
#include "helpers.h"

// What a swapchain needs to know about a surface: the layout of vk.SurfaceCaps.
typedef struct {
	uint32_t min_images, max_images;
	uint32_t current_width, current_height;
	uint32_t min_width, min_height, max_width, max_height;
	uint32_t usage;
	uint32_t current_transform;
	uint32_t composite_alpha;
	uint32_t pad;
} vkdep_surface_caps;

void vkdep_destroy_surface(uint64_t inst, uint64_t surface);
VkResult vkdep_surface_support(uint64_t phys, uint32_t family, uint64_t surface, uint32_t *out);
VkResult vkdep_get_surface_caps(uint64_t phys, uint64_t surface, vkdep_surface_caps *out);
VkResult vkdep_surface_formats(uint64_t phys, uint64_t surface, uint32_t *count, uint32_t *formats,
                               uint32_t *spaces);
VkResult vkdep_surface_present_modes(uint64_t phys, uint64_t surface, uint32_t *count, uint32_t *modes);
VkResult vkdep_create_swapchain(uint64_t dev, uint64_t surface, uint32_t min_images, uint32_t format,
                                uint32_t space, uint32_t width, uint32_t height, uint32_t usage,
                                uint32_t transform, uint32_t alpha, uint32_t present_mode, uint64_t old,
                                uint64_t *out);
void vkdep_destroy_swapchain(uint64_t dev, uint64_t swapchain);
VkResult vkdep_swapchain_images(uint64_t dev, uint64_t swapchain, uint32_t *count, uint64_t *out);
VkResult vkdep_acquire_image(uint64_t dev, uint64_t swapchain, uint64_t timeout, uint64_t sem, uint32_t *index);
VkResult vkdep_queue_present(uint64_t queue, uint64_t wait_sem, uint64_t swapchain, uint32_t index);

void vkdep_cmd_image_barrier(const vkdep_dispatch *d, uint64_t cmd, uint64_t image, uint32_t old_layout,
                             uint32_t new_layout, uint64_t src_stage, uint64_t src_access, uint64_t dst_stage,
                             uint64_t dst_access);
void vkdep_cmd_copy_buffer_to_image(uint64_t cmd, uint64_t buf, uint64_t image, uint32_t width, uint32_t height);
#endif
