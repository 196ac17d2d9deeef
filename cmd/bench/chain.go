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
// (the GPU waits) on one VkQueue and across two; vkdep with its default placement, vkdep forced
// across two VkQueues, vkdep completion-gated (the drm_sched way: job i is submitted only once
// job i-1's fence has completed), and raw submit + vkQueueWaitIdle per job. A wait between two
// VkQueues can cost far more than on one (PLATFORM.md: ~170 µs per hop on an H200), so each row
// names the VkQueues it used. Where the device has one compute VkQueue per family (lavapipe),
// the "two VkQueues" rows run on one and coincide with the others; a note says so.
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
		rawOne   = "raw timeline chain, one VkQueue"
		rawTwo   = "raw timeline chain, two VkQueues"
		vkDef    = "vkdep (GPU-side waits), default placement"
		vkForced = "vkdep (GPU-side waits), forced across two VkQueues"
		gated    = "vkdep completion-gated"
	)
	// Two compute VkQueues of one family; one where the device has no second.
	pair := computeVkQueues(e.dev, 2)
	if len(pair) < 2 {
		pair = append(pair, pair[0])
		e.note("chain: %s has one compute VkQueue per family: the two-VkQueue rows run on VkQueue %d and coincide with the one-VkQueue rows",
			e.dev.Info().Name, pair[0])
	}
	all := e.dev.VkQueues()
	hws := [2]vkdep.VkQueue{all[pair[0]-1], all[pair[1]-1]}
	rc, err := cmdsFor(hws[0].Family)
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
	// Raw: two timelines, job i waits for i-1 on the other one; on one VkQueue, or job i on
	// VkQueue i%2 of the pair.
	rawTimeline := func(two bool) (time.Duration, error) {
		start := time.Now()
		for i := 1; i <= n; i++ {
			k := i % 2
			hw := hws[0]
			if two {
				hw = hws[k]
			}
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

	// vkdep: a pair of queues placed by vkdep (which may move them together: H4) for GPU-side
	// waits, a pair pinned to two VkQueues, and a pair for completion-gated submission (its own:
	// its jobs show the placement policy no GPU-side dependency, so it would undo the first
	// pair's placement).
	pairOf := func(name string, opts [2]vkdep.QueueOptions) ([2]*vkdep.Queue, [2][]vk.CommandBuffer, error) {
		var qs [2]*vkdep.Queue
		var qc [2][]vk.CommandBuffer
		for k := range qs {
			o := opts[k]
			o.Name, o.Bypass, o.Credits = fmt.Sprintf("%s-%d", name, k), true, 4096
			q, err := e.dev.NewQueue(o)
			if err != nil {
				return qs, qc, err
			}
			qs[k] = q
			if qc[k], err = cmdsFor(q.Family()); err != nil {
				return qs, qc, err
			}
		}
		return qs, qc, nil
	}
	def, defCmds, err := pairOf("chain", [2]vkdep.QueueOptions{})
	for _, q := range def {
		if q != nil {
			defer func() { q.Close(); <-q.Done() }()
		}
	}
	if err != nil {
		return nil, err
	}
	gatedQs, gatedCmds, err := pairOf("chain-gated", [2]vkdep.QueueOptions{})
	for _, q := range gatedQs {
		if q != nil {
			defer func() { q.Close(); <-q.Done() }()
		}
	}
	if err != nil {
		return nil, err
	}
	forced, forcedCmds, err := pairOf("chain-pinned", [2]vkdep.QueueOptions{{VkQueueIndex: pair[0]}, {VkQueueIndex: pair[1]}})
	for _, q := range forced {
		if q != nil {
			defer func() { q.Close(); <-q.Done() }()
		}
	}
	if err != nil {
		return nil, err
	}
	vkdepChain := func(qs [2]*vkdep.Queue, qc [2][]vk.CommandBuffer, gate bool) (time.Duration, error) {
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
		hw := hws[0]
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

	tr, stop := track(e.dev)
	defer stop()
	used := func() string { return vkqNames(tr.take()) }
	fixed := func(s string) func() string { return func() string { tr.take(); return s } }
	variants := []variant{
		{rawOne, func() (time.Duration, error) { return rawTimeline(false) }, nil, fixed(vkqList(pair[0]))},
		{rawTwo, func() (time.Duration, error) { return rawTimeline(true) }, []string{rawOne}, fixed(vkqList(pair...))},
		{vkDef, func() (time.Duration, error) { return vkdepChain(def, defCmds, false) }, []string{rawOne, rawTwo, gated}, used},
		{vkForced, func() (time.Duration, error) { return vkdepChain(forced, forcedCmds, false) }, []string{rawOne, rawTwo, gated}, used},
		{gated, func() (time.Duration, error) { return vkdepChain(gatedQs, gatedCmds, true) }, []string{rawOne}, used},
		{"raw submit+WaitIdle", waitIdle, []string{rawOne, gated}, fixed(vkqList(pair[0]))},
	}
	rows, err := bestOf(e, "chain", n, variants, check)
	if err == nil {
		for _, q := range def {
			e.note("chain: default placement left %s on %s", q.Name(), q.Placement())
		}
	}
	return rows, err
}

// variant is one way of running a workload, timed by run.
type variant struct {
	name    string
	run     func() (time.Duration, error)
	ratioTo []string
	vkqs    func() string // which VkQueues the run just made used; nil: not said
}

// bestOf runs the variants round-robin for a few rounds, checking the results after each run,
// and keeps each variant's fastest run: the machine's noise (other processes, the first run's
// warm-up) hits every variant alike.
func bestOf(e *env, workload string, jobs int, variants []variant, check func(variant string) error) ([]row, error) {
	best := make([]time.Duration, len(variants))
	vkqs := make([]string, len(variants))
	for range 3 {
		for i, v := range variants {
			d, err := v.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
			if err := check(v.name); err != nil {
				return nil, err
			}
			used := ""
			if v.vkqs != nil {
				used = v.vkqs()
			}
			if best[i] == 0 || d < best[i] {
				best[i], vkqs[i] = d, used
			}
		}
	}
	rows := make([]row, len(variants))
	for i, v := range variants {
		rows[i] = row{workload: workload, variant: v.name, jobs: jobs, elapsed: best[i], ratioTo: v.ratioTo, vkqs: vkqs[i]}
	}
	return rows, nil
}
