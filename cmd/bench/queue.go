package main

import (
	"context"
	"fmt"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// runQueue measures vkdep's submission paths against the raw yardsticks of the same run: empty
// jobs through bypass and through the worker, and bursts of ready jobs (batched by the worker)
// against one raw submit per job. The two-queue chain is the chain workload (chain.go).
func runQueue(e *env) ([]row, error) {
	var rows []row
	ctx := context.Background()
	n := e.n(200_000)
	for _, bypass := range []bool{true, false} {
		q, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "bench", Bypass: bypass, Credits: 4096})
		if err != nil {
			return rows, err
		}
		start := time.Now()
		var last, mark vkdep.Fence
		for i := range n {
			f, err := q.Submit(q.NewJob())
			if err != nil {
				return rows, err
			}
			last = f
			if i%1024 == 1023 {
				if err := mark.Wait(ctx); err != nil {
					return rows, err
				}
				mark = f
			}
		}
		if err := last.Wait(ctx); err != nil {
			return rows, err
		}
		variant := "vkdep worker"
		if bypass {
			variant = "vkdep bypass"
		}
		rows = append(rows, row{workload: "submit", variant: variant, jobs: n, elapsed: time.Since(start), ratioTo: []string{"raw"}})
		q.Close()
		<-q.Done()
	}

	// Bursts of 64 ready jobs.
	const burst = 64
	bursts := e.n(200_000) / burst
	sem, err := e.g.Timeline()
	if err != nil {
		return rows, err
	}
	hw := e.dev.VkQueues()[0]
	ops := []vk.SemOp{{Semaphore: sem, Stage: vk.StageAllCommands}}
	desc := []vk.SubmitDesc{{Signals: 1}}
	var v uint64
	start := time.Now()
	for range bursts {
		for range burst {
			v++
			ops[0].Value = v
			hw.Lock.Lock()
			err := e.g.VK.Submit(vk.Queue(hw.Handle), desc, ops, nil)
			hw.Lock.Unlock()
			if err != nil {
				return rows, err
			}
		}
		if err := e.g.VK.WaitAll([]vk.Semaphore{sem}, []uint64{v}, uint64(time.Minute)); err != nil {
			return rows, err
		}
	}
	rows = append(rows, row{workload: "burst64", variant: "raw", jobs: bursts * burst, elapsed: time.Since(start)})
	q, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "burst", Credits: 4096})
	if err != nil {
		return rows, err
	}
	start = time.Now()
	for range bursts {
		q.Stop()
		var last vkdep.Fence
		for range burst {
			last, _ = q.Submit(q.NewJob())
		}
		q.Start()
		if err := last.Wait(ctx); err != nil {
			return rows, err
		}
	}
	s := q.Stats()
	rows = append(rows, row{workload: "burst64", variant: fmt.Sprintf("vkdep batched (%.0f/submit)", float64(s.WorkerSubmitted)/float64(s.SubmitCalls)),
		jobs: bursts * burst, elapsed: time.Since(start), ratioTo: []string{"raw"}})
	q.Close()
	<-q.Done()

	return rows, nil
}
