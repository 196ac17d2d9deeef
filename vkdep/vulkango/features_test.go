package vulkango_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	vk "github.com/vulkan-go/vulkan"

	"vkdep.dev/vkdep"
	"vkdep.dev/vkdep/vulkango"
)

// vulkanGoInstance creates a vulkan-go instance (Vulkan 1.3, validation layer and a debug-report
// callback that fails the test on any message) and returns it with its first physical device.
func vulkanGoInstance(t *testing.T) (vk.Instance, vk.PhysicalDevice) {
	t.Helper()
	if err := vk.SetDefaultGetInstanceProcAddr(); err != nil {
		t.Fatal(err)
	}
	if err := vk.Init(); err != nil {
		t.Fatal(err)
	}
	var inst vk.Instance
	r := vk.CreateInstance(&vk.InstanceCreateInfo{
		SType: vk.StructureTypeInstanceCreateInfo,
		PApplicationInfo: &vk.ApplicationInfo{SType: vk.StructureTypeApplicationInfo,
			ApiVersion: vk.MakeVersion(1, 3, 0)},
		EnabledLayerCount: 1, PpEnabledLayerNames: []string{"VK_LAYER_KHRONOS_validation\x00"},
		EnabledExtensionCount: 1, PpEnabledExtensionNames: []string{"VK_EXT_debug_report\x00"},
	}, nil, &inst)
	if r != vk.Success {
		t.Fatalf("vkCreateInstance: %v", vk.Error(r))
	}
	if err := vk.InitInstance(inst); err != nil {
		t.Fatal(err)
	}
	var cb vk.DebugReportCallback
	var mu sync.Mutex
	var msgs []string
	r = vk.CreateDebugReportCallback(inst, &vk.DebugReportCallbackCreateInfo{
		SType: vk.StructureTypeDebugReportCallbackCreateInfo,
		Flags: vk.DebugReportFlags(vk.DebugReportErrorBit | vk.DebugReportWarningBit),
		PfnCallback: vulkango.DebugReport(func(_ bool, _, text string) {
			mu.Lock()
			msgs = append(msgs, text)
			mu.Unlock()
		}),
	}, nil, &cb)
	if r != vk.Success {
		t.Fatalf("vkCreateDebugReportCallbackEXT: %v", vk.Error(r))
	}
	t.Cleanup(func() {
		vk.DestroyDebugReportCallback(inst, cb, nil)
		vk.DestroyInstance(inst, nil)
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			t.Errorf("validation: %s", m)
		}
	})
	var n uint32 = 1
	phys := make([]vk.PhysicalDevice, 1)
	if r := vk.EnumeratePhysicalDevices(inst, &n, phys); (r != vk.Success && r != vk.Incomplete) || n == 0 {
		t.Fatalf("no physical device: %v", vk.Error(r))
	}
	return inst, phys[0]
}

// TestFeatureChain: the chain carries the features vkdep needs plus the named ones (Wrap reads
// timelineSemaphore and synchronization2 from it, and the layer accepts the device), refuses to
// sit beside PEnabledFeatures when it holds Vulkan 1.0 features, and a feature the device lacks
// or an unknown name is ErrMissingFeature naming it.
func TestFeatureChain(t *testing.T) {
	inst, phys := vulkanGoInstance(t)
	for _, bad := range []string{"shaderInt65", "sparseBinding"} {
		c, err := vulkango.NewFeatureChain(phys, bad)
		if err == nil {
			c.Free()
			if bad == "sparseBinding" {
				continue // a GPU may have it; lavapipe has not
			}
			t.Fatalf("NewFeatureChain(%q) succeeded", bad)
		}
		if !errors.Is(err, vkdep.ErrMissingFeature) || !strings.Contains(err.Error(), bad) {
			t.Fatalf("NewFeatureChain(%q): %v, want ErrMissingFeature naming it", bad, err)
		}
	}

	chain, err := vulkango.NewFeatureChain(phys, "shaderInt64", "maintenance4", "shaderDrawParameters")
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Free()
	withFeatures := vk.DeviceCreateInfo{PEnabledFeatures: []vk.PhysicalDeviceFeatures{{}}}
	if err := chain.Link(&withFeatures); err == nil || !strings.Contains(err.Error(), "00373") {
		t.Fatalf("Link beside PEnabledFeatures: %v, want the VUID", err)
	}
	var fam uint32 // lavapipe and every GPU here have compute in family 0
	ci := vk.DeviceCreateInfo{
		SType: vk.StructureTypeDeviceCreateInfo, QueueCreateInfoCount: 1,
		PQueueCreateInfos: []vk.DeviceQueueCreateInfo{{SType: vk.StructureTypeDeviceQueueCreateInfo,
			QueueFamilyIndex: fam, QueueCount: 1, PQueuePriorities: []float32{1}}},
	}
	if err := chain.Link(&ci); err != nil {
		t.Fatal(err)
	}
	var dev vk.Device
	if r := vk.CreateDevice(phys, &ci, nil, &dev); r != vk.Success {
		t.Fatalf("vkCreateDevice: %v", vk.Error(r))
	}
	defer vk.DestroyDevice(dev, nil)
	defer ci.Free()
	d, err := vulkango.Wrap(vulkango.WrapOptions{Instance: inst, PhysicalDevice: phys, Device: dev,
		APIVersion: vk.MakeVersion(1, 3, 0), CreateInfo: &ci, Queues: []vkdep.WrapQueue{{Family: fam}}})
	if err != nil {
		t.Fatalf("Wrap over the chained create info: %v", err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Without the chain, vulkan-go's create info enables neither feature, and Wrap says so.
	plain := vk.DeviceCreateInfo{
		SType: vk.StructureTypeDeviceCreateInfo, QueueCreateInfoCount: 1,
		PQueueCreateInfos: []vk.DeviceQueueCreateInfo{{SType: vk.StructureTypeDeviceQueueCreateInfo,
			QueueFamilyIndex: fam, QueueCount: 1, PQueuePriorities: []float32{1}}},
	}
	var dev2 vk.Device
	if r := vk.CreateDevice(phys, &plain, nil, &dev2); r != vk.Success {
		t.Fatalf("vkCreateDevice: %v", vk.Error(r))
	}
	defer vk.DestroyDevice(dev2, nil)
	defer plain.Free()
	if d, err := vulkango.Wrap(vulkango.WrapOptions{Instance: inst, PhysicalDevice: phys, Device: dev2,
		APIVersion: vk.MakeVersion(1, 3, 0), CreateInfo: &plain, Queues: []vkdep.WrapQueue{{Family: fam}}}); !errors.Is(err, vkdep.ErrMissingFeature) {
		if d != nil {
			_ = d.Close(context.Background())
		}
		t.Fatalf("Wrap without the chain: %v, want ErrMissingFeature", err)
	}
}
