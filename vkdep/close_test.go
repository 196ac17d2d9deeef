package vkdep_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

func TestClose(t *testing.T) {
	t.Run("X2_no_goroutine_left", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		d, err := vkdep.Open(vkdep.Options{Validate: true, OnValidation: func(m vkdep.ValidationMessage) { t.Errorf("validation: %v", m) }})
		if err != nil {
			t.Fatal(err)
		}
		h := newHost(t, d, "x")
		h.Point(1).OnDone(func(error) {})
		if err := d.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})

	t.Run("X3_pending_points_complete_and_stay_readable", func(t *testing.T) {
		d := vktest.Open(t)
		h := newHost(t, d, "pending")
		if err := h.Signal(1); err != nil {
			t.Fatal(err)
		}
		waitDone(t, h.Point(1))
		p := h.Point(7)
		done := p.Done()
		if err := d.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		<-done
		if err := p.Err(); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Fatalf("pending point after close: %v, want ErrDeviceClosed", err)
		}
		if err := h.Point(1).Err(); err != nil {
			t.Fatalf("point completed before close reads %v", err)
		}
		if err := h.Point(1).Wait(context.Background()); err != nil {
			t.Fatalf("Wait after close: %v", err)
		}
		if err := h.Point(9).Wait(context.Background()); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Fatalf("Wait on a never-signalled point after close: %v", err)
		}
	})

	t.Run("X2_calls_after_close", func(t *testing.T) {
		d := vktest.Open(t)
		h := newHost(t, d, "after")
		if err := d.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(context.Background()); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Fatalf("second Close: %v, want ErrDeviceClosed", err)
		}
		if _, err := d.NewHostTimeline("late"); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Fatalf("NewHostTimeline after Close: %v", err)
		}
		if err := h.Signal(1); !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Fatalf("Signal after Close: %v", err)
		}
	})

	t.Run("X2_context_ends_first_nothing_destroyed", func(t *testing.T) {
		d := vktest.Open(t)
		h := newHost(t, d, "stall")
		// A callback that blocks (which the docs forbid) holds the completion goroutine, so
		// Close cannot finish within its context.
		release := make(chan struct{})
		h.Point(1).OnDone(func(error) { <-release })
		if err := h.Signal(1); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close with a stalled completion goroutine: %v", err)
		}
		// Nothing was destroyed: the semaphore still answers.
		if err := h.Signal(2); err != nil && !errors.Is(err, vkdep.ErrDeviceClosed) {
			t.Fatalf("Signal after interrupted Close: %v", err)
		}
		close(release)
		if err := d.Close(context.Background()); err != nil {
			t.Fatalf("Close after the stall ended: %v", err)
		}
		if err := h.Point(1).Err(); err != nil {
			t.Fatalf("point 1: %v", err)
		}
	})
}
