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
// submitted only once every fence it depends on has completed). Every iteration's sum and scan
// total, and the final y and prefix sum element by element, are checked on the CPU.
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

	qs := make([]*vkdep.Queue, 3)
	for i := range qs {
		q, err := e.dev.NewQueue(vkdep.QueueOptions{Name: fmt.Sprintf("pipeline%d", i), Bypass: true})
		if err != nil {
			return nil, err
		}
		defer func() { q.Close(); <-q.Done() }()
		qs[i] = q
	}

	// The jobs of every iteration, recorded once for their queue's family and submitted by
	// both variants: upload+SAXPY, reduce, scan, readback; deps index the same iteration.
	type job struct {
		q    int
		cmd  vk.CommandBuffer
		deps []int
	}
	var recErr error
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

	pipelined := func(gate bool) (time.Duration, error) {
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
	return bestOf(e, "pipeline", 4*iters, []variant{
		{gated, func() (time.Duration, error) { return pipelined(true) }, nil},
		{fmt.Sprintf("vkdep (GPU-side waits) n=%d", n), func() (time.Duration, error) { return pipelined(false) }, []string{gated}},
	}, check)
}
