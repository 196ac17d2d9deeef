package vkdep

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestHostWaitDoesNotShieldAHang: a job waiting GPU-side for a host point (D5) is not running,
// so it must not count as "on the GPU longest" for blame (T7): otherwise an application that
// signals late would keep every other queue's overdue job re-armed, and a real hang would never
// be banned. lavapipe has one VkQueue; as in TestD5_consumer_of_a_host_held_job_is_held, the
// device gets a second entry for it, so the host-point queue counts as alone on its VkQueue. The
// other queue's job then sits behind the GPU-side wait in lavapipe's queue: overdue, like work
// behind a hang, and it must be banned at its timeout.
func TestHostWaitDoesNotShieldAHang(t *testing.T) {
	t.Run("T7_host_wait_does_not_shield_a_hang", func(t *testing.T) {
		d, done := openTwinned(t)
		h, err := d.NewHostTimeline("late upload")
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = h.Signal(1) // the held job and what queued behind it finish
			done()
		}()
		held, err := d.NewQueue(QueueOptions{Name: "held", Exclusive: true, Bypass: true, JobTimeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		stuck, err := d.NewQueue(QueueOptions{Name: "stuck", JobTimeout: 150 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if held.hw == stuck.hw {
			t.Fatal("both queues on one VkQueue entry")
		}
		j := held.NewJob()
		j.AddDependency(h.Point(1))
		hf, err := held.Submit(j)
		if err != nil || !hf.Submitted() {
			t.Fatalf("held: %v, submitted %v: want it submitted at once with a GPU-side wait (D5)", err, hf.Submitted())
		}
		sf, err := stuck.Submit(stuck.NewJob())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := sf.Wait(ctx); !errors.Is(err, ErrTimedOut) {
			t.Fatalf("the job stuck behind another queue's host wait: %v, want ErrTimedOut at its timeout (T7: a host wait is not a job on the GPU)", err)
		}
		if hf.Completed() {
			t.Fatalf("the host-held job completed before its point was signalled: %v", hf.Err())
		}
	})
}
