// Package extdev plays an application that created its own Vulkan device, for the tests and
// examples of vkdep.Wrap. Everything here is plain <vulkan/vulkan.h> calls in C, independent of
// vkdep's binding (internal/vk): an instance (optionally with the Khronos validation layer and a
// debug messenger that records every warning and error), a device with one queue and the
// features a test asks for, and the few calls an application makes around vkdep (semaphores,
// vkQueueSubmit, vkWaitSemaphores).
package extdev

/*
#cgo LDFLAGS: -lvulkan
#include <stdlib.h>
#include "extdev.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"sync"
	"time"
	"unsafe"
)

// Config says what device to create.
type Config struct {
	// APIVersion is the instance's VkApplicationInfo.apiVersion, packed; 0 means 1.3.
	APIVersion uint32
	// NoTimeline and NoSync2 leave timelineSemaphore or synchronization2 disabled.
	NoTimeline, NoSync2 bool
	// Validate loads the Khronos validation layer with a messenger that records its warnings
	// and errors (Messages).
	Validate bool
}

// Version packs a Vulkan version as VK_MAKE_API_VERSION(0, major, minor, patch).
func Version(major, minor, patch uint32) uint32 { return major<<22 | minor<<12 | patch }

// Device is the application's device. Its handles are what the application would pass to
// vkdep.Wrap.
type Device struct {
	Instance, PhysicalDevice, Device uint64
	APIVersion                       uint32
	// CreateInfo is the address of the VkDeviceCreateInfo given to vkCreateDevice, in C memory
	// that lives until Destroy.
	CreateInfo uintptr
	Family     uint32 // the family of the one queue; it supports compute
	Queue      uint64
	// Lock is the application's lock for Queue, a *sync.Mutex: every submit to it, the
	// application's and (once wrapped with it) vkdep's, holds it. An application that lets vkdep
	// make the lock sets it to vkdep.Device.VkQueues()[i].Lock after wrapping.
	Lock sync.Locker

	c      *C.extdev
	handle cgo.Handle
	msgs   *messages
}

type messages struct {
	mu   sync.Mutex
	list []string
}

// New creates the instance and device.
func New(cfg Config) (*Device, error) {
	api := cfg.APIVersion
	if api == 0 {
		api = Version(1, 3, 0)
	}
	m := &messages{}
	h := cgo.NewHandle(m)
	var c *C.extdev
	var step *C.char
	r := C.extdev_create(C.uint32_t(api), cbool(cfg.Validate), cbool(!cfg.NoTimeline), cbool(!cfg.NoSync2),
		C.uintptr_t(h), &c, &step)
	if r != C.VK_SUCCESS {
		h.Delete()
		return nil, fmt.Errorf("extdev: %s: VkResult %d", C.GoString(step), int(r))
	}
	return &Device{
		Instance: uint64(uintptr(unsafe.Pointer(c.instance))), PhysicalDevice: uint64(uintptr(unsafe.Pointer(c.phys))),
		Device: uint64(uintptr(unsafe.Pointer(c.device))), APIVersion: api,
		CreateInfo: uintptr(unsafe.Pointer(&c.ci)), Family: uint32(c.family), Queue: uint64(uintptr(unsafe.Pointer(c.queue))),
		Lock: &sync.Mutex{}, c: c, handle: h, msgs: m,
	}, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

//export extdevMessage
func extdevMessage(user C.uintptr_t, severity C.int, id, text *C.char) {
	m := cgo.Handle(user).Value().(*messages)
	sev := "warning"
	if severity&C.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT != 0 {
		sev = "error"
	}
	m.mu.Lock()
	m.list = append(m.list, fmt.Sprintf("%s [%s] %s", sev, C.GoString(id), C.GoString(text)))
	m.mu.Unlock()
}

// Messages returns the validation messages recorded so far and forgets them.
func (d *Device) Messages() []string {
	d.msgs.mu.Lock()
	defer d.msgs.mu.Unlock()
	out := d.msgs.list
	d.msgs.list = nil
	return out
}

// Destroy destroys the device, the messenger and the instance. Messages stays readable.
func (d *Device) Destroy() {
	if d.c == nil {
		return
	}
	C.extdev_destroy(d.c)
	d.c = nil
	d.handle.Delete()
}

func vkErr(what string, r C.VkResult) error {
	if r == C.VK_SUCCESS {
		return nil
	}
	return fmt.Errorf("extdev: %s: VkResult %d", what, int(r))
}

// Semaphore creates a binary semaphore, or a timeline one starting at initial.
func (d *Device) Semaphore(timeline bool, initial uint64) (uint64, error) {
	var s C.uint64_t
	err := vkErr("vkCreateSemaphore", C.extdev_create_semaphore(d.c, cbool(timeline), C.uint64_t(initial), &s))
	return uint64(s), err
}

// DestroySemaphore destroys a semaphore made by Semaphore.
func (d *Device) DestroySemaphore(s uint64) { C.extdev_destroy_semaphore(d.c, C.uint64_t(s)) }

// Sem is one semaphore wait or signal of Submit; Value is ignored for a binary semaphore.
type Sem struct {
	Semaphore, Value uint64
}

// Submit is one vkQueueSubmit to Queue, waiting at all commands, made under Lock as the
// application always does.
func (d *Device) Submit(waits []Sem, cmds []uint64, signals []Sem) error {
	ws, wv := split(waits)
	ss, sv := split(signals)
	ptr := func(s []C.uint64_t) *C.uint64_t {
		if len(s) == 0 {
			return nil
		}
		return &s[0]
	}
	cc := make([]C.uint64_t, len(cmds))
	for i, c := range cmds {
		cc[i] = C.uint64_t(c)
	}
	d.Lock.Lock()
	r := C.extdev_submit(d.c, C.uint32_t(len(waits)), ptr(ws), ptr(wv), C.uint32_t(len(cmds)), ptr(cc),
		C.uint32_t(len(signals)), ptr(ss), ptr(sv))
	d.Lock.Unlock()
	return vkErr("vkQueueSubmit", r)
}

func split(ops []Sem) (sems, values []C.uint64_t) {
	for _, o := range ops {
		sems = append(sems, C.uint64_t(o.Semaphore))
		values = append(values, C.uint64_t(o.Value))
	}
	return sems, values
}

// Wait blocks in vkWaitSemaphores until the timeline sem reaches value, or timeout passes.
func (d *Device) Wait(sem, value uint64, timeout time.Duration) error {
	r := C.extdev_wait(d.c, C.uint64_t(sem), C.uint64_t(value), C.uint64_t(timeout.Nanoseconds()))
	if r == C.VK_TIMEOUT {
		return fmt.Errorf("extdev: vkWaitSemaphores: value %d not reached within %v", value, timeout)
	}
	return vkErr("vkWaitSemaphores", r)
}

// Signal is vkSignalSemaphore: the host moves the timeline sem to value.
func (d *Device) Signal(sem, value uint64) error {
	return vkErr("vkSignalSemaphore", C.extdev_signal(d.c, C.uint64_t(sem), C.uint64_t(value)))
}

// Counter is vkGetSemaphoreCounterValue.
func (d *Device) Counter(sem uint64) (uint64, error) {
	var v C.uint64_t
	err := vkErr("vkGetSemaphoreCounterValue", C.extdev_counter(d.c, C.uint64_t(sem), &v))
	return uint64(v), err
}

// WaitIdle is vkDeviceWaitIdle, under Lock: it needs host access to every queue of the device
// externally synchronised, and Queue is the device's only queue.
func (d *Device) WaitIdle() error {
	d.Lock.Lock()
	defer d.Lock.Unlock()
	return vkErr("vkDeviceWaitIdle", C.extdev_device_wait_idle(d.c))
}
