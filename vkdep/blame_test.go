package vkdep_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

func TestBlame(t *testing.T) {
	t.Run("T7_only_the_longest_running_job_is_blamed", func(t *testing.T) {
		r := newRig(t)
		// Three queues on one VkQueue, as on lavapipe. The hung gate reached the GPU first;
		// the innocents' jobs wait behind it in the driver, and their shorter timeouts expire
		// first: without T7 they would be banned for the gate's hang.
		guilty := r.queue(vkdep.QueueOptions{Name: "guilty", VkQueueIndex: 1, JobTimeout: 300 * time.Millisecond})
		var asked atomic.Int32
		innocent := func(name string) *vkdep.Queue {
			return r.queue(vkdep.QueueOptions{Name: name, VkQueueIndex: 1, JobTimeout: 100 * time.Millisecond,
				OnTimeout: func(vkdep.TimedOut) vkdep.TimeoutAction { asked.Add(1); return vkdep.TimeoutBan }})
		}
		i1, i2 := innocent("innocent 1"), innocent("innocent 2")
		gate, _, result := r.gateJob(guilty, 2000) // ~17 s of spinning unless aborted
		gf, err := guilty.Submit(gate)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the gate on the GPU", gf.Submitted)
		f1 := r.submit(i1, r.job(i1, 1))
		f2 := r.submit(i2, r.job(i2, 2))
		if err := r.wait(gf); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("hung gate: %v", err)
		}
		banned := time.Now()
		for _, f := range []vkdep.Fence{f1, f2} {
			if err := r.wait(f); err != nil {
				t.Fatalf("innocent %s: %v", f.Timeline(), err)
			}
		}
		resumed := time.Since(banned)
		t.Logf("innocent queues resumed %v after the ban", resumed)
		for _, q := range []*vkdep.Queue{i1, i2} {
			if s := q.Stats(); s.TimedOut != 0 || q.Aborted() {
				t.Fatalf("%s blamed: %+v aborted=%v", q.Name(), s, q.Aborted())
			}
		}
		if n := asked.Load(); n != 0 {
			t.Fatalf("OnTimeout asked %d times about innocent jobs", n)
		}
		if !guilty.Aborted() || guilty.Stats().TimedOut != 1 {
			t.Fatalf("guilty queue: %+v aborted=%v", guilty.Stats(), guilty.Aborted())
		}
		// The innocents move on as soon as the abort word ends the gate: milliseconds, not
		// another timeout (the bound is a guard for a loaded machine, 5× the timeouts).
		if resumed > 2*time.Second {
			t.Fatalf("innocents resumed only %v after the ban", resumed)
		}
		eventually(t, "the gate aborted", func() bool { return result[0]&(1<<shaders.GateAborted) != 0 })
		r.check()
	})

	t.Run("T7_alone_overdue_is_still_banned", func(t *testing.T) {
		// Nothing of another queue is older on the GPU: the overdue job is the guilty one.
		r := newRig(t)
		q := r.queue(vkdep.QueueOptions{Name: "hung", VkQueueIndex: 1, JobTimeout: 100 * time.Millisecond})
		other := r.queue(vkdep.QueueOptions{Name: "idle neighbour", VkQueueIndex: 1, JobTimeout: 100 * time.Millisecond})
		r.wait(r.submit(other, r.job(other, 1)))
		gate, _, _ := r.gateJob(q, 2000)
		gf, _ := q.Submit(gate)
		if err := r.wait(gf); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("hung gate: %v", err)
		}
		r.check()
	})
}
