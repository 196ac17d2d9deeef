package vk

// Recording compute work, for cmd/ and internal/gpu only (see app_compute.go).

/*
#include "app_objects.h"
*/
import "C"

import (
	"encoding/binary"
	"unsafe"
)

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
