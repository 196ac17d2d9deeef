package vk

/*
// No cgo noescape directive here: with validation on, the debug messenger calls back into Go
// during vkQueueSubmit2, vkWaitSemaphores and vkGetSemaphoreCounterValue, and a callback can grow
// and move the calling goroutine's stack under a pointer C still holds. The slices passed are
// heap-allocated and reused by the callers, so escaping costs nothing per call.
#include "helpers.h"
#include "objects.h"

static void vkdep_sync2_constants(uint64_t *out) {
	const uint64_t v[] = {
	    VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT,
	    VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_2_TRANSFER_BIT, VK_PIPELINE_STAGE_2_HOST_BIT,
	    VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT, VK_ACCESS_2_TRANSFER_READ_BIT, VK_ACCESS_2_TRANSFER_WRITE_BIT,
	    VK_ACCESS_2_HOST_READ_BIT, VK_ACCESS_2_HOST_WRITE_BIT, VK_ACCESS_2_MEMORY_READ_BIT,
	    VK_ACCESS_2_MEMORY_WRITE_BIT, VK_ACCESS_2_SHADER_STORAGE_READ_BIT, VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT,
	};
	for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++)
		out[i] = v[i];
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Semaphore is a VkSemaphore, binary or timeline.
type Semaphore uint64

// Pipeline stages (VkPipelineStageFlags2) and access flags (VkAccessFlags2) used by vkdep. The
// headers declare these as static const variables, not enum constants, so they are written out here
// and checked against the headers at init.
const (
	StageNone          uint64 = 0
	StageTopOfPipe     uint64 = 0x1
	StageColorOutput   uint64 = 0x400
	StageComputeShader uint64 = 0x800
	StageTransfer      uint64 = 0x1000
	StageHost          uint64 = 0x4000
	StageAllCommands   uint64 = 0x10000

	AccessTransferRead  uint64 = 0x800
	AccessTransferWrite uint64 = 0x1000
	AccessHostRead      uint64 = 0x2000
	AccessHostWrite     uint64 = 0x4000
	AccessMemoryRead    uint64 = 0x8000
	AccessMemoryWrite   uint64 = 0x10000
	AccessShaderRead    uint64 = 0x200000000
	AccessShaderWrite   uint64 = 0x400000000
)

func init() {
	var c [14]C.uint64_t
	C.vkdep_sync2_constants(&c[0])
	ours := [14]uint64{StageTopOfPipe, StageColorOutput, StageComputeShader, StageTransfer, StageHost,
		StageAllCommands, AccessTransferRead, AccessTransferWrite, AccessHostRead, AccessHostWrite,
		AccessMemoryRead, AccessMemoryWrite, AccessShaderRead, AccessShaderWrite}
	for i := range ours {
		if ours[i] != uint64(c[i]) {
			panic("vk: stage/access constant out of step with vulkan_core.h")
		}
	}
}

// SemOp is one semaphore wait or signal of a submit: a VkSemaphoreSubmitInfo without its
// boilerplate. Value is ignored for binary semaphores.
type SemOp struct {
	Semaphore Semaphore
	Value     uint64
	Stage     uint64
}

// SubmitDesc says how many entries one VkSubmitInfo2 takes from the flat arrays given to Submit:
// its Waits, then its Signals, from ops; its Cmds from cmds.
type SubmitDesc struct {
	Waits, Cmds, Signals uint32
}

// The Go and C layouts must agree: Submit hands the slices to C as they are.
var (
	_ [unsafe.Sizeof(SemOp{}) - C.sizeof_vkdep_sem_op]struct{}
	_ [C.sizeof_vkdep_sem_op - unsafe.Sizeof(SemOp{})]struct{}
	_ [unsafe.Sizeof(SubmitDesc{}) - C.sizeof_vkdep_submit_desc]struct{}
	_ [C.sizeof_vkdep_submit_desc - unsafe.Sizeof(SubmitDesc{})]struct{}
)

// CreateTimeline creates a timeline semaphore starting at initial.
func (d *Device) CreateTimeline(initial uint64) (Semaphore, error) {
	var s C.uint64_t
	err := result(C.vkdep_create_semaphore(C.uint64_t(d.Handle), 1, C.uint64_t(initial), &s))
	return Semaphore(s), err
}

// CreateBinarySemaphore creates a binary semaphore.
func (d *Device) CreateBinarySemaphore() (Semaphore, error) {
	var s C.uint64_t
	err := result(C.vkdep_create_semaphore(C.uint64_t(d.Handle), 0, 0, &s))
	return Semaphore(s), err
}

// DestroySemaphore destroys s. No wait or signal of it may be pending or running.
func (d *Device) DestroySemaphore(s Semaphore) {
	C.vkdep_destroy_semaphore(C.uint64_t(d.Handle), C.uint64_t(s))
}

// Submit issues one vkQueueSubmit2 of len(descs) VkSubmitInfo2, built in C from the flat arrays
// (one cgo crossing, no allocation for up to 32 submits, 128 semaphore ops and 128 command
// buffers). The caller holds q's external-synchronisation lock (VUID-vkQueueSubmit2-queue-parameter
// host synchronisation) and keeps the slices unchanged for the call only.
func (d *Device) Submit(q Queue, descs []SubmitDesc, ops []SemOp, cmds []CommandBuffer) error {
	var pd *C.vkdep_submit_desc
	var po *C.vkdep_sem_op
	var pc *C.uint64_t
	if len(descs) > 0 {
		pd = (*C.vkdep_submit_desc)(unsafe.Pointer(&descs[0]))
	}
	if len(ops) > 0 {
		po = (*C.vkdep_sem_op)(unsafe.Pointer(&ops[0]))
	}
	if len(cmds) > 0 {
		pc = (*C.uint64_t)(unsafe.Pointer(&cmds[0]))
	}
	if err := d.fault(FaultSubmit); err != nil {
		return err
	}
	return result(C.vkdep_queue_submit2(d.disp, C.uint64_t(q), C.uint32_t(len(descs)), pd, po, pc))
}

// WaitAll is vkWaitSemaphores over sems[i] >= values[i], all of them, for at most timeout
// nanoseconds. It returns nil, Timeout, or an error; values must be as long as sems.
func (d *Device) WaitAll(sems []Semaphore, values []uint64, timeout uint64) error {
	if len(values) != len(sems) {
		return fmt.Errorf("vk: WaitAll of %d semaphores with %d values: %w", len(sems), len(values), ErrInvalidArgs)
	}
	return d.wait(false, sems, values, timeout, 0, nil)
}

// WaitAllRead is WaitAll that also reads every counter into counters after the wait, in the same
// cgo crossing (a watch thread of the single-semaphore waiter: one crossing per completion).
// values and counters must be as long as sems.
func (d *Device) WaitAllRead(sems []Semaphore, values []uint64, timeout uint64, counters []uint64) error {
	if len(values) != len(sems) || len(counters) != len(sems) {
		return fmt.Errorf("vk: WaitAllRead of %d semaphores with %d values and %d counters: %w",
			len(sems), len(values), len(counters), ErrInvalidArgs)
	}
	return d.wait(false, sems, values, timeout, 0, counters)
}

// WaitAny is vkWaitSemaphores until one of sems[i] >= values[i], for at most timeout nanoseconds.
// It returns nil, Timeout, or an error. When counters is not nil it also reads the counters of
// sems[first:] into counters[first:] after the wait, in the same cgo crossing. values, and
// counters when given, must be as long as sems, and first within it: C would otherwise read or
// write past them.
func (d *Device) WaitAny(sems []Semaphore, values []uint64, timeout uint64, first int, counters []uint64) error {
	switch {
	case len(values) != len(sems):
		return fmt.Errorf("vk: WaitAny of %d semaphores with %d values: %w", len(sems), len(values), ErrInvalidArgs)
	case counters != nil && len(counters) != len(sems):
		return fmt.Errorf("vk: WaitAny of %d semaphores with %d counters: %w", len(sems), len(counters), ErrInvalidArgs)
	case first < 0 || first > len(sems):
		return fmt.Errorf("vk: WaitAny: first counter %d out of range for %d semaphores: %w", first, len(sems), ErrInvalidArgs)
	}
	return d.wait(true, sems, values, timeout, first, counters)
}

func (d *Device) wait(any bool, sems []Semaphore, values []uint64, timeout uint64, first int, counters []uint64) error {
	if len(sems) == 0 {
		return nil
	}
	a := C.uint32_t(0)
	if any {
		a = 1
	}
	var pc *C.uint64_t
	if counters != nil {
		pc = (*C.uint64_t)(unsafe.Pointer(&counters[0]))
	}
	if err := d.fault(FaultWait); err != nil {
		return err
	}
	return result(C.vkdep_wait_semaphores(d.disp, a, C.uint32_t(len(sems)),
		(*C.uint64_t)(unsafe.Pointer(&sems[0])), (*C.uint64_t)(unsafe.Pointer(&values[0])), C.uint64_t(timeout), C.uint32_t(first), pc))
}

// Signal is vkSignalSemaphore: a host signal of timeline s to value.
func (d *Device) Signal(s Semaphore, value uint64) error {
	if err := d.fault(FaultSignal); err != nil {
		return err
	}
	return result(C.vkdep_signal_semaphore(d.disp, C.uint64_t(s), C.uint64_t(value)))
}

// Counter is vkGetSemaphoreCounterValue.
func (d *Device) Counter(s Semaphore) (uint64, error) {
	var v C.uint64_t
	err := result(C.vkdep_semaphore_counter(d.disp, C.uint64_t(s), &v))
	return uint64(v), err
}

// ErrInvalidArgs is returned for arguments that do not fit together (slice lengths), before any
// Vulkan call is made.
var ErrInvalidArgs = errors.New("vk: invalid arguments")
