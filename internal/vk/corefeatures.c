#include <stddef.h>
#include <string.h>
#include "corefeatures.h"

// One feature: its name as the Vulkan headers spell the struct member, the block it lives in, and
// its byte offset in that block's struct (for 1.0: in VkPhysicalDeviceFeatures).
typedef struct {
	const char *name;
	int block;
	size_t offset;
} feature;

static const feature table[] = {
	{"robustBufferAccess", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, robustBufferAccess)},
	{"fullDrawIndexUint32", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, fullDrawIndexUint32)},
	{"imageCubeArray", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, imageCubeArray)},
	{"independentBlend", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, independentBlend)},
	{"geometryShader", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, geometryShader)},
	{"tessellationShader", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, tessellationShader)},
	{"sampleRateShading", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sampleRateShading)},
	{"dualSrcBlend", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, dualSrcBlend)},
	{"logicOp", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, logicOp)},
	{"multiDrawIndirect", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, multiDrawIndirect)},
	{"drawIndirectFirstInstance", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, drawIndirectFirstInstance)},
	{"depthClamp", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, depthClamp)},
	{"depthBiasClamp", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, depthBiasClamp)},
	{"fillModeNonSolid", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, fillModeNonSolid)},
	{"depthBounds", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, depthBounds)},
	{"wideLines", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, wideLines)},
	{"largePoints", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, largePoints)},
	{"alphaToOne", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, alphaToOne)},
	{"multiViewport", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, multiViewport)},
	{"samplerAnisotropy", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, samplerAnisotropy)},
	{"textureCompressionETC2", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, textureCompressionETC2)},
	{"textureCompressionASTC_LDR", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, textureCompressionASTC_LDR)},
	{"textureCompressionBC", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, textureCompressionBC)},
	{"occlusionQueryPrecise", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, occlusionQueryPrecise)},
	{"pipelineStatisticsQuery", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, pipelineStatisticsQuery)},
	{"vertexPipelineStoresAndAtomics", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, vertexPipelineStoresAndAtomics)},
	{"fragmentStoresAndAtomics", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, fragmentStoresAndAtomics)},
	{"shaderTessellationAndGeometryPointSize", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderTessellationAndGeometryPointSize)},
	{"shaderImageGatherExtended", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderImageGatherExtended)},
	{"shaderStorageImageExtendedFormats", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderStorageImageExtendedFormats)},
	{"shaderStorageImageMultisample", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderStorageImageMultisample)},
	{"shaderStorageImageReadWithoutFormat", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderStorageImageReadWithoutFormat)},
	{"shaderStorageImageWriteWithoutFormat", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderStorageImageWriteWithoutFormat)},
	{"shaderUniformBufferArrayDynamicIndexing", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderUniformBufferArrayDynamicIndexing)},
	{"shaderSampledImageArrayDynamicIndexing", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderSampledImageArrayDynamicIndexing)},
	{"shaderStorageBufferArrayDynamicIndexing", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderStorageBufferArrayDynamicIndexing)},
	{"shaderStorageImageArrayDynamicIndexing", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderStorageImageArrayDynamicIndexing)},
	{"shaderClipDistance", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderClipDistance)},
	{"shaderCullDistance", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderCullDistance)},
	{"shaderFloat64", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderFloat64)},
	{"shaderInt64", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderInt64)},
	{"shaderInt16", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderInt16)},
	{"shaderResourceResidency", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderResourceResidency)},
	{"shaderResourceMinLod", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, shaderResourceMinLod)},
	{"sparseBinding", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseBinding)},
	{"sparseResidencyBuffer", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseResidencyBuffer)},
	{"sparseResidencyImage2D", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseResidencyImage2D)},
	{"sparseResidencyImage3D", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseResidencyImage3D)},
	{"sparseResidency2Samples", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseResidency2Samples)},
	{"sparseResidency4Samples", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseResidency4Samples)},
	{"sparseResidency8Samples", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseResidency8Samples)},
	{"sparseResidency16Samples", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseResidency16Samples)},
	{"sparseResidencyAliased", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, sparseResidencyAliased)},
	{"variableMultisampleRate", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, variableMultisampleRate)},
	{"inheritedQueries", VKDEP_BLOCK_10, offsetof(VkPhysicalDeviceFeatures, inheritedQueries)},
	{"storageBuffer16BitAccess", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, storageBuffer16BitAccess)},
	{"uniformAndStorageBuffer16BitAccess", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, uniformAndStorageBuffer16BitAccess)},
	{"storagePushConstant16", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, storagePushConstant16)},
	{"storageInputOutput16", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, storageInputOutput16)},
	{"multiview", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, multiview)},
	{"multiviewGeometryShader", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, multiviewGeometryShader)},
	{"multiviewTessellationShader", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, multiviewTessellationShader)},
	{"variablePointersStorageBuffer", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, variablePointersStorageBuffer)},
	{"variablePointers", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, variablePointers)},
	{"protectedMemory", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, protectedMemory)},
	{"samplerYcbcrConversion", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, samplerYcbcrConversion)},
	{"shaderDrawParameters", VKDEP_BLOCK_11, offsetof(VkPhysicalDeviceVulkan11Features, shaderDrawParameters)},
	{"samplerMirrorClampToEdge", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, samplerMirrorClampToEdge)},
	{"drawIndirectCount", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, drawIndirectCount)},
	{"storageBuffer8BitAccess", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, storageBuffer8BitAccess)},
	{"uniformAndStorageBuffer8BitAccess", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, uniformAndStorageBuffer8BitAccess)},
	{"storagePushConstant8", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, storagePushConstant8)},
	{"shaderBufferInt64Atomics", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderBufferInt64Atomics)},
	{"shaderSharedInt64Atomics", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderSharedInt64Atomics)},
	{"shaderFloat16", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderFloat16)},
	{"shaderInt8", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderInt8)},
	{"descriptorIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorIndexing)},
	{"shaderInputAttachmentArrayDynamicIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderInputAttachmentArrayDynamicIndexing)},
	{"shaderUniformTexelBufferArrayDynamicIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderUniformTexelBufferArrayDynamicIndexing)},
	{"shaderStorageTexelBufferArrayDynamicIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderStorageTexelBufferArrayDynamicIndexing)},
	{"shaderUniformBufferArrayNonUniformIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderUniformBufferArrayNonUniformIndexing)},
	{"shaderSampledImageArrayNonUniformIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderSampledImageArrayNonUniformIndexing)},
	{"shaderStorageBufferArrayNonUniformIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderStorageBufferArrayNonUniformIndexing)},
	{"shaderStorageImageArrayNonUniformIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderStorageImageArrayNonUniformIndexing)},
	{"shaderInputAttachmentArrayNonUniformIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderInputAttachmentArrayNonUniformIndexing)},
	{"shaderUniformTexelBufferArrayNonUniformIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderUniformTexelBufferArrayNonUniformIndexing)},
	{"shaderStorageTexelBufferArrayNonUniformIndexing", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderStorageTexelBufferArrayNonUniformIndexing)},
	{"descriptorBindingUniformBufferUpdateAfterBind", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingUniformBufferUpdateAfterBind)},
	{"descriptorBindingSampledImageUpdateAfterBind", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingSampledImageUpdateAfterBind)},
	{"descriptorBindingStorageImageUpdateAfterBind", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingStorageImageUpdateAfterBind)},
	{"descriptorBindingStorageBufferUpdateAfterBind", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingStorageBufferUpdateAfterBind)},
	{"descriptorBindingUniformTexelBufferUpdateAfterBind", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingUniformTexelBufferUpdateAfterBind)},
	{"descriptorBindingStorageTexelBufferUpdateAfterBind", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingStorageTexelBufferUpdateAfterBind)},
	{"descriptorBindingUpdateUnusedWhilePending", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingUpdateUnusedWhilePending)},
	{"descriptorBindingPartiallyBound", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingPartiallyBound)},
	{"descriptorBindingVariableDescriptorCount", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, descriptorBindingVariableDescriptorCount)},
	{"runtimeDescriptorArray", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, runtimeDescriptorArray)},
	{"samplerFilterMinmax", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, samplerFilterMinmax)},
	{"scalarBlockLayout", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, scalarBlockLayout)},
	{"imagelessFramebuffer", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, imagelessFramebuffer)},
	{"uniformBufferStandardLayout", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, uniformBufferStandardLayout)},
	{"shaderSubgroupExtendedTypes", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderSubgroupExtendedTypes)},
	{"separateDepthStencilLayouts", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, separateDepthStencilLayouts)},
	{"hostQueryReset", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, hostQueryReset)},
	{"timelineSemaphore", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, timelineSemaphore)},
	{"bufferDeviceAddress", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, bufferDeviceAddress)},
	{"bufferDeviceAddressCaptureReplay", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, bufferDeviceAddressCaptureReplay)},
	{"bufferDeviceAddressMultiDevice", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, bufferDeviceAddressMultiDevice)},
	{"vulkanMemoryModel", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, vulkanMemoryModel)},
	{"vulkanMemoryModelDeviceScope", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, vulkanMemoryModelDeviceScope)},
	{"vulkanMemoryModelAvailabilityVisibilityChains", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, vulkanMemoryModelAvailabilityVisibilityChains)},
	{"shaderOutputViewportIndex", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderOutputViewportIndex)},
	{"shaderOutputLayer", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, shaderOutputLayer)},
	{"subgroupBroadcastDynamicId", VKDEP_BLOCK_12, offsetof(VkPhysicalDeviceVulkan12Features, subgroupBroadcastDynamicId)},
	{"robustImageAccess", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, robustImageAccess)},
	{"inlineUniformBlock", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, inlineUniformBlock)},
	{"descriptorBindingInlineUniformBlockUpdateAfterBind", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, descriptorBindingInlineUniformBlockUpdateAfterBind)},
	{"pipelineCreationCacheControl", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, pipelineCreationCacheControl)},
	{"privateData", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, privateData)},
	{"shaderDemoteToHelperInvocation", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, shaderDemoteToHelperInvocation)},
	{"shaderTerminateInvocation", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, shaderTerminateInvocation)},
	{"subgroupSizeControl", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, subgroupSizeControl)},
	{"computeFullSubgroups", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, computeFullSubgroups)},
	{"synchronization2", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, synchronization2)},
	{"textureCompressionASTC_HDR", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, textureCompressionASTC_HDR)},
	{"shaderZeroInitializeWorkgroupMemory", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, shaderZeroInitializeWorkgroupMemory)},
	{"dynamicRendering", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, dynamicRendering)},
	{"shaderIntegerDotProduct", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, shaderIntegerDotProduct)},
	{"maintenance4", VKDEP_BLOCK_13, offsetof(VkPhysicalDeviceVulkan13Features, maintenance4)},
};

enum { TABLE_LEN = sizeof table / sizeof table[0] };

void vkdep_features_init(vkdep_features *f) {
	memset(f, 0, sizeof *f);
	f->f10.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
	f->f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
	f->f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
	f->f13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
}

int vkdep_feature_find(const char *name) {
	for (int i = 0; i < TABLE_LEN; i++)
		if (strcmp(table[i].name, name) == 0)
			return i;
	return -1;
}

int vkdep_feature_block(int i) { return table[i].block; }

static VkBool32 *member(vkdep_features *f, int i) {
	char *base;
	switch (table[i].block) {
	case VKDEP_BLOCK_10:
		base = (char *)&f->f10.features;
		break;
	case VKDEP_BLOCK_11:
		base = (char *)&f->f11;
		break;
	case VKDEP_BLOCK_12:
		base = (char *)&f->f12;
		break;
	default:
		base = (char *)&f->f13;
		break;
	}
	return (VkBool32 *)(base + table[i].offset);
}

void vkdep_feature_set(vkdep_features *f, int i) { *member(f, i) = VK_TRUE; }

int vkdep_feature_get(const vkdep_features *f, int i) { return *member((vkdep_features *)f, i) != 0; }

void vkdep_features_query(uint64_t phys, uint32_t api, vkdep_features *f) {
	vkdep_features_init(f);
	VkPhysicalDevice pd = (VkPhysicalDevice)(uintptr_t)phys;
	if (api < VK_API_VERSION_1_1) {
		vkGetPhysicalDeviceFeatures(pd, &f->f10.features);
		return;
	}
	// The Vulkan 1.1/1.2/1.3 blocks may only be chained where the device supports that version
	// (VUID-VkPhysicalDeviceFeatures2-pNext-pNext lists them as structs of core 1.2 and 1.3).
	vkdep_features_chain(f, 1, api >= VK_API_VERSION_1_2, api >= VK_API_VERSION_1_2, api >= VK_API_VERSION_1_3, NULL);
	vkGetPhysicalDeviceFeatures2(pd, &f->f10);
}

void *vkdep_features_chain(vkdep_features *f, int use10, int use11, int use12, int use13, void *tail) {
	void *next = tail;
	if (use13) {
		f->f13.pNext = next;
		next = &f->f13;
	}
	if (use12) {
		f->f12.pNext = next;
		next = &f->f12;
	}
	if (use11) {
		f->f11.pNext = next;
		next = &f->f11;
	}
	if (use10) {
		f->f10.pNext = next;
		next = &f->f10;
	}
	return next;
}

int vkdep_features_used(const vkdep_features *f, int block) {
	for (int i = 0; i < TABLE_LEN; i++)
		if (table[i].block == block && vkdep_feature_get(f, i))
			return 1;
	return 0;
}
