package vulkango

import (
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Object is the set of vulkan-go handle types that cross between vulkan-go and vkdep. Each is a
// pointer to an opaque C struct in vulkan-go's cgo namespace (VK_DEFINE_HANDLE, and on 64-bit
// platforms VK_DEFINE_NON_DISPATCHABLE_HANDLE too), which is why a plain uint64(h) does not
// compile and an application would otherwise need unsafe for every handle.
type Object interface {
	vk.Instance | vk.PhysicalDevice | vk.Device | vk.Queue | vk.CommandBuffer | vk.Semaphore |
		vk.Fence | vk.Buffer | vk.DeviceMemory | vk.CommandPool | vk.DescriptorSet | vk.Pipeline |
		vk.PipelineLayout | vk.Image | vk.Event | vk.Swapchain | vk.Surface
}

// Handle returns a vulkan-go handle as the raw Vulkan handle vkdep's API takes
// (Job.AddCommandBuffers, Job.WaitSemaphore, WrapOptions...). VK_NULL_HANDLE is 0.
func Handle[T Object](h T) uint64 {
	// A pointer-shaped handle converts to an integer through unsafe.Pointer; this is the one
	// direction go vet accepts as written.
	return uint64(uintptr(unsafe.Pointer(h)))
}

// As returns the raw Vulkan handle u (from Fence.Semaphore, Queue.VkQueue, Device.Handles,
// AbortWord.Buffer...) as the vulkan-go handle type T, e.g. As[vk.Semaphore](f.Semaphore()).
//
// The way back cannot be written as T(unsafe.Pointer(uintptr(u))): go vet's unsafeptr check
// flags every uintptr→unsafe.Pointer conversion ("possible misuse of unsafe.Pointer"), rightly in
// general since the garbage collector may move or free what a uintptr pointed at. Vulkan handles
// are not Go memory (the driver allocates them, or, for non-dispatchable handles, they are
// driver-chosen 64-bit values that Go never dereferences), so reinterpreting the 8 bytes of u as
// T is sound: that is the same reinterpretation vulkan-go itself does for every handle argument
// (*(*C.VkX)(unsafe.Pointer(&x))), and it is vet-clean.
func As[T Object](u uint64) T {
	// Handles are 8 bytes on the 64-bit platforms vkdep supports (vulkan-go's vk_null64.go);
	// the assertion below makes a 32-bit build fail loudly instead of reading half a value.
	var zero T
	if unsafe.Sizeof(zero) != unsafe.Sizeof(u) {
		panic("vulkango: Vulkan handles are not 64-bit pointers on this platform")
	}
	return *(*T)(unsafe.Pointer(&u))
}

// Handles returns the raw handles of a slice of vulkan-go handles, for Job.AddCommandBuffers.
func Handles[T Object](hs ...T) []uint64 {
	out := make([]uint64, len(hs))
	for i, h := range hs {
		out[i] = Handle(h)
	}
	return out
}
