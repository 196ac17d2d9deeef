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

// killProducer makes a producer on queue k, a consumer on another queue that depends on it, and
// kills k right after — sometimes from another goroutine, racing the consumer's push: the shape
// of a consumer submitted on the strength of a killed producer's signal-only submit (D4, D6).
func (s *schedule) killProducer(i, k int) {
	prod := s.submit(i, k, vkdep.Fence{})
	if prod == nil {
		return
	}
	m := (k + 1 + s.rng.IntN(2)) % 3
	kill := func() { s.queues[k].Kill(fmt.Errorf("schedule %d kills producer q%d", s.seed, k)) }
	if s.rng.IntN(2) == 0 {
		s.ops = append(s.ops, fmt.Sprintf("kill producer q%d with consumer on q%d (racing)", k, m))
		done := make(chan struct{})
		go func() { kill(); close(done) }()
		s.submit(i, m, prod.f)
		<-done
		return
	}
	s.submit(i, m, prod.f)
	s.ops = append(s.ops, fmt.Sprintf("kill producer q%d with consumer on q%d", k, m))
	kill()
}

func (s *schedule) injectLoss() {
	s.ops = append(s.ops, "inject device loss")
	s.lossArmed = true
	vkdep.SetFault(s.d, func(p vk.FaultPoint) error {
		if p == vk.FaultSubmit {
			s.mu.Lock()
			s.lost = true
			s.mu.Unlock()
			return vk.ErrorDeviceLost
		}
		return nil
	})
}

// submit makes job i on queue k (random when k < 0): an append (real GPU work) or, rarely, a gate
// hang, with up to two dependencies on earlier fences or host points, and dep when not zero. It
// returns the job's record, nil when Arm refused the job.
func (s *schedule) submit(i, k int, dep vkdep.Fence) *schedFence {
	r := s.rng
	if k < 0 {
		k = r.IntN(3)
	}
	q := s.queues[k]
	var deps []vkdep.Fence
	if !dep.IsZero() {
		deps = append(deps, dep)
	}
	j := q.NewJob()
	id := uint32(i)
	if !dep.IsZero() {
		id += 1000 // a consumer made with its producer (killProducer): another id
	}
	gate := r.IntN(10) == 0
	if gate {
		j.AddCommandBuffers(s.gateCmd(q))
	} else {
		j.AddCommandBuffers(s.appendCmd(q, id))
	}
	for range r.IntN(3) {
		s.mu.Lock()
		n := len(s.fences)
		var dep vkdep.Fence
		if n > 0 && r.IntN(3) > 0 {
			dep = s.fences[r.IntN(n)].f
		}
		s.mu.Unlock()
		if dep.IsZero() {
			h := r.IntN(2)
			dep = s.hosts[h].Point(s.hostAt[h] + uint64(r.IntN(3)))
		}
		deps = append(deps, dep)
	}
	// The dependencies the job keeps: on other timelines (D3), the latest per timeline (D2).
	kept := map[string]vkdep.Fence{}
	for _, dep := range deps {
		if err := j.AddDependency(dep); err != nil {
			s.problem("AddDependency: %v", err)
		}
		if name := dep.Timeline(); name != "" && dep.Semaphore() != q.Semaphore() && dep.Value() > kept[name].Value() {
			kept[name] = dep
		}
	}
	if r.IntN(6) == 0 {
		j.SetCost(1 + r.IntN(12)) // sometimes above the credit limit: ErrTooBig, job dropped
	}
	sf := &schedFence{q: q, hasJob: true, runDeps: s.runDeps[q], id: id, gate: gate}
	for _, dep := range kept {
		sf.deps = append(sf.deps, dep)
	}
	j.OnRelease(func() {
		s.mu.Lock()
		sf.release++
		lost := s.lost
		s.mu.Unlock()
		// L6: released only once the GPU is done with the job: its value is reached on the
		// semaphore (the queue, and so its semaphore, still exists while its jobs release).
		select {
		case <-q.Done():
			return // the queue finished: jobs pushed after that complete on the CPU
		default:
		}
		if !lost && s.d.Lost() == nil {
			if c, err := s.g.VK.Counter(vk.Semaphore(q.Semaphore())); err == nil && c < sf.f.Value() {
				s.problem("%s value %d released at counter %d: the GPU is not done", q.Name(), sf.f.Value(), c)
			}
		}
	})
	f, err := j.Arm()
	if err != nil {
		if !errors.Is(err, vkdep.ErrTooBig) {
			s.problem("Arm: %v", err)
		}
		return nil
	}
	sf.f = f
	s.ops = append(s.ops, fmt.Sprintf("job %d → %s value %d deps %d", i, q.Name(), f.Value(), vkdep.JobDeps(j)))
	s.mu.Lock()
	sf.prev = s.lastOnQ[q]
	s.lastOnQ[q] = sf
	s.fences = append(s.fences, sf)
	s.mu.Unlock()
	j.Push()
	f.OnDone(func(error) {
		s.mu.Lock()
		sf.calls++
		prev := sf.prev
		s.mu.Unlock()
		// O2: the fence below it on its queue has completed already.
		if prev != nil && !prev.f.Completed() {
			s.problem("%s value %d completed before value %d", q.Name(), f.Value(), prev.f.Value())
		}
	})
	return sf
}

func (s *schedule) appendCmd(q *vkdep.Queue, id uint32) uint64 {
	// One command buffer per job, appending the job's own id to one log per family: the log
	// shows which jobs' work ran on the GPU.
	key := q.Family()
	log, ok := s.logs[key]
	if !ok {
		var err error
		if log, err = s.g.Buffer(4 * 1024); err != nil {
			s.t.Fatal(err)
		}
		s.logs[key] = log
	}
	cmd, err := s.g.Record(q.Family(), func(c vk.CommandBuffer) { s.g.Append(c, log, id) })
	if err != nil {
		s.t.Fatal(err)
	}
	return uint64(cmd)
}

// readLog records which job ids ran on the GPU, before the recording context frees the logs.
func (s *schedule) readLog() {
	for _, log := range s.logs {
		w := log.Uint32s()
		for _, id := range w[1 : 1+min(int(w[0]), len(w)-1)] {
			s.ran[id] = true
		}
	}
}

// gateCmd records, once per queue, a gate that polls the queue's abort word: it hangs until the
// queue's timeout bans it (or it is killed), or for about 20 workgroup budgets.
func (s *schedule) gateCmd(q *vkdep.Queue) uint64 {
	if c, ok := s.gate[q]; ok {
		return c
	}
	rel, _ := s.g.Buffer(16)
	res, _ := s.g.Buffer(16)
	aw := q.AbortWord()
	cmd, err := s.g.Record(q.Family(), func(c vk.CommandBuffer) {
		s.g.Gate(c, gpu.GateSpec{Gate: rel, AbortBuf: &vk.Buffer{Handle: aw.Buffer, Size: aw.Size}, ResultBuf: res,
			Abort: aw.Index, Workgroups: 20})
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.gate[q] = uint64(cmd)
	return uint64(cmd)
}

// verify checks the invariants once Device.Close has returned.
func (s *schedule) verify() {
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		pending := 0
		for _, sf := range s.fences {
			if sf.calls == 0 || (sf.hasJob && sf.release == 0) {
				pending++
			}
		}
		s.mu.Unlock()
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byFence := map[vkdep.Fence]*schedFence{}
	for _, sf := range s.fences {
		if sf.hasJob {
			byFence[sf.f] = sf
		}
	}
	for _, sf := range s.fences {
		if !sf.f.Completed() {
			s.problems = append(s.problems, fmt.Sprintf("%s value %d pending after its queues finished (and Device.Close, when the schedule closed it)", sf.f.Timeline(), sf.f.Value()))
		}
		if sf.calls != 1 {
			s.problems = append(s.problems, fmt.Sprintf("%s value %d completed %d times", sf.f.Timeline(), sf.f.Value(), sf.calls))
		}
		// D6, D7: a failed dependency fails the job (unless its queue runs such jobs), never
		// a nil error — also when the producer was killed while the job was pending. And a
		// job whose producer never ran never runs either (D4: it is not submitted on the
		// strength of a killed or skipped producer's signal-only submit).
		for _, dep := range sf.deps {
			derr := dep.Err()
			if derr == nil || sf.runDeps {
				continue
			}
			if sf.f.Err() == nil {
				s.problems = append(s.problems, fmt.Sprintf("%s value %d completed with no error although its dependency %s value %d failed: %v",
					sf.f.Timeline(), sf.f.Value(), dep.Timeline(), dep.Value(), derr))
			}
			if p := byFence[dep]; p != nil && !p.gate && !s.ran[p.id] && !sf.gate && s.ran[sf.id] {
				s.problems = append(s.problems, fmt.Sprintf("%s value %d (job %d) ran on the GPU although its producer %s value %d (job %d) never ran: %v",
					sf.f.Timeline(), sf.f.Value(), sf.id, dep.Timeline(), dep.Value(), p.id, derr))
			}
		}
		if sf.hasJob && sf.release != 1 {
			s.problems = append(s.problems, fmt.Sprintf("%s value %d released %d times", sf.f.Timeline(), sf.f.Value(), sf.release))
		}
	}
	for _, p := range s.problems {
		s.t.Errorf("seed %d: %s", s.seed, p)
	}
	if len(s.problems) > 0 {
		for _, op := range s.ops {
			s.t.Logf("seed %d: %s", s.seed, op)
		}
	}
}
