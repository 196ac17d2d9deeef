package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

// runPipeline is a real compute pipeline over three queues, repeated K times:
//
//	q0: upload (copy the inputs from staging) → y = a·x + y (SAXPY, a = iteration+1)
//	q1: sum of y (Reduce, repeated until one value)        ─ depends on the SAXPY job
//	q2: inclusive prefix sum of u (Scan, scan of block sums, ScanAdd) ─ depends on the SAXPY job
//	q0: readback: copy the sum and the scan total of this iteration to a results buffer
//	    ─ depends on both
//
// vkdep (the GPU waits for each dependency) against the completion-gated baseline (a job is
// submitted only once every fence it depends on has completed), with the queues where vkdep places
// them and pinned to three distinct VkQueues of one family where the device has them. Every
// iteration's sum and scan total, and the final y and prefix sum element by element, are checked on
// the CPU. Where q1 and q2 ran on different VkQueues, a note gives how much their GPU phases
// overlapped, from the jobs' records (the reduction and the scan should run side by side).
func runPipeline(e *env) ([]row, error) {
	ctx := context.Background()
	n, iters := uint32(1<<20), 20
	if e.quick {
		n, iters = 1<<16, 5
	}
	k, err := newKit(e.g)
	if err != nil {
		return nil, err
	}
	defer k.close() // after every job below has completed: the variants wait for their last fence
	g := e.g
	buf := func(words uint32) (*vk.Buffer, error) { return g.Buffer(4 * uint64(max(words, 1))) }
	var x0, y0, u0, x, y, u, results *vk.Buffer
	for _, p := range []**vk.Buffer{&x0, &y0, &u0, &x, &y, &u} {
		if *p, err = buf(n); err != nil {
			return nil, err
		}
	}
	if results, err = buf(2 * uint32(iters)); err != nil {
		return nil, err
	}
	xs, ys, us := x0.Float32s(), y0.Float32s(), u0.Uint32s()
	var sumX, sumY float64
	for i := range n {
		xs[i], ys[i], us[i] = float32(i%17), float32(i%5), i%13
		sumX += float64(xs[i])
		sumY += float64(ys[i])
	}
	// Reduction levels: y (n) → red[0] (n/256) → ... → one value.
	var red []*vk.Buffer
	var redN []uint32
	for m := n; m > 1; m = groups(m, shaders.Reduce.LocalSizeX) {
		b, err := buf(groups(m, shaders.Reduce.LocalSizeX))
		if err != nil {
			return nil, err
		}
		red, redN = append(red, b), append(redN, m)
	}
	// Scan levels: block sums of u, of those, ... down to one block; dummy takes the last total.
	var scanBufs []*vk.Buffer
	for m := n; m > shaders.Scan.LocalSizeX; m = groups(m, shaders.Scan.LocalSizeX) {
		b, err := buf(groups(m, shaders.Scan.LocalSizeX))
		if err != nil {
			return nil, err
		}
		scanBufs = append(scanBufs, b)
	}
	dummy, err := buf(1)
	if err != nil {
		return nil, err
	}
	var scan func(cmd vk.CommandBuffer, data *vk.Buffer, m uint32, level int) error
	scan = func(cmd vk.CommandBuffer, data *vk.Buffer, m uint32, level int) error {
		gr := groups(m, shaders.Scan.LocalSizeX)
		if gr == 1 {
			return k.dispatch(cmd, shaders.Scan, 1, []uint32{m}, data, dummy)
		}
		bs := scanBufs[level]
		if err := k.dispatch(cmd, shaders.Scan, gr, []uint32{m}, data, bs); err != nil {
			return err
		}
		computeBarrier(g, cmd)
		if err := scan(cmd, bs, gr, level+1); err != nil {
			return err
		}
		computeBarrier(g, cmd)
		return k.dispatch(cmd, shaders.ScanAdd, gr, []uint32{m}, data, bs)
	}

	var opened []*vkdep.Queue
	defer func() {
		for _, q := range opened {
			q.Close()
			<-q.Done()
		}
	}()
	newQueues := func(name string, pins []int) ([]*vkdep.Queue, error) {
		qs := make([]*vkdep.Queue, 3)
		for i := range qs {
			o := vkdep.QueueOptions{Name: fmt.Sprintf("%s%d", name, i), Bypass: true}
			if pins != nil {
				o.VkQueueIndex = pins[i]
			}
			q, err := e.dev.NewQueue(o)
			if err != nil {
				return nil, err
			}
			opened = append(opened, q)
			qs[i] = q
		}
		return qs, nil
	}
	defQs, err := newQueues("pipeline", nil)
	if err != nil {
		return nil, err
	}
	// Completion-gated submission gets queues of its own: its jobs show the placement policy no
	// GPU-side dependency, which would undo the default queues' placement between variants.
	gatedQs, err := newQueues("pipeline-gated", nil)
	if err != nil {
		return nil, err
	}
	pins := computeVkQueues(e.dev, 3)
	for len(pins) < 3 {
		pins = append(pins, pins[len(pins)-1])
	}
	if pins[0] == pins[1] || pins[1] == pins[2] {
		e.note("pipeline: %s has fewer than three compute VkQueues in one family: the distinct-VkQueue row shares %s",
			e.dev.Info().Name, vkqList(pins...))
	}
	pinQs, err := newQueues("pipeline-pinned", pins)
	if err != nil {
		return nil, err
	}

	// The jobs of every iteration, recorded once for their queue's family and submitted by
	// both variants: upload+SAXPY, reduce, scan, readback; deps index the same iteration.
	type job struct {
		q    int
		cmd  vk.CommandBuffer
		deps []int
	}
	var recErr error
	var qs []*vkdep.Queue // the queues build records for
	record := func(q int, fn func(cmd vk.CommandBuffer) error) vk.CommandBuffer {
		cmd, err := g.Record(qs[q].Family(), func(cmd vk.CommandBuffer) {
			if err := fn(cmd); err != nil && recErr == nil {
				recErr = err
			}
		})
		if err != nil && recErr == nil {
			recErr = err
		}
		return cmd
	}
	build := func(set []*vkdep.Queue) [][4]job {
		qs = set
		jobs := make([][4]job, iters)
		for it := range iters {
			saxpy := record(0, func(cmd vk.CommandBuffer) error {
				size := 4 * uint64(n)
				cmd.Copy(x0, x, 0, 0, size)
				cmd.Copy(y0, y, 0, 0, size)
				cmd.Copy(u0, u, 0, 0, size)
				g.VK.Barrier(cmd, vk.StageTransfer, vk.AccessTransferWrite, vk.StageComputeShader, vk.AccessShaderRead|vk.AccessShaderWrite)
				g.SAXPY(cmd, x, y, float32(it+1), n)
				return nil
			})
			reduce := record(1, func(cmd vk.CommandBuffer) error {
				in := y
				for l, b := range red {
					if l > 0 {
						computeBarrier(g, cmd)
					}
					if err := k.dispatch(cmd, shaders.Reduce, groups(redN[l], shaders.Reduce.LocalSizeX), []uint32{redN[l]}, in, b); err != nil {
						return err
					}
					in = b
				}
				return nil
			})
			prefix := record(2, func(cmd vk.CommandBuffer) error { return scan(cmd, u, n, 0) })
			readback := record(0, func(cmd vk.CommandBuffer) error {
				cmd.Copy(red[len(red)-1], results, 0, 8*uint64(it), 4)
				cmd.Copy(u, results, 4*uint64(n-1), 8*uint64(it)+4, 4)
				g.VK.Barrier(cmd, vk.StageTransfer, vk.AccessTransferWrite, vk.StageHost, vk.AccessHostRead)
				return nil
			})
			jobs[it] = [4]job{{0, saxpy, nil}, {1, reduce, []int{0}}, {2, prefix, []int{0}}, {0, readback, []int{1, 2}}}
		}
		return jobs
	}
	defJobs := build(defQs)
	jobsFor := func(set []*vkdep.Queue) [][4]job {
		for i := range set {
			if set[i].Family() != defQs[i].Family() {
				return build(set)
			}
		}
		return defJobs
	}
	pinJobs, gatedJobs := jobsFor(pinQs), jobsFor(gatedQs)
	if recErr != nil {
		return nil, recErr
	}

	check := func(variant string) error {
		res := results.Uint32s()
		var total uint64
		for i := range n {
			total += uint64(us[i])
		}
		for it := range iters {
			want := float64(it+1)*sumX + sumY
			got := float64(math.Float32frombits(res[2*it]))
			if math.Abs(got-want) > 1e-4*want {
				return fmt.Errorf("%s: iteration %d: sum %v, want %v", variant, it, got, want)
			}
			if res[2*it+1] != uint32(total) {
				return fmt.Errorf("%s: iteration %d: scan total %d, want %d", variant, it, res[2*it+1], total)
			}
		}
		a := float32(iters)
		yf, uf := y.Float32s(), u.Uint32s()
		var acc uint32
		for i := range n {
			want := a*xs[i] + ys[i]
			if d := math.Abs(float64(yf[i] - want)); d > 1e-6*math.Abs(float64(want)) {
				return fmt.Errorf("%s: y[%d] = %v, want %v", variant, i, yf[i], want)
			}
			acc += us[i]
			if uf[i] != acc {
				return fmt.Errorf("%s: prefix sum [%d] = %d, want %d", variant, i, uf[i], acc)
			}
		}
		clear(results.Bytes())
		return nil
	}

	pipelined := func(qs []*vkdep.Queue, jobs [][4]job, gate bool) (time.Duration, error) {
		var last vkdep.Fence
		start := time.Now()
		for it := range iters {
			var fences [4]vkdep.Fence
			for i, jb := range jobs[it] {
				if gate {
					for _, d := range jb.deps {
						if err := fences[d].Wait(ctx); err != nil {
							return 0, err
						}
					}
				}
				j := qs[jb.q].NewJob()
				if err := j.AddCommandBuffers(uint64(jb.cmd)); err != nil {
					return 0, err
				}
				for _, d := range jb.deps {
					if err := j.AddDependency(fences[d]); err != nil {
						return 0, err
					}
				}
				f, err := qs[jb.q].Submit(j)
				if err != nil {
					return 0, err
				}
				fences[i] = f
			}
			last = fences[3]
		}
		// The last readback depends, through its queue and dependencies, on every job before.
		if err := last.Wait(ctx); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	gated := fmt.Sprintf("vkdep completion-gated n=%d", n)
	overlaps := map[string]string{}
	tr, stop := track(e.dev)
	defer stop()
	// The GPU-side variants also measure how much the reduction (q1) and the scan (q2) of each
	// iteration overlapped on the GPU, when they ran on different VkQueues.
	overlapOf := func(name string, qs []*vkdep.Queue) func() string {
		return func() string {
			recs := tr.take()
			used := vkqNames(recs)
			var v1, v2 []vkdep.JobRecord
			for _, r := range recs {
				switch r.Queue {
				case qs[1].Name():
					v1 = append(v1, r)
				case qs[2].Name():
					v2 = append(v2, r)
				}
			}
			if vkqNames(v1) != vkqNames(v2) && len(v1) > 0 {
				f, pairs := overlap(recs, qs[1].Name(), qs[2].Name(), qs[0].Name())
				overlaps[name] = fmt.Sprintf("pipeline %s: reduce (%s) ∥ scan (%s) GPU phases overlap %.0f%% over %d iterations (from JobRecords: start = later of submitted and SAXPY done)",
					name, vkqNames(v1), vkqNames(v2), 100*f, pairs)
			} else if len(v1) > 0 {
				overlaps[name] = fmt.Sprintf("pipeline %s: reduce and scan shared %s: no overlap possible", name, vkqNames(v1))
			}
			return used
		}
	}
	rows, err := bestOf(e, "pipeline", 4*iters, []variant{
		{gated, func() (time.Duration, error) { return pipelined(gatedQs, gatedJobs, true) }, nil, func() string { return vkqNames(tr.take()) }},
		{fmt.Sprintf("vkdep (GPU-side waits), default placement n=%d", n), func() (time.Duration, error) { return pipelined(defQs, defJobs, false) },
			[]string{gated}, overlapOf("default placement", defQs)},
		{fmt.Sprintf("vkdep (GPU-side waits), distinct VkQueues n=%d", n), func() (time.Duration, error) { return pipelined(pinQs, pinJobs, false) },
			[]string{gated}, overlapOf("distinct VkQueues", pinQs)},
	}, check)
	for _, k := range []string{"default placement", "distinct VkQueues"} {
		if s, ok := overlaps[k]; ok {
			e.note("%s", s)
		}
	}
	return rows, err
}
