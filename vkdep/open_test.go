package vkdep_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

func TestOpenReportsDevice(t *testing.T) {
	d := sharedDevice(t)
	info := d.Info()
	if info.Name == "" || info.Driver == "" || info.API == "" || len(info.QueueFamilies) == 0 {
		t.Fatalf("incomplete device info: %+v", info)
	}
	if !strings.HasPrefix(info.API, "1.3") && !strings.HasPrefix(info.API, "1.4") {
		t.Errorf("API %s, want a 1.3 device", info.API)
	}
	if os.Getenv("CI") != "" && !strings.Contains(info.Name, "llvmpipe") && os.Getenv("VKDEP_DEVICE") == "" {
		t.Logf("CI runs on %s, not lavapipe", info.Name)
	}
	if len(d.VkQueues()) == 0 {
		t.Fatal("no VkQueue")
	}
	t.Logf("%s", info)
}

func TestDeviceSelection(t *testing.T) {
	devs, err := vkdep.ListDevices()
	if err != nil {
		t.Fatalf("ListDevices: %v", err)
	}
	for _, d := range devs {
		t.Logf("%d: %s usable=%v %s", d.Index, d.Name, d.Usable, d.Missing)
	}
	t.Run("lavapipe_by_name", func(t *testing.T) {
		d, _ := vktest.OpenWith(t, vkdep.Options{Device: "lavapipe"})
		if !d.Info().IsCPU() || !strings.Contains(d.Info().Name, "llvmpipe") {
			t.Fatalf("Device: lavapipe opened %s", d.Info().Name)
		}
	})
	t.Run("env_selects", func(t *testing.T) {
		t.Setenv("VKDEP_DEVICE", "llvmpipe")
		d, _ := vktest.OpenWith(t, vkdep.Options{})
		if !strings.Contains(d.Info().Name, "llvmpipe") {
			t.Fatalf("VKDEP_DEVICE=llvmpipe opened %s", d.Info().Name)
		}
	})
	for _, sel := range []string{"no-such-gpu", "99", "-1"} {
		t.Run("bad_selector_"+sel, func(t *testing.T) {
			d, err := vkdep.Open(vkdep.Options{Device: sel})
			if err == nil {
				d.Close(context.Background())
				t.Fatalf("Open(%q) succeeded", sel)
			}
			if !errors.Is(err, vkdep.ErrNoDevice) {
				t.Fatalf("Open(%q): %v, want ErrNoDevice", sel, err)
			}
			t.Logf("Open(%q): %v", sel, err)
		})
	}
}

func TestValidationMessagesReachTheHandler(t *testing.T) {
	// The suite fails on any validation message; this shows that a real mistake does produce
	// one that reaches the handler, so a clean run means something.
	// An instance of its own (another AppName): a message naming only a raw semaphore, which no
	// device owns, goes to every device of its instance, and the suite's shared device is on the
	// default one.
	d, msgs := vktest.OpenWith(t, vkdep.Options{AppName: "vkdep validation test"})
	raw := rawDevice(t, d)
	// The test's own timeline, not a HostTimeline's: the layer keeps the refused signal as
	// pending, and would then flag the HostTimeline's own signal at Device.Close.
	sem, err := raw.Timeline()
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.VK.Signal(sem, 5); err != nil {
		t.Fatal(err)
	}
	_ = raw.VK.Signal(sem, 3) // backwards: what HostTimeline.Signal refuses to do
	got := msgs.Take()
	found := false
	for _, m := range got {
		found = found || strings.Contains(m.ID, "VUID-VkSemaphoreSignalInfo-value-03258")
	}
	if !found {
		t.Fatalf("a backwards raw signal produced no VUID-VkSemaphoreSignalInfo-value-03258 message; got %v", got)
	}
}
