#include "objects.h"
#include "handle.h"

void vkdep_destroy_instance(uint64_t inst) { vkDestroyInstance(H(VkInstance, inst), NULL); }
void vkdep_destroy_device(uint64_t dev) { vkDestroyDevice(H(VkDevice, dev), NULL); }
VkResult vkdep_device_wait_idle(uint64_t dev) { return vkDeviceWaitIdle(H(VkDevice, dev)); }

uint64_t vkdep_get_queue(uint64_t dev, uint32_t family, uint32_t index) {
	VkQueue q = VK_NULL_HANDLE;
	vkGetDeviceQueue(H(VkDevice, dev), family, index, &q);
	return OUT(q);
}

VkResult vkdep_queue_wait_idle(uint64_t queue) { return vkQueueWaitIdle(H(VkQueue, queue)); }

VkResult vkdep_create_semaphore(uint64_t dev, int timeline, uint64_t initial, uint64_t *out) {
	VkSemaphoreTypeCreateInfo ti = {
	    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
	    .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
	    .initialValue = initial,
	};
	VkSemaphoreCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = timeline ? &ti : NULL};
	VkSemaphore s = VK_NULL_HANDLE;
	VkResult r = vkCreateSemaphore(H(VkDevice, dev), &ci, NULL, &s);
	*out = OUT(s);
	return r;
}

void vkdep_destroy_semaphore(uint64_t dev, uint64_t sem) { vkDestroySemaphore(H(VkDevice, dev), H(VkSemaphore, sem), NULL); }

VkResult vkdep_create_buffer(uint64_t dev, uint64_t size, uint32_t usage, uint32_t nfam, const uint32_t *fams,
                             uint64_t *out, uint64_t *mem_size, uint32_t *mem_type_bits) {
	// vkdep queues of one device may sit on different queue families; a buffer they share is
	// concurrent over all of them, so no ownership transfer is needed between jobs.
	VkBufferCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
	    .size = size,
	    .usage = usage,
	    .sharingMode = nfam > 1 ? VK_SHARING_MODE_CONCURRENT : VK_SHARING_MODE_EXCLUSIVE,
	    .queueFamilyIndexCount = nfam > 1 ? nfam : 0,
	    .pQueueFamilyIndices = nfam > 1 ? fams : NULL,
	};
	VkBuffer b = VK_NULL_HANDLE;
	VkResult r = vkCreateBuffer(H(VkDevice, dev), &ci, NULL, &b);
	*out = OUT(b);
	if (r != VK_SUCCESS)
		return r;
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(H(VkDevice, dev), b, &req);
	*mem_size = req.size;
	*mem_type_bits = req.memoryTypeBits;
	return r;
}

void vkdep_destroy_buffer(uint64_t dev, uint64_t buf) { vkDestroyBuffer(H(VkDevice, dev), H(VkBuffer, buf), NULL); }

VkResult vkdep_alloc_memory(uint64_t dev, uint64_t size, uint32_t type_index, uint64_t *out) {
	VkMemoryAllocateInfo ai = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
	    .allocationSize = size,
	    .memoryTypeIndex = type_index,
	};
	VkDeviceMemory m = VK_NULL_HANDLE;
	VkResult r = vkAllocateMemory(H(VkDevice, dev), &ai, NULL, &m);
	*out = OUT(m);
	return r;
}

void vkdep_free_memory(uint64_t dev, uint64_t mem) { vkFreeMemory(H(VkDevice, dev), H(VkDeviceMemory, mem), NULL); }

VkResult vkdep_bind_buffer_memory(uint64_t dev, uint64_t buf, uint64_t mem, uint64_t offset) {
	return vkBindBufferMemory(H(VkDevice, dev), H(VkBuffer, buf), H(VkDeviceMemory, mem), offset);
}

VkResult vkdep_map_memory(uint64_t dev, uint64_t mem, void **out) {
	return vkMapMemory(H(VkDevice, dev), H(VkDeviceMemory, mem), 0, VK_WHOLE_SIZE, 0, out);
}

void vkdep_unmap_memory(uint64_t dev, uint64_t mem) { vkUnmapMemory(H(VkDevice, dev), H(VkDeviceMemory, mem)); }

VkResult vkdep_create_command_pool(uint64_t dev, uint32_t family, uint32_t flags, uint64_t *out) {
	VkCommandPoolCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
	    .flags = flags,
	    .queueFamilyIndex = family,
	};
	VkCommandPool p = VK_NULL_HANDLE;
	VkResult r = vkCreateCommandPool(H(VkDevice, dev), &ci, NULL, &p);
	*out = OUT(p);
	return r;
}

void vkdep_destroy_command_pool(uint64_t dev, uint64_t pool) {
	vkDestroyCommandPool(H(VkDevice, dev), H(VkCommandPool, pool), NULL);
}

VkResult vkdep_allocate_command_buffers(uint64_t dev, uint64_t pool, uint32_t n, uint64_t *out) {
	VkCommandBufferAllocateInfo ai = {
	    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
	    .commandPool = H(VkCommandPool, pool),
	    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
	    .commandBufferCount = n,
	};
	_Static_assert(sizeof(VkCommandBuffer) == sizeof(uint64_t), "64-bit handles");
	return vkAllocateCommandBuffers(H(VkDevice, dev), &ai, (VkCommandBuffer *)out);
}

void vkdep_free_command_buffers(uint64_t dev, uint64_t pool, uint32_t n, const uint64_t *cmds) {
	vkFreeCommandBuffers(H(VkDevice, dev), H(VkCommandPool, pool), n, (const VkCommandBuffer *)cmds);
}

VkResult vkdep_begin_command_buffer(uint64_t cmd, uint32_t flags) {
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = flags};
	return vkBeginCommandBuffer(H(VkCommandBuffer, cmd), &bi);
}

VkResult vkdep_end_command_buffer(uint64_t cmd) { return vkEndCommandBuffer(H(VkCommandBuffer, cmd)); }
