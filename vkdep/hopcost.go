package vkdep

import (
	"fmt"
	"time"

	"vkdep.dev/internal/vk"
)

// What a dependency costs on the device, within one VkQueue and across two: the figures placement
// decides from (H4).

// hopCosts is what one dependency hop costs: an empty submit that waits for the value the
// submit before it signals, on one VkQueue (same) and alternating between two (cross).
type hopCosts struct {
	same, cross time.Duration
	source      string
}

// driverHops are costs seen on drivers, used until (or where) vkdep cannot measure them:
// NVIDIA 580.159.04 on an H200 (PLATFORM.md, 2026-11-30): a raw two-timeline chain of tiny
// dispatches cost 14.5 µs per job on one VkQueue and ~170 µs per hop across two.
var driverHops = map[string]hopCosts{
	"NVIDIA": {same: 15 * time.Microsecond, cross: 170 * time.Microsecond, source: "table (NVIDIA 580, H200)"},
}

// crossCostly reports whether moving dependent queues together pays: a wait across VkQueues
// costs more than twice one within a VkQueue. Unknown costs (zero) say no.
func (c hopCosts) crossCostly() bool { return c.cross > 0 && c.cross > 2*c.same }

// measureHops sets the device's hop costs: measured where some family has two compute VkQueues
// (the only case where placement has a choice), else from driverHops. The measurement is 2×8
// empty submits on one VkQueue and 2×8 alternating between two, a few milliseconds at Open on a
// GPU; the driver table is the fallback when it fails.
func (d *Device) measureHops() {
	p := &d.place
	p.costs = driverHops[d.info.Driver]
	var a, b *hwQueue
	for _, x := range d.hw {
		for _, y := range d.hw {
			if a == nil && x != y && x.family == y.family && x.flags&vk.QueueCompute != 0 {
				a, b = x, y
			}
		}
	}
	if a == nil {
		p.measure = "one compute VkQueue per family: nothing to place"
		return
	}
	p.canMove = true
	same, err := d.hopTime(a, a)
	var cross time.Duration
	if err == nil {
		cross, err = d.hopTime(a, b)
	}
	if err != nil {
		p.measure = "measurement failed: " + err.Error()
		d.log.Warn("vkdep: measuring dependency costs", "err", err, "using", p.costs.source)
		return
	}
	p.costs = hopCosts{same: same, cross: cross, source: "measured at Open"}
	p.measure = fmt.Sprintf("wait on one VkQueue %v, across two %v per hop", same, cross)
	d.log.Debug("vkdep: dependency costs", "same", same, "cross", cross)
}

// hopTime is the best of two runs of 8 empty submits alternating between x and y, each waiting
// for the value the one before signalled (its signal is always submitted first: no
// wait-before-signal, D4), per hop.
func (d *Device) hopTime(x, y *hwQueue) (time.Duration, error) {
	const hops = 8
	var sems [2]vk.Semaphore
	for i := range sems {
		s, err := d.vk.CreateTimeline(0)
		if err != nil {
			for _, s := range sems[:i] {
				d.vk.DestroySemaphore(s)
			}
			return 0, err
		}
		sems[i] = s
	}
	defer func() {
		// Both VkQueues are idle before the semaphores go: a submit may still be pending if
		// the wait below failed or timed out (VUID-vkDestroySemaphore-semaphore-01137), and a
		// driver's submit thread can touch a semaphore just after signalling it (lavapipe's
		// does, retire.go; Mesa's other drivers share that runtime).
		for _, h := range [2]*hwQueue{x, y} {
			h.mu.Lock()
			_ = vk.QueueWaitIdle(h.handle)
			h.mu.Unlock()
		}
		for _, s := range sems {
			d.vk.DestroySemaphore(s)
		}
	}()
	best := time.Duration(0)
	var v uint64
	for range 2 {
		start := time.Now()
		for i := range hops {
			v++
			h := [2]*hwQueue{x, y}[i%2]
			ops := []vk.SemOp{{Semaphore: sems[(i+1)%2], Value: v - 1, Stage: vk.StageAllCommands},
				{Semaphore: sems[i%2], Value: v, Stage: vk.StageAllCommands}}
			desc := vk.SubmitDesc{Waits: 1, Signals: 1}
			if v == 1 {
				ops, desc.Waits = ops[1:], 0
			}
			h.mu.Lock()
			err := d.vk.Submit(h.handle, []vk.SubmitDesc{desc}, ops, nil)
			h.mu.Unlock()
			if err != nil {
				return 0, err
			}
		}
		last := sems[(hops-1)%2]
		if err := d.vk.WaitAll([]vk.Semaphore{last}, []uint64{v}, uint64(time.Second)); err != nil {
			return 0, err
		}
		if el := time.Since(start) / hops; best == 0 || el < best {
			best = el
		}
	}
	return best, nil
}
