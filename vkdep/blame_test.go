package vkdep_test

import (
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/internal/vktest"
	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

// hogJob returns a job that spins until released (2000 gate workgroups with an iteration budget
// of 2³²−1; on lavapipe, which caps shader loops, for about 17 s) and ignores its queue's abort
// word (its gate reads a word of its own): banned, it stays on the GPU until release, as work
// that does not poll the word (T4). A failing test still releases it.
func (r *rig) hogJob(q *vkdep.Queue) (j *vkdep.Job, release func()) {
	r.t.Helper()
	var bufs [3]*vk.Buffer
	for i := range bufs {
		b, err := r.g.Buffer(16)
		if err != nil {
			r.t.Fatal(err)
		}
		bufs[i] = b
	}
	cmd, err := r.g.Record(q.Family(), func(c vk.CommandBuffer) {
		r.g.Gate(c, gpu.GateSpec{Gate: bufs[0], AbortBuf: bufs[1], ResultBuf: bufs[2], Workgroups: 2000, Budget: math.MaxUint32})
	})
	if err != nil {
		r.t.Fatal(err)
	}
	release = func() { bufs[0].Uint32s()[0] = 1 }
	r.t.Cleanup(release)
	j = q.NewJob()
	j.AddCommandBuffers(uint64(cmd))
	return j, release
}

// banHog submits a hog to q and bans q for it (TriggerTimeout asks OnTimeout, whose default
// bans): the hog stays on the GPU, banned, until release.
func (r *rig) banHog(q *vkdep.Queue) (release func()) {
	r.t.Helper()
	j, release := r.hogJob(q)
	f, err := q.Submit(j)
	if err != nil {
		r.t.Fatal(err)
	}
	eventually(r.t, "the hog on the GPU", f.Submitted)
	q.TriggerTimeout()
	if err := r.wait(f); !errors.Is(err, vkdep.ErrTimedOut) {
		r.t.Fatalf("hog: %v, want ErrTimedOut", err)
	}
	return release
}

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

	t.Run("T7_a_hang_on_another_device_of_the_GPU_is_blamed_there", func(t *testing.T) {
		// Two Devices of this process on one GPU. On lavapipe their VkDevices share one pool of
		// compute threads, so the gate of the first stalls the second's job past its (shorter)
		// timeout; blame must still land on the gate, whose Device is not the innocent's.
		// The gate's abort must land within abortGrace after its ban, or the innocent is
		// banned: widened from 100 ms, so that a loaded machine (-race, validation) has room.
		// (The grace is not capped by the innocent's 100 ms timeout.)
		defer vkdep.SetAbortGrace(time.Second)()
		r, o := newRig(t), newOwnRig(t)
		guilty := r.queue(vkdep.QueueOptions{Name: "guilty", VkQueueIndex: 1, JobTimeout: 300 * time.Millisecond})
		var asked atomic.Int32
		innocent := o.queue(vkdep.QueueOptions{Name: "innocent on another Device", JobTimeout: 100 * time.Millisecond,
			OnTimeout: func(vkdep.TimedOut) vkdep.TimeoutAction { asked.Add(1); return vkdep.TimeoutBan }})
		gate, _, _ := r.gateJob(guilty, 2000)
		gf, err := guilty.Submit(gate)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the gate on the GPU", gf.Submitted)
		start := time.Now()
		f := o.submit(innocent, o.job(innocent, 1))
		if err := r.wait(gf); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("hung gate: %v", err)
		}
		if err := o.wait(f); err != nil {
			t.Fatalf("innocent: %v", err)
		}
		took := time.Since(start)
		if s := innocent.Stats(); s.TimedOut != 0 || innocent.Aborted() || asked.Load() != 0 {
			t.Fatalf("innocent blamed: %+v aborted=%v asked=%d", s, innocent.Aborted(), asked.Load())
		}
		if took < 100*time.Millisecond {
			// A GPU that time-slices its VkDevices ran the innocent job beside the gate:
			// nothing was overdue, so this run does not show blame (lavapipe's does).
			t.Logf("the other Device's job was not stalled (%v): nothing to blame", took)
		} else {
			t.Logf("the other Device's job stalled %v behind the gate, and was spared", took)
		}
		r.check()
		o.check()
	})

	t.Run("T7_a_banned_job_on_the_same_VkQueue_shields_until_it_leaves", func(t *testing.T) {
		// Submission order puts the banned hog before the innocent's job on their VkQueue:
		// however long it stays, the innocent is not to blame.
		r := newRig(t)
		hog := r.queue(vkdep.QueueOptions{Name: "hog", VkQueueIndex: 1})
		innocent := r.queue(vkdep.QueueOptions{Name: "innocent", VkQueueIndex: 1, JobTimeout: 100 * time.Millisecond})
		release := r.banHog(hog)
		f := r.submit(innocent, r.job(innocent, 1))
		time.Sleep(500 * time.Millisecond) // five of its timeouts
		if f.Completed() || innocent.Stats().TimedOut != 0 {
			t.Fatalf("the innocent job ended behind the hog (err %v, %+v)", f.Err(), innocent.Stats())
		}
		release()
		if err := r.wait(f); err != nil {
			t.Fatalf("innocent after the hog left: %v", err)
		}
		r.check()
	})

	t.Run("T7_a_banned_job_elsewhere_shields_for_an_abort_grace", func(t *testing.T) {
		// The banned hog is on another VkDevice (two Devices of this process on one GPU): it
		// was submitted before the job it stalls, but submission order across VkQueues says
		// nothing about which runs first, so after its ban it shields the overdue job only
		// for abortGrace (the time an abort word takes to end cooperative work), and the
		// overdue job is looked at again when that ends: not until the hog leaves, nor a
		// whole JobTimeout later. Otherwise a job wrongly banned while stuck behind a real
		// hang would shield that hang from its ban, and its abort word. The grace is widened
		// to 600 ms here so that the timing has room on a loaded machine: the hog is banned
		// 700 ms into the overdue job's 1 s timeout, so its deadline falls inside the grace,
		// and the ban is due 1.3 s after its submit (with no shield: 1 s; with a whole
		// re-arm: 2 s).
		defer vkdep.SetAbortGrace(600 * time.Millisecond)()
		r, o := newRig(t), newOwnRig(t)
		hog := o.queue(vkdep.QueueOptions{Name: "hog elsewhere"})
		q := r.queue(vkdep.QueueOptions{Name: "overdue", VkQueueIndex: 1, JobTimeout: time.Second})
		hj, release := o.hogJob(hog)
		hf, err := hog.Submit(hj)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the hog on the GPU", hf.Submitted)
		f := r.submit(q, r.job(q, 1))
		submitted := time.Now()
		time.Sleep(700 * time.Millisecond)
		hog.TriggerTimeout()
		if err := o.wait(hf); !errors.Is(err, vkdep.ErrTimedOut) {
			t.Fatalf("hog: %v, want ErrTimedOut", err)
		}
		banned := time.Since(submitted)
		err = r.wait(f)
		at := time.Since(submitted)
		switch {
		case err == nil && at > banned+time.Second:
			t.Fatalf("the overdue job was shielded until the hog ended on its own (%v after its submit)", at)
		case err == nil:
			// A GPU that time-slices its VkDevices ran the job beside the hog.
			t.Logf("the job was not stalled by the hog on another VkDevice")
		case !errors.Is(err, vkdep.ErrTimedOut):
			t.Fatalf("overdue job: %v, want ErrTimedOut or success", err)
		case banned > 950*time.Millisecond:
			t.Skipf("the hog's ban came %v after the overdue job's submit, too near its 1 s deadline to show the grace", banned)
		case at < 1150*time.Millisecond || at > banned+time.Second:
			t.Fatalf("overdue job banned %v after its submit, the hog %v: want about 600 ms after the hog", at, banned)
		default:
			t.Logf("hog banned %v, overdue job %v after its submit", banned, at)
		}
		release()
		r.check()
		o.check()
	})

	t.Run("T7_a_job_without_a_timeout_elsewhere_shields_nothing", func(t *testing.T) {
		// A long job on another Device's queue with no JobTimeout, submitted first, must not
		// keep a hang here from its ban: nothing would ever ban that job, so shielding would
		// only postpone this verdict for as long as it ran.
		hangBesideALongJobElsewhere(t, vkdep.QueueOptions{Name: "no timeout, elsewhere"},
			"a job with no timeout on another Device shielded it")
	})

	t.Run("T7_a_job_still_running_elsewhere_shields_for_its_first_timeout_only", func(t *testing.T) {
		// An older job on another Device whose OnTimeout keeps answering "still running": it
		// shields a hang here until its first deadline plus abortGrace, not for as long as it
		// lasts (each answer moves its deadline; a shield that followed it would never end).
		hangBesideALongJobElsewhere(t, vkdep.QueueOptions{Name: "long, still running", JobTimeout: 200 * time.Millisecond,
			OnTimeout: func(vkdep.TimedOut) vkdep.TimeoutAction { return vkdep.TimeoutStillRunning }},
			"shielded by a job elsewhere that keeps running")
	})

	t.Run("T7_submission_order_decides_on_one_VkQueue", func(t *testing.T) {
		// P submits a short job and then a hang, and B a job behind both, on one VkQueue. The
		// short job finishes after B's submit, so by "started on the GPU" the hang looks
		// younger than B's job. The VkQueue's submission order is what counts there: the hang
		// is banned, and B, which waited behind it, is spared and then runs. (Judged by start
		// times, B was banned, and then, banned and ahead by that measure, it shielded the
		// hang for good.) FIFO scheduling, so that all three jobs reach the driver at once
		// whatever the arbiter's estimates (H2) say; P's timeout is the longer one, so that
		// B's job is overdue first and the short job has room on a loaded machine.
		d, _ := vktest.OpenWith(t, vkdep.Options{Scheduling: vkdep.ScheduleFIFO})
		r := newRigOn(t, d)
		p := r.queue(vkdep.QueueOptions{Name: "P", VkQueueIndex: 1, JobTimeout: time.Second})
		b := r.queue(vkdep.QueueOptions{Name: "B", VkQueueIndex: 1, JobTimeout: 300 * time.Millisecond})
		short, releaseShort, _ := r.gateJob(p, 2000)
		hang, releaseHang, _ := r.gateJob(p, 2000)
		t.Cleanup(func() { releaseShort[0], releaseHang[0] = 1, 1 })
		sf, err := p.Submit(short)
		if err != nil {
			t.Fatal(err)
		}
		hf, err := p.Submit(hang)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the hang submitted", hf.Submitted)
		bf := r.submit(b, r.job(b, 1))
		eventually(t, "B's job submitted", bf.Submitted)
		time.Sleep(20 * time.Millisecond)
		releaseShort[0] = 1
		if err := r.wait(sf); err != nil {
			t.Fatalf("short job: %v", err)
		}
		switch done, err := waitWithin(hf, 3*time.Second); {
		case !done:
			t.Fatalf("the hang was not banned in 3 s (P %+v; B %+v, banned: %v)", p.Stats(), b.Stats(), b.Aborted())
		case !errors.Is(err, vkdep.ErrTimedOut):
			t.Fatalf("hang: %v, want ErrTimedOut", err)
		}
		if err := r.wait(bf); err != nil {
			t.Fatalf("B's job, behind the hang: %v", err)
		}
		if s := b.Stats(); s.TimedOut != 0 || b.Aborted() {
			t.Fatalf("B blamed: %+v", s)
		}
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

// hangBesideALongJobElsewhere submits a long job (a hog, released at the end) to a queue with
// opts on a second Device, then a hung gate (JobTimeout 200 ms) here: the hang must be banned
// within 3 s, not shielded by the older job (what names the failure).
func hangBesideALongJobElsewhere(t *testing.T, opts vkdep.QueueOptions, what string) {
	r, o := newRig(t), newOwnRig(t)
	long := o.queue(opts)
	hung := r.queue(vkdep.QueueOptions{Name: "hung", VkQueueIndex: 1, JobTimeout: 200 * time.Millisecond})
	x, release := o.hogJob(long)
	xf, err := long.Submit(x)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the long job on the GPU", xf.Submitted)
	gate, _, _ := r.gateJob(hung, 2000)
	start := time.Now()
	hf, err := hung.Submit(gate)
	if err != nil {
		t.Fatal(err)
	}
	switch done, err := waitWithin(hf, 3*time.Second); {
	case !done:
		t.Fatalf("the hung gate (JobTimeout 200 ms) was not banned in 3 s: %s", what)
	case !errors.Is(err, vkdep.ErrTimedOut):
		t.Fatalf("hung gate: %v, want ErrTimedOut", err)
	}
	t.Logf("banned %v after its submit", time.Since(start))
	release()
	r.check()
	o.check()
}
