package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

const windowTitle = "vkdep compositor"

// runWindow runs the demo in a GLFW window until Esc, the window closes, or f.frames frames.
// It runs on the main OS thread, as GLFW requires.
func runWindow(opts vkdep.Options, cfg Config, f flags) error {
	// glfw.Init returns nil without a display and the next GLFW call panics: check first.
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("no display (DISPLAY is not set): use -headless, or run under xvfb-run")
	}
	if err := glfw.Init(); err != nil {
		return fmt.Errorf("glfw: %w", err)
	}
	defer glfw.Terminate()
	if !glfw.VulkanSupported() {
		return errors.New("glfw: no Vulkan loader found")
	}
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI)
	win, err := glfw.CreateWindow(defaultWidth, defaultHeight, windowTitle, nil, nil)
	if err != nil {
		return fmt.Errorf("glfw: %w", err)
	}
	defer win.Destroy()

	opts.InstanceExtensions = win.GetRequiredInstanceExtensions()
	opts.DeviceExtensions = []string{vk.SwapchainExtension}
	d, err := vkdep.Open(opts)
	if err != nil {
		return err
	}
	fmt.Println("device:", d.Info())
	ctx := context.Background()
	closeDev := func() error {
		c, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return d.Close(c)
	}
	h := d.Handles()
	surface, err := createSurface(win, h.Instance)
	if err != nil {
		closeDev()
		return err
	}
	writeTrace := traceJobs(d, f.trace)
	err = runPresenting(ctx, d, win, surface, cfg, f)
	vk.DestroySurface(h.Instance, surface)
	if cerr := closeDev(); err == nil {
		err = cerr
	}
	if terr := writeTrace(); err == nil {
		err = terr
	}
	return err
}

// createSurface creates the window's Vulkan surface. GLFW takes the VkInstance as a Go value of
// pointer kind and returns the address of the surface handle: both conversions are done by
// reinterpreting a variable's bits, which the unsafe.Pointer rules allow and vet accepts.
func createSurface(win *glfw.Window, instance uint64) (vk.Surface, error) {
	inst := *(**byte)(unsafe.Pointer(&instance))
	addr, err := win.CreateWindowSurface(inst, nil)
	if err != nil {
		return 0, fmt.Errorf("glfw: %w", err)
	}
	return vk.Surface(**(**uint64)(unsafe.Pointer(&addr))), nil
}

// runPresenting runs the scene with a swapchain on surface.
func runPresenting(ctx context.Context, d *vkdep.Device, win *glfw.Window, surface vk.Surface, cfg Config, f flags) error {
	phys := vk.PhysicalDevice(d.Handles().PhysicalDevice)
	// The compositor needs a VkQueue that can compute and present; clients get the others.
	comp := 0
	fams := d.Info().QueueFamilies
	for i, q := range d.VkQueues() {
		ok, err := vk.SurfaceSupport(phys, q.Family, surface)
		if err == nil && ok && int(q.Family) < len(fams) && fams[q.Family].Compute {
			comp = i + 1
			break
		}
	}
	if comp == 0 {
		return errors.New("no VkQueue of the device can both compute and present to the window")
	}
	fbw, fbh := win.GetFramebufferSize()
	cfg.Width, cfg.Height = fbw, fbh
	s, err := NewScene(d, cfg, comp)
	if err != nil {
		return err
	}
	sw := &swapchain{s: s, phys: phys, surface: surface, vkq: d.VkQueues()[comp-1]}
	err = sw.run(ctx, win, f)
	// The swapchain goes first, while the scene's device wrapper is alive; idle makes sure no
	// frame or present still uses it (run may have returned early).
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if ierr := sw.idle(c); err == nil {
		err = ierr
	}
	sw.destroy()
	if cerr := s.Close(c); err == nil {
		err = cerr
	}
	return err
}

// swapchain presents the compositor's frames.
type swapchain struct {
	s       *Scene
	phys    vk.PhysicalDevice
	surface vk.Surface
	vkq     vkdep.VkQueue

	sc            vk.Swapchain
	images        []vk.Image
	done          []vk.Semaphore // per image: signalled by the compositor's job, waited on by present
	acquire       [compSlots]vk.Semaphore
	width, height int
}

// create (re)creates the swapchain for the window's current size. Nothing may be in flight.
func (w *swapchain) create(width, height int) error {
	vkd := w.s.g.VK
	caps, err := vk.QuerySurface(w.phys, w.surface)
	if err != nil {
		return err
	}
	if caps.CurrentWidth != 0xFFFFFFFF {
		width, height = int(caps.CurrentWidth), int(caps.CurrentHeight)
	}
	width = min(max(width, int(caps.MinWidth)), int(caps.MaxWidth))
	height = min(max(height, int(caps.MinHeight)), int(caps.MaxHeight))
	if width == 0 || height == 0 {
		return nil // minimised: keep the old one until the window is back
	}
	if caps.Usage&vk.ImageUsageTransferDst == 0 {
		return errors.New("the surface's images cannot be copied into (no TRANSFER_DST usage)")
	}
	formats, err := vk.SurfaceFormats(w.phys, w.surface)
	if err != nil {
		return err
	}
	// The compositor writes the bytes B, G, R, A, already sRGB-encoded; either 8-bit BGRA format
	// takes them as they are in a copy, and the presentation engine shows them as sRGB.
	var format *vk.SurfaceFormat
	for _, want := range []uint32{vk.FormatB8G8R8A8SRGB, vk.FormatB8G8R8A8UNORM} {
		for i := range formats {
			if formats[i].Format == want && formats[i].ColorSpace == vk.ColorSpaceSRGBNonlinear && format == nil {
				format = &formats[i]
			}
		}
	}
	if format == nil {
		return fmt.Errorf("the surface offers no 8-bit BGRA sRGB format (it offers %v)", formats)
	}
	alpha := uint32(vk.CompositeAlphaOpaque)
	if caps.CompositeAlpha&alpha == 0 {
		alpha = caps.CompositeAlpha & -caps.CompositeAlpha // the lowest supported bit
	}
	images := max(caps.MinImages, 3)
	if caps.MaxImages > 0 {
		images = min(images, caps.MaxImages)
	}
	sc, err := vkd.CreateSwapchain(vk.SwapchainConfig{
		Surface: w.surface, MinImages: images, Format: format.Format, ColorSpace: format.ColorSpace,
		Width: uint32(width), Height: uint32(height), Usage: vk.ImageUsageTransferDst,
		Transform: caps.CurrentTransform, CompositeAlpha: alpha,
		// FIFO is always there; under Xvfb it does not throttle, so frames are paced by the loop.
		PresentMode: vk.PresentFIFO, Old: w.sc,
	})
	if err != nil {
		return err
	}
	w.destroySwapchain()
	w.sc = sc
	if w.images, err = vkd.SwapchainImages(sc); err != nil {
		return err
	}
	for range w.images {
		sem, err := vkd.CreateBinarySemaphore()
		if err != nil {
			return err
		}
		w.done = append(w.done, sem)
	}
	for i := range w.acquire {
		if w.acquire[i] == 0 {
			if w.acquire[i], err = vkd.CreateBinarySemaphore(); err != nil {
				return err
			}
		}
	}
	w.width, w.height = width, height
	return w.s.comp.resize(width, height)
}

// idle waits until nothing uses the swapchain: the compositor's frames are done and the
// presentation queue is idle (a present's semaphore wait may still be pending).
func (w *swapchain) idle(ctx context.Context) error {
	if err := w.s.comp.waitIdle(ctx); err != nil {
		return err
	}
	w.vkq.Lock.Lock()
	defer w.vkq.Lock.Unlock()
	return vk.QueueWaitIdle(vk.Queue(w.vkq.Handle))
}

func (w *swapchain) destroySwapchain() {
	vkd := w.s.g.VK
	for _, sem := range w.done {
		vkd.DestroySemaphore(sem)
	}
	w.done = nil
	if w.sc != 0 {
		vkd.DestroySwapchain(w.sc)
		w.sc = 0
	}
}

// destroy frees the swapchain and its semaphores. Nothing may use them any more (idle).
func (w *swapchain) destroy() {
	w.destroySwapchain()
	for i, sem := range w.acquire {
		if sem != 0 {
			w.s.g.VK.DestroySemaphore(sem)
			w.acquire[i] = 0
		}
	}
}

// run is the frame loop: poll events, pace, acquire, composite, present.
func (w *swapchain) run(ctx context.Context, win *glfw.Window, f flags) error {
	s := w.s
	var hangs, kills int
	win.SetKeyCallback(func(_ *glfw.Window, key glfw.Key, _ int, action glfw.Action, _ glfw.ModifierKey) {
		if action != glfw.Press {
			return
		}
		switch key {
		case glfw.KeyH:
			s.Hang(hangs)
			hangs++
		case glfw.KeyK:
			s.Kill(kills)
			kills++
		case glfw.KeyF:
			s.ToggleFlood()
		case glfw.KeyP:
			s.TogglePause()
		case glfw.KeyEscape:
			win.SetShouldClose(true)
		}
	})
	fbw, fbh := win.GetFramebufferSize()
	if err := w.create(fbw, fbh); err != nil {
		return err
	}
	s.Run()
	interval := time.Duration(float64(time.Second) / s.cfg.FPS)
	next := time.Now()
	recreate := false
	presented := 0
	for !win.ShouldClose() && (f.frames == 0 || presented < f.frames) {
		glfw.PollEvents()
		if presented == f.resizeAt {
			win.SetSize(800, 450)
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		if time.Since(next) > interval {
			next = time.Now()
		}
		fbw, fbh := win.GetFramebufferSize()
		if fbw == 0 || fbh == 0 {
			glfw.WaitEventsTimeout(0.1) // minimised
			continue
		}
		if recreate || fbw != w.width || fbh != w.height {
			if err := w.idle(ctx); err != nil {
				return err
			}
			if err := w.create(fbw, fbh); err != nil {
				return err
			}
			recreate = false
		}
		slot := s.comp.frame % compSlots
		// The slot's acquire semaphore was last waited on by the frame that used the slot: that
		// frame must be done before the semaphore is handed to the next acquire
		// (VUID-vkAcquireNextImageKHR-semaphore-01779).
		if err := s.comp.slots[slot].fence.Wait(ctx); err != nil && ctx.Err() != nil {
			return err
		}
		idx, suboptimal, err := s.g.VK.AcquireImage(w.sc, uint64(2*time.Second), w.acquire[slot])
		switch {
		case errors.Is(err, vk.ErrorOutOfDateKHR):
			recreate = true
			continue
		case errors.Is(err, vk.Timeout):
			continue
		case err != nil:
			return fmt.Errorf("vkAcquireNextImageKHR: %w", err)
		}
		recreate = suboptimal
		fence, _, err := s.comp.Frame(ctx, &present{image: w.images[idx], acquire: w.acquire[slot], done: w.done[idx]})
		if err != nil {
			return err
		}
		if err := w.waitBeforePresent(ctx, fence); err != nil {
			return fmt.Errorf("compositor frame: %w", err)
		}
		err = w.present(win, idx)
		switch {
		case errors.Is(err, errQuit):
			continue
		case errors.Is(err, vk.ErrorOutOfDateKHR), errors.Is(err, vk.SuboptimalKHR):
			recreate = true
		case err != nil:
			return fmt.Errorf("vkQueuePresentKHR: %w", err)
		}
		presented++
	}
	if err := w.idle(ctx); err != nil {
		return err
	}
	fmt.Print(s.report(presented, time.Since(s.start)))
	if f.screenshot != "" {
		return screenshot(f.screenshot)
	}
	return nil
}

var errQuit = errors.New("quit while waiting to present")

// present presents image idx under the VkQueue's lock.
//
// On a VkQueue shared with the clients (lavapipe) it first makes sure that no client work is in
// the driver. lavapipe's vkQueuePresentKHR queues the present behind everything submitted before
// it and blocks the calling thread until it has run, and the present must hold the VkQueue's lock
// all along. Behind hung client work that would hold the lock for as long as the hang lasts, and
// vkdep's queue workers wait for that lock while holding their queue's own lock, which the
// completion goroutine needs for the timeout check: the ban that ends the hang would never come.
// So the check is made under the lock (no new work can reach the driver meanwhile); when client
// work is there, the lock is let go, and the present waits for the work to drain, events still
// handled. Normal client frames drain in milliseconds; hung work drains when the ban's abort word
// has ended it, which is the stall the HUD shows.
func (w *swapchain) present(win *glfw.Window, idx uint32) error {
	for {
		w.vkq.Lock.Lock()
		if !w.s.SharedVkQueue() || !w.s.clientWorkInDriver() {
			err := vk.QueuePresent(vk.Queue(w.vkq.Handle), w.done[idx], w.sc, idx)
			w.vkq.Lock.Unlock()
			return err
		}
		w.vkq.Lock.Unlock()
		glfw.PollEvents()
		if win.ShouldClose() {
			return errQuit
		}
		time.Sleep(time.Millisecond)
	}
}

// waitBeforePresent waits until the frame may be presented. The present waits on a binary
// semaphore the frame's job signals, and Vulkan requires that signal to have been submitted first:
// with a VkQueue of its own, the compositor waits for just that (Fence.WaitSubmitted) and does
// not block on the GPU. On a VkQueue shared with the clients it waits for the frame to complete,
// so that the present (see present) has nothing of its own to wait for in the driver.
func (w *swapchain) waitBeforePresent(ctx context.Context, f vkdep.Fence) error {
	if w.s.SharedVkQueue() {
		return f.Wait(ctx)
	}
	return f.WaitSubmitted(ctx)
}

// screenshot saves the demo's window as a PNG with xwd and ImageMagick's convert (the Debian one
// in /usr/bin: a different convert may sit earlier on PATH).
func screenshot(path string) error {
	// Let the X server show the last present before reading it back.
	time.Sleep(300 * time.Millisecond)
	glfw.PollEvents()
	tmp, err := os.MkdirTemp("", "demo-shot")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	xwdFile := filepath.Join(tmp, "window.xwd")
	if out, err := exec.Command("xwd", "-silent", "-name", windowTitle, "-out", xwdFile).CombinedOutput(); err != nil {
		return fmt.Errorf("xwd: %v: %s", err, out)
	}
	if out, err := exec.Command("/usr/bin/convert", "xwd:"+xwdFile, "png:"+path).CombinedOutput(); err != nil {
		return fmt.Errorf("/usr/bin/convert: %v: %s", err, out)
	}
	fmt.Println("screenshot written to", path)
	return nil
}
