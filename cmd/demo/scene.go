package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

// Layout of the composited frame, in pixels. The text layer is a grid of 12×16-pixel cells (a 5×7
// glyph drawn twice as large, with spacing); windows and HUD rows are placed on that grid.
const (
	defaultWidth  = 960
	defaultHeight = 540
	clientSize    = 256 // client frames are clientSize×clientSize
	textCols      = 80
	textRows      = 34
	hudGrid       = 64 // word offsets in the hud buffer, as composite.comp reads it
	hudFont       = hudGrid + textCols*textRows
	hudWords      = hudFont + 64*8
	noFrame       = 0xFFFFFFFF
	windowY       = 83  // top of the windows' content: the title bar is text row 4
	titleRow      = 4   //
	hudTop        = 352 // the HUD panel starts here (row 22)
)

// windowX is the left edge of client window i's content: text columns 3, 29 and 55.
func windowX(i int) int { return 36 + 312*i }

// Config says how a scene runs.
type Config struct {
	Width, Height int
	// JobTimeout is the client queues' job timeout: hung client work is banned after it.
	JobTimeout time.Duration
	// FPS is the compositor's frame pacing target.
	FPS float64
	// Deterministic renders frame i at animation time i×Step, makes every frame wait for the
	// clients' frames for that time, and prints "--" in the HUD where it would print a
	// measurement, so that frames can be compared with golden images.
	Deterministic bool
	Step          time.Duration
	// HangAt is the compositor frame at which client HangClient submits hung work; <0: never.
	HangAt, HangClient int
	// KillAt is the compositor frame at which client KillClient's queue is killed; <0: never.
	KillAt, KillClient int
	// Flood starts the low-priority compute flood on the compositor's VkQueue at once.
	Flood bool
}

// Scene is the demo: clients rendering on their own queues, and the compositor.
type Scene struct {
	cfg Config
	d   *vkdep.Device
	g   *gpu.Ctx

	descPool   vk.DescriptorPool
	pipes      map[string]*vk.Pipeline
	clientSets map[string]vk.DescriptorSet
	clientsBuf *vk.Buffer // every client's frame slots, side by side
	gateWords  *vk.Buffer // release words of hung jobs: never set while the demo runs

	clients []*Client
	comp    *Compositor
	flood   *Flood

	// vkQueue placement: the compositor's VkQueue and the ones its clients use (1-based).
	compVkQueue   int
	clientVkQueue []int

	mu        sync.Mutex
	start     time.Time
	paused    bool
	pausedAt  time.Time
	pausedFor time.Duration
	events    []string

	stop chan struct{}
	wg   sync.WaitGroup
	// ctx ends when the scene closes, for goroutines waiting on fences.
	ctx    context.Context
	cancel context.CancelFunc
}

// NewScene creates the scene's clients and compositor on d. compVkQueue pins the compositor to
// d.VkQueues()[compVkQueue-1]; clients get the other VkQueues when there are any.
func NewScene(d *vkdep.Device, cfg Config, compVkQueue int) (*Scene, error) {
	if cfg.Width == 0 {
		cfg.Width, cfg.Height = defaultWidth, defaultHeight
	}
	if cfg.FPS == 0 {
		cfg.FPS = 60
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = 400 * time.Millisecond
	}
	if cfg.Step == 0 {
		cfg.Step = time.Second / 30
	}
	g, err := gpu.New(d)
	if err != nil {
		return nil, err
	}
	s := &Scene{cfg: cfg, d: d, g: g, pipes: map[string]*vk.Pipeline{}, clientSets: map[string]vk.DescriptorSet{},
		compVkQueue: compVkQueue, start: time.Now(), stop: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.build(); err != nil {
		s.destroy()
		return nil, err
	}
	return s, nil
}

// build creates pipelines, buffers, the compositor and the clients.
func (s *Scene) build() error {
	vkd := s.g.VK
	var err error
	if s.descPool, err = vkd.CreateDescriptorPool(256, 1024); err != nil {
		return err
	}
	for _, k := range []shaders.Kernel{shaders.Plasma, shaders.Fractal, shaders.Particles, shaders.Composite} {
		p, err := vkd.CreateComputePipeline(k.SPIRV, k.Bindings, k.PushConstants)
		if err != nil {
			return fmt.Errorf("demo: %s pipeline: %w", k.Name, err)
		}
		s.pipes[k.Name] = p
	}
	words := uint64(len(kinds) * slotsPerClient * clientSize * clientSize)
	if s.clientsBuf, err = s.g.DeviceBuffer(4 * words); err != nil {
		return err
	}
	if s.gateWords, err = s.g.Buffer(16); err != nil {
		return err
	}
	for _, k := range kinds {
		set, err := vkd.AllocateSet(s.descPool, s.pipes[k.kernel.Name], vk.BufferRange{Buffer: s.clientsBuf})
		if err != nil {
			return err
		}
		s.clientSets[k.kernel.Name] = set
	}

	// Placement: the compositor gets its own VkQueue whenever the device has more than one, so
	// that its frames never wait behind client work in a queue. A hung dispatch may still hold
	// it up until the ban's abort word ends it (on the H200 the compositor stalled during a
	// client's hang; cmd/bench -workload hang measures why); on a device with a single VkQueue
	// (lavapipe) everything shares it, and a hang stalls the compositor for the job timeout.
	// The HUD measures the stall either way.
	vkqs := s.d.VkQueues()
	fams := s.d.Info().QueueFamilies
	for i, q := range vkqs {
		if i+1 != s.compVkQueue && int(q.Family) < len(fams) && fams[q.Family].Compute {
			s.clientVkQueue = append(s.clientVkQueue, i+1)
		}
	}
	if len(s.clientVkQueue) == 0 {
		s.clientVkQueue = []int{s.compVkQueue}
	}

	if s.comp, err = newCompositor(s); err != nil {
		return err
	}
	if s.flood, err = newFlood(s); err != nil {
		return err
	}
	for i, k := range kinds {
		c, err := newClient(s, i, k, s.clientVkQueue[i%len(s.clientVkQueue)])
		if err != nil {
			return err
		}
		s.clients = append(s.clients, c)
	}
	return nil
}

// SharedVkQueue reports whether clients and compositor share one VkQueue (lavapipe).
func (s *Scene) SharedVkQueue() bool {
	return len(s.clientVkQueue) == 1 && s.clientVkQueue[0] == s.compVkQueue
}

// clientWorkInDriver reports whether any client's work may be in the driver.
func (s *Scene) clientWorkInDriver() bool {
	for _, c := range s.clients {
		if c.workInDriver() {
			return true
		}
	}
	return false
}

// Run starts the clients' own render loops (not in deterministic mode, where the compositor
// drives them frame by frame).
func (s *Scene) Run() {
	if s.cfg.Deterministic {
		return
	}
	if s.cfg.Flood {
		s.flood.Toggle()
	}
	for _, c := range s.clients {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.loop(s.stop)
		}()
	}
}

// animTime is the animation time in seconds: the wall clock since start, less the time paused.
func (s *Scene) animTime() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.paused {
		now = s.pausedAt
	}
	return now.Sub(s.start).Seconds() - s.pausedFor.Seconds()
}

// TogglePause stops or restarts the clients' animation; the compositor goes on presenting.
func (s *Scene) TogglePause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		s.pausedFor += time.Since(s.pausedAt)
	} else {
		s.pausedAt = time.Now()
	}
	s.paused = !s.paused
}

func (s *Scene) isPaused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// event records a line for the HUD and the log.
func (s *Scene) event(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.events = append(s.events, fmt.Sprintf("%6.2fS %s", time.Since(s.start).Seconds(), msg))
	s.mu.Unlock()
}

// Events returns the events so far.
func (s *Scene) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// Hang makes client i submit hung work next.
func (s *Scene) Hang(i int) { s.clients[i%len(s.clients)].requestHang() }

// ToggleFlood starts or stops the low-priority compute flood.
func (s *Scene) ToggleFlood() { s.flood.Toggle() }

// Kill kills client i's queue; the client comes back on a new one.
func (s *Scene) Kill(i int) {
	c := s.clients[i%len(s.clients)]
	c.kill(errKilledByUser)
}

var errKilledByUser = errors.New("killed by the user")

// Close stops the clients, waits for every queue to finish, and frees what the scene created.
// The device stays open.
func (s *Scene) Close(ctx context.Context) error {
	close(s.stop)
	s.wg.Wait()
	// Hung work still spinning would keep its queue (and, on one VkQueue, everything) from
	// finishing: release every gate, kill every client queue.
	for i := range s.gateWords.Uint32s() {
		s.gateWords.Uint32s()[i] = 1
	}
	var queues []*vkdep.Queue
	if s.flood != nil {
		queues = append(queues, s.flood.shutdown())
	}
	for _, c := range s.clients {
		queues = append(queues, c.shutdown()...)
	}
	if s.comp != nil {
		queues = append(queues, s.comp.q)
		s.comp.q.Close()
	}
	for _, q := range queues {
		select {
		case <-q.Done():
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for queue %s to finish: %w", q.Name(), ctx.Err())
		}
	}
	s.cancel()
	s.destroy()
	return nil
}

func (s *Scene) destroy() {
	s.cancel()
	if s.g == nil || s.g.VK == nil {
		return
	}
	vkd := s.g.VK
	for _, c := range s.clients {
		vkd.DestroyCommandPool(c.pool)
	}
	if s.flood != nil && s.flood.pool != 0 {
		vkd.DestroyCommandPool(s.flood.pool)
	}
	if s.comp != nil {
		s.comp.destroy()
	}
	for _, p := range s.pipes {
		vkd.DestroyPipeline(p)
	}
	if s.descPool != 0 {
		vkd.DestroyDescriptorPool(s.descPool)
	}
	s.g.Close()
}
