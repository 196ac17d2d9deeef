package vk

/*
#include <stdlib.h>
#include "helpers.h"
#include "objects.h"
*/
import "C"

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Queue is a VkQueue.
type Queue uint64

// QueueRequest asks for Count queues of one family at device creation.
type QueueRequest struct {
	Family uint32
	Count  uint32
}

// Device is a VkDevice with the device-level entry points vkdep calls on hot paths. It may have
// been created here (Destroy destroys it) or wrapped from an application (Destroy leaves it alone).
type Device struct {
	Handle   uint64
	Physical PhysicalInfo
	// Families lists the queue families queues were created on; buffers are shared by all of them.
	Families []uint32
	disp     *C.vkdep_dispatch
	owned    bool
	// faultHook is the fault-injection seam (fault.go).
	faultHook atomic.Pointer[FaultHook]
}

// CreateDevice creates a device with timelineSemaphore and synchronization2 enabled and the
// requested queues; features, when not nil, names further core features to enable (the caller
// has checked them with Missing and frees the set).
func CreateDevice(phys PhysicalInfo, queues []QueueRequest, extensions []string, features *FeatureSet) (*Device, error) {
	if !phys.TimelineSemaphore || !phys.Synchronization2 {
		return nil, fmt.Errorf("vk: %s lacks timelineSemaphore or synchronization2: %w", phys.Name, ErrorFeatureNotPresent)
	}
	exts := append([]string(nil), extensions...)
	if !phys.CoreSync2 {
		exts = append(exts, "VK_KHR_synchronization2")
	}
	fams := make([]C.uint32_t, len(queues))
	counts := make([]C.uint32_t, len(queues))
	families := make([]uint32, len(queues))
	for i, q := range queues {
		fams[i], counts[i], families[i] = C.uint32_t(q.Family), C.uint32_t(q.Count), q.Family
	}
	cexts, free := cStrings(exts)
	defer free()
	core := C.int(0)
	if phys.CoreSync2 {
		core = 1
	}
	var extra *C.vkdep_features
	if features != nil {
		extra = features.c
	}
	var h C.uint64_t
	if err := result(C.vkdep_create_device(C.uint64_t(phys.Handle), C.uint32_t(len(queues)), &fams[0], &counts[0],
		core, C.uint32_t(len(exts)), cexts, extra, &h)); err != nil {
		return nil, err
	}
	d, err := wrap(phys, uint64(h), families, true)
	if err != nil {
		C.vkdep_destroy_device(h)
		return nil, err
	}
	return d, nil
}

// WrapDevice adopts a VkDevice created elsewhere. Destroy will not destroy it.
func WrapDevice(phys PhysicalInfo, handle uint64, families []uint32) (*Device, error) {
	if handle == 0 {
		return nil, errNullHandle
	}
	return wrap(phys, handle, append([]uint32(nil), families...), false)
}

func wrap(phys PhysicalInfo, handle uint64, families []uint32, owned bool) (*Device, error) {
	disp := (*C.vkdep_dispatch)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vkdep_dispatch{}))))
	if err := result(C.vkdep_load_dispatch(C.uint64_t(handle), disp)); err != nil {
		C.free(unsafe.Pointer(disp))
		return nil, fmt.Errorf("vk: loading timeline/synchronization2 entry points: %w", err)
	}
	return &Device{Handle: handle, Physical: phys, Families: families, disp: disp, owned: owned}, nil
}

// Owned reports whether Destroy destroys the VkDevice.
func (d *Device) Owned() bool { return d.owned }

// Destroy frees the dispatch table and, when this binding created the device, destroys it. The
// caller has made sure nothing of the device is in use.
func (d *Device) Destroy() {
	if d.owned && d.Handle != 0 {
		C.vkdep_destroy_device(C.uint64_t(d.Handle))
	}
	d.Handle = 0
	if d.disp != nil {
		C.free(unsafe.Pointer(d.disp))
		d.disp = nil
	}
}

// Queue returns queue index of family.
func (d *Device) Queue(family, index uint32) Queue {
	return Queue(C.vkdep_get_queue(C.uint64_t(d.Handle), C.uint32_t(family), C.uint32_t(index)))
}

// WaitIdle is vkDeviceWaitIdle.
func (d *Device) WaitIdle() error { return result(C.vkdep_device_wait_idle(C.uint64_t(d.Handle))) }

// QueueWaitIdle is vkQueueWaitIdle. The caller holds the queue's external-synchronisation lock.
func QueueWaitIdle(q Queue) error { return result(C.vkdep_queue_wait_idle(C.uint64_t(q))) }
