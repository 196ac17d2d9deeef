package main

import (
	"context"
	"fmt"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// runChain is a chain of tiny dispatches, each depending on the one before, alternating between
// two queues: each job appends its index to a log buffer with the Append kernel, and the log must
// read 1..N in order at the end. Variants: a hand-written raw chain over two timeline semaphores
// (the GPU waits), vkdep with GPU-side waits, vkdep completion-gated (the drm_sched way: job i is
// submitted only once job i-1's fence has completed), and raw submit + vkQueueWaitIdle per job.
func runChain(e *env) ([]row, error) {
	ctx := context.Background()
	n := 1000
	if e.quick {
		n = 200
	}
	log, err := e.g.Buffer(uint64(4 * (n + 1)))
	if err != nil {
		return nil, err
	}
	// Command buffers, recorded before any timing, per queue family; job i appends i.
	cmds := map[uint32][]vk.CommandBuffer{}
	cmdsFor := func(family uint32) ([]vk.CommandBuffer, error) {
		if c, ok := cmds[family]; ok {
			return c, nil
		}
		c := make([]vk.CommandBuffer, n+1)
		for i := 1; i <= n; i++ {
			var err error
			c[i], err = e.g.Record(family, func(cmd vk.CommandBuffer) {
				e.g.Append(cmd, log, uint32(i))
				e.g.VK.Barrier(cmd, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageHost, vk.AccessHostRead)
			})
			if err != nil {
				return nil, err
			}
		}
		cmds[family] = c
		return c, nil
	}
	check := func(variant string) error {
		ids := log.Uint32s()
		if ids[0] != uint32(n) {
			return fmt.Errorf("%s: log holds %d entries, want %d", variant, ids[0], n)
		}
		for k := range n {
			if ids[1+k] != uint32(k+1) {
				return fmt.Errorf("%s: log[%d] = %d, want %d (jobs ran out of order)", variant, k, ids[1+k], k+1)
			}
		}
		clear(log.Bytes()) // the device is idle: ready for the next variant
		return nil
	}
	const (
		rawChain = "raw timeline chain"
		gated    = "vkdep completion-gated"
	)
	// Raw: two timelines, job i waits for i-1 on the other one, all on the first VkQueue.
	hw := e.dev.VkQueues()[0]
	rc, err := cmdsFor(hw.Family)
	if err != nil {
		return nil, err
	}
	a, err := e.g.Timeline()
	if err != nil {
		return nil, err
	}
	b, err := e.g.Timeline()
	if err != nil {
		return nil, err
	}
	tl := [2]vk.Semaphore{a, b}
	ops := make([]vk.SemOp, 0, 2)
	cmd := make([]vk.CommandBuffer, 1)
	var base uint64 // timeline values already used by earlier rounds
	rawTimeline := func() (time.Duration, error) {
		start := time.Now()
		for i := 1; i <= n; i++ {
			k := i % 2
			waits := 0
			ops = ops[:0]
			if i > 1 {
				ops = append(ops, vk.SemOp{Semaphore: tl[1-k], Value: base + uint64(i-1), Stage: vk.StageAllCommands})
				waits = 1
			}
			ops = append(ops, vk.SemOp{Semaphore: tl[k], Value: base + uint64(i), Stage: vk.StageAllCommands})
			cmd[0] = rc[i]
			hw.Lock.Lock()
			err := e.g.VK.Submit(vk.Queue(hw.Handle), []vk.SubmitDesc{{Waits: uint32(waits), Cmds: 1, Signals: 1}}, ops, cmd)
			hw.Lock.Unlock()
			if err != nil {
				return 0, err
			}
		}
		if err := e.g.VK.WaitAll([]vk.Semaphore{tl[n%2]}, []uint64{base + uint64(n)}, uint64(time.Minute)); err != nil {
			return 0, err
		}
		base += uint64(n)
		return time.Since(start), nil
	}

	// vkdep, twice over the same two queues: GPU-side waits, then completion-gated.
	qa, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "ping", Bypass: true, Credits: 4096})
	if err != nil {
		return nil, err
	}
	defer func() { qa.Close(); <-qa.Done() }()
	qb, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "pong", Bypass: true, Credits: 4096})
	if err != nil {
		return nil, err
	}
	defer func() { qb.Close(); <-qb.Done() }()
	qs := [2]*vkdep.Queue{qa, qb}
	var qc [2][]vk.CommandBuffer
	for k, q := range qs {
		if qc[k], err = cmdsFor(q.Family()); err != nil {
			return nil, err
		}
	}
	vkdepChain := func(gate bool) (time.Duration, error) {
		var prev vkdep.Fence
		start := time.Now()
		for i := 1; i <= n; i++ {
			k := i % 2
			if gate {
				if err := prev.Wait(ctx); err != nil {
					return 0, err
				}
			}
			j := qs[k].NewJob()
			if err := j.AddCommandBuffers(uint64(qc[k][i])); err != nil {
				return 0, err
			}
			if err := j.AddDependency(prev); err != nil {
				return 0, err
			}
			f, err := qs[k].Submit(j)
			if err != nil {
				return 0, err
			}
			prev = f
		}
		if err := prev.Wait(ctx); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}

	// Raw, the simplest correct way: submit, then vkQueueWaitIdle, per job.
	waitIdle := func() (time.Duration, error) {
		start := time.Now()
		for i := 1; i <= n; i++ {
			cmd[0] = rc[i]
			hw.Lock.Lock()
			err := e.g.VK.Submit(vk.Queue(hw.Handle), []vk.SubmitDesc{{Cmds: 1}}, nil, cmd)
			if err == nil {
				err = vk.QueueWaitIdle(vk.Queue(hw.Handle))
			}
			hw.Lock.Unlock()
			if err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}

	variants := []variant{
		{rawChain, rawTimeline, nil},
		{"vkdep (GPU-side waits)", func() (time.Duration, error) { return vkdepChain(false) }, []string{rawChain, gated}},
		{gated, func() (time.Duration, error) { return vkdepChain(true) }, []string{rawChain}},
		{"raw submit+WaitIdle", waitIdle, []string{rawChain, gated}},
	}
	return bestOf(e, "chain", n, variants, check)
}

// variant is one way of running a workload, timed by run.
type variant struct {
	name    string
	run     func() (time.Duration, error)
	ratioTo []string
}

// bestOf runs the variants round-robin for a few rounds, checking the results after each run,
// and keeps each variant's fastest run: the machine's noise (other processes, the first run's
// warm-up) hits every variant alike.
func bestOf(e *env, workload string, jobs int, variants []variant, check func(variant string) error) ([]row, error) {
	best := make([]time.Duration, len(variants))
	for range 3 {
		for i, v := range variants {
			d, err := v.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
			if err := check(v.name); err != nil {
				return nil, err
			}
			if best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	rows := make([]row, len(variants))
	for i, v := range variants {
		rows[i] = row{workload: workload, variant: v.name, jobs: jobs, elapsed: best[i], ratioTo: v.ratioTo}
	}
	return rows, nil
}
