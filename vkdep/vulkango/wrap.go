package vulkango

import (
	"errors"
	"log/slog"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"

	"vkdep.dev/vkdep"
)

// WrapOptions describe a device the application created with vulkan-go (see vkdep.WrapOptions,
// whose rules all apply).
type WrapOptions struct {
	Instance       vk.Instance
	PhysicalDevice vk.PhysicalDevice
	Device         vk.Device
	// APIVersion is the ApiVersion of the vk.ApplicationInfo given to vk.CreateInstance
	// (vk.MakeVersion(1, 3, 0) or later).
	APIVersion uint32
	// CreateInfo is the vk.DeviceCreateInfo given to vk.CreateDevice, not yet freed (Free). vkdep
	// reads the enabled features from its pNext chain (a FeatureChain linked with Link) and the
	// queues it created. Wrap does not keep it.
	CreateInfo *vk.DeviceCreateInfo
	// Queues are the VkQueues vkdep may submit to, each with the lock the application takes
	// around its own submits to it (vkdep.WrapQueue).
	Queues []vkdep.WrapQueue
	Logger *slog.Logger
}

// Wrap builds a vkdep Device over the application's vulkan-go device; see vkdep.Wrap for what is
// checked, who owns what and the ordering rules. Close the vkdep Device before destroying the
// vulkan-go device and instance.
func Wrap(o WrapOptions) (*vkdep.Device, error) {
	if o.CreateInfo == nil {
		return nil, errors.New("vulkango: WrapOptions.CreateInfo is nil: pass the vk.DeviceCreateInfo given to vk.CreateDevice")
	}
	// vk.CreateDevice converted the Go struct into a C VkDeviceCreateInfo (PassRef) and kept it
	// on the struct: Ref returns it, with the application's pNext chain. If the struct was never
	// converted (or was freed), convert it now and free that copy after Wrap has read it.
	ref := unsafe.Pointer(o.CreateInfo.Ref())
	if ref == nil {
		p, _ := o.CreateInfo.PassRef()
		defer o.CreateInfo.Free()
		ref = unsafe.Pointer(p)
	}
	return vkdep.Wrap(vkdep.WrapOptions{
		Instance:       Handle(o.Instance),
		PhysicalDevice: Handle(o.PhysicalDevice),
		Device:         Handle(o.Device),
		APIVersion:     o.APIVersion,
		CreateInfo:     uintptr(ref),
		Queues:         o.Queues,
		Logger:         o.Logger,
	})
}
