package vkdep_test

import (
	"context"
	"testing"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// vkdep's submit paths against the raw yardsticks of bench_test.go, in the same run (go test
// -bench 'Raw|Push|Burst|Chain' ./vkdep/). Only the ratios mean anything; nothing here asserts a
// time. Every benchmark times up to the completion of its last job.

const (
	// benchCredits is the credit limit of the streaming benchmarks' queues: above benchWindow
	// twice, so the window, not credits, bounds the jobs in flight.
	benchCredits = 4096
	// benchWindow: every benchWindow jobs the streaming benchmarks wait for the job submitted
	// benchWindow jobs before, so at most 2×benchWindow are in flight and the pipe never drains.
	benchWindow = 1024
	// burstLen is the jobs per burst of the burst benchmarks.
	burstLen = 64
)

func benchQueue(b *testing.B, d *vkdep.Device, opts vkdep.QueueOptions) *vkdep.Queue {
	b.Helper()
	q, err := d.NewQueue(opts)
	if err != nil {
		b.Fatal(err)
	}
	return q
}

// window waits, every benchWindow jobs, for the fence kept at the previous checkpoint.
type window struct {
	b    *testing.B
	ctx  context.Context
	prev vkdep.Fence
}

func (w *window) add(i int, f vkdep.Fence) {
	if (i+1)%benchWindow != 0 {
		return
	}
	if err := w.prev.Wait(w.ctx); err != nil {
		w.b.Fatal(err)
	}
	w.prev = f
}

// benchPush is BenchmarkRawSubmit through a queue: one empty job per op, Submit (arm + push).
func benchPush(b *testing.B, bypass bool) {
	d := vktest.OpenBench(b)
	q := benchQueue(b, d, vkdep.QueueOptions{Name: "bench", Credits: benchCredits, Bypass: bypass})
	ctx := context.Background()
	w := window{b: b, ctx: ctx}
	var last vkdep.Fence
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := q.Submit(q.NewJob())
		if err != nil {
			b.Fatal(err)
		}
		w.add(i, f)
		last = f
	}
	if err := last.Wait(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportStats(b, q.Stats())
}

// reportStats reports how the jobs were submitted: the fraction submitted in the pushing
// goroutine, and jobs per vkQueueSubmit2.
func reportStats(b *testing.B, s vkdep.Stats) {
	if s.Pushed > 0 {
		b.ReportMetric(float64(s.Bypassed)/float64(s.Pushed), "bypassed/job")
	}
	if s.SubmitCalls > 0 {
		b.ReportMetric(float64(s.Bypassed+s.WorkerSubmitted)/float64(s.SubmitCalls), "jobs/submit")
	}
}

// BenchmarkPushBypass is BenchmarkRawSubmit through a Bypass queue: each empty job is submitted
// in the pushing goroutine (P1). Compare its ns/op with BenchmarkRawSubmit's.
func BenchmarkPushBypass(b *testing.B) { benchPush(b, true) }

// BenchmarkPushWorker is the same without bypass: every job is handed to the queue's worker
// goroutine, which submits what has accumulated in batches.
func BenchmarkPushWorker(b *testing.B) { benchPush(b, false) }

// BenchmarkBurstBatched pushes bursts of burstLen ready, independent jobs to a stopped queue,
// starts it — the worker submits the burst in batched vkQueueSubmit2 calls (B1) — and waits for
// the burst's last fence. One op is one job.
func BenchmarkBurstBatched(b *testing.B) {
	d := vktest.OpenBench(b)
	q := benchQueue(b, d, vkdep.QueueOptions{Name: "bench", Credits: burstLen})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(burstLen, b.N-done)
		q.Stop()
		var last vkdep.Fence
		for range n {
			f, err := q.Submit(q.NewJob())
			if err != nil {
				b.Fatal(err)
			}
			last = f
		}
		q.Start()
		if err := last.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.StopTimer()
	reportStats(b, q.Stats())
}

// BenchmarkBurstRawPerJob is BenchmarkBurstBatched by hand, one vkQueueSubmit2 per job: bursts
// of burstLen submits each signalling the next value of a timeline, then a host wait for the
// burst's last value. One op is one job.
func BenchmarkBurstRawPerJob(b *testing.B) {
	r := newRawTimeline(b, vktest.OpenBench(b))
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(burstLen, b.N-done)
		for range n {
			r.submit()
		}
		done += n
		r.wait()
	}
}

// BenchmarkBurstRawSameSubmits is BenchmarkBurstBatched's Vulkan work by hand: the submits vkdep
// makes for a burst, without vkdep — vkQueueSubmit2 calls of 32 VkSubmitInfo2 each, every one
// waiting for the previous value of the timeline (queue order as a GPU-side dependency) and
// signalling its own. Between BenchmarkBurstRawPerJob and BenchmarkBurstBatched it separates the
// driver's cost of that submit structure from vkdep's own. One op is one job.
func BenchmarkBurstRawSameSubmits(b *testing.B) {
	const batch = 32
	d := vktest.OpenBench(b)
	g := rawDevice(b, d)
	sem, err := g.Timeline()
	if err != nil {
		b.Fatal(err)
	}
	q := d.VkQueues()[0]
	descs := make([]vk.SubmitDesc, 0, batch)
	ops := make([]vk.SemOp, 0, 2*batch)
	sems, vals := []vk.Semaphore{sem}, []uint64{0}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(burstLen, b.N-done)
		for k := 0; k < n; k += batch {
			descs, ops = descs[:0], ops[:0]
			for v := uint64(done + k + 1); v <= uint64(done+min(k+batch, n)); v++ {
				desc := vk.SubmitDesc{Signals: 1}
				if v > 1 {
					ops = append(ops, vk.SemOp{Semaphore: sem, Value: v - 1, Stage: vk.StageAllCommands})
					desc.Waits = 1
				}
				ops = append(ops, vk.SemOp{Semaphore: sem, Value: v, Stage: vk.StageAllCommands})
				descs = append(descs, desc)
			}
			q.Lock.Lock()
			err := g.VK.Submit(vk.Queue(q.Handle), descs, ops, nil)
			q.Lock.Unlock()
			if err != nil {
				b.Fatal(err)
			}
		}
		done += n
		vals[0] = uint64(done)
		if err := g.VK.WaitAll(sems, vals, uint64(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCrossQueueChain is a ping-pong between two queues of one device: job i runs on queue
// i%2 and depends on job i-1, a GPU-side wait on the other queue's timeline (D4). One op is one
// job; the chain is timed to its last fence. Compare with BenchmarkRawChain.
func BenchmarkCrossQueueChain(b *testing.B) {
	for _, bc := range []struct {
		name   string
		bypass bool
	}{{"bypass", true}, {"worker", false}} {
		b.Run(bc.name, func(b *testing.B) {
			d := vktest.OpenBench(b)
			qs := [2]*vkdep.Queue{
				benchQueue(b, d, vkdep.QueueOptions{Name: "ping", Credits: benchCredits, Bypass: bc.bypass}),
				benchQueue(b, d, vkdep.QueueOptions{Name: "pong", Credits: benchCredits, Bypass: bc.bypass}),
			}
			ctx := context.Background()
			w := window{b: b, ctx: ctx}
			var prev vkdep.Fence
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q := qs[i%2]
				j := q.NewJob()
				if err := j.AddDependency(prev); err != nil {
					b.Fatal(err)
				}
				f, err := q.Submit(j)
				if err != nil {
					b.Fatal(err)
				}
				w.add(i, f)
				prev = f
			}
			if err := prev.Wait(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			s0, s1 := qs[0].Stats(), qs[1].Stats()
			reportStats(b, vkdep.Stats{
				Pushed:          s0.Pushed + s1.Pushed,
				Bypassed:        s0.Bypassed + s1.Bypassed,
				WorkerSubmitted: s0.WorkerSubmitted + s1.WorkerSubmitted,
				SubmitCalls:     s0.SubmitCalls + s1.SubmitCalls,
			})
		})
	}
}

// BenchmarkRawChain is BenchmarkCrossQueueChain by hand: two timeline semaphores, submits to the
// device's first VkQueue under its lock; submit i signals timeline i%2 to its next value after
// waiting for the other timeline's value signalled by submit i-1. Timed to the last value.
//
// Like the vkdep benchmarks it waits, every benchWindow submits, for the submit of the previous
// checkpoint, so at most 2×benchWindow submits are pending. Unbounded, lavapipe (Mesa 22.3) slows
// down with the number of pending submits that wait on a value not yet reached — ~1 µs per
// submit at 2 000 pending, ~150 µs at 100 000 — and crashes (SIGSEGV) beyond a few hundred
// thousand.
func BenchmarkRawChain(b *testing.B) {
	d := vktest.OpenBench(b)
	g := rawDevice(b, d)
	var sems [2]vk.Semaphore
	for k := range sems {
		s, err := g.Timeline()
		if err != nil {
			b.Fatal(err)
		}
		sems[k] = s
	}
	q := d.VkQueues()[0]
	first := []vk.SubmitDesc{{Signals: 1}}
	next := []vk.SubmitDesc{{Waits: 1, Signals: 1}}
	ops := make([]vk.SemOp, 2)
	ckSems, ckVals := []vk.Semaphore{sems[0]}, []uint64{0} // the previous checkpoint's value
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Submit i is value i/2+1 of timeline i%2; submit i-1 was value (i-1)/2+1 of the other.
		signal := vk.SemOp{Semaphore: sems[i%2], Value: uint64(i/2 + 1), Stage: vk.StageAllCommands}
		desc, o := first, ops[:1]
		if i > 0 {
			o = ops[:2]
			o[0] = vk.SemOp{Semaphore: sems[(i-1)%2], Value: uint64((i-1)/2 + 1), Stage: vk.StageAllCommands}
			desc = next
		}
		o[len(o)-1] = signal
		q.Lock.Lock()
		err := g.VK.Submit(vk.Queue(q.Handle), desc, o, nil)
		q.Lock.Unlock()
		if err != nil {
			b.Fatal(err)
		}
		if (i+1)%benchWindow == 0 {
			if err := g.VK.WaitAll(ckSems, ckVals, uint64(time.Minute)); err != nil {
				b.Fatal(err)
			}
			ckSems[0], ckVals[0] = signal.Semaphore, signal.Value
		}
	}
	last := b.N - 1
	if err := g.VK.WaitAll([]vk.Semaphore{sems[last%2]}, []uint64{uint64(last/2 + 1)}, uint64(time.Minute)); err != nil {
		b.Fatal(err)
	}
}
