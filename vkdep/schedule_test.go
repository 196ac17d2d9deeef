package vkdep_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// A schedule is a random job DAG over three queues and two host timelines, interleaved with random
// Stop/Start, Kill, TriggerTimeout, queue Close, host signals and failures, gate hangs (cut short
// by the timeout ban and the abort word), kills of producers right after a consumer on another
// queue was made to depend on them (D4, D6) and, rarely, an injected device loss; then its queues
// close and, for a schedule with a loss, for one that leaves jobs held by host points nobody
// signals (X4), and for every VKDEP_SCHEDULES_PER_DEVICE-th one (the others share a device, see
// schedDevices), Device.Close.
// The checker shows, for every schedule: every armed fence completes exactly once (O3) and never
// before the one below it on its timeline (O2); every release hook runs exactly once, and only
// after the GPU reached the job's value unless the device was lost (L6); nothing is pending after
// its queues finished and after Device.Close (X2); a job whose dependency on another timeline
// failed completes with an error, unless its queue runs such jobs (D6, D7); no goroutine is left
// (checked over the whole run).

// TestSchedules runs a fixed set of seeds: VKDEP_SCHEDULES of them (default 1000, 100 with -short),
// from VKDEP_SCHEDULE_FIRST (default 0).
func TestSchedules(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	if v, err := strconv.Atoi(os.Getenv("VKDEP_SCHEDULES")); err == nil {
		n = v
	}
	perDevice := 100
	if v, err := strconv.Atoi(os.Getenv("VKDEP_SCHEDULES_PER_DEVICE")); err == nil && v > 0 {
		perDevice = v
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	start := time.Now()
	if v, err := strconv.ParseUint(os.Getenv("VKDEP_SCHEDULE_SEED"), 10, 64); err == nil {
		runSchedule(t, v, nil) // one seed, on a device of its own, for debugging a failure
		return
	}
	pool := &schedDevices{perDevice: perDevice}
	defer pool.close(t)
	// VKDEP_SCHEDULE_FIRST shifts the seeds, so that processes side by side can share a range
	// (scripts/gpu-run.sh: each process stays below the driver's VkInstance limit).
	first, _ := strconv.ParseUint(os.Getenv("VKDEP_SCHEDULE_FIRST"), 10, 64)
	for seed := first; seed < first+uint64(n); seed++ {
		if t.Failed() {
			break
		}
		runSchedule(t, seed, pool)
	}
	t.Logf("%d schedules (seeds %d to %d) in %v, %d device opens", n, first, first+uint64(n)-1, time.Since(start), pool.opens)
}

// schedDevices lends one validated device to successive schedules: a validated open costs ~5 s on
// the NVIDIA driver and it refuses more than ~30 VkInstances per process (PLATFORM.md), so a
// device per schedule cannot run there. A schedule that injects a device loss gets a device of its
// own; the others run on the lent one, which the perDevice-th schedule closes (X2 after many
// schedules' leftovers). A schedule on a lent device shows O2, O3 and L6 once its queues have
// finished, which is no later than Device.Close shows them, since Close waits for its queues.
type schedDevices struct {
	perDevice int
	d         *vkdep.Device
	msgs      *vktest.Messages
	used      int
	opens     int
}

// get returns the lent device, opening one if needed, and whether this schedule closes it.
func (p *schedDevices) get(t testing.TB) (*vkdep.Device, *vktest.Messages, bool) {
	if p.d == nil {
		msgs := &vktest.Messages{}
		d, err := vkdep.Open(vkdep.Options{Validate: true, OnValidation: msgs.Add})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		p.d, p.msgs, p.used = d, msgs, 0
		p.opens++
	}
	p.used++
	d, msgs, last := p.d, p.msgs, p.used >= p.perDevice
	if last {
		p.d = nil // the schedule closes it
	}
	return d, msgs, last
}

// drop forgets a lent device that a schedule left unusable; the schedule closes it.
func (p *schedDevices) drop(d *vkdep.Device) {
	if p.d == d {
		p.d = nil
	}
}

func (p *schedDevices) close(t testing.TB) {
	if p.d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.d.Close(ctx); err != nil {
		t.Errorf("Device.Close of the schedules' device: %v", err)
	}
	for _, m := range p.msgs.Take() {
		t.Errorf("validation: %v", m)
	}
	p.d = nil
}

// scheduleRNG is the schedule's random source; its first draw decides a device loss.
func scheduleRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

const lossOdds = 20 // one schedule in lossOdds injects a device loss

// FuzzSchedule explores seeds: go test -fuzz FuzzSchedule ./vkdep/
func FuzzSchedule(f *testing.F) {
	for _, s := range []uint64{1, 7, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { runSchedule(t, seed, nil) })
}

type schedFence struct {
	f       vkdep.Fence
	q       *vkdep.Queue // nil for host points
	calls   int
	prev    *schedFence // the fence below it on the same queue, if tracked
	release int
	hasJob  bool
	deps    []vkdep.Fence // dependencies on other timelines, as kept (D2: the latest per timeline)
	id      uint32        // what its work appends to the log, unless it is a gate
	gate    bool
	runDeps bool // its queue runs jobs whose dependency failed
}

type schedule struct {
	t      testing.TB
	seed   uint64
	rng    *rand.Rand
	d      *vkdep.Device
	g      *gpu.Ctx
	queues []*vkdep.Queue
	closed []bool
	hosts  []*vkdep.HostTimeline
	hostAt []uint64              // highest value signalled or failed
	logs   map[uint32]*vk.Buffer // per queue family: the ids of the jobs whose work ran
	ran    map[uint32]bool
	gate   map[*vkdep.Queue]uint64

	ops       []string // what the schedule did, printed when it fails
	lossArmed bool
	holdAtEnd bool // host points are left unsignalled: Device.Close fails them (X4)
	runDeps   map[*vkdep.Queue]bool

	mu       sync.Mutex
	fences   []*schedFence
	lastOnQ  map[*vkdep.Queue]*schedFence
	problems []string
	lost     bool
}

func (s *schedule) problem(format string, args ...any) {
	s.mu.Lock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// runSchedule runs one seed on a device lent by pool, or on its own when pool is nil or the
// schedule injects a device loss; it closes the device when it is its own or the pool says so.
func runSchedule(t testing.TB, seed uint64, pool *schedDevices) {
	if os.Getenv("VKDEP_SCHEDULE_TRACE") != "" {
		fmt.Fprintf(os.Stderr, "schedule %d\n", seed)
	}
	var (
		d        *vkdep.Device
		msgs     *vktest.Messages
		closeDev = true
	)
	if pool != nil && scheduleRNG(seed).IntN(lossOdds) != 0 {
		d, msgs, closeDev = pool.get(t)
	} else {
		msgs = &vktest.Messages{}
		var err error
		if d, err = vkdep.Open(vkdep.Options{Validate: true, OnValidation: msgs.Add}); err != nil {
			t.Fatalf("seed %d: Open: %v", seed, err)
		}
		if pool != nil {
			pool.opens++
		}
	}
	g, err := gpu.New(d)
	if err != nil {
		t.Fatal(err)
	}
	s := &schedule{t: t, seed: seed, rng: scheduleRNG(seed), d: d, g: g,
		logs: map[uint32]*vk.Buffer{}, ran: map[uint32]bool{}, gate: map[*vkdep.Queue]uint64{}, lastOnQ: map[*vkdep.Queue]*schedFence{},
		runDeps: map[*vkdep.Queue]bool{}}
	s.run()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if s.holdAtEnd {
		// X4: jobs still wait for host points nobody will signal. Device.Close fails them
		// and finishes every queue by itself; the recording context's objects go once the
		// device is idle, before Close destroys it.
		vkdep.OnBeforeDestroy(d, func() { s.readLog(); g.Close() })
		if !closeDev {
			pool.drop(d) // this schedule closes the lent device
		}
		if err := d.Close(ctx); err != nil {
			for _, op := range s.ops {
				t.Logf("seed %d: %s", seed, op)
			}
			for _, q := range s.queues {
				t.Logf("seed %d: %s %+v\n%s", seed, q.Name(), q.Stats(), vkdep.DebugQueue(q))
			}
			t.Fatalf("seed %d: Device.Close with jobs held by host points: %v", seed, err)
		}
		s.verify()
		for _, m := range msgs.Take() {
			t.Errorf("seed %d: validation: %s", seed, m)
		}
		return
	}
	// The recording context's objects go once the GPU is done with them; Device.Close then
	// has to wait for every queue to finish (X2).
	for _, q := range s.queues {
		q.Close()
	}
	for _, q := range s.queues {
		select {
		case <-q.Done():
		case <-ctx.Done():
			for _, op := range s.ops {
				t.Logf("seed %d: %s", seed, op)
			}
			for _, q := range s.queues {
				t.Logf("seed %d: %s %+v\n%s", seed, q.Name(), q.Stats(), vkdep.DebugQueue(q))
			}
			t.Fatalf("seed %d: queue %s never finished", seed, q.Name())
		}
	}
	if s.lossArmed {
		// After a fake loss the work submitted before it still runs on lavapipe: let it drain
		// before the recording context frees what it uses. (All queues are done: nothing more
		// is submitted.)
		vkdep.SetFault(d, nil)
		for _, q := range d.VkQueues() {
			q.Lock.Lock()
			_ = vk.QueueWaitIdle(vk.Queue(q.Handle))
			q.Lock.Unlock()
		}
	}
	s.readLog()
	g.Close()
	if !closeDev && vkdep.Usable(d) != nil {
		pool.drop(d) // unusable for the next schedule: closed below
		closeDev = true
	}
	if closeDev {
		if err := d.Close(ctx); err != nil {
			t.Fatalf("seed %d: Device.Close: %v", seed, err)
		}
	}
	s.verify()
	bad := false
	for _, m := range msgs.Take() {
		t.Errorf("seed %d: validation: %s", seed, m)
		bad = true
	}
	if bad {
		for _, op := range s.ops {
			t.Logf("seed %d: %s", seed, op)
		}
	}
}

func (s *schedule) run() {
	t, r := s.t, s.rng
	lossAt := -1
	if r.IntN(lossOdds) == 0 {
		lossAt = r.IntN(24)
	}
	for i := range 3 {
		opts := vkdep.QueueOptions{
			Name: fmt.Sprintf("q%d", i), Bypass: r.IntN(2) == 0, Credits: 1 + r.IntN(8),
			JobTimeout: 30 * time.Millisecond, RunOnDependencyError: r.IntN(4) == 0,
			// H1–H3 under every promise: low to realtime, from the seed's bits so that the
			// random stream (and so every recorded seed's schedule) stays as it was.
			Priority: vkdep.Priority(int(s.seed>>(2*i)%4) - 1),
		}
		q, err := s.d.NewQueue(opts)
		if err != nil {
			t.Fatalf("seed %d: NewQueue: %v", s.seed, err)
		}
		s.runDeps[q] = opts.RunOnDependencyError
		s.queues = append(s.queues, q)
		s.closed = append(s.closed, false)
	}
	for i := range 2 {
		h, err := s.d.NewHostTimeline(fmt.Sprintf("h%d", i))
		if err != nil {
			t.Fatal(err)
		}
		s.hosts = append(s.hosts, h)
		s.hostAt = append(s.hostAt, 0)
	}
	jobs := 12 + r.IntN(16)
	for i := range jobs {
		if i == lossAt {
			s.injectLoss()
		}
		op, k := r.IntN(12), r.IntN(3)
		switch op {
		case 0:
			s.ops = append(s.ops, fmt.Sprintf("stop q%d", k))
			s.queues[k].Stop()
		case 1:
			s.ops = append(s.ops, fmt.Sprintf("start q%d", k))
			s.queues[k].Start()
		case 2:
			if r.IntN(3) == 0 {
				s.ops = append(s.ops, fmt.Sprintf("kill q%d", k))
				s.queues[k].Kill(fmt.Errorf("schedule %d kill", s.seed))
			}
		case 3:
			s.ops = append(s.ops, fmt.Sprintf("trigger q%d", k))
			s.queues[k].TriggerTimeout()
		case 4:
			if lossAt < 0 && r.IntN(4) == 0 { // a closed queue's semaphore goes when it drains: not with a fake loss
				s.ops = append(s.ops, fmt.Sprintf("close q%d", k))
				s.queues[k].Close()
				s.closed[k] = true
			}
		case 5, 6:
			h := r.IntN(2)
			v := s.hostAt[h] + 1 + uint64(r.IntN(3))
			var err error
			if r.IntN(4) == 0 {
				err = s.hosts[h].Fail(v, errors.New("host failure"))
			} else {
				err = s.hosts[h].Signal(v)
			}
			if err == nil {
				s.hostAt[h] = v
			}
			s.ops = append(s.ops, fmt.Sprintf("host h%d → %d (%v)", h, v, err))
		}
		if op == 7 && r.IntN(2) == 0 {
			s.killProducer(i, k)
			continue
		}
		s.submit(i, -1, vkdep.Fence{})
	}
	// Let everything drain: every host point reached, every queue running. Or, sometimes, leave
	// the host points unsignalled for Device.Close to fail (X4).
	s.holdAtEnd = lossAt < 0 && r.IntN(4) == 0
	for h := range s.hosts {
		if s.holdAtEnd {
			s.ops = append(s.ops, fmt.Sprintf("h%d left at %d for Device.Close", h, s.hostAt[h]))
			continue
		}
		_ = s.hosts[h].Signal(s.hostAt[h] + 8)
	}
	for _, q := range s.queues {
		q.Start()
	}
	s.mu.Lock()
	lost := s.lost
	s.mu.Unlock()
	if lossAt >= 0 && !lost {
		s.injectLoss()
		s.submit(jobs, -1, vkdep.Fence{})
	}
}
