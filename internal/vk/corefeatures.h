// Core Vulkan features by name (Vulkan 1.0 to 1.3), for Options.Features and the vulkan-go
// feature chain: a feature is a VkBool32 member of one of four structs, found by its name.
#ifndef VKDEP_COREFEATURES_H
#define VKDEP_COREFEATURES_H
#include <stdint.h>
#include <vulkan/vulkan.h>

// The four feature blocks, each with its sType set by vkdep_features_init. A chain made of them
// (vkdep_features_chain) holds each sType at most once (VUID-VkDeviceCreateInfo-sType-unique).
typedef struct {
	VkPhysicalDeviceFeatures2 f10; // f10.features: the Vulkan 1.0 features
	VkPhysicalDeviceVulkan11Features f11;
	VkPhysicalDeviceVulkan12Features f12;
	VkPhysicalDeviceVulkan13Features f13;
} vkdep_features;

enum { VKDEP_BLOCK_10, VKDEP_BLOCK_11, VKDEP_BLOCK_12, VKDEP_BLOCK_13 };

void vkdep_features_init(vkdep_features *f);
// vkdep_feature_find returns the index of the named feature in the table, or -1.
int vkdep_feature_find(const char *name);
// vkdep_feature_block returns the block (VKDEP_BLOCK_*) of table entry i.
int vkdep_feature_block(int i);
void vkdep_feature_set(vkdep_features *f, int i);
int vkdep_feature_get(const vkdep_features *f, int i);
// vkdep_features_used reports whether any feature of block is set in f.
int vkdep_features_used(const vkdep_features *f, int block);
// vkdep_features_query fills f with what the physical device supports (blocks beyond api stay 0).
void vkdep_features_query(uint64_t phys, uint32_t api, vkdep_features *f);
// vkdep_features_chain links the wanted blocks in the order 1.0 (as VkPhysicalDeviceFeatures2),
// 1.1, 1.2, 1.3, the last pointing at tail, and returns the head.
void *vkdep_features_chain(vkdep_features *f, int use10, int use11, int use12, int use13, void *tail);
#endif
