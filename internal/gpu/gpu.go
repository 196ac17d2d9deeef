// Package gpu records real GPU work — the kernels of package shaders — for vkdep's tests,
// benchmarks and demo. It reaches the device the way an application with its own Vulkan binding
// would: through vkdep.Device.Handles, wrapped by vkdep's internal binding.
package gpu

import (
	"fmt"
	"math"
	"sync"

	"vkdep.dev/internal/vk"
	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

// Ctx owns the Vulkan objects a test or benchmark creates: pipelines, buffers, descriptor sets,
// command pools. Close destroys them all; call it once the GPU no longer uses them (every fence
// that referenced them has completed) and before the device is closed.
type Ctx struct {
	VK *vk.Device

	mu        sync.Mutex
	pools     map[uint32]vk.CommandPool
	descPool  vk.DescriptorPool
	pipelines map[string]*vk.Pipeline
	sets      map[setKey]vk.DescriptorSet
	buffers   []*vk.Buffer
	sems      []vk.Semaphore
}

type setKey struct {
	kernel string
	bufs   [4]uint64
}

// New wraps d for recording.
func New(d *vkdep.Device) (*Ctx, error) {
	h := d.Handles()
	dev, err := vk.WrapDevice(vk.QueryPhysical(vk.PhysicalDevice(h.PhysicalDevice)), h.Device, h.QueueFamilies)
	if err != nil {
		return nil, err
	}
	pool, err := dev.CreateDescriptorPool(4096, 4*4096)
	if err != nil {
		dev.Destroy()
		return nil, err
	}
	return &Ctx{
		VK: dev, descPool: pool,
		pools:     map[uint32]vk.CommandPool{},
		pipelines: map[string]*vk.Pipeline{},
		sets:      map[setKey]vk.DescriptorSet{},
	}, nil
}

// Close destroys everything the context created.
func (c *Ctx) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.VK == nil {
		return
	}
	for _, p := range c.pools {
		c.VK.DestroyCommandPool(p)
	}
	for _, p := range c.pipelines {
		c.VK.DestroyPipeline(p)
	}
	c.VK.DestroyDescriptorPool(c.descPool)
	for _, b := range c.buffers {
		c.VK.DestroyBuffer(b)
	}
	for _, s := range c.sems {
		c.VK.DestroySemaphore(s)
	}
	c.VK.Destroy()
	c.VK = nil
	c.pools, c.pipelines, c.sets, c.buffers, c.sems = nil, nil, nil, nil, nil
}

// Buffer creates a host-visible, coherent, mapped storage buffer of size bytes, zeroed.
func (c *Ctx) Buffer(size uint64) (*vk.Buffer, error) {
	b, err := c.VK.CreateHostBuffer(size)
	if err != nil {
		return nil, err
	}
	clear(b.Bytes())
	c.mu.Lock()
	c.buffers = append(c.buffers, b)
	c.mu.Unlock()
	return b, nil
}

// DeviceBuffer creates a device-local storage buffer (not mapped) of size bytes.
func (c *Ctx) DeviceBuffer(size uint64) (*vk.Buffer, error) {
	b, err := c.VK.CreateBuffer(size, vk.BufferStorage|vk.BufferTransferSrc|vk.BufferTransferDst, vk.MemoryDeviceLocal)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.buffers = append(c.buffers, b)
	c.mu.Unlock()
	return b, nil
}

// Timeline creates a raw timeline semaphore, destroyed by Close.
func (c *Ctx) Timeline() (vk.Semaphore, error) {
	s, err := c.VK.CreateTimeline(0)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.sems = append(c.sems, s)
	c.mu.Unlock()
	return s, nil
}

// Record allocates a command buffer from family's pool and records fn into it. The buffer is
// begun with SIMULTANEOUS_USE, so it may be submitted again while pending.
func (c *Ctx) Record(family uint32, fn func(cmd vk.CommandBuffer)) (vk.CommandBuffer, error) {
	c.mu.Lock()
	pool, ok := c.pools[family]
	if !ok {
		var err error
		if pool, err = c.VK.CreateCommandPool(family); err != nil {
			c.mu.Unlock()
			return 0, err
		}
		c.pools[family] = pool
	}
	c.mu.Unlock()
	cmds, err := c.VK.AllocateCommandBuffers(pool, 1)
	if err != nil {
		return 0, err
	}
	cmd := cmds[0]
	if err := cmd.Begin(vk.BeginSimultaneous); err != nil {
		return 0, err
	}
	fn(cmd)
	return cmd, cmd.End()
}

// pipeline returns the kernel's pipeline, built on first use.
func (c *Ctx) pipeline(k shaders.Kernel) *vk.Pipeline {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pipelines[k.Name]; ok {
		return p
	}
	p, err := c.VK.CreateComputePipeline(k.SPIRV, k.Bindings, k.PushConstants)
	if err != nil {
		panic(fmt.Sprintf("gpu: building the %s pipeline: %v", k.Name, err))
	}
	c.pipelines[k.Name] = p
	return p
}

// bind binds kernel k with its buffers, allocating the descriptor set on first use.
func (c *Ctx) bind(cmd vk.CommandBuffer, k shaders.Kernel, bufs ...*vk.Buffer) *vk.Pipeline {
	p := c.pipeline(k)
	key := setKey{kernel: k.Name}
	ranges := make([]vk.BufferRange, len(bufs))
	for i, b := range bufs {
		key.bufs[i] = b.Handle
		ranges[i] = vk.BufferRange{Buffer: b}
	}
	c.mu.Lock()
	set, ok := c.sets[key]
	if !ok {
		var err error
		if set, err = c.VK.AllocateSet(c.descPool, p, ranges...); err != nil {
			c.mu.Unlock()
			panic(fmt.Sprintf("gpu: descriptor set for %s: %v", k.Name, err))
		}
		c.sets[key] = set
	}
	c.mu.Unlock()
	cmd.BindCompute(p, set)
	return p
}

// SAXPY records y = a·x + y over the first n floats.
func (c *Ctx) SAXPY(cmd vk.CommandBuffer, x, y *vk.Buffer, a float32, n uint32) {
	p := c.bind(cmd, shaders.SAXPY, x, y)
	cmd.PushConstants(p, math.Float32bits(a), n)
	cmd.Dispatch((n+shaders.SAXPY.LocalSizeX-1)/shaders.SAXPY.LocalSizeX, 1, 1)
}

// Append records "append id to the log": log holds a count word, then up to capacity ids.
func (c *Ctx) Append(cmd vk.CommandBuffer, log *vk.Buffer, id uint32) {
	p := c.bind(cmd, shaders.Append, log)
	cmd.PushConstants(p, id, uint32(log.Size/4-1))
	cmd.Dispatch(1, 1, 1)
}

// GateSpec says where a gate job finds its words: gate[Release] releases it, abort[Abort] aborts
// it; result[Result] collects 1<<reason over its workgroups and result[Result+1] their iterations.
type GateSpec struct {
	Gate, AbortBuf, ResultBuf *vk.Buffer
	Release, Abort, Result    uint32
	// Workgroups bounds how long the job can last: each polls for one Budget (lavapipe stops
	// every shader loop after 65,535 iterations, 1–2 ms), and those that start after a release
	// or abort stop at once.
	Workgroups uint32
	Budget     uint32 // iterations per workgroup; 0 means 1<<20
}

// Gate records a job that spins until released, aborted, or out of budget.
func (c *Ctx) Gate(cmd vk.CommandBuffer, g GateSpec) {
	budget := g.Budget
	if budget == 0 {
		budget = 1 << 20
	}
	p := c.bind(cmd, shaders.Gate, g.Gate, g.AbortBuf, g.ResultBuf)
	cmd.PushConstants(p, budget, g.Release, g.Abort, g.Result)
	cmd.Dispatch(max(g.Workgroups, 1), 1, 1)
}
