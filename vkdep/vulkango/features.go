package vulkango

import (
	"fmt"
	"strings"

	vk "github.com/vulkan-go/vulkan"

	ivk "vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// FeatureChain is the chain of Vulkan 1.2/1.3 feature structs (VkPhysicalDeviceVulkan12Features,
// VkPhysicalDeviceVulkan13Features, and VkPhysicalDeviceVulkan11Features and
// VkPhysicalDeviceFeatures2 when the application names features of those versions) that a
// vulkan-go DeviceCreateInfo needs for vkdep: vulkan-go's headers stop at Vulkan 1.1 and cannot
// express them.
//
// Lifetime: the structs live in C memory owned by the FeatureChain. After Link they are part of
// the create info's pNext chain, and must stay valid while anything reads that chain: through
// vk.CreateDevice and through Wrap (which reads the enabled features from it). Free them after
// Wrap returns. A FeatureChain is used for one DeviceCreateInfo; it is not safe for concurrent
// use.
type FeatureChain struct {
	set *ivk.FeatureSet
}

// NewFeatureChain checks that the physical device supports timelineSemaphore, synchronization2
// and every feature named in extra (as the Vulkan headers name the members of
// VkPhysicalDeviceFeatures and VkPhysicalDeviceVulkan11/12/13Features: "shaderInt64",
// "bufferDeviceAddress", "maintenance4"), and builds their structs. A feature the device lacks,
// or an unknown name, is an error matching vkdep.ErrMissingFeature that names it.
func NewFeatureChain(phys vk.PhysicalDevice, extra ...string) (*FeatureChain, error) {
	set, err := ivk.NewFeatureSet(append([]string{"timelineSemaphore", "synchronization2"}, extra...))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", vkdep.ErrMissingFeature, err)
	}
	p := ivk.QueryPhysical(ivk.PhysicalDevice(Handle(phys)))
	if missing := set.Missing(p); len(missing) > 0 {
		set.Free()
		return nil, fmt.Errorf("%w: %s does not support %s", vkdep.ErrMissingFeature, p.Name, strings.Join(missing, ", "))
	}
	return &FeatureChain{set: set}, nil
}

// Link puts the chain in front of ci.PNext (whatever the application chained there stays behind
// it). When the chain carries Vulkan 1.0 features (VkPhysicalDeviceFeatures2), ci.PEnabledFeatures
// must be nil (VUID-VkDeviceCreateInfo-pNext-00373): name those features in the chain instead.
func (c *FeatureChain) Link(ci *vk.DeviceCreateInfo) error {
	if c.set == nil {
		return fmt.Errorf("vulkango: FeatureChain used after Free")
	}
	if c.set.Used(10) && len(ci.PEnabledFeatures) > 0 {
		return fmt.Errorf("vulkango: DeviceCreateInfo.PEnabledFeatures is set while the chain carries Vulkan 1.0 features (%s) in a VkPhysicalDeviceFeatures2 (VUID-VkDeviceCreateInfo-pNext-00373): name them all in NewFeatureChain and leave PEnabledFeatures nil",
			strings.Join(c.set.Names(), ", "))
	}
	ci.PNext = c.set.Chain(ci.PNext, true)
	return nil
}

// Free releases the structs. Call it after Wrap (and vk.CreateDevice) returned.
func (c *FeatureChain) Free() {
	c.set.Free()
	c.set = nil
}
