// Package vk is vkdep's thin cgo binding of Vulkan 1.3, written against the system headers and
// linked with -lvulkan (the loader, Debian's libvulkan1).
//
// It covers what vkdep, its benchmarks and its demo use, no more. What the library (vkdep/) needs:
// instance and validation messenger, physical-device queries, device creation with
// timelineSemaphore and synchronization2, timeline semaphores, vkQueueSubmit2, command pools and
// buffers with barriers, host-visible buffers. The app_* files (compute pipelines, descriptor
// sets, recording dispatches and copies, surfaces and swapchains) serve only cmd/, internal/gpu
// and tests; the library does not use them. Handles are plain integers on the Go side; C helpers cast them back, so Go code never holds
// a C pointer it would have to convert. Submit, wait-any, host signal and counter reads are one cgo
// crossing each, with the Vulkan structs built in C from flat arrays the caller reuses (no
// allocation per call).
package vk

/*
#cgo LDFLAGS: -lvulkan
#include <stdlib.h>
#include "helpers.h"
#include "objects.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// Dispatchable and non-dispatchable Vulkan handles. The zero value is VK_NULL_HANDLE.
type (
	Instance       uint64
	PhysicalDevice uint64
	Messenger      uint64
)

// APIVersion packs a Vulkan version as VK_MAKE_API_VERSION does.
func APIVersion(major, minor, patch uint32) uint32 { return major<<22 | minor<<12 | patch }

// VersionString formats a packed Vulkan version as major.minor.patch.
func VersionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>22&0x7f, v>>12&0x3ff, v&0xfff)
}

// ValidationLayer is the Khronos validation layer's name.
const ValidationLayer = "VK_LAYER_KHRONOS_validation"

// LayerPresent reports whether the loader can find the named instance layer: a layer's spec
// version is never 0 (VK_MAKE_API_VERSION of at least 1.0).
func LayerPresent(name string) bool { return LayerVersion(name) != 0 }

// LayerVersion returns the named layer's spec version (APIVersion packing), 0 when absent.
func LayerVersion(name string) uint32 {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return uint32(C.vkdep_layer_version(cs))
}

// Message is one message of the validation layer.
type Message struct {
	Severity string // "error" or "warning"
	Type     string // "validation", "performance" or "general"
	ID       string // the VUID or message id name
	Text     string
	Objects  []Object // the objects the message concerns, as the layer lists them (at most 8)
}

// Object is one object a validation message concerns: its VkObjectType and handle.
type Object struct {
	Type   int32
	Handle uint64
}

// InstanceConfig says how to create an instance.
type InstanceConfig struct {
	AppName    string
	Extensions []string // extra instance extensions (surfaces for the demo)
	// Validate loads the Khronos validation layer and sends every warning and error it prints
	// to OnMessage; SyncValidation adds synchronization validation.
	Validate       bool
	SyncValidation bool
	OnMessage      func(Message)
}

// InstanceObj is a created instance and, with validation, its debug messenger.
type InstanceObj struct {
	Handle    Instance
	messenger Messenger
	handle    cgo.Handle
}

// CreateInstance creates a Vulkan 1.3 instance. A missing loader driver comes back as
// VK_ERROR_INCOMPATIBLE_DRIVER, a missing validation layer as VK_ERROR_LAYER_NOT_PRESENT.
func CreateInstance(cfg InstanceConfig) (*InstanceObj, error) {
	if cfg.Validate && !LayerPresent(ValidationLayer) {
		return nil, fmt.Errorf("vk: %s not installed (Debian package vulkan-validationlayers): %w",
			ValidationLayer, ErrorLayerNotPresent)
	}
	exts := append([]string(nil), cfg.Extensions...)
	if cfg.Validate {
		exts = append(exts, "VK_EXT_debug_utils")
	}
	cexts, free := cStrings(exts)
	defer free()
	name := C.CString(cfg.AppName)
	defer C.free(unsafe.Pointer(name))
	var h C.uint64_t
	validate := C.int(0)
	if cfg.Validate {
		validate = 1
	}
	syncval := C.int(0)
	if cfg.Validate && cfg.SyncValidation {
		syncval = 1
	}
	r := C.vkdep_create_instance(name, C.uint32_t(APIVersion(1, 3, 0)), validate, syncval,
		C.uint32_t(len(exts)), cexts, &h)
	if err := result(r); err != nil {
		return nil, err
	}
	inst := &InstanceObj{Handle: Instance(h)}
	if cfg.Validate {
		on := cfg.OnMessage
		if on == nil {
			on = func(Message) {}
		}
		inst.handle = cgo.NewHandle(on)
		var m C.uint64_t
		if err := result(C.vkdep_create_messenger(h, C.uintptr_t(inst.handle), &m)); err != nil {
			inst.Destroy()
			return nil, err
		}
		inst.messenger = Messenger(m)
	}
	return inst, nil
}

// Destroy destroys the messenger and the instance.
func (i *InstanceObj) Destroy() {
	if i.messenger != 0 {
		C.vkdep_destroy_messenger(C.uint64_t(i.Handle), C.uint64_t(i.messenger))
		i.messenger = 0
	}
	if i.Handle != 0 {
		C.vkdep_destroy_instance(C.uint64_t(i.Handle))
		i.Handle = 0
	}
	if i.handle != 0 {
		i.handle.Delete()
		i.handle = 0
	}
}

//export vkdepDebugMessage
func vkdepDebugMessage(user C.uintptr_t, severity, types C.int, id, msg *C.char, n C.int, ot *C.int32_t, oh *C.uint64_t) {
	m := Message{Severity: "warning", Type: "general", ID: C.GoString(id), Text: C.GoString(msg)}
	if n > 0 {
		typ, h := unsafe.Slice(ot, int(n)), unsafe.Slice(oh, int(n))
		m.Objects = make([]Object, n)
		for i := range m.Objects {
			m.Objects[i] = Object{Type: int32(typ[i]), Handle: uint64(h[i])}
		}
	}
	if severity&C.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT != 0 {
		m.Severity = "error"
	}
	switch {
	case types&C.VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT != 0:
		m.Type = "validation"
	case types&C.VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT != 0:
		m.Type = "performance"
	}
	cgo.Handle(user).Value().(func(Message))(m)
}

// Physical-device types, as VkPhysicalDeviceType.
const (
	DeviceTypeOther         = C.VK_PHYSICAL_DEVICE_TYPE_OTHER
	DeviceTypeIntegratedGPU = C.VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU
	DeviceTypeDiscreteGPU   = C.VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU
	DeviceTypeVirtualGPU    = C.VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU
	DeviceTypeCPU           = C.VK_PHYSICAL_DEVICE_TYPE_CPU
)

// Queue capability bits, as VkQueueFlags.
const (
	QueueGraphics = C.VK_QUEUE_GRAPHICS_BIT
	QueueCompute  = C.VK_QUEUE_COMPUTE_BIT
	QueueTransfer = C.VK_QUEUE_TRANSFER_BIT
)

// Memory property bits, as VkMemoryPropertyFlags.
const (
	MemoryDeviceLocal  = C.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
	MemoryHostVisible  = C.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
	MemoryHostCoherent = C.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
	MemoryHostCached   = C.VK_MEMORY_PROPERTY_HOST_CACHED_BIT
)

// QueueFamily is one queue family of a physical device.
type QueueFamily struct {
	Index uint32
	Flags uint32 // QueueGraphics | QueueCompute | QueueTransfer ...
	Count uint32
}

// MemoryType is one memory type of a physical device.
type MemoryType struct {
	Flags uint32
	Heap  uint32
}

// PhysicalInfo is what vkdep reads of a physical device.
type PhysicalInfo struct {
	Handle            PhysicalDevice
	Name              string
	DriverName        string
	DriverInfo        string
	APIVersion        uint32
	DriverVersion     uint32
	VendorID          uint32
	DeviceID          uint32
	Type              int
	TimelineSemaphore bool
	Synchronization2  bool
	// CoreSync2 is true when synchronization2 is core (Vulkan 1.3); otherwise it comes from
	// VK_KHR_synchronization2, which device creation must then enable.
	CoreSync2             bool
	Families              []QueueFamily
	MemoryTypes           []MemoryType
	TimestampPeriod       float32
	MaxWorkgroupCountX    uint32
	MaxTimelineDifference uint64
	// UUID is VkPhysicalDeviceIDProperties.deviceUUID: the same for every VkPhysicalDevice
	// handle of one device, across instances (zero on a pre-1.2 device).
	UUID [16]byte
}

// TypeName names a physical-device type.
func TypeName(t int) string {
	switch t {
	case DeviceTypeIntegratedGPU:
		return "integrated GPU"
	case DeviceTypeDiscreteGPU:
		return "discrete GPU"
	case DeviceTypeVirtualGPU:
		return "virtual GPU"
	case DeviceTypeCPU:
		return "CPU"
	}
	return "other"
}

// PhysicalDevices lists the instance's physical devices with their properties.
func (i *InstanceObj) PhysicalDevices() ([]PhysicalInfo, error) {
	var handles [16]C.uint64_t
	n := C.uint32_t(len(handles))
	if err := result(C.vkdep_physical_devices(C.uint64_t(i.Handle), &n, &handles[0])); err != nil {
		return nil, err
	}
	out := make([]PhysicalInfo, 0, n)
	for _, h := range handles[:n] {
		out = append(out, QueryPhysical(PhysicalDevice(h)))
	}
	return out, nil
}

// QueryPhysical reads a physical device's properties, features, queue families and memory types.
func QueryPhysical(h PhysicalDevice) PhysicalInfo {
	var ci C.vkdep_phys_info
	C.vkdep_physical_info(C.uint64_t(h), &ci)
	p := PhysicalInfo{
		Handle:                h,
		Name:                  C.GoString(&ci.name[0]),
		DriverName:            C.GoString(&ci.driver_name[0]),
		DriverInfo:            C.GoString(&ci.driver_info[0]),
		APIVersion:            uint32(ci.api_version),
		DriverVersion:         uint32(ci.driver_version),
		VendorID:              uint32(ci.vendor_id),
		DeviceID:              uint32(ci.device_id),
		Type:                  int(ci.device_type),
		TimelineSemaphore:     ci.timeline_semaphore != 0,
		Synchronization2:      ci.synchronization2 != 0,
		CoreSync2:             uint32(ci.api_version) >= APIVersion(1, 3, 0),
		TimestampPeriod:       float32(ci.timestamp_period),
		MaxWorkgroupCountX:    uint32(ci.max_workgroup_count_x),
		MaxTimelineDifference: uint64(ci.max_timeline_difference),
	}
	for i := range p.UUID {
		p.UUID[i] = byte(ci.device_uuid[i])
	}
	for f := range uint32(ci.family_count) {
		p.Families = append(p.Families, QueueFamily{Index: f, Flags: uint32(ci.family_flags[f]), Count: uint32(ci.family_queues[f])})
	}
	for m := range uint32(ci.memtype_count) {
		p.MemoryTypes = append(p.MemoryTypes, MemoryType{Flags: uint32(ci.memtype_flags[m]), Heap: uint32(ci.memtype_heap[m])})
	}
	return p
}

// MemoryTypeIndex returns the first memory type allowed by typeBits that has all of want.
func (p *PhysicalInfo) MemoryTypeIndex(typeBits, want uint32) (uint32, error) {
	for i, t := range p.MemoryTypes {
		if typeBits&(1<<i) != 0 && t.Flags&want == want {
			return uint32(i), nil
		}
	}
	return 0, fmt.Errorf("vk: no memory type with flags %#x among %#b: %w", want, typeBits, ErrorOutOfDeviceMemory)
}

// cStrings copies strs into C memory as a char** array; free releases it.
func cStrings(strs []string) (**C.char, func()) {
	if len(strs) == 0 {
		return nil, func() {}
	}
	arr := (*[1 << 20]*C.char)(C.malloc(C.size_t(len(strs)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))[:len(strs):len(strs)]
	for i, s := range strs {
		arr[i] = C.CString(s)
	}
	return &arr[0], func() {
		for _, p := range arr {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(&arr[0]))
	}
}

var errNullHandle = errors.New("vk: null handle")
