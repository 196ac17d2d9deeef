package vkdep_test

import (
	"context"
	"errors"
	"golang.org/x/sync/errgroup"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/internal/vktest/extdev"
	"vkdep.dev/vkdep"
)

// newExt creates an application's own device, with the validation layer on, and fails the test
// on any message the layer prints up to its destruction at the end of the test (which runs after
// every cleanup registered later, vkdep's included).
func newExt(t *testing.T, cfg extdev.Config) *extdev.Device {
	t.Helper()
	cfg.Validate = true
	ext, err := extdev.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ext.Destroy()
		for _, m := range ext.Messages() {
			t.Errorf("validation: %s", m)
		}
	})
	return ext
}

// wrapExt wraps ext's device and queue, with the application's lock unless ownLock. The vkdep
// device is closed at the end of the test if the test has not closed it.
func wrapExt(t *testing.T, ext *extdev.Device, ownLock bool) *vkdep.Device {
	t.Helper()
	q := vkdep.WrapQueue{Family: ext.Family, Index: 0, Lock: ext.Lock}
	if ownLock {
		q.Lock = nil
	}
	d, err := vkdep.Wrap(vkdep.WrapOptions{
		Instance: ext.Instance, PhysicalDevice: ext.PhysicalDevice, Device: ext.Device,
		APIVersion: ext.APIVersion, CreateInfo: ext.CreateInfo, Queues: []vkdep.WrapQueue{q},
	})
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if ownLock {
		ext.Lock = d.VkQueues()[0].Lock // from now on the application locks vkdep's lock
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Close(ctx); err != nil && !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Errorf("Device.Close: %v", err)
		}
	})
	return d
}

// TestWrap runs vkdep jobs and the application's own submits on the application's one VkQueue at
// the same time, under one lock (the application's, or vkdep's), then closes vkdep and shows that
// the application's device is still alive and runs GPU work.
func TestWrap(t *testing.T) {
	for _, ownLock := range []bool{false, true} {
		name := "application_lock"
		if ownLock {
			name = "vkdep_lock"
		}
		t.Run(name, func(t *testing.T) { testWrap(t, ownLock) })
	}
}

func testWrap(t *testing.T, ownLock bool) {
	ext := newExt(t, extdev.Config{})
	d := wrapExt(t, ext, ownLock)
	if h := d.Handles(); h.Instance != ext.Instance || h.Device != ext.Device || h.PhysicalDevice != ext.PhysicalDevice {
		t.Fatalf("Handles() = %+v, want the application's", h)
	}
	if v := d.VkQueues(); len(v) != 1 || v[0].Handle != ext.Queue || v[0].Family != ext.Family {
		t.Fatalf("VkQueues() = %+v, want the application's queue %#x", v, ext.Queue)
	}
	if got := d.Info().Validation; got != "application" {
		t.Errorf("Info().Validation = %q", got)
	}
	r := newRigOn(t, d)
	q := r.queue(vkdep.QueueOptions{Name: "wrapped", Bypass: true})

	// The application's own work: Append commands (ids 1001...) submitted with vkQueueSubmit
	// under its lock, each signalling its own timeline, while vkdep submits ids 1... from here.
	appTL, err := ext.Semaphore(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ext.DestroySemaphore(appTL)
	const n = 40
	// The application's own submits run beside vkdep's, from another goroutine.
	var appSubmits errgroup.Group
	appSubmits.Go(func() error {
		for i := range uint64(n) {
			cmd := r.appendCmd(ext.Family, uint32(1001+i))
			if err := ext.Submit(nil, []uint64{cmd}, []extdev.Sem{{Semaphore: appTL, Value: i + 1}}); err != nil {
				return err
			}
		}
		return nil
	})
	var last vkdep.Fence
	for i := range uint32(n) {
		last = r.submit(q, r.job(q, 1+i))
	}
	if err := appSubmits.Wait(); err != nil {
		t.Fatalf("application submit: %v", err)
	}
	if err := r.wait(last); err != nil {
		t.Fatal(err)
	}
	if err := ext.Wait(appTL, n, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	r.check()
	ids := r.ids()
	var mine, app []uint32
	for _, id := range ids {
		if id > 1000 {
			app = append(app, id-1000)
		} else {
			mine = append(mine, id)
		}
	}
	if !slices.Equal(mine, seq(1, n)) || !slices.Equal(app, seq(1, n)) {
		t.Fatalf("log %v: want vkdep's 1..%d and the application's 1001..%d, each in order", ids, n, 1000+n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := d.NewQueue(vkdep.QueueOptions{}); !errors.Is(err, vkdep.ErrDeviceClosed) {
		t.Fatalf("NewQueue after Close: %v, want ErrDeviceClosed", err)
	}

	// The VkDevice is the application's still: it makes objects and runs GPU work. (After
	// Close the application's lock is its own again, whichever lock vkdep used.)
	ext.Lock = &sync.Mutex{}
	s, err := ext.Semaphore(false, 0)
	if err != nil {
		t.Fatalf("vkCreateSemaphore after vkdep's Close: %v", err)
	}
	ext.DestroySemaphore(s)
	if err := ext.Submit(nil, []uint64{r.appendCmd(ext.Family, 7777)}, []extdev.Sem{{Semaphore: appTL, Value: n + 1}}); err != nil {
		t.Fatalf("vkQueueSubmit after vkdep's Close: %v", err)
	}
	if err := ext.Wait(appTL, n+1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if ids := r.ids(); ids[len(ids)-1] != 7777 {
		t.Fatalf("the application's work after Close did not run: log ends %v", ids[len(ids)-3:])
	}
	if err := ext.WaitIdle(); err != nil {
		t.Fatal(err)
	}
}

// TestWrapCloseWaitsForGPU: the application's submit waits on a vkdep queue's semaphore, and
// vkdep's Close comes right after the job is released. Close must not destroy the semaphore
// while that submit can still use it (VUID-vkDestroySemaphore-semaphore-01137, which the
// validation layer reports): it waits for the wrapped VkQueue to be idle first.
func TestWrapCloseWaitsForGPU(t *testing.T) {
	ext := newExt(t, extdev.Config{})
	d := wrapExt(t, ext, false)
	r := newRigOn(t, d)
	q := r.queue(vkdep.QueueOptions{Name: "q"})
	hold, release := r.held("gate")
	j := r.job(q, 1)
	hold(j)
	f := r.submit(q, j)
	eventually(t, "the job reaching the GPU", func() bool { return q.Stats().Pending == 0 })
	appTL, err := ext.Semaphore(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ext.DestroySemaphore(appTL)
	if err := ext.Submit([]extdev.Sem{{Semaphore: f.Semaphore(), Value: f.Value()}},
		[]uint64{r.appendCmd(ext.Family, 2)}, []extdev.Sem{{Semaphore: appTL, Value: 1}}); err != nil {
		t.Fatal(err)
	}
	release()
	r.check()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := ext.Counter(appTL); err != nil || c != 1 {
		t.Fatalf("after Close the application's submit waiting on vkdep's semaphore has not finished: counter %d, %v", c, err)
	}
	if !slices.Equal(r.ids(), []uint32{1, 2}) {
		t.Fatalf("log %v, want [1 2]", r.ids())
	}
}

// TestWrapMissingFeature: each thing vkdep needs and the application did not enable gives an
// error matching ErrMissingFeature that names it.
func TestWrapMissingFeature(t *testing.T) {
	all := &vkdep.EnabledFeatures{TimelineSemaphore: true, Synchronization2: true}
	for _, tc := range []struct {
		name     string
		cfg      extdev.Config
		declared *vkdep.EnabledFeatures // nil: pass the create info
		noInfo   bool                   // pass neither
		want     string
	}{
		{name: "no_synchronization2", cfg: extdev.Config{NoSync2: true},
			want: "wrapped device lacks synchronization2: enable VkPhysicalDeviceVulkan13Features.synchronization2 at vkCreateDevice"},
		{name: "no_timelineSemaphore", cfg: extdev.Config{NoTimeline: true},
			want: "wrapped device lacks timelineSemaphore: enable VkPhysicalDeviceVulkan12Features.timelineSemaphore"},
		{name: "declared_without_synchronization2", declared: &vkdep.EnabledFeatures{TimelineSemaphore: true},
			want: "wrapped device lacks synchronization2"},
		{name: "instance_1.2", cfg: extdev.Config{APIVersion: extdev.Version(1, 2, 0)}, declared: all,
			want: "WrapOptions.APIVersion is 1.2.0"},
		{name: "features_unknown", noInfo: true, want: "set WrapOptions.CreateInfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext := newExt(t, tc.cfg)
			opts := vkdep.WrapOptions{
				Instance: ext.Instance, PhysicalDevice: ext.PhysicalDevice, Device: ext.Device, APIVersion: ext.APIVersion,
				Queues: []vkdep.WrapQueue{{Family: ext.Family, Lock: ext.Lock}},
			}
			switch {
			case tc.noInfo:
			case tc.declared != nil:
				opts.Features = tc.declared
			default:
				opts.CreateInfo = ext.CreateInfo
			}
			d, err := vkdep.Wrap(opts)
			if err == nil {
				d.Close(context.Background())
				t.Fatal("Wrap succeeded")
			}
			if !errors.Is(err, vkdep.ErrMissingFeature) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Wrap: %v; want ErrMissingFeature saying %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// TestWrapBadInput: null handles and queues the device does not have are clear errors, and
// nothing is left behind.
func TestWrapBadInput(t *testing.T) {
	ext := newExt(t, extdev.Config{})
	good := func() vkdep.WrapOptions {
		return vkdep.WrapOptions{
			Instance: ext.Instance, PhysicalDevice: ext.PhysicalDevice, Device: ext.Device, APIVersion: ext.APIVersion,
			CreateInfo: ext.CreateInfo, Queues: []vkdep.WrapQueue{{Family: ext.Family}},
		}
	}
	nFamilies := len(vk.QueryPhysical(vk.PhysicalDevice(ext.PhysicalDevice)).Families)
	for _, tc := range []struct {
		name   string
		mod    func(*vkdep.WrapOptions)
		is     error
		saying string
	}{
		{"null_instance", func(o *vkdep.WrapOptions) { o.Instance = 0 }, vkdep.ErrBadHandle, "WrapOptions.Instance is VK_NULL_HANDLE"},
		{"null_physical_device", func(o *vkdep.WrapOptions) { o.PhysicalDevice = 0 }, vkdep.ErrBadHandle, "WrapOptions.PhysicalDevice is VK_NULL_HANDLE"},
		{"null_device", func(o *vkdep.WrapOptions) { o.Device = 0 }, vkdep.ErrBadHandle, "WrapOptions.Device is VK_NULL_HANDLE"},
		{"no_queues", func(o *vkdep.WrapOptions) { o.Queues = nil }, nil, "WrapOptions.Queues is empty"},
		{"family_out_of_range", func(o *vkdep.WrapOptions) { o.Queues[0].Family = uint32(nFamilies) }, nil, "queue family"},
		{"index_out_of_range", func(o *vkdep.WrapOptions) { o.Queues[0].Index = 1000 }, nil, "queue index 1000 out of range"},
		{"queue_twice", func(o *vkdep.WrapOptions) { o.Queues = append(o.Queues, o.Queues[0]) }, nil, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.mod(&o)
			d, err := vkdep.Wrap(o)
			if err == nil {
				d.Close(context.Background())
				t.Fatal("Wrap succeeded")
			}
			if (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.saying) {
				t.Fatalf("Wrap: %v; want an error saying %q (matching %v)", err, tc.saying, tc.is)
			}
			t.Log(err)
		})
	}
	// The good options still work after all that: nothing was left half-made.
	d, err := vkdep.Wrap(good())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
