package vkdep

import (
	"fmt"
	"os"
	"time"
)

// The hardware-scheduling layer's public policy: queue priorities (H1), the scheduling mode and
// the driver bound's defaults (H2). The arbiter that applies them is in arbiter.go.

// Priority orders the ready jobs of queues that share a VkQueue (H1): a queue of higher priority
// has its ready jobs submitted first. Where the device allows it, high and realtime queues are
// also placed on VkQueues of a higher global priority (H5, see DeviceInfo.GlobalPriority).
type Priority int8

const (
	// PriorityLow is for background work: it gets the VkQueue when nothing else is ready.
	PriorityLow Priority = -1
	// PriorityNormal, the zero value, is the default.
	PriorityNormal Priority = 0
	// PriorityHigh is for latency-sensitive work, such as a compositor.
	PriorityHigh Priority = 1
	// PriorityRealtime is above everything else.
	PriorityRealtime Priority = 2
)

// check returns an error for a value outside PriorityLow..PriorityRealtime.
func (p Priority) check() error {
	if p < PriorityLow || p > PriorityRealtime {
		return fmt.Errorf("vkdep: QueueOptions.Priority %d: want PriorityLow (-1) to PriorityRealtime (2)", int(p))
	}
	return nil
}

func (p Priority) String() string {
	switch p {
	case PriorityLow:
		return "low"
	case PriorityNormal:
		return "normal"
	case PriorityHigh:
		return "high"
	case PriorityRealtime:
		return "realtime"
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// Scheduling chooses how the ready jobs of queues sharing one VkQueue reach it
// (Options.Scheduling).
type Scheduling int

const (
	// SchedulePriority, the default, is the hardware-scheduling layer: among queues sharing a
	// VkQueue, higher priority first (H1), a bounded depth of work in the driver (H2), and a
	// fair share by GPU time among equal priorities (H3). A queue alone on its VkQueue is not
	// gated at all.
	SchedulePriority Scheduling = iota
	// ScheduleFIFO submits every ready job as soon as its queue's goroutine gets the VkQueue's
	// lock, first come first served, with no bound on the driver's queue: vkdep's behaviour
	// before the layer, kept for comparison. VKDEP_SCHED=fifo selects it too.
	ScheduleFIFO
)

func (s Scheduling) String() string {
	if s == ScheduleFIFO {
		return "fifo"
	}
	return "priority"
}

// The defaults of H2's bound on the work of vkdep queues submitted to one shared VkQueue and not
// yet finished (Options.DriverDepth, Options.DriverBudget). The bound is in estimated GPU time:
// a high-priority job finds at most about DefaultDriverBudget of lower-priority work ahead of it
// in the driver, however small or large the jobs. The job count only caps jobs too small to
// estimate. Measured on lavapipe (docs/BENCHMARKS.md, BenchmarkDriverDepth and cmd/bench's
// priority workload): a budget of about twice the time vkdep takes to see a completion and hand
// the driver the next job (tens of microseconds) keeps the VkQueue busy, and each further job
// ahead only adds latency.
const (
	DefaultDriverDepth  = 256
	DefaultDriverBudget = 300 * time.Microsecond
)

// schedConfig resolves the device's scheduling options, with VKDEP_SCHED, VKDEP_DRIVER_DEPTH and
// VKDEP_DRIVER_BUDGET overriding them (for benchmarks and experiments without a rebuild).
func schedConfig(mode Scheduling, depth int, budget time.Duration) (Scheduling, int32, int64) {
	switch os.Getenv("VKDEP_SCHED") {
	case "fifo":
		mode = ScheduleFIFO
	case "priority":
		mode = SchedulePriority
	}
	if v := os.Getenv("VKDEP_DRIVER_DEPTH"); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
			depth = n
		}
	}
	if v := os.Getenv("VKDEP_DRIVER_BUDGET"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			budget = d
		}
	}
	if depth <= 0 {
		depth = DefaultDriverDepth
	}
	if budget <= 0 {
		budget = DefaultDriverBudget
	}
	return mode, int32(depth), int64(budget)
}
