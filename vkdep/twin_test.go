package vkdep

import (
	"context"
	"testing"
	"time"
)

// openTwinned opens a validated device of the test's own and gives it a second entry for its
// first VkQueue, sharing that VkQueue's lock (as Wrap does for an application's lock): to vkdep
// they are two VkQueues of one family, to the driver one, so every submit stays valid. lavapipe
// has one VkQueue, and the placement (H4), GPU-side host wait (D5) and blame (T7) tests need two.
// done closes the device and fails the test on every validation message seen; the test calls it
// last, after releasing whatever its jobs wait on.
func openTwinned(t *testing.T) (d *Device, done func()) {
	t.Helper()
	var msgs []string
	d, err := Open(Options{Validate: true, OnValidation: func(m ValidationMessage) { msgs = append(msgs, m.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	first := d.hw[0]
	twin := &hwQueue{family: first.family, index: first.index, flags: first.flags, handle: first.handle, pos: len(d.hw)}
	twin.mu.app = &first.mu // one VkQueue, one lock
	d.hw = append(d.hw, twin)
	return d, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, m := range msgs {
			t.Errorf("validation: %s", m)
		}
	}
}
