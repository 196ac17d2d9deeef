package main

import (
	"context"
	"fmt"
	"time"

	"vkdep.dev/internal/vk"
)

// runSubmit measures the raw yardsticks: an empty vkQueueSubmit2 signalling the next timeline
// value (throughput, timed until the last value is reached), the submit → host-wait round trip,
// and a host signal seen through a vkdep Fence.
func runSubmit(e *env) ([]row, error) {
	sem, err := e.g.Timeline()
	if err != nil {
		return nil, err
	}
	q := e.dev.VkQueues()[0]
	ops := []vk.SemOp{{Semaphore: sem, Stage: vk.StageAllCommands}}
	desc := []vk.SubmitDesc{{Signals: 1}}
	var v uint64
	submit := func() error {
		v++
		ops[0].Value = v
		q.Lock.Lock()
		defer q.Lock.Unlock()
		return e.g.VK.Submit(vk.Queue(q.Handle), desc, ops, nil)
	}
	wait := func() error {
		return e.g.VK.WaitAll([]vk.Semaphore{sem}, []uint64{v}, uint64(time.Minute))
	}

	var rows []row
	n := e.n(200_000)
	start := time.Now()
	for range n {
		if err := submit(); err != nil {
			return rows, err
		}
	}
	if err := wait(); err != nil {
		return rows, err
	}
	rows = append(rows, row{workload: "submit", variant: "raw", jobs: n, elapsed: time.Since(start)})

	n = e.n(20_000)
	start = time.Now()
	for range n {
		if err := submit(); err != nil {
			return rows, err
		}
		if err := wait(); err != nil {
			return rows, err
		}
	}
	rows = append(rows, row{workload: "round-trip", variant: "raw", jobs: n, elapsed: time.Since(start)})

	h, err := e.dev.NewHostTimeline("bench")
	if err != nil {
		return rows, err
	}
	n = e.n(20_000)
	start = time.Now()
	for i := range n {
		if err := h.Signal(uint64(i + 1)); err != nil {
			return rows, err
		}
		if err := h.Point(uint64(i + 1)).Wait(context.Background()); err != nil {
			return rows, fmt.Errorf("host point %d: %w", i+1, err)
		}
	}
	rows = append(rows, row{workload: "round-trip", variant: "host-signal→fence", jobs: n, elapsed: time.Since(start), ratioTo: []string{"raw"}})
	return rows, nil
}
