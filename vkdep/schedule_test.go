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
	"vkdep.dev/vkdep"
)

// A schedule is a random job DAG over three queues and two host timelines, interleaved with random
// Stop/Start, Kill, TriggerTimeout, queue Close, host signals and failures, gate hangs (cut short
// by the timeout ban and the abort word) and, rarely, an injected device loss; then Device.Close.
// The checker shows, for every schedule: every armed fence completes exactly once (O3) and never
// before the one below it on its timeline (O2); every release hook runs exactly once, and only
// after the GPU reached the job's value unless the device was lost (L6); nothing is pending after
// Device.Close (X2); no goroutine is left (checked over the whole run).

// TestSchedules runs a fixed set of seeds: VKDEP_SCHEDULES of them (default 1000, 100 with -short).
func TestSchedules(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	if v, err := strconv.Atoi(os.Getenv("VKDEP_SCHEDULES")); err == nil {
		n = v
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	start := time.Now()
	if v, err := strconv.ParseUint(os.Getenv("VKDEP_SCHEDULE_SEED"), 10, 64); err == nil {
		runSchedule(t, v) // one seed, for debugging a failure
		return
	}
	for seed := range uint64(n) {
		if t.Failed() {
			break
		}
		runSchedule(t, seed)
	}
	t.Logf("%d schedules in %v", n, time.Since(start))
}

// FuzzSchedule explores seeds: go test -fuzz FuzzSchedule ./vkdep/
func FuzzSchedule(f *testing.F) {
	for _, s := range []uint64{1, 7, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { runSchedule(t, seed) })
}

type schedFence struct {
	f       vkdep.Fence
	q       *vkdep.Queue // nil for host points
	calls   int
	prev    *schedFence // the fence below it on the same queue, if tracked
	release int
	hasJob  bool
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
	hostAt []uint64 // highest value signalled or failed
	cmds   map[uint32]uint64
	gate   map[*vkdep.Queue]uint64

	ops       []string // what the schedule did, printed when it fails
	lossArmed bool

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

func runSchedule(t testing.TB, seed uint64) {
	if os.Getenv("VKDEP_SCHEDULE_TRACE") != "" {
		fmt.Fprintf(os.Stderr, "schedule %d\n", seed)
	}
	msgs := make(chan string, 16)
	d, err := vkdep.Open(vkdep.Options{Validate: true, OnValidation: func(m vkdep.ValidationMessage) {
		select {
		case msgs <- m.String():
		default:
		}
	}})
	if err != nil {
		t.Fatalf("seed %d: Open: %v", seed, err)
	}
	g, err := gpu.New(d)
	if err != nil {
		t.Fatal(err)
	}
	s := &schedule{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), d: d, g: g,
		cmds: map[uint32]uint64{}, gate: map[*vkdep.Queue]uint64{}, lastOnQ: map[*vkdep.Queue]*schedFence{}}
	s.run()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
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
	g.Close()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("seed %d: Device.Close: %v", seed, err)
	}
	s.verify()
	close(msgs)
	bad := false
	for m := range msgs {
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
	if r.IntN(20) == 0 {
		lossAt = r.IntN(24)
	}
	for i := range 3 {
		q, err := s.d.NewQueue(vkdep.QueueOptions{
			Name: fmt.Sprintf("q%d", i), Bypass: r.IntN(2) == 0, Credits: 1 + r.IntN(8),
			JobTimeout: 30 * time.Millisecond, RunOnDependencyError: r.IntN(4) == 0,
			// H1–H3 under every promise: low to realtime, from the seed's bits so that the
			// random stream (and so every recorded seed's schedule) stays as it was.
			Priority: vkdep.Priority(int(s.seed>>(2*i)%4) - 1),
		})
		if err != nil {
			t.Fatalf("seed %d: NewQueue: %v", s.seed, err)
		}
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
		switch op, k := r.IntN(12), r.IntN(3); op {
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
		s.submit(i)
	}
	// Let everything drain: every host point reached, every queue running.
	for h := range s.hosts {
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
		s.submit(jobs)
	}
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

// submit makes job i on a random queue: an append (real GPU work) or, rarely, a gate hang, with up
// to two dependencies on earlier fences or host points.
func (s *schedule) submit(i int) {
	r := s.rng
	k := r.IntN(3)
	q := s.queues[k]
	j := q.NewJob()
	if r.IntN(10) == 0 {
		j.AddCommandBuffers(s.gateCmd(q))
	} else {
		j.AddCommandBuffers(s.appendCmd(q, uint32(i)))
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
		if err := j.AddDependency(dep); err != nil {
			s.problem("AddDependency: %v", err)
		}
	}
	if r.IntN(6) == 0 {
		j.SetCost(1 + r.IntN(12)) // sometimes above the credit limit: ErrTooBig, job dropped
	}
	sf := &schedFence{q: q, hasJob: true}
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
		return
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
}

func (s *schedule) appendCmd(q *vkdep.Queue, id uint32) uint64 {
	key := q.Family()
	if c, ok := s.cmds[key]; ok {
		return c
	}
	log, err := s.g.Buffer(4 * 1024)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd, err := s.g.Record(q.Family(), func(c vk.CommandBuffer) { s.g.Append(c, log, id) })
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmds[key] = uint64(cmd)
	return uint64(cmd)
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
	for _, sf := range s.fences {
		if !sf.f.Completed() {
			s.problems = append(s.problems, fmt.Sprintf("%s value %d pending after Device.Close", sf.f.Timeline(), sf.f.Value()))
		}
		if sf.calls != 1 {
			s.problems = append(s.problems, fmt.Sprintf("%s value %d completed %d times", sf.f.Timeline(), sf.f.Value(), sf.calls))
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
