package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// Flood is a low-priority compute flood on the compositor's VkQueue (key F, flag -flood): a queue
// at vkdep.PriorityLow that keeps floodDepth spin jobs queued, each a fixed amount of GPU work.
// With vkdep's hardware-scheduling layer the compositor (PriorityHigh) finds at most the driver
// budget of flood work ahead of its frames (H1, H2); with VKDEP_SCHED=fifo it queues behind the
// whole flood, and the HUD's frame-time p99 shows the difference.
type Flood struct {
	s    *Scene
	q    *vkdep.Queue
	cmd  vk.CommandBuffer
	pool vk.CommandPool
	res  *vk.Buffer

	mu      sync.Mutex
	on      bool
	stop    chan struct{}
	stopped chan struct{}
}

const floodDepth = 32

func newFlood(s *Scene) (*Flood, error) {
	q, err := s.d.NewQueue(vkdep.QueueOptions{Name: "flood", Priority: vkdep.PriorityLow, VkQueueIndex: s.compVkQueue, Credits: 2 * floodDepth})
	if err != nil {
		return nil, err
	}
	f := &Flood{s: s, q: q}
	if f.pool, err = s.g.VK.CreateCommandPool(q.Family()); err != nil {
		return nil, err
	}
	cmds, err := s.g.VK.AllocateCommandBuffers(f.pool, 1)
	if err != nil {
		return nil, err
	}
	f.cmd = cmds[0]
	if f.res, err = s.g.Buffer(16); err != nil {
		return nil, err
	}
	// One command buffer for every job (simultaneous use: several are in flight at once): the
	// gate kernel with no release, spinning through its budget of iterations.
	aw := q.AbortWord()
	if err := f.cmd.Begin(vk.BeginSimultaneous); err != nil {
		return nil, err
	}
	s.g.Gate(f.cmd, gpu.GateSpec{Gate: s.gateWords, AbortBuf: &vk.Buffer{Handle: aw.Buffer, Size: aw.Size}, ResultBuf: f.res,
		Release: 1, Abort: aw.Index, Result: 0, Workgroups: 2, Budget: 2000})
	if err := f.cmd.End(); err != nil {
		return nil, err
	}
	return f, nil
}

// Toggle starts or stops the flood.
func (f *Flood) Toggle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.on {
		close(f.stop)
		f.on = false
		return
	}
	if f.stopped != nil {
		<-f.stopped // the previous run has drained
	}
	f.on, f.stop, f.stopped = true, make(chan struct{}), make(chan struct{})
	go f.run(f.stop, f.stopped)
	f.s.event("LOW-PRIORITY FLOOD ON")
}

// On reports whether the flood runs.
func (f *Flood) On() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on
}

func (f *Flood) run(stop, stopped chan struct{}) {
	defer close(stopped)
	ctx := context.Background()
	var ring [floodDepth]vkdep.Fence
	for i := 0; ; i++ {
		select {
		case <-stop:
			for _, fe := range ring {
				fe.Wait(ctx)
			}
			f.s.event("LOW-PRIORITY FLOOD OFF")
			return
		default:
		}
		if ring[i%floodDepth].Wait(ctx) != nil {
			return
		}
		j := f.q.NewJob()
		j.AddCommandBuffers(uint64(f.cmd))
		fe, err := f.q.Submit(j)
		if err != nil {
			return
		}
		ring[i%floodDepth] = fe
	}
}

// shutdown stops the flood and closes its queue, for the caller to wait on.
func (f *Flood) shutdown() *vkdep.Queue {
	f.mu.Lock()
	if f.on {
		close(f.stop)
		f.on = false
	}
	stopped := f.stopped
	f.mu.Unlock()
	if stopped != nil {
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
		}
	}
	f.q.Kill(errShutdown)
	f.q.Close()
	return f.q
}

var errShutdown = errors.New("demo shutting down")
