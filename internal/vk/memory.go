package vk

/*
#include "objects.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Buffer usage bits (VkBufferUsageFlags).
const (
	BufferStorage     = C.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT
	BufferTransferSrc = C.VK_BUFFER_USAGE_TRANSFER_SRC_BIT
	BufferTransferDst = C.VK_BUFFER_USAGE_TRANSFER_DST_BIT
)

// Buffer is a VkBuffer bound to its own VkDeviceMemory, mapped when the memory is host-visible.
type Buffer struct {
	Handle uint64
	Memory uint64
	Size   uint64
	mapped unsafe.Pointer
}

// CreateBuffer creates a buffer of size bytes with usage, in memory that has all of memFlags,
// shared by every queue family of the device, and maps it when memFlags asks for host-visible.
func (d *Device) CreateBuffer(size uint64, usage uint32, memFlags uint32) (*Buffer, error) {
	fams := make([]C.uint32_t, len(d.Families))
	for i, f := range d.Families {
		fams[i] = C.uint32_t(f)
	}
	var pf *C.uint32_t
	if len(fams) > 0 {
		pf = &fams[0]
	}
	var h, memSize C.uint64_t
	var typeBits C.uint32_t
	if err := result(C.vkdep_create_buffer(C.uint64_t(d.Handle), C.uint64_t(size), C.uint32_t(usage),
		C.uint32_t(len(fams)), pf, &h, &memSize, &typeBits)); err != nil {
		return nil, fmt.Errorf("vk: create buffer of %d bytes: %w", size, err)
	}
	b := &Buffer{Handle: uint64(h), Size: size}
	idx, err := d.Physical.MemoryTypeIndex(uint32(typeBits), memFlags)
	if err != nil {
		d.DestroyBuffer(b)
		return nil, err
	}
	var mem C.uint64_t
	if err := result(C.vkdep_alloc_memory(C.uint64_t(d.Handle), memSize, C.uint32_t(idx), &mem)); err != nil {
		d.DestroyBuffer(b)
		return nil, fmt.Errorf("vk: allocate %d bytes: %w", uint64(memSize), err)
	}
	b.Memory = uint64(mem)
	if err := result(C.vkdep_bind_buffer_memory(C.uint64_t(d.Handle), h, mem, 0)); err != nil {
		d.DestroyBuffer(b)
		return nil, err
	}
	if memFlags&MemoryHostVisible != 0 {
		var p unsafe.Pointer
		if err := result(C.vkdep_map_memory(C.uint64_t(d.Handle), mem, &p)); err != nil {
			d.DestroyBuffer(b)
			return nil, err
		}
		b.mapped = p
	}
	return b, nil
}

// CreateHostBuffer creates a storage buffer in host-visible, coherent memory, mapped.
func (d *Device) CreateHostBuffer(size uint64) (*Buffer, error) {
	return d.CreateBuffer(size, BufferStorage|BufferTransferSrc|BufferTransferDst, MemoryHostVisible|MemoryHostCoherent)
}

// DestroyBuffer unmaps and frees b. The GPU no longer uses it.
func (d *Device) DestroyBuffer(b *Buffer) {
	if b.mapped != nil {
		C.vkdep_unmap_memory(C.uint64_t(d.Handle), C.uint64_t(b.Memory))
		b.mapped = nil
	}
	if b.Handle != 0 {
		C.vkdep_destroy_buffer(C.uint64_t(d.Handle), C.uint64_t(b.Handle))
		b.Handle = 0
	}
	if b.Memory != 0 {
		C.vkdep_free_memory(C.uint64_t(d.Handle), C.uint64_t(b.Memory))
		b.Memory = 0
	}
}

// Bytes is the mapped memory, nil when the buffer is not host-visible.
func (b *Buffer) Bytes() []byte {
	if b.mapped == nil {
		return nil
	}
	return unsafe.Slice((*byte)(b.mapped), b.Size)
}

// Uint32s is the mapped memory as uint32 words.
func (b *Buffer) Uint32s() []uint32 {
	if b.mapped == nil {
		return nil
	}
	return unsafe.Slice((*uint32)(b.mapped), b.Size/4)
}

// Float32s is the mapped memory as float32 values.
func (b *Buffer) Float32s() []float32 {
	if b.mapped == nil {
		return nil
	}
	return unsafe.Slice((*float32)(b.mapped), b.Size/4)
}
