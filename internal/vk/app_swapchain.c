#include "app_swapchain.h"
#include "handle.h"

void vkdep_destroy_surface(uint64_t inst, uint64_t surface) {
	vkDestroySurfaceKHR(H(VkInstance, inst), H(VkSurfaceKHR, surface), NULL);
}

VkResult vkdep_surface_support(uint64_t phys, uint32_t family, uint64_t surface, uint32_t *out) {
	VkBool32 ok = VK_FALSE;
	VkResult r = vkGetPhysicalDeviceSurfaceSupportKHR(H(VkPhysicalDevice, phys), family, H(VkSurfaceKHR, surface), &ok);
	*out = ok;
	return r;
}

VkResult vkdep_get_surface_caps(uint64_t phys, uint64_t surface, vkdep_surface_caps *out) {
	VkSurfaceCapabilitiesKHR c;
	VkResult r = vkGetPhysicalDeviceSurfaceCapabilitiesKHR(H(VkPhysicalDevice, phys), H(VkSurfaceKHR, surface), &c);
	if (r != VK_SUCCESS)
		return r;
	out->min_images = c.minImageCount;
	out->max_images = c.maxImageCount;
	out->current_width = c.currentExtent.width;
	out->current_height = c.currentExtent.height;
	out->min_width = c.minImageExtent.width;
	out->min_height = c.minImageExtent.height;
	out->max_width = c.maxImageExtent.width;
	out->max_height = c.maxImageExtent.height;
	out->usage = c.supportedUsageFlags;
	out->current_transform = c.currentTransform;
	out->composite_alpha = c.supportedCompositeAlpha;
	return r;
}

// The caller's arrays hold *count entries; on return *count says how many were written.
VkResult vkdep_surface_formats(uint64_t phys, uint64_t surface, uint32_t *count, uint32_t *formats,
                               uint32_t *spaces) {
	VkSurfaceFormatKHR f[64];
	uint32_t n = *count < 64 ? *count : 64;
	VkResult r = vkGetPhysicalDeviceSurfaceFormatsKHR(H(VkPhysicalDevice, phys), H(VkSurfaceKHR, surface), &n, f);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE)
		return r;
	for (uint32_t i = 0; i < n; i++) {
		formats[i] = f[i].format;
		spaces[i] = f[i].colorSpace;
	}
	*count = n;
	return VK_SUCCESS;
}

VkResult vkdep_surface_present_modes(uint64_t phys, uint64_t surface, uint32_t *count, uint32_t *modes) {
	VkResult r = vkGetPhysicalDeviceSurfacePresentModesKHR(H(VkPhysicalDevice, phys), H(VkSurfaceKHR, surface), count,
	                                                       (VkPresentModeKHR *)modes);
	return r == VK_INCOMPLETE ? VK_SUCCESS : r;
}

VkResult vkdep_create_swapchain(uint64_t dev, uint64_t surface, uint32_t min_images, uint32_t format,
                                uint32_t space, uint32_t width, uint32_t height, uint32_t usage,
                                uint32_t transform, uint32_t alpha, uint32_t present_mode, uint64_t old,
                                uint64_t *out) {
	VkSwapchainCreateInfoKHR ci = {
	    .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
	    .surface = H(VkSurfaceKHR, surface),
	    .minImageCount = min_images,
	    .imageFormat = format,
	    .imageColorSpace = space,
	    .imageExtent = {width, height},
	    .imageArrayLayers = 1,
	    .imageUsage = usage,
	    // One queue family writes and presents the images: the compositor's.
	    .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
	    .preTransform = transform,
	    .compositeAlpha = alpha,
	    .presentMode = present_mode,
	    .clipped = VK_TRUE,
	    .oldSwapchain = H(VkSwapchainKHR, old),
	};
	VkSwapchainKHR s = VK_NULL_HANDLE;
	VkResult r = vkCreateSwapchainKHR(H(VkDevice, dev), &ci, NULL, &s);
	*out = OUT(s);
	return r;
}

void vkdep_destroy_swapchain(uint64_t dev, uint64_t swapchain) {
	vkDestroySwapchainKHR(H(VkDevice, dev), H(VkSwapchainKHR, swapchain), NULL);
}

VkResult vkdep_swapchain_images(uint64_t dev, uint64_t swapchain, uint32_t *count, uint64_t *out) {
	VkImage imgs[16];
	uint32_t n = *count < 16 ? *count : 16;
	VkResult r = vkGetSwapchainImagesKHR(H(VkDevice, dev), H(VkSwapchainKHR, swapchain), &n, imgs);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE)
		return r;
	for (uint32_t i = 0; i < n; i++)
		out[i] = OUT(imgs[i]);
	*count = n;
	return r;
}

VkResult vkdep_acquire_image(uint64_t dev, uint64_t swapchain, uint64_t timeout, uint64_t sem, uint32_t *index) {
	return vkAcquireNextImageKHR(H(VkDevice, dev), H(VkSwapchainKHR, swapchain), timeout, H(VkSemaphore, sem),
	                             VK_NULL_HANDLE, index);
}

VkResult vkdep_queue_present(uint64_t queue, uint64_t wait_sem, uint64_t swapchain, uint32_t index) {
	VkSemaphore sem = H(VkSemaphore, wait_sem);
	VkSwapchainKHR sc = H(VkSwapchainKHR, swapchain);
	VkPresentInfoKHR pi = {
	    .sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
	    .waitSemaphoreCount = 1,
	    .pWaitSemaphores = &sem,
	    .swapchainCount = 1,
	    .pSwapchains = &sc,
	    .pImageIndices = &index,
	};
	return vkQueuePresentKHR(H(VkQueue, queue), &pi);
}

void vkdep_cmd_image_barrier(const vkdep_dispatch *d, uint64_t cmd, uint64_t image, uint32_t old_layout,
                             uint32_t new_layout, uint64_t src_stage, uint64_t src_access, uint64_t dst_stage,
                             uint64_t dst_access) {
	VkImageMemoryBarrier2 b = {
	    .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER_2,
	    .srcStageMask = src_stage,
	    .srcAccessMask = src_access,
	    .dstStageMask = dst_stage,
	    .dstAccessMask = dst_access,
	    .oldLayout = old_layout,
	    .newLayout = new_layout,
	    .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
	    .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
	    .image = H(VkImage, image),
	    .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
	};
	VkDependencyInfo di = {
	    .sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
	    .imageMemoryBarrierCount = 1,
	    .pImageMemoryBarriers = &b,
	};
	d->cmdPipelineBarrier2(H(VkCommandBuffer, cmd), &di);
}

void vkdep_cmd_copy_buffer_to_image(uint64_t cmd, uint64_t buf, uint64_t image, uint32_t width, uint32_t height) {
	VkBufferImageCopy c = {
	    .bufferOffset = 0,
	    .bufferRowLength = 0, // tightly packed
	    .bufferImageHeight = 0,
	    .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
	    .imageOffset = {0, 0, 0},
	    .imageExtent = {width, height, 1},
	};
	vkCmdCopyBufferToImage(H(VkCommandBuffer, cmd), H(VkBuffer, buf), H(VkImage, image),
	                       VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &c);
}
