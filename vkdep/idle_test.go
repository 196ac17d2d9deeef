package vkdep_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// processCPU is the CPU time the whole process has used, user and system, every thread.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestIdleDeviceCostsNoCPU/F3_idle_device_costs_no_CPU shows F3: an open device with no work, with no queue or with
// four that have run a job (so their watch threads have waited in the driver), uses next to no
// CPU. A spinning completion waiter uses 75–100 % of a core on lavapipe; blocking, about 0 %. The
// bound, 20 % of a core over one second, leaves a 5x margin for a noisy machine. The test runs
// with the waiter Open chooses, and with each waiter forced where the driver's wait-any blocks
// (where it spins, forcing the wait-any waiter would spin by design, so that case only reports).
func TestIdleDeviceCostsNoCPU(t *testing.T) {
	t.Run("F3_idle_device_costs_no_CPU", func(t *testing.T) {
		closeShared(t) // the process's CPU must be this test's devices' alone
		for _, waiter := range []string{"", "single", "any"} {
			for _, queues := range []int{0, 4} {
				name := waiter
				if name == "" {
					name = "chosen"
				}
				t.Run(fmt.Sprintf("%s_waiter_%d_queues", name, queues), func(t *testing.T) {
					t.Setenv("VKDEP_WAITER", waiter)
					d := vktest.Open(t)
					kind := vkdep.WaiterKind(d)
					t.Logf("completion waiter %s (wait-any spins: %v), queue order by %s", kind, vkdep.WaitAnySpins(d), vkdep.QueueOrder(d))
					r := newRigOn(t, d)
					for i := range queues {
						q := r.queue(vkdep.QueueOptions{Name: fmt.Sprintf("idle%d", i), Bypass: i%2 == 0})
						if err := r.wait(r.submit(q, r.job(q, uint32(i)))); err != nil {
							t.Fatal(err)
						}
					}
					r.check()
					time.Sleep(50 * time.Millisecond) // completion callbacks and release hooks settle
					cpu0, t0 := processCPU(t), time.Now()
					time.Sleep(time.Second)
					share := float64(processCPU(t)-cpu0) / float64(time.Since(t0))
					t.Logf("%s waiter, %d queues: idle device used %.1f %% of a core", kind, queues, 100*share)
					if share > 0.20 {
						if waiter == "any" && vkdep.WaitAnySpins(d) {
							t.Logf("expected: Open measured that this driver's wait-any spins")
							return
						}
						t.Fatalf("F3: an idle device (%s waiter, %d queues) used %.0f %% of a core, over the 20 %% bound",
							kind, queues, 100*share)
					}
				})
			}
		}
	})
}
