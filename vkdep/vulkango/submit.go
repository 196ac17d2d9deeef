package vulkango

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"

	"vkdep.dev/vkdep"
)

// TimelineSubmit carries the timeline values of one vulkan-go vk.SubmitInfo (a
// VkTimelineSemaphoreSubmitInfo in C memory, chained into the SubmitInfo's PNext), so that the
// application's own vk.QueueSubmit can wait on a vkdep Fence or signal a timeline semaphore.
//
// Use one TimelineSubmit per SubmitInfo: add the waits and signals through it (the binary
// semaphores the SubmitInfo already has get the value 0, which Vulkan ignores for them), submit,
// and Free it once vk.QueueSubmit has returned (Vulkan reads the values during the call). It is
// not safe for concurrent use.
type TimelineSubmit struct {
	c               *C.VkTimelineSemaphoreSubmitInfo
	waits, signals  []uint64
	nwaits, nsignal int // semaphores of the SubmitInfo the values above cover
}

// NewTimelineSubmit returns an empty TimelineSubmit.
func NewTimelineSubmit() *TimelineSubmit {
	c := C.vkdep_vg_timeline_info()
	if c == nil {
		panic("vulkango: out of C memory")
	}
	return &TimelineSubmit{c: c}
}

// WaitFence makes si wait, at stage, until the vkdep fence f completes on the GPU. It first waits
// (parked, no OS thread) until vkdep has submitted f's signal (Fence.WaitSubmitted), so that the
// application's submit never waits for a signal not yet submitted: a wait-before-signal on a
// VkQueue vkdep also uses could block it for good (SEMANTICS D4). It returns ctx's error if ctx
// ends first, and the fence's error when it has already failed (the semaphore value is still
// reached, O5, but what the job produced cannot be trusted).
//
// The wait covers the GPU side only; f's CPU-side error is not seen by the application's submit.
func (t *TimelineSubmit) WaitFence(ctx context.Context, si *vk.SubmitInfo, f vkdep.Fence, stage vk.PipelineStageFlags) error {
	if f.IsZero() {
		return errors.New("vulkango: WaitFence: zero Fence")
	}
	if err := f.WaitSubmitted(ctx); err != nil {
		return err
	}
	if err := f.Err(); err != nil {
		return err
	}
	t.Wait(si, As[vk.Semaphore](f.Semaphore()), f.Value(), stage)
	return nil
}

// Wait makes si wait for the timeline semaphore sem to reach value, at stage. The signal of that
// value must already be submitted (or the value signalled on the host).
func (t *TimelineSubmit) Wait(si *vk.SubmitInfo, sem vk.Semaphore, value uint64, stage vk.PipelineStageFlags) {
	t.sync(si)
	si.PWaitSemaphores = append(si.PWaitSemaphores, sem)
	si.PWaitDstStageMask = append(si.PWaitDstStageMask, stage)
	si.WaitSemaphoreCount = uint32(len(si.PWaitSemaphores))
	t.waits = append(t.waits, value)
	t.nwaits++
	t.apply(si)
}

// Signal makes si signal the timeline semaphore sem to value when its work is done: a timeline of
// the application's own (NewTimelineSemaphore) that a vkdep job waits on with
// Job.WaitSemaphore(Handle(sem), value, stage). vkdep's own timelines (a Queue's, a
// HostTimeline's) are signalled by vkdep only: vkdep could not see such a signal.
func (t *TimelineSubmit) Signal(si *vk.SubmitInfo, sem vk.Semaphore, value uint64) {
	t.sync(si)
	si.PSignalSemaphores = append(si.PSignalSemaphores, sem)
	si.SignalSemaphoreCount = uint32(len(si.PSignalSemaphores))
	t.signals = append(t.signals, value)
	t.nsignal++
	t.apply(si)
}

// sync gives the semaphores the application put into si by itself the value 0: the value arrays
// must be as long as the semaphore arrays (VUID-VkSubmitInfo-pNext-03240, -03241).
func (t *TimelineSubmit) sync(si *vk.SubmitInfo) {
	for t.nwaits < len(si.PWaitSemaphores) {
		t.waits = append(t.waits, 0)
		t.nwaits++
	}
	for t.nsignal < len(si.PSignalSemaphores) {
		t.signals = append(t.signals, 0)
		t.nsignal++
	}
}

// apply copies the values into C memory and chains the struct into si.
func (t *TimelineSubmit) apply(si *vk.SubmitInfo) {
	set := func(signal C.int, vals []uint64) {
		var p *C.uint64_t
		if len(vals) > 0 {
			p = (*C.uint64_t)(unsafe.Pointer(&vals[0]))
		}
		if C.vkdep_vg_set_values(t.c, signal, C.uint32_t(len(vals)), p) != 0 {
			panic("vulkango: out of C memory")
		}
	}
	set(0, t.waits)
	set(1, t.signals)
	if si.PNext != unsafe.Pointer(t.c) {
		// Whatever the application chained stays behind ours.
		t.c.pNext = si.PNext
		si.PNext = unsafe.Pointer(t.c)
	}
}

// Free releases the C memory. Call it after vk.QueueSubmit returned.
func (t *TimelineSubmit) Free() {
	C.vkdep_vg_free_timeline_info(t.c)
	t.c = nil
}

// NewTimelineSemaphore creates a timeline semaphore on dev starting at initial (vulkan-go cannot:
// it needs VkSemaphoreTypeCreateInfo). Destroy it with vk.DestroySemaphore.
func NewTimelineSemaphore(dev vk.Device, initial uint64) (vk.Semaphore, error) {
	var out C.uint64_t
	if r := vk.Result(C.vkdep_vg_create_timeline(C.uintptr_t(Handle(dev)), C.uint64_t(initial), &out)); r != vk.Success {
		return nil, fmt.Errorf("vulkango: vkCreateSemaphore (timeline): %w", vk.Error(r))
	}
	return As[vk.Semaphore](uint64(out)), nil
}

// Mapped maps size bytes of mem at offset (host-visible memory) and returns them as a byte
// slice, valid until vk.UnmapMemory(dev, mem). Go never owns that memory.
func Mapped(dev vk.Device, mem vk.DeviceMemory, offset, size uint64) ([]byte, error) {
	var p unsafe.Pointer
	if r := vk.MapMemory(dev, mem, vk.DeviceSize(offset), vk.DeviceSize(size), 0, &p); r != vk.Success {
		return nil, fmt.Errorf("vulkango: vkMapMemory: %w", vk.Error(r))
	}
	return unsafe.Slice((*byte)(p), size), nil
}

// DebugReport adapts fn to vulkan-go's debug-report callback type, whose signature names
// unsafe.Pointer, for vk.DebugReportCallbackCreateInfo.PfnCallback. fn receives whether the
// message is an error (else a warning or other report), the layer and the text; the callback
// returns VK_FALSE, so the call that caused the message goes on.
func DebugReport(fn func(isError bool, layer, text string)) vk.DebugReportCallbackFunc {
	return func(flags vk.DebugReportFlags, _ vk.DebugReportObjectType, _ uint64, _ uint, _ int32, layer, msg string, _ unsafe.Pointer) vk.Bool32 {
		fn(flags&vk.DebugReportFlags(vk.DebugReportErrorBit) != 0, layer, msg)
		return vk.False
	}
}

// Values returns the wait and signal values as Vulkan will read them (a copy).
func (t *TimelineSubmit) Values() (waits, signals []uint64) {
	read := func(p *C.uint64_t, n C.uint32_t) []uint64 {
		if n == 0 {
			return nil
		}
		return append([]uint64(nil), unsafe.Slice((*uint64)(unsafe.Pointer(p)), int(n))...)
	}
	return read(t.c.pWaitSemaphoreValues, t.c.waitSemaphoreValueCount), read(t.c.pSignalSemaphoreValues, t.c.signalSemaphoreValueCount)
}
