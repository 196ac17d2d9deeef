package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/vkdep"
)

// latencyRow summarises samples as a row: ns/job is the mean, with p50 and p99.
func latencyRow(workload, variant string, samples []time.Duration, ratioTo ...string) row {
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return row{workload: workload, variant: variant, jobs: len(s), elapsed: sum, ratioTo: ratioTo,
		p50: s[len(s)/2], p99: s[len(s)*99/100]}
}

// runResponsiveness measures how fast vkdep reacts: a host signal until the job that depends on
// it has completed (against a raw submit waiting on a raw timeline the host signals), Kill of
// 10,000 queued jobs until every fence has completed, and a job's deadline until OnTimeout is
// called.
func runResponsiveness(e *env) ([]row, error) {
	ctx := context.Background()
	var rows []row
	samples := 500
	if e.quick {
		samples = 100
	}

	// Raw: a submit that waits on a host-signalled timeline value and signals another.
	hw := e.dev.VkQueues()[0]
	hostSem, err := e.g.Timeline()
	if err != nil {
		return rows, err
	}
	doneSem, err := e.g.Timeline()
	if err != nil {
		return rows, err
	}
	lat := make([]time.Duration, 0, samples)
	for i := 1; i <= samples; i++ {
		ops := []vk.SemOp{{Semaphore: hostSem, Value: uint64(i), Stage: vk.StageAllCommands},
			{Semaphore: doneSem, Value: uint64(i), Stage: vk.StageAllCommands}}
		hw.Lock.Lock()
		err := e.g.VK.Submit(vk.Queue(hw.Handle), []vk.SubmitDesc{{Waits: 1, Signals: 1}}, ops, nil)
		hw.Lock.Unlock()
		if err != nil {
			return rows, err
		}
		start := time.Now()
		if err := e.g.VK.Signal(hostSem, uint64(i)); err != nil {
			return rows, err
		}
		if err := e.g.VK.WaitAll([]vk.Semaphore{doneSem}, []uint64{uint64(i)}, uint64(time.Minute)); err != nil {
			return rows, err
		}
		lat = append(lat, time.Since(start))
	}
	const rawSignal = "raw signal→done"
	rows = append(rows, latencyRow("host-signal", rawSignal, lat))

	rows[len(rows)-1].vkqs = vkqList(1)

	// vkdep: a job depending on a HostTimeline point, from Signal until its fence is done. On a
	// VkQueue of its own the job is submitted at once with a GPU-side wait on the point (D5);
	// with a second queue on its VkQueue it is held on the CPU until the signal.
	h, err := e.dev.NewHostTimeline("bench")
	if err != nil {
		return rows, err
	}
	var v uint64
	hostToDone := func(q *vkdep.Queue) ([]time.Duration, error) {
		lat := make([]time.Duration, 0, samples)
		for range samples {
			v++
			j := q.NewJob()
			if err := j.AddDependency(h.Point(v)); err != nil {
				return nil, err
			}
			f, err := q.Submit(j)
			if err != nil {
				return nil, err
			}
			start := time.Now()
			if err := h.Signal(v); err != nil {
				return nil, err
			}
			if err := f.Wait(ctx); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(start))
		}
		return lat, nil
	}
	q, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "dependent", Bypass: true, Exclusive: true})
	if errors.Is(err, vkdep.ErrNoVkQueue) {
		e.note("host-signal: no free VkQueue for an Exclusive queue; the unshared row uses vkdep's placement")
		q, err = e.dev.NewQueue(vkdep.QueueOptions{Name: "dependent", Bypass: true})
	}
	if err != nil {
		return rows, err
	}
	if lat, err = hostToDone(q); err != nil {
		return rows, err
	}
	r := latencyRow("host-signal", "vkdep signal→dependent job done, unshared VkQueue (GPU-side wait)", lat, rawSignal)
	for i, x := range e.dev.VkQueues() {
		if x.Handle == q.VkQueue().Handle {
			r.vkqs = vkqList(i + 1)
		}
	}
	rows = append(rows, r)
	q.Close()
	<-q.Done()
	shared, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "dependent, shared", Bypass: true})
	if err != nil {
		return rows, err
	}
	beside, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "beside", With: shared})
	if err != nil {
		return rows, err
	}
	if lat, err = hostToDone(shared); err != nil {
		return rows, err
	}
	r = latencyRow("host-signal", "vkdep signal→dependent job done, shared VkQueue (CPU hold)", lat, rawSignal)
	for i, x := range e.dev.VkQueues() {
		if x.Handle == shared.VkQueue().Handle {
			r.vkqs = vkqList(i + 1)
		}
	}
	rows = append(rows, r)
	beside.Close()
	shared.Close()
	<-beside.Done()
	<-shared.Done()

	// Kill of a stopped queue holding 10,000 pushed jobs, until every fence has completed.
	kills := 10
	if e.quick {
		kills = 3
	}
	lat = lat[:0]
	for range kills {
		q, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "kill", Credits: 1})
		if err != nil {
			return rows, err
		}
		q.Stop()
		fences := make([]vkdep.Fence, 10_000)
		for k := range fences {
			if fences[k], err = q.Submit(q.NewJob()); err != nil {
				return rows, err
			}
		}
		start := time.Now()
		q.Kill(nil)
		for _, f := range fences {
			f.Wait(ctx)
		}
		lat = append(lat, time.Since(start))
		for k, f := range fences {
			if !errors.Is(f.Err(), vkdep.ErrKilled) {
				return rows, fmt.Errorf("kill: job %d of 10,000 completed with %v, want ErrKilled", k, f.Err())
			}
		}
		q.Close()
		<-q.Done()
	}
	r = latencyRow("kill-10k", "vkdep Kill→all fences done", lat)
	r.jobs *= 10_000 // ns/job per killed job; p50 and p99 per Kill
	rows = append(rows, r)

	// Deadline → OnTimeout: a job held on the GPU by a raw timeline past its JobTimeout.
	const timeout = 20 * time.Millisecond
	runs := 50
	if e.quick {
		runs = 10
	}
	lat = lat[:0]
	for range runs {
		hold, err := e.g.Timeline()
		if err != nil {
			return rows, err
		}
		reported := make(chan time.Time, 1)
		q, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "timeout", JobTimeout: timeout, OnTimeout: func(vkdep.TimedOut) vkdep.TimeoutAction {
			select {
			case reported <- time.Now():
			default:
			}
			return vkdep.TimeoutBan
		}})
		if err != nil {
			return rows, err
		}
		j := q.NewJob()
		if err := j.WaitSemaphore(uint64(hold), 1, vk.StageAllCommands); err != nil {
			return rows, err
		}
		f, err := q.Submit(j)
		if err != nil {
			return rows, err
		}
		submitted := time.Now()
		var at time.Time
		select {
		case at = <-reported:
		case <-time.After(10 * time.Second):
			return rows, fmt.Errorf("timeout: OnTimeout not called 10 s after a %v deadline", timeout)
		}
		lat = append(lat, at.Sub(submitted.Add(timeout)))
		if err := e.g.VK.Signal(hold, 1); err != nil {
			return rows, err
		}
		if err := f.Wait(ctx); !errors.Is(err, vkdep.ErrTimedOut) {
			return rows, fmt.Errorf("timeout: the held job completed with %v, want ErrTimedOut", err)
		}
		q.Close()
		<-q.Done()
	}
	rows = append(rows, latencyRow("timeout", fmt.Sprintf("deadline(%v)→OnTimeout lateness", timeout), lat))
	return rows, nil
}
