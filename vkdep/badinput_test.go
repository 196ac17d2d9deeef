package vkdep_test

import (
	"context"
	"errors"
	"testing"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// TestBadInput feeds each kind of misuse and bad data to a queue. Programming errors panic with a
// message naming them; bad data is a clear error; and after each case every armed fence has
// completed and every release hook has run exactly once (nothing is lost).
func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, r *rig, q *vkdep.Queue)
	}{
		{"push_twice_panics", func(t *testing.T, r *rig, q *vkdep.Queue) {
			hold, release := r.rawHold() // keeps the job from being recycled meanwhile
			j := r.job(q, 1)
			hold(j)
			r.submit(q, j)
			mustPanic(t, "pushed twice", j.Push)
			release()
		}},
		{"push_out_of_arm_order_panics", func(t *testing.T, r *rig, q *vkdep.Queue) {
			a, b := r.job(q, 1), r.job(q, 2)
			fa, _ := a.Arm()
			fb, _ := b.Arm()
			r.track(fa)
			r.track(fb)
			mustPanic(t, "Push out of Arm order", b.Push)
			a.Push()
			b.Push()
		}},
		{"push_not_armed_panics", func(t *testing.T, r *rig, q *vkdep.Queue) {
			mustPanic(t, "not armed", r.job(q, 1).Push)
		}},
		{"dependency_after_arm_is_ErrArmed", func(t *testing.T, r *rig, q *vkdep.Queue) {
			j := r.job(q, 1)
			f, _ := j.Arm()
			r.track(f)
			if err := j.AddDependency(f); !errors.Is(err, vkdep.ErrArmed) {
				t.Fatalf("got %v", err)
			}
			j.Push()
		}},
		{"cost_above_limit_is_ErrTooBig", func(t *testing.T, r *rig, q *vkdep.Queue) {
			j := r.job(q, 1)
			j.SetCost(1000)
			if _, err := q.Submit(j); !errors.Is(err, vkdep.ErrTooBig) {
				t.Fatalf("got %v", err)
			}
			j.SetCost(1)
			r.submit(q, j)
		}},
		{"push_to_killed_queue_completes_with_ErrKilled", func(t *testing.T, r *rig, q *vkdep.Queue) {
			q.Kill(errors.New("gone"))
			f, err := q.Submit(r.job(q, 1))
			r.track(f)
			if !errors.Is(err, vkdep.ErrKilled) || !errors.Is(r.wait(f), vkdep.ErrKilled) {
				t.Fatalf("got %v / %v", err, f.Err())
			}
		}},
		{"push_to_closed_queue_completes_with_ErrQueueClosed", func(t *testing.T, r *rig, q *vkdep.Queue) {
			q.Close()
			f, err := q.Submit(r.job(q, 1))
			r.track(f)
			if !errors.Is(err, vkdep.ErrQueueClosed) || !errors.Is(r.wait(f), vkdep.ErrQueueClosed) {
				t.Fatalf("got %v / %v", err, f.Err())
			}
		}},
		{"fence_of_a_closed_device_as_dependency", func(t *testing.T, r *rig, q *vkdep.Queue) {
			other := vktest.Open(t)
			h, _ := other.NewHostTimeline("gone")
			stale := h.Point(1)
			if err := other.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			j := r.job(q, 1)
			j.AddDependency(stale)
			f := r.submit(q, j)
			err := r.wait(f)
			if !errors.Is(err, vkdep.ErrDependency) || !errors.Is(err, vkdep.ErrDeviceClosed) {
				t.Fatalf("got %v", err)
			}
		}},
		{"zero_command_buffer_is_ErrBadHandle", func(t *testing.T, r *rig, q *vkdep.Queue) {
			j := q.NewJob()
			j.AddCommandBuffers(0)
			if _, err := q.Submit(j); !errors.Is(err, vkdep.ErrBadHandle) {
				t.Fatalf("got %v", err)
			}
		}},
		{"zero_semaphore_is_ErrBadHandle", func(t *testing.T, r *rig, q *vkdep.Queue) {
			j := q.NewJob()
			j.SignalSemaphore(0, 1)
			if _, err := q.Submit(j); !errors.Is(err, vkdep.ErrBadHandle) {
				t.Fatalf("got %v", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			q := r.queue(vkdep.QueueOptions{Name: c.name, Credits: 8, Bypass: true})
			c.run(t, r, q)
			r.check()
		})
	}
}
