package vkdep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vkdep.dev/internal/vk"
)

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

// SyncMode chooses synchronization validation (see Options.SyncValidation).
type SyncMode int

const (
	// SyncAuto, the default, enables synchronization validation on validation layers from
	// 1.3.296 on, and leaves it off on older ones unless VKDEP_SYNCVAL=1. Older layers (Debian
	// 12 ships 1.3.239) take a device-wide lock when synchronization validation is on, and a
	// host vkSignalSemaphore racing a host vkWaitSemaphores or vkGetSemaphoreCounterValue on
	// another thread then stalls inside the layer for its 10 s internal timeout and reports
	// UNASSIGNED-VkSemaphore-state-timeout (Vulkan-ValidationLayers issues 4649 and 4968, fixed
	// by pull request 8519 in 1.3.296). vkdep's completion goroutine waits while other
	// goroutines signal host timelines, by design, so those layers would fail every test on a
	// layer bug. VKDEP_SYNCVAL=0 turns it off everywhere.
	SyncAuto SyncMode = iota
	// SyncOn always enables synchronization validation.
	SyncOn
	// SyncOff never enables it.
	SyncOff
)

// syncFixedLayer is the first validation layer whose timeline-semaphore tracking survives
// concurrent host signal and host wait (see SyncAuto).
var syncFixedLayer = vk.APIVersion(1, 3, 296)

func (m SyncMode) enabled() bool {
	switch os.Getenv("VKDEP_SYNCVAL") {
	case "1":
		return true
	case "0":
		return false
	}
	switch m {
	case SyncOn:
		return true
	case SyncOff:
		return false
	}
	return vk.LayerVersion(vk.ValidationLayer) >= syncFixedLayer
}

// ValidationMessage is one message of the Khronos validation layer.
type ValidationMessage struct {
	Severity string // "error" or "warning"
	Type     string // "validation", "performance" or "general"
	ID       string // the VUID or message id
	Text     string
}

func (m ValidationMessage) String() string {
	return fmt.Sprintf("%s %s [%s] %s", m.Type, m.Severity, m.ID, m.Text)
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

// Device is one Vulkan logical device with vkdep's completion waiter: a single goroutine that
// completes the fences of every queue and host timeline of the device. Methods are safe for
// concurrent use (E3).
type Device struct {
	log  *slog.Logger
	inst *vk.SharedInstance // nil for a wrapped device
	// listener receives the instance's validation messages for this device; nil without
	// validation.
	listener *vk.Listener
	// appInstance is the application's VkInstance of a wrapped device; vkdep never destroys it.
	appInstance uint64
	vk          *vk.Device
	info        DeviceInfo
	hw          []*hwQueue
	sched       Scheduling   // how queues sharing a VkQueue take turns (arbiter.go)
	depth       int32        // H2's bound per shared VkQueue, in jobs
	budget      int64        // and in estimated GPU time (ns)
	hangEnded   atomic.Int64 // when a timed-out job last left the GPU (now(); T7, blame.go)
	place       placer // placement.go (H4)
	waiter      *waiter
	abort       *abortWords
	order       *submitOrder // how queue order reaches the GPU (D3, order.go)

	mu        sync.Mutex
	state     devState
	timelines []registered
	queues    map[*Queue]struct{}
	lost      error // set once (V1)
	isLost    atomic.Bool
	closeOnce sync.Once
	sems      atomic.Int64 // live semaphores of queues and host timelines (retire.go)
	// beforeDestroy, set by tests only, runs in Close once the device is idle, before vkdep
	// destroys anything: a test's own objects on the device go there.
	beforeDestroy func()

	obsMu     sync.Mutex                  // serialises changes to observers
	observers atomic.Pointer[[]*observer] // job observers (observe.go); nil when none
}

type devState int

const (
	devOpen devState = iota
	devClosing
	devClosed
)

// registered is a timeline of the device and what to do to it when the device dies.
type registered struct {
	tl   *timeline
	kill func(error) // completes everything pending with the error; completion goroutine
}

// hwQueue is one VkQueue. Vulkan requires host synchronisation of a queue for submits
// (vkQueueSubmit2: "Host access to queue must be externally synchronized"), so every submit to it
// holds mu; several vkdep queues may share one hwQueue.
type hwQueue struct {
	family, index uint32
	flags         uint32
	handle        vk.Queue
	mu            queueLock
	users         atomic.Int32 // vkdep queues bound to it
	pos           int          // index in Device.hw: Device.VkQueues()[pos]
	gate          hostGate     // hostwait.go: GPU-side host waits on it hold other queues (D5)
	graves        graves       // finished queues' objects awaiting a later completion (retire.go)
	arb           arbiter      // which bound queue submits next (H1–H3)
	raised        bool         // created with a raised global priority (H5)
}

// queueLock is a VkQueue's host-synchronisation lock: its own mutex (Open, and Wrap without an
// application lock), or the lock the application already holds around its own submits to that
// VkQueue (WrapQueue.Lock), so that vkdep and the application exclude each other with one lock.
// Its zero value is an unlocked mutex.
type queueLock struct {
	own sync.Mutex
	app sync.Locker // nil: use own
}

func (l *queueLock) Lock() {
	if l.app != nil {
		l.app.Lock()
		return
	}
	l.own.Lock()
}

func (l *queueLock) Unlock() {
	if l.app != nil {
		l.app.Unlock()
		return
	}
	l.own.Unlock()
}

func (h *hwQueue) release() { h.users.Add(-1) }

func (d *Device) addQueue(q *Queue) {
	d.mu.Lock()
	if d.queues == nil {
		d.queues = map[*Queue]struct{}{}
	}
	d.queues[q] = struct{}{}
	d.mu.Unlock()
}

func (d *Device) removeQueue(q *Queue) {
	d.mu.Lock()
	delete(d.queues, q)
	d.mu.Unlock()
}

// unregister removes a timeline whose owner destroys its semaphore itself (a finished queue).
func (d *Device) unregister(tl *timeline) {
	d.mu.Lock()
	for i, r := range d.timelines {
		if r.tl == tl {
			d.timelines = append(d.timelines[:i], d.timelines[i+1:]...)
			break
		}
	}
	d.mu.Unlock()
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

// listen routes the shared instance's validation messages about this Open's device to its
// OnValidation (see Options.OnValidation).
func listen(inst *vk.SharedInstance, opts Options) *vk.Listener {
	if !opts.Validate {
		return nil
	}
	on := opts.OnValidation
	if on == nil {
		on = func(m ValidationMessage) { fmt.Fprintln(os.Stderr, "vkdep validation:", m) }
	}
	return inst.Listen(func(m vk.Message) {
		on(ValidationMessage{Severity: m.Severity, Type: m.Type, ID: m.ID, Text: m.Text})
	})
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

// newDevice builds the vkdep Device over dev and its VkQueues hw (Open's or Wrap's) and starts
// the completion goroutine. On error nothing of vkdep's is left on dev; dev itself is the
// caller's.
func newDevice(dev *vk.Device, info DeviceInfo, hw []*hwQueue, log *slog.Logger) (*Device, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if info.GlobalPriority == "" {
		info.GlobalPriority = "the application's device decides (Wrap); priorities are vkdep's own (H1–H3)"
	}
	d := &Device{log: log, vk: dev, info: info, hw: hw}
	d.sched, d.depth, d.budget = schedConfig(SchedulePriority, 0, 0)
	for i, h := range hw {
		h.pos = i
	}
	abort, err := newAbortWords(dev)
	if err != nil {
		return nil, err
	}
	w, err := newWaiter(dev, d.markLost)
	if err != nil {
		dev.DestroyBuffer(abort.buf)
		return nil, fmt.Errorf("vkdep: creating the completion waiter's timeline: %w", err)
	}
	d.waiter = w
	d.abort = abort
	d.order = newSubmitOrder(dev, hw)
	log.Debug("vkdep: device open", "device", info.String(), "waiter", w.kind(), "queue_order", d.order.name())
	return d, nil
}

func familyFlags(p vk.PhysicalInfo, family uint32) uint32 {
	for _, f := range p.Families {
		if f.Index == family {
			return f.Flags
		}
	}
	return 0
}

// Info describes the device.
func (d *Device) Info() DeviceInfo { return d.info }

// Handles are the raw Vulkan handles of a device, for code that records command buffers or
// creates resources with its own Vulkan binding.
type Handles struct {
	Instance       uint64
	PhysicalDevice uint64
	Device         uint64
	// QueueFamilies lists the families the device has queues on. Resources shared by vkdep
	// queues on different families need VK_SHARING_MODE_CONCURRENT over all of them.
	QueueFamilies []uint32
}

// Handles returns the device's raw Vulkan handles. They stay valid until Close returns.
func (d *Device) Handles() Handles {
	h := Handles{PhysicalDevice: uint64(d.vk.Physical.Handle), Device: d.vk.Handle, QueueFamilies: d.vk.Families}
	if d.inst != nil {
		h.Instance = uint64(d.inst.Handle)
	} else {
		h.Instance = d.appInstance
	}
	return h
}

// usable returns nil while the device accepts work, else ErrDeviceClosed or the lost error.
func (d *Device) usable() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.state != devOpen:
		return ErrDeviceClosed
	case d.lost != nil:
		return d.lost
	}
	return nil
}

// register adds a timeline to the device and, when watch is set (GPU-signalled timelines), to
// the completion waiter's wait set. It returns false when the device no longer accepts new
// objects.
func (d *Device) register(tl *timeline, kill func(error), watch bool) bool {
	d.mu.Lock()
	if d.state != devOpen || d.lost != nil {
		d.mu.Unlock()
		return false
	}
	d.timelines = append(d.timelines, registered{tl, kill})
	d.mu.Unlock()
	if watch {
		d.waiter.watch(tl)
	}
	return true
}

// vkErr turns a failed Vulkan call into vkdep's error, marking the device lost on
// VK_ERROR_DEVICE_LOST (V1).
func (d *Device) vkErr(where string, err error) error {
	if errors.Is(err, vk.ErrorDeviceLost) {
		d.markLost(where, err)
		return d.lostErr()
	}
	return fmt.Errorf("vkdep: %s: %w", where, err)
}

func (d *Device) lostErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lost
}

// Lost returns the device-lost error (matching ErrDeviceLost, naming where it was first seen),
// or nil while the device is not lost.
func (d *Device) Lost() error { return d.lostErr() }

// markLost records the loss once, remembering where, and completes every pending fence of the
// device with it (V1).
func (d *Device) markLost(where string, err error) {
	d.mu.Lock()
	if d.lost != nil {
		d.mu.Unlock()
		return
	}
	d.lost = fmt.Errorf("%w: %s returned %w", ErrDeviceLost, where, err)
	d.isLost.Store(true)
	lost := d.lost
	regs := append([]registered(nil), d.timelines...)
	d.mu.Unlock()
	d.log.Error("vkdep: device lost", "where", where, "err", err)
	d.waiter.post(func() {
		for _, r := range regs {
			r.kill(lost)
		}
	})
}

// Close is the unload barrier (X2): it fails every host-timeline point not yet signalled with
// ErrDeviceClosed, so that jobs held by one complete (X4), closes every queue, waits until all of
// them have finished, stops the completion goroutine and destroys the device. When it returns nil no vkdep goroutine of the
// device is left. If ctx ends first it returns ctx.Err() with nothing destroyed; call Close again
// to finish. After Close, calls on the device return ErrDeviceClosed; fences stay readable (X3).
// A wrapped device's VkDevice and VkInstance are left to the application (see Wrap); vkdep
// destroys only what it created on them. Close takes the lock of every VkQueue of the device
// (VkQueues) while it waits for the GPU to leave vkdep's objects: do not hold one while calling
// it.
func (d *Device) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.state == devClosed {
		d.mu.Unlock()
		return ErrDeviceClosed
	}
	d.state = devClosing
	queues := make([]*Queue, 0, len(d.queues))
	for q := range d.queues {
		queues = append(queues, q)
	}
	var hosts []registered
	for _, r := range d.timelines {
		if r.tl.queue == nil {
			hosts = append(hosts, r)
		}
	}
	d.mu.Unlock()

	// X4: host points nobody signalled fail first, so that the jobs they hold complete (with
	// ErrDependency, D6) and the queues can finish; waiting for the queues before failing them
	// would wait forever (each waits for the other). Nothing new can register meanwhile.
	if len(hosts) > 0 {
		d.waiter.post(func() {
			for _, r := range hosts {
				r.kill(ErrDeviceClosed)
			}
		})
	}

	// Every queue finishes what was pushed to it, then frees its objects (X1).
	for _, q := range queues {
		q.Close()
	}
	for _, q := range queues {
		select {
		case <-q.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.mu.Lock()
	regs := append([]registered(nil), d.timelines...)
	d.mu.Unlock()

	d.closeOnce.Do(func() {
		d.waiter.post(func() {
			for _, r := range regs {
				r.kill(ErrDeviceClosed)
			}
		})
		d.waiter.stop()
	})
	select {
	case <-d.waiter.stopped:
	case <-ctx.Done():
		return ctx.Err()
	}

	d.mu.Lock()
	if d.state == devClosed {
		d.mu.Unlock()
		return ErrDeviceClosed
	}
	d.state = devClosed
	d.mu.Unlock()
	d.drainQueues()
	if d.beforeDestroy != nil {
		d.beforeDestroy() // test seam (export_test.go): the device is idle, nothing destroyed yet
	}
	for _, r := range regs {
		d.destroySemaphore(r.tl.sem)
	}
	d.reapAll()
	d.vk.DestroySemaphore(d.waiter.wake)
	d.vk.DestroySemaphore(d.waiter.idle)
	d.vk.DestroyBuffer(d.abort.buf)
	d.order.destroy(d.vk)
	d.vk.Destroy()
	if d.inst != nil {
		if d.listener != nil {
			d.inst.Close(d.listener)
		}
		d.inst.Release()
	}
	return nil
}

// drainQueues waits, before vkdep destroys its semaphores and abort-word buffer, until no GPU work
// can still use them: raw submits of the application may wait on or signal vkdep's semaphores and
// read the abort words, and lavapipe's submit thread can touch a semaphore after signalling it
// (see retire.go). Every queue's lock is held meanwhile, because vkDeviceWaitIdle needs host
// access to all of the device's queues externally synchronised and vkQueueWaitIdle to its queue.
//
// A device vkdep opened has all its VkQueues in d.hw, so vkDeviceWaitIdle under all their locks is
// valid. A wrapped device may have queues vkdep was not given and cannot lock, so it waits for
// each of its own VkQueues instead; the application's work on other queues is the application's
// to finish (see Wrap).
func (d *Device) drainQueues() {
	// Queues may share one application lock (WrapQueue.Lock): take each lock once.
	var locks []sync.Locker
	for _, h := range d.hw {
		var l sync.Locker = &h.mu
		if h.mu.app != nil {
			l = h.mu.app
		}
		if !slices.Contains(locks, l) {
			locks = append(locks, l)
		}
	}
	for _, l := range locks {
		l.Lock()
	}
	defer func() {
		for _, l := range locks {
			l.Unlock()
		}
	}()
	if d.vk.Owned() {
		if err := d.vk.WaitIdle(); err != nil {
			d.log.Warn("vkdep: vkDeviceWaitIdle at close", "err", err)
		}
		return
	}
	for _, h := range d.hw {
		if err := vk.QueueWaitIdle(h.handle); err != nil {
			d.log.Warn("vkdep: vkQueueWaitIdle at close", "family", h.family, "index", h.index, "err", err)
		}
	}
}

// VkQueue is one Vulkan queue of the device, for applications that also submit to it
// themselves.
type VkQueue struct {
	Family, Index uint32
	Handle        uint64
	// Lock is the queue's host-synchronisation lock. Vulkan requires host access to a queue to
	// be externally synchronised, and vkdep submits to it from its own goroutines: hold Lock
	// around every vkQueueSubmit*, vkQueueWaitIdle or vkQueuePresentKHR on Handle.
	Lock sync.Locker
}

// VkQueues lists the device's Vulkan queues with their locks; none once the device is closed.
func (d *Device) VkQueues() []VkQueue {
	d.mu.Lock()
	closed := d.state == devClosed
	d.mu.Unlock()
	if closed {
		return nil
	}
	out := make([]VkQueue, len(d.hw))
	for i, q := range d.hw {
		out[i] = VkQueue{Family: q.family, Index: q.index, Handle: uint64(q.handle), Lock: &q.mu}
	}
	return out
}
