package main

import (
	"context"
	"fmt"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// runQueue measures vkdep's submission paths against the raw yardsticks of the same run: empty
// jobs through bypass and through the worker; bursts of ready jobs (batched by the worker) against
// one raw submit per job; and a two-queue ping-pong chain (GPU-side waits) against a hand-written
// raw timeline chain.
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
		rows = append(rows, row{workload: "submit", variant: variant, jobs: n, elapsed: time.Since(start), ratioTo: "raw"})
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
		if err := e.g.VK.Wait(false, []vk.Semaphore{sem}, []uint64{v}, uint64(time.Minute), 0, nil); err != nil {
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
		jobs: bursts * burst, elapsed: time.Since(start), ratioTo: "raw"})
	q.Close()
	<-q.Done()

	// Ping-pong chain between two queues.
	chain := e.n(100_000)
	a, _ := e.g.Timeline()
	b, _ := e.g.Timeline()
	tl := [2]vk.Semaphore{a, b}
	cops := make([]vk.SemOp, 2)
	start = time.Now()
	for i := 1; i <= chain; i++ {
		k := i % 2
		n := 0
		cops = cops[:0]
		if i > 1 {
			cops = append(cops, vk.SemOp{Semaphore: tl[1-k], Value: uint64(i - 1), Stage: vk.StageAllCommands})
			n = 1
		}
		cops = append(cops, vk.SemOp{Semaphore: tl[k], Value: uint64(i), Stage: vk.StageAllCommands})
		hw.Lock.Lock()
		err := e.g.VK.Submit(vk.Queue(hw.Handle), []vk.SubmitDesc{{Waits: uint32(n), Signals: 1}}, cops, nil)
		hw.Lock.Unlock()
		if err != nil {
			return rows, err
		}
		if i%1024 == 0 {
			if err := e.g.VK.Wait(false, []vk.Semaphore{tl[k]}, []uint64{uint64(i)}, uint64(time.Minute), 0, nil); err != nil {
				return rows, err
			}
		}
	}
	if err := e.g.VK.Wait(false, []vk.Semaphore{tl[chain%2]}, []uint64{uint64(chain)}, uint64(time.Minute), 0, nil); err != nil {
		return rows, err
	}
	rows = append(rows, row{workload: "chain", variant: "raw", jobs: chain, elapsed: time.Since(start)})
	qa, _ := e.dev.NewQueue(vkdep.QueueOptions{Name: "ping", Bypass: true, Credits: 4096})
	qb, _ := e.dev.NewQueue(vkdep.QueueOptions{Name: "pong", Bypass: true, Credits: 4096})
	qs := [2]*vkdep.Queue{qa, qb}
	var prev vkdep.Fence
	start = time.Now()
	for i := 1; i <= chain; i++ {
		q := qs[i%2]
		j := q.NewJob()
		j.AddDependency(prev)
		f, err := q.Submit(j)
		if err != nil {
			return rows, err
		}
		prev = f
		if i%1024 == 0 {
			if err := f.Wait(ctx); err != nil {
				return rows, err
			}
		}
	}
	if err := prev.Wait(ctx); err != nil {
		return rows, err
	}
	rows = append(rows, row{workload: "chain", variant: "vkdep (GPU-side waits)", jobs: chain, elapsed: time.Since(start), ratioTo: "raw"})
	qa.Close()
	qb.Close()
	<-qa.Done()
	<-qb.Done()
	return rows, nil
}
