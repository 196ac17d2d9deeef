package vk

/*
#include "helpers.h"
#include "objects.h"
*/
import "C"

import (
	"encoding/binary"
	"unsafe"
)

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

// BindCompute binds p and its descriptor set.
func (c CommandBuffer) BindCompute(p *Pipeline, set DescriptorSet) {
	C.vkdep_cmd_bind_compute(C.uint64_t(c), C.uint64_t(p.Handle), C.uint64_t(p.Layout), C.uint64_t(set))
}

// PushConstants writes p's push-constant block from words (little-endian 32-bit values: uint32
// or math.Float32bits).
func (c CommandBuffer) PushConstants(p *Pipeline, words ...uint32) {
	buf := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(buf[4*i:], w)
	}
	if len(buf) == 0 {
		return
	}
	C.vkdep_cmd_push_constants(C.uint64_t(c), C.uint64_t(p.Layout), C.uint32_t(len(buf)), unsafe.Pointer(&buf[0]))
}

// Dispatch records vkCmdDispatch.
func (c CommandBuffer) Dispatch(x, y, z uint32) {
	C.vkdep_cmd_dispatch(C.uint64_t(c), C.uint32_t(x), C.uint32_t(y), C.uint32_t(z))
}

// Fill records vkCmdFillBuffer of size bytes (0: to the end) with the word data.
func (c CommandBuffer) Fill(b *Buffer, offset, size uint64, data uint32) {
	if size == 0 {
		size = C.VK_WHOLE_SIZE
	}
	C.vkdep_cmd_fill_buffer(C.uint64_t(c), C.uint64_t(b.Handle), C.uint64_t(offset), C.uint64_t(size), C.uint32_t(data))
}

// Copy records vkCmdCopyBuffer of size bytes.
func (c CommandBuffer) Copy(src, dst *Buffer, srcOff, dstOff, size uint64) {
	C.vkdep_cmd_copy_buffer(C.uint64_t(c), C.uint64_t(src.Handle), C.uint64_t(dst.Handle), C.uint64_t(srcOff),
		C.uint64_t(dstOff), C.uint64_t(size))
}

// Barrier records a global memory barrier (vkCmdPipelineBarrier2 with one VkMemoryBarrier2).
func (d *Device) Barrier(c CommandBuffer, srcStage, srcAccess, dstStage, dstAccess uint64) {
	C.vkdep_cmd_barrier(d.disp, C.uint64_t(c), C.uint64_t(srcStage), C.uint64_t(srcAccess),
		C.uint64_t(dstStage), C.uint64_t(dstAccess))
}
