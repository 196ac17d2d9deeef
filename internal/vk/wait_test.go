package vk

import (
	"errors"
	"testing"
)

// E2: a wait with slices shorter than its semaphores is an error, never an out-of-bounds read or
// write by C. The checks come before any Vulkan call, so no device is needed.
func TestE2_wait_slice_lengths_checked(t *testing.T) {
	d := &Device{}
	sems := []Semaphore{1, 2}
	for name, err := range map[string]error{
		"WaitAll short values":   d.WaitAll(sems, []uint64{1}, 0),
		"WaitAny short values":   d.WaitAny(sems, []uint64{1}, 0, 0, nil),
		"WaitAny short counters": d.WaitAny(sems, []uint64{1, 1}, 0, 0, []uint64{0}),
		"WaitAny first too big":  d.WaitAny(sems, []uint64{1, 1}, 0, 3, []uint64{0, 0}),
		"WaitAny first negative": d.WaitAny(sems, []uint64{1, 1}, 0, -1, []uint64{0, 0}),
	} {
		if !errors.Is(err, ErrInvalidArgs) {
			t.Errorf("%s: %v, want an error", name, err)
		}
	}
}
