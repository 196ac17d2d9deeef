#include "app_objects.h"
#include "handle.h"

VkResult vkdep_create_shader_module(uint64_t dev, const uint32_t *code, size_t size, uint64_t *out) {
	VkShaderModuleCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
	    .codeSize = size,
	    .pCode = code,
	};
	VkShaderModule m = VK_NULL_HANDLE;
	VkResult r = vkCreateShaderModule(H(VkDevice, dev), &ci, NULL, &m);
	*out = OUT(m);
	return r;
}

void vkdep_destroy_shader_module(uint64_t dev, uint64_t m) {
	vkDestroyShaderModule(H(VkDevice, dev), H(VkShaderModule, m), NULL);
}

VkResult vkdep_create_storage_set_layout(uint64_t dev, uint32_t bindings, uint64_t *out) {
	VkDescriptorSetLayoutBinding b[16];
	if (bindings > 16)
		return VK_ERROR_INITIALIZATION_FAILED;
	for (uint32_t i = 0; i < bindings; i++)
		b[i] = (VkDescriptorSetLayoutBinding){
		    .binding = i,
		    .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
		    .descriptorCount = 1,
		    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
		};
	VkDescriptorSetLayoutCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
	    .bindingCount = bindings,
	    .pBindings = b,
	};
	VkDescriptorSetLayout l = VK_NULL_HANDLE;
	VkResult r = vkCreateDescriptorSetLayout(H(VkDevice, dev), &ci, NULL, &l);
	*out = OUT(l);
	return r;
}

void vkdep_destroy_set_layout(uint64_t dev, uint64_t l) {
	vkDestroyDescriptorSetLayout(H(VkDevice, dev), H(VkDescriptorSetLayout, l), NULL);
}

VkResult vkdep_create_pipeline_layout(uint64_t dev, uint64_t set_layout, uint32_t push_size, uint64_t *out) {
	VkDescriptorSetLayout sl = H(VkDescriptorSetLayout, set_layout);
	VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = push_size};
	VkPipelineLayoutCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
	    .setLayoutCount = 1,
	    .pSetLayouts = &sl,
	    .pushConstantRangeCount = push_size ? 1 : 0,
	    .pPushConstantRanges = &pr,
	};
	VkPipelineLayout l = VK_NULL_HANDLE;
	VkResult r = vkCreatePipelineLayout(H(VkDevice, dev), &ci, NULL, &l);
	*out = OUT(l);
	return r;
}

void vkdep_destroy_pipeline_layout(uint64_t dev, uint64_t l) {
	vkDestroyPipelineLayout(H(VkDevice, dev), H(VkPipelineLayout, l), NULL);
}

VkResult vkdep_create_compute_pipeline(uint64_t dev, uint64_t module, uint64_t layout, uint64_t *out) {
	VkComputePipelineCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
	    .stage =
	        {
	            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
	            .stage = VK_SHADER_STAGE_COMPUTE_BIT,
	            .module = H(VkShaderModule, module),
	            .pName = "main",
	        },
	    .layout = H(VkPipelineLayout, layout),
	};
	VkPipeline p = VK_NULL_HANDLE;
	VkResult r = vkCreateComputePipelines(H(VkDevice, dev), VK_NULL_HANDLE, 1, &ci, NULL, &p);
	*out = OUT(p);
	return r;
}

void vkdep_destroy_pipeline(uint64_t dev, uint64_t p) { vkDestroyPipeline(H(VkDevice, dev), H(VkPipeline, p), NULL); }

VkResult vkdep_create_descriptor_pool(uint64_t dev, uint32_t max_sets, uint32_t storage_buffers, uint64_t *out) {
	VkDescriptorPoolSize size = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = storage_buffers};
	VkDescriptorPoolCreateInfo ci = {
	    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
	    .maxSets = max_sets,
	    .poolSizeCount = 1,
	    .pPoolSizes = &size,
	};
	VkDescriptorPool p = VK_NULL_HANDLE;
	VkResult r = vkCreateDescriptorPool(H(VkDevice, dev), &ci, NULL, &p);
	*out = OUT(p);
	return r;
}

void vkdep_destroy_descriptor_pool(uint64_t dev, uint64_t pool) {
	vkDestroyDescriptorPool(H(VkDevice, dev), H(VkDescriptorPool, pool), NULL);
}

VkResult vkdep_allocate_set(uint64_t dev, uint64_t pool, uint64_t layout, uint64_t *out) {
	VkDescriptorSetLayout l = H(VkDescriptorSetLayout, layout);
	VkDescriptorSetAllocateInfo ai = {
	    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
	    .descriptorPool = H(VkDescriptorPool, pool),
	    .descriptorSetCount = 1,
	    .pSetLayouts = &l,
	};
	VkDescriptorSet s = VK_NULL_HANDLE;
	VkResult r = vkAllocateDescriptorSets(H(VkDevice, dev), &ai, &s);
	*out = OUT(s);
	return r;
}

void vkdep_update_storage_set(uint64_t dev, uint64_t set, uint32_t n, const uint64_t *buffers,
                              const uint64_t *offsets, const uint64_t *ranges) {
	VkDescriptorBufferInfo info[16];
	VkWriteDescriptorSet w[16];
	if (n > 16)
		n = 16;
	for (uint32_t i = 0; i < n; i++) {
		info[i] = (VkDescriptorBufferInfo){.buffer = H(VkBuffer, buffers[i]), .offset = offsets[i], .range = ranges[i]};
		w[i] = (VkWriteDescriptorSet){
		    .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
		    .dstSet = H(VkDescriptorSet, set),
		    .dstBinding = i,
		    .descriptorCount = 1,
		    .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
		    .pBufferInfo = &info[i],
		};
	}
	vkUpdateDescriptorSets(H(VkDevice, dev), n, w, 0, NULL);
}

void vkdep_cmd_bind_compute(uint64_t cmd, uint64_t pipeline, uint64_t layout, uint64_t set) {
	VkCommandBuffer c = H(VkCommandBuffer, cmd);
	VkDescriptorSet s = H(VkDescriptorSet, set);
	vkCmdBindPipeline(c, VK_PIPELINE_BIND_POINT_COMPUTE, H(VkPipeline, pipeline));
	vkCmdBindDescriptorSets(c, VK_PIPELINE_BIND_POINT_COMPUTE, H(VkPipelineLayout, layout), 0, 1, &s, 0, NULL);
}

void vkdep_cmd_push_constants(uint64_t cmd, uint64_t layout, uint32_t size, const void *data) {
	vkCmdPushConstants(H(VkCommandBuffer, cmd), H(VkPipelineLayout, layout), VK_SHADER_STAGE_COMPUTE_BIT, 0, size,
	                   data);
}

void vkdep_cmd_dispatch(uint64_t cmd, uint32_t x, uint32_t y, uint32_t z) { vkCmdDispatch(H(VkCommandBuffer, cmd), x, y, z); }

void vkdep_cmd_fill_buffer(uint64_t cmd, uint64_t buf, uint64_t offset, uint64_t size, uint32_t data) {
	vkCmdFillBuffer(H(VkCommandBuffer, cmd), H(VkBuffer, buf), offset, size, data);
}

void vkdep_cmd_copy_buffer(uint64_t cmd, uint64_t src, uint64_t dst, uint64_t src_off, uint64_t dst_off,
                           uint64_t size) {
	VkBufferCopy c = {.srcOffset = src_off, .dstOffset = dst_off, .size = size};
	vkCmdCopyBuffer(H(VkCommandBuffer, cmd), H(VkBuffer, src), H(VkBuffer, dst), 1, &c);
}
