package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

// slotsPerClient is how many frames of its own a client keeps: the latest completed one (which
// the compositor shows), ones compositor frames in flight still read, and one to render into.
const slotsPerClient = 4

// clientKind is one kind of client content.
type clientKind struct {
	name   string
	kernel shaders.Kernel
	rate   float64 // frames per second the client aims for
	param  uint32  // the kernel's fourth push constant
	color  uint32  // window frame colour, 0xRRGGBB
}

// kinds are the demo's clients. All render slower than the compositor's 60 fps target, the
// fractal and the particles much slower, so the compositor visibly shows a client's latest
// frame several times over.
var kinds = []clientKind{
	{"plasma", shaders.Plasma, 30, 1, 0x3070d0},
	{"fractal", shaders.Fractal, 5, 128, 0xd09020},
	{"particles", shaders.Particles, 15, 24, 0x30a060},
}

// Client renders frames on its own queue at its own rate. When its queue is banned (hung work
// timed out) or killed, it comes back on a new queue.
type Client struct {
	s    *Scene
	idx  int
	kind clientKind
	pin  int // 1-based VkQueue
	pool vk.CommandPool
	// gateResult collects the gate kernel's reasons, to show the abort word did end hung work.
	gateResult *vk.Buffer

	mu       sync.Mutex
	q        *vkdep.Queue
	gen      int
	old      []*vkdep.Queue // replaced queues, closed, maybe still finishing
	slots    [slotsPerClient]slot
	frames   []frame // submitted, not yet seen complete, in submit order
	latest   frame   // the latest frame that completed without error
	hasFrame bool
	lastT    float64 // animation time of the last frame submitted (deterministic mode)
	hangReq  bool
	hanging  bool // hung work submitted and not yet completed
	stats    clientStats

	// Read and written on the completion goroutine (onTimeout, release hooks), apart from c.mu.
	drv      driverJobs
	timeouts atomic.Int64
}

type slot struct {
	cmd  vk.CommandBuffer
	busy bool        // a job that records into cmd or writes the slot has not been released
	read vkdep.Fence // the last compositor frame that reads the slot
}

type frame struct {
	slot      int
	fence     vkdep.Fence
	t         float64
	submitted time.Time
	gate      bool
	gen       int
}

// clientStats are the HUD's numbers for a client.
type clientStats struct {
	Frames       int           // frames completed without error
	Timeouts     int           // jobs banned by the timeout watch
	Kills        int           // queues replaced after a ban or a kill
	Latency      time.Duration // submit to done, of the latest completed frame
	GateAborted  bool          // hung work ended through the abort word
	HangErr      error         // the error the hung job's fence completed with
	AfterRecover int           // frames completed on a replacement queue
	doneTimes    []time.Time   // completion times in the last second or so, for the fps
}

func newClient(s *Scene, idx int, k clientKind, pin int) (*Client, error) {
	c := &Client{s: s, idx: idx, kind: k, pin: pin}
	family := s.d.VkQueues()[pin-1].Family
	var err error
	// One pool per client: command pools are externally synchronised, and each client records
	// on its own goroutine.
	if c.pool, err = s.g.VK.CreateCommandPool(family); err != nil {
		return nil, err
	}
	cmds, err := s.g.VK.AllocateCommandBuffers(c.pool, slotsPerClient)
	if err != nil {
		return nil, err
	}
	for i := range c.slots {
		c.slots[i].cmd = cmds[i]
	}
	if c.gateResult, err = s.g.Buffer(16); err != nil {
		return nil, err
	}
	if err := c.newQueue(); err != nil {
		return nil, err
	}
	return c, nil
}

// newQueue puts the client on a fresh queue. Called with c.mu held, or before the client runs.
func (c *Client) newQueue() error {
	q, err := c.s.d.NewQueue(vkdep.QueueOptions{
		Name:         fmt.Sprintf("%s#%d", c.kind.name, c.gen+1),
		JobTimeout:   c.s.cfg.JobTimeout,
		VkQueueIndex: c.pin,
		OnTimeout:    c.onTimeout,
	})
	if err != nil {
		return err
	}
	c.q = q
	c.gen++
	return nil
}

// onTimeout is told about a job of the client that has been on the GPU past the job timeout
// (T2), on the device's completion goroutine, and bans the queue. vkdep asks only about the job
// that has been on the GPU longest (T7): a job of this client queued behind another client's hung
// work on a shared VkQueue is re-armed by vkdep itself, never reported here.
func (c *Client) onTimeout(x vkdep.TimedOut) vkdep.TimeoutAction {
	c.timeouts.Add(1)
	c.s.event("%s: job %d on the GPU for %d MS: timed out, queue banned", strings.ToUpper(x.Queue.Name()), x.Fence.Value(), x.OnGPU.Milliseconds())
	return vkdep.TimeoutBan
}

// The driver-side view of a client's jobs, for the window's presents on a shared VkQueue
// (workInDriver): when each job still using the GPU was handed to the driver. A job enters before it is pushed, is stamped when Fence.WaitSubmitted
// says its submit returned, and leaves in its release hook, when the GPU is done with it (not when
// its fence completes: a banned job's fence completes at once while its work may still run and
// block the VkQueue until the abort word ends it).
type driverJobs struct {
	mu   sync.Mutex
	seq  uint64
	jobs map[uint64]*driverJob
}

type driverJob struct {
	fence vkdep.Fence // zero until Submit returned it
	at    int64       // UnixNano the job reached the driver, 0 while not known
}

func (c *Client) trackJob() uint64 {
	c.drv.mu.Lock()
	defer c.drv.mu.Unlock()
	c.drv.seq++
	if c.drv.jobs == nil {
		c.drv.jobs = map[uint64]*driverJob{}
	}
	c.drv.jobs[c.drv.seq] = &driverJob{}
	return c.drv.seq
}

func (c *Client) setJobFence(id uint64, f vkdep.Fence) {
	c.drv.mu.Lock()
	defer c.drv.mu.Unlock()
	if j := c.drv.jobs[id]; j != nil {
		j.fence = f
	}
}

func (c *Client) jobSubmitted(id uint64) {
	c.drv.mu.Lock()
	defer c.drv.mu.Unlock()
	if j := c.drv.jobs[id]; j != nil {
		j.at = time.Now().UnixNano()
	}
}

// untrackJob runs in the job's release hook: the GPU is done with it.
func (c *Client) untrackJob(id uint64) {
	c.drv.mu.Lock()
	delete(c.drv.jobs, id)
	c.drv.mu.Unlock()
}

// workInDriver reports whether a job of the client may be in the driver: handed to it and not yet
// released. It never blocks (Fence.Submitted). A job whose fence is not known yet counts as in the
// driver.
func (c *Client) workInDriver() bool {
	c.drv.mu.Lock()
	defer c.drv.mu.Unlock()
	for _, j := range c.drv.jobs {
		if j.at != 0 || j.fence.IsZero() || j.fence.Submitted() {
			return true
		}
	}
	return false
}

// name is the HUD name: the kind and the queue generation.
func (c *Client) name() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.Name()
}

func (c *Client) requestHang() {
	c.mu.Lock()
	c.hangReq = true
	c.mu.Unlock()
}

func (c *Client) kill(cause error) {
	c.mu.Lock()
	q := c.q
	c.mu.Unlock()
	q.Kill(cause)
	c.s.event("%s: killed (%v)", strings.ToUpper(q.Name()), cause)
}

// loop renders at the client's rate until stop closes.
func (c *Client) loop(stop <-chan struct{}) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.kind.rate))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		c.recover()
		c.poll()
		if c.s.isPaused() {
			continue
		}
		if _, err := c.submit(c.s.animTime()); err != nil && !errors.Is(err, vkdep.ErrKilled) {
			c.s.event("%s: %v", strings.ToUpper(c.name()), err)
		}
	}
}

// recover replaces a banned or killed queue by a new one. The old queue is closed: its jobs not
// yet submitted have completed with ErrKilled, and hung work on the GPU ends through the abort
// word that the ban set.
func (c *Client) recover() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.q.Aborted() {
		return
	}
	old := c.q
	old.Close()
	c.old = append(c.old, old)
	c.stats.Kills++
	if err := c.newQueue(); err != nil {
		c.q = old // try again next tick
		c.stats.Kills--
		return
	}
	c.s.event("%s: back on queue %s", strings.ToUpper(c.kind.name), strings.ToUpper(c.q.Name()))
}

// submit renders a frame for animation time t, or the hung work a hang request asked for. It
// returns the zero fence when every slot is still in use (the client cannot get further ahead of
// the compositor).
func (c *Client) submit(t float64) (vkdep.Fence, error) {
	c.mu.Lock()
	q, gen := c.q, c.gen
	hang := c.hangReq
	c.hangReq = false
	s := -1
	for i := range c.slots {
		if c.slots[i].busy || (c.hasFrame && c.latest.slot == i) {
			continue
		}
		// Prefer a slot no compositor frame still reads; otherwise the job waits for that frame
		// on the GPU (a dependency on the compositor's fence).
		if s < 0 || (!c.slots[s].read.Completed() && c.slots[i].read.Completed()) {
			s = i
		}
	}
	if s < 0 {
		c.hangReq = c.hangReq || hang
		c.mu.Unlock()
		return vkdep.Fence{}, nil
	}
	sl := &c.slots[s]
	sl.busy = true
	read := sl.read
	c.lastT = t
	if hang {
		c.hanging = true
	}
	c.mu.Unlock()

	cmd := sl.cmd
	if err := cmd.Begin(vk.BeginOneTime); err != nil {
		c.release(s)
		return vkdep.Fence{}, err
	}
	if hang {
		clear(c.gateResult.Uint32s()) // no gate of the client is running: its last was released
		aw := q.AbortWord()
		// Hung work: the gate kernel spins until its release word (never set while the demo
		// runs) or the queue's abort word is set. Thousands of workgroups keep lavapipe busy for
		// half a minute; only the ban's abort word ends it early.
		c.s.g.Gate(cmd, gpu.GateSpec{Gate: c.s.gateWords, AbortBuf: &vk.Buffer{Handle: aw.Buffer, Size: aw.Size},
			ResultBuf: c.gateResult, Abort: aw.Index, Release: 0, Result: 0, Workgroups: 4000, Budget: math.MaxUint32})
	} else {
		p := c.s.pipes[c.kind.kernel.Name]
		cmd.BindCompute(p, c.s.clientSets[c.kind.kernel.Name])
		offset := uint32((c.idx*slotsPerClient + s) * clientSize * clientSize)
		cmd.PushConstants(p, math.Float32bits(float32(t)), offset, clientSize, c.kind.param)
		cmd.Dispatch((clientSize*clientSize+63)/64, 1, 1)
	}
	if err := cmd.End(); err != nil {
		c.release(s)
		return vkdep.Fence{}, err
	}
	j := q.NewJob()
	j.AddCommandBuffers(uint64(cmd))
	j.AddDependency(read)
	id := c.trackJob()
	j.OnRelease(func() {
		c.untrackJob(id)
		c.release(s)
	})
	now := time.Now()
	f, err := q.Submit(j)
	if f.IsZero() {
		// Not even armed: the job was never pushed and will not be released.
		c.untrackJob(id)
		c.release(s)
		return f, err
	}
	c.setJobFence(id, f)
	// A parked goroutine per frame (no OS thread) stamps when the submit reached the driver.
	go func() {
		if f.WaitSubmitted(c.s.ctx) == nil {
			c.jobSubmitted(id)
		}
	}()
	c.mu.Lock()
	c.frames = append(c.frames, frame{slot: s, fence: f, t: t, submitted: now, gate: hang, gen: gen})
	c.mu.Unlock()
	if hang {
		c.s.event("%s: submitted hung work (job %d)", strings.ToUpper(q.Name()), f.Value())
	}
	return f, err
}

// release runs when the GPU is done with a slot's job (its release hook, on the completion
// goroutine): the slot's command buffer and pixels may be reused.
func (c *Client) release(s int) {
	c.mu.Lock()
	c.slots[s].busy = false
	c.mu.Unlock()
}

// poll retires the frames whose fences have completed, without blocking, and makes the newest
// successful one the latest. It is how the compositor learns what to show: it checks fences, it
// never waits on them.
func (c *Client) poll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	n := 0
	for _, fr := range c.frames {
		if !fr.fence.Completed() {
			break
		}
		n++
		err := fr.fence.Err()
		switch {
		case fr.gate:
			c.hanging = false
			c.stats.HangErr = err
			c.stats.GateAborted = c.gateResult.Uint32s()[0]&(1<<shaders.GateAborted) != 0
		case err == nil:
			c.latest, c.hasFrame = fr, true
			c.stats.Frames++
			if fr.gen > 1 {
				c.stats.AfterRecover++
			}
			// Completion is seen here, at the poll after it, so the latency is at most one poll
			// late: good enough for a HUD, and it needs no callback per frame.
			c.stats.Latency = now.Sub(fr.submitted)
			c.stats.doneTimes = append(c.stats.doneTimes, now)
		}
	}
	c.frames = c.frames[n:]
	if c.stats.HangErr != nil && !c.stats.GateAborted {
		// A banned job's fence completes at the ban, before its spinning workgroups have seen
		// the abort word (T4, T5): look again at later polls.
		c.stats.GateAborted = c.gateResult.Uint32s()[0]&(1<<shaders.GateAborted) != 0
	}
	c.stats.Timeouts = int(c.timeouts.Load())
	cut := 0
	for cut < len(c.stats.doneTimes) && now.Sub(c.stats.doneTimes[cut]) > time.Second {
		cut++
	}
	c.stats.doneTimes = c.stats.doneTimes[cut:]
}

// view is what the compositor needs of a client for one frame.
type view struct {
	name     string
	offset   uint32 // word offset of the latest frame in the clients buffer, noFrame if none
	slot     int
	hung     bool
	fps      float64
	inFlight int
	prio     vkdep.Priority
	stats    clientStats
}

// show polls the client and returns its latest frame for the compositor frame whose fence is f,
// marking the slot as read by f: the client will not render into it before f completes.
func (c *Client) show(f vkdep.Fence) view {
	c.poll()
	c.mu.Lock()
	q := c.q
	c.mu.Unlock()
	// Stats takes the queue's lock: never ask for it under c.mu, which release hooks and
	// vkdep's callbacks take.
	st := q.Stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	v := view{name: c.q.Name(), offset: noFrame, slot: -1, hung: c.hanging || c.q.Aborted(),
		fps: float64(len(c.stats.doneTimes)), inFlight: st.InFlight + st.Pending, prio: q.Priority(), stats: c.stats}
	v.stats.doneTimes = nil
	if c.hasFrame {
		v.slot = c.latest.slot
		v.offset = uint32((c.idx*slotsPerClient + v.slot) * clientSize * clientSize)
		c.slots[v.slot].read = f
	}
	return v
}

// shutdown kills and closes the client's queues and returns them, for the caller to wait on.
func (c *Client) shutdown() []*vkdep.Queue {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.q.Kill(errors.New("demo shutting down"))
	c.q.Close()
	return append(c.old, c.q)
}
