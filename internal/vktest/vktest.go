// Package vktest opens the Vulkan device that vkdep's tests and benchmarks run on.
//
// Tests always run with the Khronos validation layer and synchronization validation on, and fail
// on any message it prints. A machine without a usable Vulkan device fails the test; the only way
// to skip instead is for a developer to ask for it with VKDEP_SKIP_NO_DEVICE=1, and never when CI
// is set.
package vktest

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"vkdep.dev/vkdep"
)

// Messages collects validation messages.
type Messages struct {
	mu   sync.Mutex
	msgs []vkdep.ValidationMessage
}

// Add records one message.
func (m *Messages) Add(msg vkdep.ValidationMessage) {
	m.mu.Lock()
	m.msgs = append(m.msgs, msg)
	m.mu.Unlock()
}

// Take returns the messages recorded so far and forgets them.
func (m *Messages) Take() []vkdep.ValidationMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.msgs
	m.msgs = nil
	return out
}

// Open opens the default device (VKDEP_DEVICE chooses another) with validation on. When the test
// ends it closes the device, failing if Close fails, and fails on every validation message seen.
func Open(t testing.TB) *vkdep.Device {
	t.Helper()
	d, _ := OpenWith(t, vkdep.Options{})
	return d
}

// OpenWith is Open with options; Validate and OnValidation are set by it. It also returns the
// message collector, for tests that expect a message.
func OpenWith(t testing.TB, opts vkdep.Options) (*vkdep.Device, *Messages) {
	t.Helper()
	msgs := &Messages{}
	opts.Validate = true
	opts.OnValidation = msgs.Add
	d := open(t, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Close(ctx); err != nil && !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Errorf("Device.Close: %v", err)
		}
		for _, m := range msgs.Take() {
			t.Errorf("validation: %v", m)
		}
	})
	return d, msgs
}

// OpenKept opens the default device with validation on, like Open, but registers no cleanup: the
// caller keeps it beyond the test (a test binary's shared device) and closes it. Validation
// messages go to the returned collector.
func OpenKept(t testing.TB) (*vkdep.Device, *Messages) {
	t.Helper()
	msgs := &Messages{}
	return open(t, vkdep.Options{Validate: true, OnValidation: msgs.Add}), msgs
}

// OpenBench opens the default device without validation, for benchmarks: the layer's cost
// (~7 µs per submit on lavapipe) would swamp what they measure.
func OpenBench(b *testing.B) *vkdep.Device {
	b.Helper()
	d := open(b, vkdep.Options{})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Close(ctx); err != nil && !errors.Is(err, vkdep.ErrDeviceClosed) {
			b.Errorf("Device.Close: %v", err)
		}
	})
	return d
}

func open(t testing.TB, opts vkdep.Options) *vkdep.Device {
	t.Helper()
	d, err := vkdep.Open(opts)
	if err != nil {
		if errors.Is(err, vkdep.ErrNoDevice) && SkipAllowed() {
			t.Skipf("no Vulkan device, skipped because VKDEP_SKIP_NO_DEVICE=1: %v", err)
		}
		t.Fatalf("vkdep.Open: %v (set VKDEP_SKIP_NO_DEVICE=1 to skip on a machine without Vulkan; never in CI)", err)
	}
	t.Logf("device: %s", d.Info())
	return d
}

// SkipAllowed reports whether a developer asked to skip device tests on a machine without a
// Vulkan device: VKDEP_SKIP_NO_DEVICE=1 and CI unset.
func SkipAllowed() bool {
	return os.Getenv("CI") == "" && os.Getenv("VKDEP_SKIP_NO_DEVICE") == "1"
}
