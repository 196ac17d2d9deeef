package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// compSlots is how many compositor frames may be in flight at once.
const compSlots = 2

// Compositor composites the clients' latest frames on its own bypass queue: each frame is one
// job, submitted from the frame loop's goroutine when nothing is queued ahead of it (P1).
type Compositor struct {
	s    *Scene
	q    *vkdep.Queue
	pool vk.CommandPool
	pipe *vk.Pipeline

	width, height int
	slots         [compSlots]compSlot
	frame         int
	grid          []uint32
	font          []uint32

	mu        sync.Mutex
	lastDone  time.Time
	maxGap    time.Duration
	lastStall time.Duration // the latest gap between frames longer than stallThreshold
	doneTimes []time.Time
	latency   time.Duration
	gaps      [256]time.Duration // the latest times between two frames completing, for the p99
	ngaps     int
}

type compSlot struct {
	cmd   vk.CommandBuffer
	out   *vk.Buffer // the composited pixels, B8G8R8A8
	hud   *vk.Buffer
	set   vk.DescriptorSet
	fence vkdep.Fence
}

// stallThreshold is the gap between two compositor frames the HUD reports as a stall.
const stallThreshold = 150 * time.Millisecond

func newCompositor(s *Scene) (*Compositor, error) {
	// High priority: on a VkQueue it shares, its frames go to the driver before the clients' and
	// the flood's ready work, behind at most the driver budget of theirs (H1, H2).
	q, err := s.d.NewQueue(vkdep.QueueOptions{Name: "compositor", Bypass: true, VkQueueIndex: s.compVkQueue, Priority: vkdep.PriorityHigh})
	if err != nil {
		return nil, err
	}
	c := &Compositor{s: s, q: q, pipe: s.pipes["composite"], grid: make([]uint32, textCols*textRows), font: fontWords()}
	if c.pool, err = s.g.VK.CreateCommandPool(q.Family()); err != nil {
		return nil, err
	}
	cmds, err := s.g.VK.AllocateCommandBuffers(c.pool, compSlots)
	if err != nil {
		return nil, err
	}
	for i := range c.slots {
		c.slots[i].cmd = cmds[i]
		if c.slots[i].hud, err = s.g.Buffer(4 * hudWords); err != nil {
			return nil, err
		}
	}
	if err := c.resize(s.cfg.Width, s.cfg.Height); err != nil {
		return nil, err
	}
	return c, nil
}

// resize makes the output buffers width×height. No compositor frame may be in flight.
func (c *Compositor) resize(width, height int) error {
	vkd := c.s.g.VK
	for i := range c.slots {
		sl := &c.slots[i]
		if sl.out != nil {
			vkd.DestroyBuffer(sl.out)
		}
		var err error
		if sl.out, err = vkd.CreateHostBuffer(uint64(4 * width * height)); err != nil {
			return err
		}
		// A new set per size: resizes are rare and the pool is large; sets go with the pool.
		if sl.set, err = vkd.AllocateSet(c.s.descPool, c.pipe, vk.BufferRange{Buffer: c.s.clientsBuf},
			vk.BufferRange{Buffer: sl.out}, vk.BufferRange{Buffer: sl.hud}); err != nil {
			return err
		}
	}
	c.width, c.height = width, height
	return nil
}

// waitIdle waits for every compositor frame in flight.
func (c *Compositor) waitIdle(ctx context.Context) error {
	for i := range c.slots {
		if err := c.slots[i].fence.Wait(ctx); err != nil && ctx.Err() != nil {
			return err
		}
	}
	return nil
}

// present is what a windowed frame adds to the compositor's job: copy into the acquired
// swapchain image, wait for the acquire, signal the semaphore the present waits on.
type present struct {
	image   vk.Image
	acquire vk.Semaphore // signalled by vkAcquireNextImageKHR
	done    vk.Semaphore // signalled by the job, waited on by vkQueuePresentKHR
}

// Frame composites one frame and submits it. It first waits (only) for the compositor's own frame
// that last used the same slot, so at most compSlots frames are in flight. The returned slot's
// output buffer holds the pixels once the fence completes.
func (c *Compositor) Frame(ctx context.Context, p *present) (vkdep.Fence, int, error) {
	slotIdx := c.frame % compSlots
	sl := &c.slots[slotIdx]
	if err := sl.fence.Wait(ctx); err != nil && ctx.Err() != nil {
		return vkdep.Fence{}, slotIdx, err
	}
	if c.s.cfg.Deterministic {
		if err := c.s.renderClientsAt(ctx, c.animTimeOf(c.frame)); err != nil {
			return vkdep.Fence{}, slotIdx, err
		}
	}
	if c.s.cfg.HangAt >= 0 && c.frame == c.s.cfg.HangAt {
		c.s.Hang(c.s.cfg.HangClient)
	}
	if c.s.cfg.KillAt >= 0 && c.frame == c.s.cfg.KillAt {
		c.s.Kill(c.s.cfg.KillClient)
	}

	vkd := c.s.g.VK
	cmd := sl.cmd
	if err := cmd.Begin(vk.BeginOneTime); err != nil {
		return vkdep.Fence{}, slotIdx, err
	}
	cmd.BindCompute(c.pipe, sl.set)
	cmd.PushConstants(c.pipe, uint32(c.width), uint32(c.height), clientSize, uint32(len(c.s.clients)))
	cmd.Dispatch(uint32((c.width*c.height+63)/64), 1, 1)
	if p == nil {
		// Headless: the host reads the pixels after the fence.
		vkd.Barrier(cmd, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageHost, vk.AccessHostRead)
	} else {
		vkd.Barrier(cmd, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageTransfer, vk.AccessTransferRead)
		// The acquire semaphore is waited on at the transfer stage, so the layout transition
		// (which writes the image) must come after that stage: srcStage = the wait's stage.
		vkd.ImageBarrier(cmd, p.image, vk.LayoutUndefined, vk.LayoutTransferDst,
			vk.StageTransfer, 0, vk.StageTransfer, vk.AccessTransferWrite)
		cmd.CopyBufferToImage(sl.out, p.image, uint32(c.width), uint32(c.height))
		// Presentation makes its own reads visible; the barrier only orders the layout change
		// after the copy (sync2 allows dstStage NONE before a present).
		vkd.ImageBarrier(cmd, p.image, vk.LayoutTransferDst, vk.LayoutPresentSrc,
			vk.StageTransfer, vk.AccessTransferWrite, vk.StageNone, 0)
	}
	if err := cmd.End(); err != nil {
		return vkdep.Fence{}, slotIdx, err
	}
	j := c.q.NewJob()
	j.AddCommandBuffers(uint64(cmd))
	if p != nil {
		j.WaitSemaphore(uint64(p.acquire), 0, vk.StageTransfer)
		j.SignalSemaphore(uint64(p.done), 0)
	}
	// Arm first: the fence is what each client's shown slot is marked as read by, so a client
	// cannot render into that slot until this frame is done with it.
	f, err := j.Arm()
	if err != nil {
		return vkdep.Fence{}, slotIdx, err
	}
	c.writeHUD(sl.hud.Uint32s(), f)
	submitted := time.Now()
	f.OnDone(func(error) { c.frameDone(submitted) })
	j.Push()
	sl.fence = f
	c.frame++
	return f, slotIdx, nil
}

// animTimeOf is frame n's animation time in deterministic mode.
func (c *Compositor) animTimeOf(n int) float64 {
	// Multiplied in integer nanoseconds, so that runs with different steps agree exactly on a
	// common time (25 ms × 60 and 750 ms × 2 are both exactly 1.5 s).
	return (time.Duration(n) * c.s.cfg.Step).Seconds()
}

// frameDone runs on the completion goroutine when a frame completes: it measures the gaps
// between frames, which is how a stall shows.
func (c *Compositor) frameDone(submitted time.Time) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lastDone.IsZero() {
		gap := now.Sub(c.lastDone)
		c.maxGap = max(c.maxGap, gap)
		c.gaps[c.ngaps%len(c.gaps)] = gap
		c.ngaps++
		if gap > stallThreshold {
			c.lastStall = gap
		}
	}
	c.lastDone = now
	c.latency = now.Sub(submitted)
	c.doneTimes = append(c.doneTimes, now)
	cut := 0
	for cut < len(c.doneTimes) && now.Sub(c.doneTimes[cut]) > time.Second {
		cut++
	}
	c.doneTimes = c.doneTimes[cut:]
}

// compStats are the compositor's HUD numbers.
type compStats struct {
	Frames            int
	FPS               float64
	MaxGap, LastStall time.Duration
	Latency           time.Duration
	InFlight          int
	// FrameP99 is the 99th percentile of the time between two frames completing, over the
	// latest 256 frames; 0 before there are 100.
	FrameP99 time.Duration
}

func (c *Compositor) stats() compStats {
	st := c.q.Stats() // outside c.mu, which frame callbacks take on the completion goroutine
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := compStats{Frames: int(st.Completed), FPS: float64(len(c.doneTimes)), MaxGap: c.maxGap, LastStall: c.lastStall,
		Latency: c.latency, InFlight: st.InFlight + st.Pending}
	if n := min(c.ngaps, len(c.gaps)); n >= 100 {
		g := slices.Clone(c.gaps[:n])
		slices.Sort(g)
		cs.FrameP99 = g[n*99/100]
	}
	return cs
}

func (c *Compositor) destroy() {
	vkd := c.s.g.VK
	for i := range c.slots {
		if c.slots[i].out != nil {
			vkd.DestroyBuffer(c.slots[i].out)
		}
	}
	if c.pool != 0 {
		vkd.DestroyCommandPool(c.pool)
	}
}

// renderClientsAt makes every client render its frame for animation time t (quantised to the
// client's own rate) and waits for them: the deterministic mode, for golden images.
func (s *Scene) renderClientsAt(ctx context.Context, t float64) error {
	for _, c := range s.clients {
		ft := float64(int(t*c.kind.rate)) / c.kind.rate
		c.mu.Lock()
		have := c.hasFrame && c.lastT == ft
		c.mu.Unlock()
		if have {
			continue
		}
		f, err := c.submit(ft)
		if err != nil {
			return err
		}
		if f.IsZero() {
			return fmt.Errorf("demo: client %s has no free slot", c.kind.name)
		}
		if err := f.Wait(ctx); err != nil {
			return fmt.Errorf("demo: client %s frame at %.3fs: %w", c.kind.name, ft, err)
		}
		c.poll()
	}
	return nil
}
