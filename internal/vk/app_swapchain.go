package vk

// Presenting (surfaces, swapchains), for cmd/demo only: the library (vkdep/) never presents.

/*
#include "app_swapchain.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Presentation handles.
type (
	Surface   uint64 // VkSurfaceKHR, created by the windowing library (GLFW)
	Swapchain uint64 // VkSwapchainKHR
	Image     uint64 // VkImage
)

// Formats, colour spaces, present modes, usages and layouts the demo's presentation path uses.
const (
	FormatB8G8R8A8UNORM     = C.VK_FORMAT_B8G8R8A8_UNORM
	FormatB8G8R8A8SRGB      = C.VK_FORMAT_B8G8R8A8_SRGB
	ColorSpaceSRGBNonlinear = C.VK_COLOR_SPACE_SRGB_NONLINEAR_KHR

	PresentImmediate = C.VK_PRESENT_MODE_IMMEDIATE_KHR
	PresentMailbox   = C.VK_PRESENT_MODE_MAILBOX_KHR
	PresentFIFO      = C.VK_PRESENT_MODE_FIFO_KHR

	ImageUsageTransferDst = C.VK_IMAGE_USAGE_TRANSFER_DST_BIT
	ImageUsageStorage     = C.VK_IMAGE_USAGE_STORAGE_BIT

	CompositeAlphaOpaque = C.VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR

	LayoutUndefined   = C.VK_IMAGE_LAYOUT_UNDEFINED
	LayoutTransferDst = C.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL
	LayoutPresentSrc  = C.VK_IMAGE_LAYOUT_PRESENT_SRC_KHR
)

// SwapchainExtension is the device extension presenting needs.
const SwapchainExtension = "VK_KHR_swapchain"

// SurfaceCaps is VkSurfaceCapabilitiesKHR, flattened. CurrentWidth is 0xFFFFFFFF when the surface
// lets the swapchain choose its size.
type SurfaceCaps struct {
	MinImages, MaxImages                       uint32
	CurrentWidth, CurrentHeight                uint32
	MinWidth, MinHeight, MaxWidth, MaxHeight   uint32
	Usage, CurrentTransform, CompositeAlpha, _ uint32
}

var (
	_ [unsafe.Sizeof(SurfaceCaps{}) - C.sizeof_vkdep_surface_caps]struct{}
	_ [C.sizeof_vkdep_surface_caps - unsafe.Sizeof(SurfaceCaps{})]struct{}
)

// SurfaceFormat is one format/colour-space pair a surface supports.
type SurfaceFormat struct {
	Format, ColorSpace uint32
}

// DestroySurface destroys a surface of inst. No swapchain of it may be left.
func DestroySurface(inst uint64, s Surface) {
	C.vkdep_destroy_surface(C.uint64_t(inst), C.uint64_t(s))
}

// SurfaceSupport reports whether family of phys can present to s.
func SurfaceSupport(phys PhysicalDevice, family uint32, s Surface) (bool, error) {
	var ok C.uint32_t
	err := result(C.vkdep_surface_support(C.uint64_t(phys), C.uint32_t(family), C.uint64_t(s), &ok))
	return ok != 0, err
}

// QuerySurface reads the surface's capabilities; its current extent follows the window size.
func QuerySurface(phys PhysicalDevice, s Surface) (SurfaceCaps, error) {
	var caps SurfaceCaps
	err := result(C.vkdep_get_surface_caps(C.uint64_t(phys), C.uint64_t(s), (*C.vkdep_surface_caps)(unsafe.Pointer(&caps))))
	return caps, err
}

// SurfaceFormats lists the formats phys can present to s in (at most 64).
func SurfaceFormats(phys PhysicalDevice, s Surface) ([]SurfaceFormat, error) {
	var formats, spaces [64]C.uint32_t
	n := C.uint32_t(len(formats))
	if err := result(C.vkdep_surface_formats(C.uint64_t(phys), C.uint64_t(s), &n, &formats[0], &spaces[0])); err != nil {
		return nil, err
	}
	out := make([]SurfaceFormat, n)
	for i := range out {
		out[i] = SurfaceFormat{Format: uint32(formats[i]), ColorSpace: uint32(spaces[i])}
	}
	return out, nil
}

// PresentModes lists the present modes phys supports for s (at most 16).
func PresentModes(phys PhysicalDevice, s Surface) ([]uint32, error) {
	var modes [16]C.uint32_t
	n := C.uint32_t(len(modes))
	if err := result(C.vkdep_surface_present_modes(C.uint64_t(phys), C.uint64_t(s), &n, &modes[0])); err != nil {
		return nil, err
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(modes[i])
	}
	return out, nil
}

// SwapchainConfig says how to create a swapchain; Old is the swapchain being replaced (resize),
// or 0.
type SwapchainConfig struct {
	Surface                   Surface
	MinImages                 uint32
	Format, ColorSpace        uint32
	Width, Height             uint32
	Usage                     uint32
	Transform, CompositeAlpha uint32
	PresentMode               uint32
	Old                       Swapchain
}

// CreateSwapchain is vkCreateSwapchainKHR with one exclusive queue family and clipping on.
func (d *Device) CreateSwapchain(cfg SwapchainConfig) (Swapchain, error) {
	var h C.uint64_t
	err := result(C.vkdep_create_swapchain(C.uint64_t(d.Handle), C.uint64_t(cfg.Surface), C.uint32_t(cfg.MinImages),
		C.uint32_t(cfg.Format), C.uint32_t(cfg.ColorSpace), C.uint32_t(cfg.Width), C.uint32_t(cfg.Height),
		C.uint32_t(cfg.Usage), C.uint32_t(cfg.Transform), C.uint32_t(cfg.CompositeAlpha), C.uint32_t(cfg.PresentMode),
		C.uint64_t(cfg.Old), &h))
	if err != nil {
		return 0, fmt.Errorf("vk: vkCreateSwapchainKHR %dx%d: %w", cfg.Width, cfg.Height, err)
	}
	return Swapchain(h), nil
}

// DestroySwapchain destroys s. No acquire, command or present using its images may be pending.
func (d *Device) DestroySwapchain(s Swapchain) {
	C.vkdep_destroy_swapchain(C.uint64_t(d.Handle), C.uint64_t(s))
}

// SwapchainImages lists the swapchain's images (at most 16).
func (d *Device) SwapchainImages(s Swapchain) ([]Image, error) {
	var imgs [16]C.uint64_t
	n := C.uint32_t(len(imgs))
	if err := result(C.vkdep_swapchain_images(C.uint64_t(d.Handle), C.uint64_t(s), &n, &imgs[0])); err != nil {
		return nil, err
	}
	out := make([]Image, n)
	for i := range out {
		out[i] = Image(imgs[i])
	}
	return out, nil
}

// AcquireImage is vkAcquireNextImageKHR signalling the binary semaphore sem. It returns the image
// index; suboptimal reports VK_SUBOPTIMAL_KHR (the image is usable, but the swapchain should be
// recreated); VK_ERROR_OUT_OF_DATE_KHR comes back as the error ErrorOutOfDateKHR.
func (d *Device) AcquireImage(s Swapchain, timeout uint64, sem Semaphore) (index uint32, suboptimal bool, err error) {
	var i C.uint32_t
	r := C.vkdep_acquire_image(C.uint64_t(d.Handle), C.uint64_t(s), C.uint64_t(timeout), C.uint64_t(sem), &i)
	if r == C.VK_SUBOPTIMAL_KHR {
		return uint32(i), true, nil
	}
	return uint32(i), false, result(r)
}

// QueuePresent is vkQueuePresentKHR of one image, waiting on the binary semaphore sem. The caller
// holds q's external-synchronisation lock (VUID-vkQueuePresentKHR-queue-parameter host
// synchronisation). VK_SUBOPTIMAL_KHR comes back as the error SuboptimalKHR.
func QueuePresent(q Queue, sem Semaphore, s Swapchain, index uint32) error {
	return result(C.vkdep_queue_present(C.uint64_t(q), C.uint64_t(sem), C.uint64_t(s), C.uint32_t(index)))
}

// ImageBarrier records a layout transition of img's single colour subresource with a
// synchronization2 image barrier.
func (d *Device) ImageBarrier(c CommandBuffer, img Image, oldLayout, newLayout uint32, srcStage, srcAccess, dstStage, dstAccess uint64) {
	C.vkdep_cmd_image_barrier(d.disp, C.uint64_t(c), C.uint64_t(img), C.uint32_t(oldLayout), C.uint32_t(newLayout),
		C.uint64_t(srcStage), C.uint64_t(srcAccess), C.uint64_t(dstStage), C.uint64_t(dstAccess))
}

// CopyBufferToImage records a copy of a tightly packed width×height texel buffer into img, which
// is in LayoutTransferDst.
func (c CommandBuffer) CopyBufferToImage(b *Buffer, img Image, width, height uint32) {
	C.vkdep_cmd_copy_buffer_to_image(C.uint64_t(c), C.uint64_t(b.Handle), C.uint64_t(img), C.uint32_t(width), C.uint32_t(height))
}
