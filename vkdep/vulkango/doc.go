// Package vulkango connects vkdep to applications written with the vulkan-go binding
// (github.com/vulkan-go/vulkan, pinned at v0.0.0-20221209234627-c0a353ae26c8), so that such an
// application needs no unsafe code and no cgo of its own to use vkdep:
//
//   - Handle and As convert between vulkan-go handles (vk.Instance, vk.Device, vk.CommandBuffer,
//     vk.Semaphore, vk.Queue, ...) and the raw uint64 handles vkdep's API uses, both ways.
//   - NewFeatureChain builds the Vulkan 1.2/1.3 feature structs vkdep needs (timelineSemaphore,
//     synchronization2) plus any further core features the application names, for vulkan-go's
//     DeviceCreateInfo, whose 1.1 headers know none of them.
//   - Wrap hands the device the application created with vulkan-go to vkdep.Wrap.
//   - TimelineSubmit lets the application's own vk.QueueSubmit wait on a vkdep Fence, or signal a
//     timeline semaphore of its own (NewTimelineSemaphore) that a vkdep job waits on
//     (Job.WaitSemaphore): the VkTimelineSemaphoreSubmitInfo vulkan-go cannot express.
//   - Mapped gives mapped device memory as a byte slice.
//
// The example program in ./example (a doubling kernel on two queues with a GPU-side dependency
// between them, a host timeline, and an application submit in the middle) shows all of it, and
// its test builds it as a module of its own, outside vkdep, as a user would.
//
// vulkan-go loads libvulkan.so through dlopen and this package links libvulkan.so.1: both reach
// the same Vulkan loader in the process, so handles made by one are valid for the other.
// vulkan-go must be initialised (vk.SetDefaultGetInstanceProcAddr, vk.Init, vk.InitInstance)
// before its functions are called; this package needs nothing of it.
package vulkango

/*
#cgo LDFLAGS: -lvulkan
*/
import "C"
