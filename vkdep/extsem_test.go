package vkdep_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"vkdep.dev/internal/vktest/extdev"
	"vkdep.dev/vkdep"
)

// The application's own semaphores in vkdep jobs (Job.WaitSemaphore, Job.SignalSemaphore), on a
// device the application created and submits to itself, with its validation layer on. Every
// signal a job waits for is submitted before the job is pushed, and every application wait on a
// job's signal is submitted after vkdep submitted the job (Fence.WaitSubmitted): the driver is
// never handed a wait before its signal (D4).

// settle is how long a test gives work that must stay blocked to (wrongly) run.
const settle = 20 * time.Millisecond

type extRig struct {
	*rig
	ext *extdev.Device
	q   *vkdep.Queue
}

func newExtRig(t *testing.T) *extRig {
	ext := newExt(t, extdev.Config{})
	d := wrapExt(t, ext, false)
	r := newRigOn(t, d)
	return &extRig{rig: r, ext: ext, q: r.queue(vkdep.QueueOptions{Name: "frames"})}
}

func (r *extRig) semaphore(timeline bool) uint64 {
	r.t.Helper()
	s, err := r.ext.Semaphore(timeline, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	// Cleanups run last-in first-out: this one runs after the rig has waited for the queue.
	r.t.Cleanup(func() { r.ext.DestroySemaphore(s) })
	return s
}

func (r *extRig) appSubmit(waits []extdev.Sem, cmds []uint64, signals []extdev.Sem) {
	r.t.Helper()
	if err := r.ext.Submit(waits, cmds, signals); err != nil {
		r.t.Fatal(err)
	}
}

// submitted waits until vkdep has handed f's job to the driver, so the application may wait on
// what it signals.
func (r *extRig) submitted(f vkdep.Fence) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitSubmitted(ctx); err != nil {
		r.t.Fatalf("%s value %d never submitted: %v", f.Timeline(), f.Value(), err)
	}
}

// Binary semaphores carry a stricter rule than timelines: a batch that waits on one must only be
// submitted once its signal, and every signal that signal depends on, has been submitted
// (VUID-vkQueueSubmit-pWaitSemaphores-03238). So no host-signalled gate may sit behind a binary
// semaphore here. (Mesa's common queue code, which lavapipe uses, relies on the rule: with a
// binary wait whose signal is stuck behind a host wait, vkQueueSubmit2 blocks inside the call
// until the host signals, holding vkdep's queue locks meanwhile.)

// TestExternalSemaphore/acquire: a job waits on the application's binary semaphore, signalled
// by the application's own submit (which first appends the application's id), as a frame waits
// for a swapchain acquire. Three frames reuse the semaphore, each after the previous frame's
// fence, as with a swapchain. A job that did not wait would leave the semaphore signalled, and
// the application's next signal of it is invalid usage that the validation layer reports.
func TestExternalSemaphore(t *testing.T) {
	t.Run("acquire", func(t *testing.T) {
		r := newExtRig(t)
		acquired := r.semaphore(false)
		var want []uint32
		for frame := uint32(1); frame <= 3; frame++ {
			r.appSubmit(nil, []uint64{r.appendCmd(r.ext.Family, 100+frame)}, []extdev.Sem{{Semaphore: acquired}})
			j := r.job(r.q, frame)
			if err := j.WaitSemaphore(acquired, 0, 0); err != nil {
				t.Fatal(err)
			}
			if err := r.wait(r.submit(r.q, j)); err != nil {
				t.Fatalf("frame %d: %v", frame, err)
			}
			want = append(want, 100+frame, frame)
		}
		r.check()
		if got := r.ids(); !slices.Equal(got, want) {
			t.Fatalf("log %v, want %v", got, want)
		}
	})

	// present: a job signals the application's binary semaphore, as a frame signals the semaphore
	// vkQueuePresentKHR waits on; once vkdep has submitted the job, the application waits on the
	// semaphore in its own submit, which appends the application's id and signals the
	// application's timeline. The application, having waited for its timeline on the host, reads
	// the job's write before its own. Had the job not signalled, the application's wait would
	// never end (and the validation layer would report a wait with no signal submitted).
	t.Run("present", func(t *testing.T) {
		r := newExtRig(t)
		presentable := r.semaphore(false)
		appTL := r.semaphore(true)
		for frame := uint32(1); frame <= 3; frame++ {
			j := r.job(r.q, frame)
			if err := j.SignalSemaphore(presentable, 0); err != nil {
				t.Fatal(err)
			}
			f := r.submit(r.q, j)
			r.submitted(f)
			r.appSubmit([]extdev.Sem{{Semaphore: presentable}}, []uint64{r.appendCmd(r.ext.Family, 100+frame)},
				[]extdev.Sem{{Semaphore: appTL, Value: uint64(frame)}})
			if err := r.ext.Wait(appTL, uint64(frame), 30*time.Second); err != nil {
				t.Fatal(err)
			}
			if got := r.ids(); len(got) != int(2*frame) || got[2*frame-2] != frame || got[2*frame-1] != 100+frame {
				t.Fatalf("frame %d: log %v after the application's wait, want the job's %d then the application's %d",
					frame, got, frame, 100+frame)
			}
			if err := r.wait(f); err != nil {
				t.Fatal(err)
			}
		}
		r.check()
	})

	// timeline: the application's timeline orders work across vkdep and the application. The
	// application's submit (held behind a host gate) appends 100 and signals 5; the job waits
	// for 5, appends 1 and signals 10; the application's next submit waits for 10, appends 101
	// and signals 11. The job runs after the application's value and before the application's
	// waiter, which sees its write.
	t.Run("timeline", func(t *testing.T) {
		r := newExtRig(t)
		gate := r.semaphore(true)
		tl := r.semaphore(true)
		r.appSubmit([]extdev.Sem{{Semaphore: gate, Value: 1}}, []uint64{r.appendCmd(r.ext.Family, 100)},
			[]extdev.Sem{{Semaphore: tl, Value: 5}})
		j := r.job(r.q, 1)
		if err := j.WaitSemaphore(tl, 5, 0); err != nil {
			t.Fatal(err)
		}
		if err := j.SignalSemaphore(tl, 10); err != nil {
			t.Fatal(err)
		}
		f := r.submit(r.q, j)
		r.submitted(f)
		r.appSubmit([]extdev.Sem{{Semaphore: tl, Value: 10}}, []uint64{r.appendCmd(r.ext.Family, 101)},
			[]extdev.Sem{{Semaphore: tl, Value: 11}})
		time.Sleep(settle)
		if c, _ := r.ext.Counter(tl); c != 0 || f.Completed() || len(r.ids()) != 0 {
			t.Fatalf("work ran before the gate: timeline %d, job completed %v, log %v", c, f.Completed(), r.ids())
		}
		if err := r.ext.Signal(gate, 1); err != nil {
			t.Fatal(err)
		}
		if err := r.ext.Wait(tl, 11, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if got := r.ids(); !slices.Equal(got, []uint32{100, 1, 101}) {
			t.Fatalf("log %v, want the application's 100, the job's 1, the application's 101", got)
		}
		if err := r.wait(f); err != nil {
			t.Fatal(err)
		}
		r.check()
	})
}
