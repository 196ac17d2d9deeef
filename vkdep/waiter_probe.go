package vkdep

import (
	"os"
	"runtime"
	"time"

	"vkdep.dev/internal/vk"
)

// Open's choice of completion waiter (F3): does the driver's wait-any block or poll?

// probeWait is the length of one try of Open's wait-any probe.
const (
	probeWait  = 5 * time.Millisecond
	probeTries = 3
)

// chooseSingle decides at Open which waiter the device gets: $VKDEP_WAITER, else the single
// waiter where the driver's wait-any spins. It measures in every case (5 ms where it spins, 15 ms
// where it blocks), so that tests and benchmarks that force a waiter know what the driver does.
func chooseSingle(dev *vk.Device) (single, spins bool) {
	spins = waitAnySpins(dev)
	switch os.Getenv(waiterEnv) {
	case "any":
		return false, spins
	case "single":
		return true, spins
	}
	return spins, spins
}

// waitAnySpins measures the calling thread's CPU time during a short wait-any on two timelines
// nobody signals: a blocking wait uses next to none of it, a polling one about all of it. When it
// cannot tell, it answers yes: the single waiter is correct on every driver, only costlier in
// threads.
func waitAnySpins(dev *vk.Device) bool {
	a, err := dev.CreateTimeline(0)
	if err != nil {
		return true
	}
	defer dev.DestroySemaphore(a)
	b, err := dev.CreateTimeline(0)
	if err != nil {
		return true
	}
	defer dev.DestroySemaphore(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// A blocking wait uses a few microseconds of CPU; a polling one, on a loaded machine, still
	// gets a fair share of a core, though maybe not in every window: a tenth of the wall time
	// in any of three tries decides.
	for range probeTries {
		cpu0, t0 := vk.ThreadCPUTime(), time.Now()
		err = dev.WaitAny([]vk.Semaphore{a, b}, []uint64{1, 1}, uint64(probeWait), 0, nil)
		cpu, wall := vk.ThreadCPUTime()-cpu0, time.Since(t0)
		if cpu0 < 0 || err != vk.Timeout || cpu*10 > int64(wall) {
			return true
		}
	}
	return false
}
