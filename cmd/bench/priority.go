package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// runPriority shows the hardware-scheduling layer (H1–H3) on one shared VkQueue, with the layer
// and with plain FIFO (Options.Scheduling), each on a device of its own opened for the variant:
//
//   - a realtime queue's job latency, unloaded and while a low and a normal queue flood the same
//     VkQueue with larger jobs (H1, H2: it waits behind at most the driver budget of their work);
//   - an equal-priority light queue's job latency, unloaded and beside a heavy queue that floods
//     (H2, H3).
//
// Every job is a spin: the gate kernel with no release, ending when its budget of iterations is
// spent, so its GPU time is fixed by the workgroups and the budget.
func runPriority(e *env) ([]row, error) {
	var rows []row
	for _, mode := range []vkdep.Scheduling{vkdep.SchedulePriority, vkdep.ScheduleFIFO} {
		opts := e.opts
		opts.Scheduling = mode
		d, err := vkdep.Open(opts)
		if err != nil {
			return rows, err
		}
		g, err := gpu.New(d)
		if err != nil {
			d.Close(context.Background())
			return rows, err
		}
		r, err := priorityRun(e, d, g, mode)
		rows = append(rows, r...)
		g.VK.WaitIdle()
		g.Close()
		if cerr := d.Close(context.Background()); err == nil {
			err = cerr
		}
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// Spin sizes. A GPU does not preempt a job it runs (and lavapipe runs a job to its end), so a job
// that arrives waits for the one running: the flood's jobs are the probe's size, and the heavy
// queue's twice that. With larger flood jobs the wait grows with them, whatever the scheduling.
var (
	probeSpin = spinSize{workgroups: 1, budget: 400}
	floodSpin = probeSpin
	heavySpin = spinSize{workgroups: 1, budget: 800}
)

type spinSize struct{ workgroups, budget uint32 }

// spinner records spin jobs: one command buffer per size and family, reused by every job.
type spinner struct {
	g                *gpu.Ctx
	gate, abort, res *vk.Buffer
	cmds             map[[3]uint32]vk.CommandBuffer
	mu               sync.Mutex
}

// newSpinner makes a spinner with its own gate, abort and result words (never set: its jobs end
// when their budget is spent).
func newSpinner(g *gpu.Ctx) (*spinner, error) {
	s := &spinner{g: g, cmds: map[[3]uint32]vk.CommandBuffer{}}
	for _, b := range []**vk.Buffer{&s.gate, &s.abort, &s.res} {
		var err error
		if *b, err = g.Buffer(64); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *spinner) cmd(family uint32, z spinSize) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [3]uint32{family, z.workgroups, z.budget}
	if c, ok := s.cmds[key]; ok {
		return uint64(c), nil
	}
	c, err := s.g.Record(family, func(cmd vk.CommandBuffer) {
		s.g.Gate(cmd, gpu.GateSpec{Gate: s.gate, AbortBuf: s.abort, ResultBuf: s.res, Release: 0, Abort: 0, Result: 0,
			Workgroups: z.workgroups, Budget: z.budget})
	})
	if err != nil {
		return 0, err
	}
	s.cmds[key] = c
	return uint64(c), nil
}

func (s *spinner) submit(q *vkdep.Queue, z spinSize) (vkdep.Fence, error) {
	c, err := s.cmd(q.Family(), z)
	if err != nil {
		return vkdep.Fence{}, err
	}
	j := q.NewJob()
	j.AddCommandBuffers(c)
	return q.Submit(j)
}

// latency submits n jobs of size z to q one after the other and returns each one's time from
// Submit until its fence completed.
func (s *spinner) latency(q *vkdep.Queue, z spinSize, n int, gap time.Duration) ([]time.Duration, error) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		f, err := s.submit(q, z)
		if err != nil {
			return nil, err
		}
		if err := f.Wait(ctx); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(start))
		time.Sleep(gap) // sample the flood at different moments
	}
	return lat, nil
}

// flood keeps about depth jobs of size z queued on each of qs until stop closes, then waits for
// them.
func (s *spinner) flood(qs []*vkdep.Queue, z spinSize, depth int, stop <-chan struct{}) (wait func() error) {
	var wg sync.WaitGroup
	errs := make(chan error, len(qs))
	for _, q := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ring := make([]vkdep.Fence, depth)
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-stop:
					for _, f := range ring {
						f.Wait(ctx)
					}
					return
				default:
				}
				if err := ring[i%depth].Wait(ctx); err != nil {
					errs <- err
					return
				}
				f, err := s.submit(q, z)
				if err != nil {
					errs <- err
					return
				}
				ring[i%depth] = f
			}
		}()
	}
	return func() error {
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
			return nil
		}
	}
}

func priorityRun(e *env, d *vkdep.Device, g *gpu.Ctx, mode vkdep.Scheduling) ([]row, error) {
	samples := 300
	if e.quick {
		samples = 60
	}
	s, err := newSpinner(g)
	if err != nil {
		return nil, err
	}
	label := " (layer)"
	if mode == vkdep.ScheduleFIFO {
		label = " (FIFO)"
	}
	newQ := func(name string, p vkdep.Priority) (*vkdep.Queue, error) {
		// Every queue on the first VkQueueIndex: the case the layer is for (lavapipe has only it).
		return d.NewQueue(vkdep.QueueOptions{Name: name, Priority: p, VkQueueIndex: 1, Bypass: true, Credits: 256})
	}
	var rows []row
	const gap = 200 * time.Microsecond

	// A realtime queue beside a low and a normal one that flood.
	rt, err := newQ("realtime", vkdep.PriorityRealtime)
	if err != nil {
		return nil, err
	}
	low, err := newQ("low flood", vkdep.PriorityLow)
	if err != nil {
		return nil, err
	}
	normal, err := newQ("normal flood", vkdep.PriorityNormal)
	if err != nil {
		return nil, err
	}
	r, err := s.probeUnderFlood(rt, []*vkdep.Queue{low, normal}, floodSpin, samples, gap,
		"priority", "realtime job, unloaded"+label, "realtime job, low+normal flood"+label)
	rows = append(rows, r...)
	if err != nil {
		return rows, err
	}
	for _, q := range []*vkdep.Queue{rt, low, normal} {
		q.Close()
		<-q.Done()
	}

	// Two queues of equal priority: a light one beside a heavy one that floods.
	light, err := newQ("light", vkdep.PriorityNormal)
	if err != nil {
		return rows, err
	}
	heavy, err := newQ("heavy", vkdep.PriorityNormal)
	if err != nil {
		return rows, err
	}
	r, err = s.probeUnderFlood(light, []*vkdep.Queue{heavy}, heavySpin, samples, gap,
		"fair", "light job, unloaded"+label, "light job beside a heavy queue"+label)
	rows = append(rows, r...)
	if err != nil {
		return rows, err
	}
	heavyStats := heavy.Stats()
	for _, q := range []*vkdep.Queue{light, heavy} {
		q.Close()
		<-q.Done()
	}
	if heavyStats.Completed == 0 {
		return rows, fmt.Errorf("fair: the heavy queue completed nothing")
	}
	return rows, nil
}

// probeUnderFlood measures probe's job latency (samples jobs, gap apart, after ten to warm up
// pipelines and the queues' estimates of their jobs' GPU time) unloaded, then while flooders
// keep 64 jobs of size z queued each: the rows unloaded and loaded, the second relative to the
// first.
func (s *spinner) probeUnderFlood(probe *vkdep.Queue, flooders []*vkdep.Queue, z spinSize, samples int, gap time.Duration,
	workload, unloadedName, loadedName string) ([]row, error) {
	if _, err := s.latency(probe, probeSpin, 10, 0); err != nil {
		return nil, err
	}
	unloaded, err := s.latency(probe, probeSpin, samples, gap)
	if err != nil {
		return nil, err
	}
	rows := []row{latencyRow(workload, unloadedName, unloaded)}
	stop := make(chan struct{})
	wait := s.flood(flooders, z, 64, stop)
	time.Sleep(50 * time.Millisecond)
	loaded, err := s.latency(probe, probeSpin, samples, gap)
	close(stop)
	if werr := wait(); err == nil {
		err = werr
	}
	if err != nil {
		return rows, err
	}
	return append(rows, latencyRow(workload, loadedName, loaded, unloadedName)), nil
}
