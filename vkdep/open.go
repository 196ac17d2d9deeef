package vkdep

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"vkdep.dev/internal/vk"
)

// Opening a device: Options, what Open finds (DeviceInfo, ListDevices) and how it chooses. Wrap
// (wrap.go) is the counterpart for a device the application created.

// Options configure Open. The zero value opens the best device without validation.
type Options struct {
	// Device chooses the physical device: an index into ListDevices, a case-insensitive
	// substring of its name, or "lavapipe" (Mesa's CPU driver). Empty means $VKDEP_DEVICE, and
	// when that is empty too, the best device: discrete GPU, integrated, virtual, then CPU.
	Device string
	// Validate loads the Khronos validation layer. Also turned on by VKDEP_VALIDATE=1. Every
	// warning and error it prints goes to OnValidation.
	Validate bool
	// SyncValidation chooses whether validation includes synchronization validation.
	SyncValidation SyncMode
	// OnValidation receives validation messages. It may run on any goroutine, including inside
	// a Vulkan call made by vkdep, and must not call vkdep. Nil prints them to standard error.
	OnValidation func(ValidationMessage)
	// Logger receives vkdep's own diagnostics. Nil is silent.
	Logger *slog.Logger
	// AppName is passed to Vulkan as the application name.
	AppName string
	// InstanceExtensions and DeviceExtensions are enabled in addition to what vkdep needs
	// (surface and swapchain extensions for presenting).
	InstanceExtensions []string
	DeviceExtensions   []string
	// Features names further core features to enable at vkCreateDevice, spelled as the members
	// of VkPhysicalDeviceFeatures and VkPhysicalDeviceVulkan11/12/13Features are ("shaderInt64",
	// "bufferDeviceAddress", "maintenance4"), for shaders that need them. Open fails with an
	// error matching ErrMissingFeature, naming each one, when the device lacks any (or the name
	// is no core feature). timelineSemaphore and synchronization2 are always enabled.
	Features []string
	// Scheduling chooses how queues sharing a VkQueue take turns: SchedulePriority (the
	// default: priorities, a bounded driver queue, fair share; H1–H3) or ScheduleFIFO.
	// VKDEP_SCHED=fifo|priority overrides it.
	Scheduling Scheduling
	// DriverBudget bounds the work of vkdep queues submitted to a shared VkQueue and not yet
	// finished, in GPU time estimated from completion times (H2), and DriverDepth in jobs.
	// 0 means DefaultDriverBudget and DefaultDriverDepth; VKDEP_DRIVER_BUDGET (a duration)
	// and VKDEP_DRIVER_DEPTH override them.
	DriverBudget time.Duration
	DriverDepth  int
}

// DeviceInfo describes a physical device.
type DeviceInfo struct {
	Index         int    // position in ListDevices
	Name          string // "llvmpipe (LLVM 15.0.6, 256 bits)", "NVIDIA H100 80GB HBM3"
	Type          string // "discrete GPU", "integrated GPU", "virtual GPU", "CPU", "other"
	Driver        string // driver name: "llvmpipe", "NVIDIA"
	DriverInfo    string // driver version string
	API           string // Vulkan version the device supports, "1.3.230"
	QueueFamilies []QueueFamilyInfo
	// Usable is false when the device lacks timelineSemaphore or synchronization2; Missing
	// says which.
	Usable  bool
	Missing string
	// Validation says what validation the device was opened with: "off", or the layer and
	// its version, with "+ synchronization" when synchronization validation is on. For a
	// wrapped device it is "application", whose instance decides (see Wrap).
	Validation string
	// GlobalPriority says what the device allowed of VK_KHR_global_priority (H5): which family
	// vkdep raised to high for high and realtime queues, or why none ("not supported", "not
	// permitted"). For a wrapped device, the application's device decides.
	GlobalPriority string
}

// QueueFamilyInfo describes one queue family.
type QueueFamilyInfo struct {
	Index                       uint32
	Queues                      uint32
	Graphics, Compute, Transfer bool
}

func (f QueueFamilyInfo) String() string {
	var caps []string
	if f.Graphics {
		caps = append(caps, "graphics")
	}
	if f.Compute {
		caps = append(caps, "compute")
	}
	if f.Transfer {
		caps = append(caps, "transfer")
	}
	if len(caps) == 0 {
		caps = append(caps, "other")
	}
	return fmt.Sprintf("family %d: %d× %s", f.Index, f.Queues, strings.Join(caps, "|"))
}

func (i DeviceInfo) String() string {
	fams := make([]string, len(i.QueueFamilies))
	for k, f := range i.QueueFamilies {
		fams[k] = f.String()
	}
	s := fmt.Sprintf("%s [%s], driver %s %s, Vulkan %s; %s", i.Name, i.Type, i.Driver, i.DriverInfo, i.API,
		strings.Join(fams, "; "))
	if i.Validation != "" && i.Validation != "off" {
		s += "; validation: " + i.Validation
	}
	return s
}

// IsCPU reports whether the device is a CPU implementation such as lavapipe.
func (i DeviceInfo) IsCPU() bool { return i.Type == "CPU" }

func describe(index int, p vk.PhysicalInfo) DeviceInfo {
	info := DeviceInfo{
		Index:      index,
		Name:       p.Name,
		Type:       vk.TypeName(p.Type),
		Driver:     p.DriverName,
		DriverInfo: p.DriverInfo,
		API:        vk.VersionString(p.APIVersion),
		Usable:     p.TimelineSemaphore && p.Synchronization2,
	}
	var missing []string
	if !p.TimelineSemaphore {
		missing = append(missing, "timelineSemaphore (Vulkan 1.2)")
	}
	if !p.Synchronization2 {
		missing = append(missing, "synchronization2 (Vulkan 1.3 or VK_KHR_synchronization2)")
	}
	info.Missing = strings.Join(missing, ", ")
	for _, f := range p.Families {
		info.QueueFamilies = append(info.QueueFamilies, QueueFamilyInfo{
			Index: f.Index, Queues: f.Count,
			Graphics: f.Flags&vk.QueueGraphics != 0, Compute: f.Flags&vk.QueueCompute != 0, Transfer: f.Flags&vk.QueueTransfer != 0,
		})
	}
	return info
}

// ListDevices lists the Vulkan devices the loader finds, usable or not.
func ListDevices() ([]DeviceInfo, error) {
	// Open's default configuration, so that listing then opening shares one instance.
	inst, err := acquireInstance(Options{AppName: "vkdep"})
	if err != nil {
		return nil, err
	}
	defer inst.Release()
	phys, err := inst.PhysicalDevices()
	if err != nil {
		return nil, fmt.Errorf("vkdep: vkEnumeratePhysicalDevices: %w", err)
	}
	out := make([]DeviceInfo, len(phys))
	for i, p := range phys {
		out[i] = describe(i, p)
	}
	return out, nil
}

// acquireInstance takes the process's VkInstance for the options' configuration: one per
// (application name, instance extensions, validation, synchronization validation), shared by
// every Open with that configuration, because the NVIDIA driver refuses vkCreateInstance after
// about 30 in one process even when they were destroyed (internal/vk/shared.go).
func acquireInstance(opts Options) (*vk.SharedInstance, error) {
	inst, err := vk.AcquireInstance(vk.InstanceConfig{
		AppName:        opts.AppName,
		Extensions:     opts.InstanceExtensions,
		Validate:       opts.Validate,
		SyncValidation: opts.Validate && opts.SyncValidation.enabled(),
	})
	switch {
	case errors.Is(err, vk.ErrorIncompatibleDriver):
		return nil, fmt.Errorf("%w: the Vulkan loader found no driver (%v); install a GPU driver or Mesa's lavapipe (Debian: apt-get install mesa-vulkan-drivers; `make deps` does it)",
			ErrNoDevice, err)
	case errors.Is(err, vk.ErrorLayerNotPresent):
		return nil, fmt.Errorf("vkdep: validation requested but the Khronos layer is missing (Debian: apt-get install vulkan-validationlayers): %w", err)
	case err != nil:
		return nil, fmt.Errorf("vkdep: vkCreateInstance: %w", err)
	}
	return inst, nil
}

// Open opens a Vulkan device for vkdep (see Options for which) with every queue of its
// graphics, compute and transfer families, and starts its completion goroutine. A machine without
// a Vulkan driver, or a device without timeline semaphores or synchronization2, gets an error that
// says what is missing and what to install. Close the device with Close.
func Open(opts Options) (*Device, error) {
	if v := os.Getenv("VKDEP_VALIDATE"); v != "" && v != "0" {
		opts.Validate = true
	}
	if opts.AppName == "" {
		opts.AppName = "vkdep"
	}
	sel := opts.Device
	if sel == "" {
		sel = os.Getenv("VKDEP_DEVICE")
	}
	inst, err := acquireInstance(opts)
	if err != nil {
		return nil, err
	}
	lis := listen(inst, opts)
	release := func() {
		if lis != nil {
			inst.Close(lis)
		}
		inst.Release()
	}
	phys, err := inst.PhysicalDevices()
	if err == nil && len(phys) == 0 {
		err = fmt.Errorf("%w: the Vulkan loader lists no physical device; install a GPU driver or Mesa's lavapipe (apt-get install mesa-vulkan-drivers)", ErrNoDevice)
	}
	if err != nil {
		release()
		return nil, err
	}
	chosen, err := choose(phys, sel)
	if err != nil {
		release()
		return nil, err
	}
	p := phys[chosen]
	var reqs []vk.QueueRequest
	for _, f := range p.Families {
		if f.Flags&(vk.QueueGraphics|vk.QueueCompute|vk.QueueTransfer) != 0 && f.Count > 0 {
			reqs = append(reqs, vk.QueueRequest{Family: f.Index, Count: min(f.Count, 16)})
		}
	}
	feats, err := openFeatures(p, opts.Features)
	if err != nil {
		release()
		return nil, err
	}
	dev, raised, prio, err := createDevice(p, reqs, opts.DeviceExtensions, feats)
	feats.Free() // read by vkCreateDevice only
	if err != nil {
		release()
		return nil, fmt.Errorf("vkdep: vkCreateDevice on %s: %w", p.Name, err)
	}
	info := describe(chosen, p)
	info.GlobalPriority = prio
	info.Validation = "off"
	if opts.Validate {
		info.Validation = vk.ValidationLayer + " " + vk.VersionString(vk.LayerVersion(vk.ValidationLayer))
		if opts.SyncValidation.enabled() {
			info.Validation += " + synchronization"
		}
	}
	var hw []*hwQueue
	for _, r := range reqs {
		for i := range r.Count {
			hw = append(hw, &hwQueue{family: r.Family, index: i, flags: familyFlags(p, r.Family), handle: dev.Queue(r.Family, i),
				raised: int(r.Family) == raised})
		}
	}
	if lis != nil {
		// Messages naming the device or one of its queues are this Open's alone.
		lis.Own(dev.Handle)
		for _, h := range hw {
			lis.Own(uint64(h.handle))
		}
	}
	d, err := newDevice(dev, info, hw, opts.Logger)
	if err != nil {
		dev.Destroy()
		release()
		return nil, err
	}
	d.inst, d.listener = inst, lis
	d.sched, d.depth, d.budget = schedConfig(opts.Scheduling, opts.DriverDepth, opts.DriverBudget)
	d.measureHops() // H4: what a dependency costs within one VkQueue and across two
	return d, nil
}

// choose picks the physical device for selector sel (see Options.Device).
func choose(phys []vk.PhysicalInfo, sel string) (int, error) {
	usable := func(i int) error {
		info := describe(i, phys[i])
		if !info.Usable {
			return fmt.Errorf("%w: %s lacks %s; vkdep needs a Vulkan 1.3 driver (for a CPU fallback: apt-get install mesa-vulkan-drivers)",
				ErrNoDevice, info.Name, info.Missing)
		}
		return nil
	}
	if sel != "" {
		if n, err := strconv.Atoi(sel); err == nil {
			if n < 0 || n >= len(phys) {
				return 0, fmt.Errorf("%w: device index %d out of range (%d devices)", ErrNoDevice, n, len(phys))
			}
			return n, usable(n)
		}
		want := strings.ToLower(sel)
		for i, p := range phys {
			name := strings.ToLower(p.Name + " " + p.DriverName)
			if strings.Contains(name, want) || (want == "lavapipe" && p.Type == vk.DeviceTypeCPU && strings.Contains(name, "llvmpipe")) {
				return i, usable(i)
			}
		}
		names := make([]string, len(phys))
		for i, p := range phys {
			names[i] = fmt.Sprintf("%d: %s", i, p.Name)
		}
		return 0, fmt.Errorf("%w: no device matches %q (have %s)", ErrNoDevice, sel, strings.Join(names, ", "))
	}
	rank := map[int]int{vk.DeviceTypeDiscreteGPU: 0, vk.DeviceTypeIntegratedGPU: 1, vk.DeviceTypeVirtualGPU: 2, vk.DeviceTypeCPU: 3}
	order := make([]int, len(phys))
	for i := range order {
		order[i] = i
	}
	r := func(i int) int {
		if v, ok := rank[phys[i].Type]; ok {
			return v
		}
		return 4
	}
	sort.SliceStable(order, func(a, b int) bool { return r(order[a]) < r(order[b]) })
	var firstErr error
	for _, i := range order {
		err := usable(i)
		if err == nil {
			return i, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return 0, firstErr
}

func familyFlags(p vk.PhysicalInfo, family uint32) uint32 {
	for _, f := range p.Families {
		if f.Index == family {
			return f.Flags
		}
	}
	return 0
}
