package vkdep_test

import (
	"errors"
	"fmt"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// The steps of a schedule (schedule_test.go): the shapes it builds, the commands its jobs run,
// and the checker.

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
