package vk

// Compute pipelines and descriptor sets, for cmd/, internal/gpu and tests only: the library
// (vkdep/) runs the application's command buffers and records nothing but barriers. The app_*
// files (Go and C) are this part of the binding; the rest is what the library needs.

/*
#include "app_objects.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Pipeline is a compute pipeline whose descriptor set 0 holds Bindings storage buffers and whose
// push-constant block is PushSize bytes.
type Pipeline struct {
	Handle, Layout, SetLayout, Module uint64
	Bindings                          int
	PushSize                          uint32
}

// CreateComputePipeline builds a compute pipeline from SPIR-V words with entry point "main".
func (d *Device) CreateComputePipeline(spirv []uint32, bindings int, pushSize uint32) (*Pipeline, error) {
	if len(spirv) == 0 {
		return nil, fmt.Errorf("vk: empty SPIR-V: %w", ErrorInitializationFailed)
	}
	dev := C.uint64_t(d.Handle)
	p := &Pipeline{Bindings: bindings, PushSize: pushSize}
	var h C.uint64_t
	if err := result(C.vkdep_create_shader_module(dev, (*C.uint32_t)(unsafe.Pointer(&spirv[0])), C.size_t(4*len(spirv)), &h)); err != nil {
		return nil, fmt.Errorf("vk: shader module: %w", err)
	}
	p.Module = uint64(h)
	if err := result(C.vkdep_create_storage_set_layout(dev, C.uint32_t(bindings), &h)); err != nil {
		d.DestroyPipeline(p)
		return nil, fmt.Errorf("vk: descriptor set layout: %w", err)
	}
	p.SetLayout = uint64(h)
	if err := result(C.vkdep_create_pipeline_layout(dev, C.uint64_t(p.SetLayout), C.uint32_t(pushSize), &h)); err != nil {
		d.DestroyPipeline(p)
		return nil, fmt.Errorf("vk: pipeline layout: %w", err)
	}
	p.Layout = uint64(h)
	if err := result(C.vkdep_create_compute_pipeline(dev, C.uint64_t(p.Module), C.uint64_t(p.Layout), &h)); err != nil {
		d.DestroyPipeline(p)
		return nil, fmt.Errorf("vk: compute pipeline: %w", err)
	}
	p.Handle = uint64(h)
	return p, nil
}

// DestroyPipeline destroys the pipeline and what it was built from.
func (d *Device) DestroyPipeline(p *Pipeline) {
	dev := C.uint64_t(d.Handle)
	if p.Handle != 0 {
		C.vkdep_destroy_pipeline(dev, C.uint64_t(p.Handle))
	}
	if p.Layout != 0 {
		C.vkdep_destroy_pipeline_layout(dev, C.uint64_t(p.Layout))
	}
	if p.SetLayout != 0 {
		C.vkdep_destroy_set_layout(dev, C.uint64_t(p.SetLayout))
	}
	if p.Module != 0 {
		C.vkdep_destroy_shader_module(dev, C.uint64_t(p.Module))
	}
	*p = Pipeline{}
}

// DescriptorPool is a VkDescriptorPool of storage-buffer descriptors.
type DescriptorPool uint64

// DescriptorSet is a VkDescriptorSet.
type DescriptorSet uint64

// CreateDescriptorPool creates a pool for maxSets sets holding buffers storage buffers in all.
func (d *Device) CreateDescriptorPool(maxSets, buffers uint32) (DescriptorPool, error) {
	var h C.uint64_t
	err := result(C.vkdep_create_descriptor_pool(C.uint64_t(d.Handle), C.uint32_t(maxSets), C.uint32_t(buffers), &h))
	return DescriptorPool(h), err
}

// DestroyDescriptorPool destroys the pool and its sets.
func (d *Device) DestroyDescriptorPool(p DescriptorPool) {
	C.vkdep_destroy_descriptor_pool(C.uint64_t(d.Handle), C.uint64_t(p))
}

// BufferRange is a range of a buffer bound to a descriptor. Range 0 means the whole buffer.
type BufferRange struct {
	Buffer *Buffer
	Offset uint64
	Range  uint64
}

// AllocateSet allocates a set for p's layout and points its bindings at buffers, in binding order.
func (d *Device) AllocateSet(pool DescriptorPool, p *Pipeline, buffers ...BufferRange) (DescriptorSet, error) {
	if len(buffers) != p.Bindings {
		return 0, fmt.Errorf("vk: pipeline has %d bindings, got %d buffers: %w", p.Bindings, len(buffers), ErrorInitializationFailed)
	}
	var h C.uint64_t
	if err := result(C.vkdep_allocate_set(C.uint64_t(d.Handle), C.uint64_t(pool), C.uint64_t(p.SetLayout), &h)); err != nil {
		return 0, fmt.Errorf("vk: allocate descriptor set: %w", err)
	}
	bufs := make([]C.uint64_t, len(buffers))
	offs := make([]C.uint64_t, len(buffers))
	ranges := make([]C.uint64_t, len(buffers))
	for i, b := range buffers {
		r := b.Range
		if r == 0 {
			r = b.Buffer.Size - b.Offset
		}
		bufs[i], offs[i], ranges[i] = C.uint64_t(b.Buffer.Handle), C.uint64_t(b.Offset), C.uint64_t(r)
	}
	if len(buffers) > 0 {
		C.vkdep_update_storage_set(C.uint64_t(d.Handle), h, C.uint32_t(len(buffers)), &bufs[0], &offs[0], &ranges[0])
	}
	return DescriptorSet(h), nil
}
