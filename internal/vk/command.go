package vk

/*
#include "helpers.h"
#include "objects.h"
*/
import "C"

import "unsafe"

// CommandPool is a VkCommandPool.
type CommandPool uint64

// CommandBuffer is a VkCommandBuffer: a raw handle, so command buffers recorded with any Go
// Vulkan binding can be submitted.
type CommandBuffer uint64

// Command-buffer begin flags.
const (
	BeginOneTime      = C.VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT
	BeginSimultaneous = C.VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT
)

// CreateCommandPool creates a pool for family whose buffers can be reset one by one.
func (d *Device) CreateCommandPool(family uint32) (CommandPool, error) {
	var h C.uint64_t
	err := result(C.vkdep_create_command_pool(C.uint64_t(d.Handle), C.uint32_t(family),
		C.VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, &h))
	return CommandPool(h), err
}

// DestroyCommandPool destroys the pool and frees its command buffers.
func (d *Device) DestroyCommandPool(p CommandPool) {
	C.vkdep_destroy_command_pool(C.uint64_t(d.Handle), C.uint64_t(p))
}

// AllocateCommandBuffers allocates n primary command buffers.
func (d *Device) AllocateCommandBuffers(p CommandPool, n int) ([]CommandBuffer, error) {
	out := make([]CommandBuffer, n)
	if n == 0 {
		return out, nil
	}
	err := result(C.vkdep_allocate_command_buffers(C.uint64_t(d.Handle), C.uint64_t(p), C.uint32_t(n),
		(*C.uint64_t)(unsafe.Pointer(&out[0]))))
	return out, err
}

// Begin starts recording (resetting the buffer) with the given BeginXxx flags.
func (c CommandBuffer) Begin(flags uint32) error {
	return result(C.vkdep_begin_command_buffer(C.uint64_t(c), C.uint32_t(flags)))
}

// End finishes recording.
func (c CommandBuffer) End() error { return result(C.vkdep_end_command_buffer(C.uint64_t(c))) }

// Barrier records a global memory barrier (vkCmdPipelineBarrier2 with one VkMemoryBarrier2).
func (d *Device) Barrier(c CommandBuffer, srcStage, srcAccess, dstStage, dstAccess uint64) {
	C.vkdep_cmd_barrier(d.disp, C.uint64_t(c), C.uint64_t(srcStage), C.uint64_t(srcAccess),
		C.uint64_t(dstStage), C.uint64_t(dstAccess))
}
