package vkdep_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vkdep.dev/vkdep"
)

func TestHostTimeline(t *testing.T) {
	d := sharedDevice(t)

	t.Run("signal_completes_points_up_to_value", func(t *testing.T) {
		h := newHost(t, d, "uploads")
		p1, p2, p3 := h.Point(1), h.Point(2), h.Point(3)
		if p1.Completed() || p1.Err() != nil {
			t.Fatal("point 1 done before any signal")
		}
		done2 := p2.Done()
		if err := h.Signal(2); err != nil {
			t.Fatal(err)
		}
		if err := waitDone(t, p2); err != nil {
			t.Fatalf("point 2: %v", err)
		}
		<-done2
		if !p1.Completed() || p1.Err() != nil {
			t.Fatal("point 1 not complete after signal 2")
		}
		if p3.Completed() {
			t.Fatal("point 3 complete after signal 2")
		}
		if h.Value() < 2 {
			t.Fatalf("Value %d after signal 2", h.Value())
		}
	})

	t.Run("O4_fail_error_seen_by_waiters", func(t *testing.T) {
		h := newHost(t, d, "frames")
		cause := errors.New("upload checksum mismatch")
		if err := h.Signal(1); err != nil {
			t.Fatal(err)
		}
		var cbErr atomic.Value
		cbDone := make(chan struct{})
		h.Point(3).OnDone(func(err error) { cbErr.Store(err); close(cbDone) })
		if err := h.Fail(3, cause); err != nil {
			t.Fatal(err)
		}
		for _, v := range []uint64{2, 3} {
			err := waitDone(t, h.Point(v))
			var fe *vkdep.FenceError
			if !errors.Is(err, cause) || !errors.As(err, &fe) || fe.Value != v || !strings.Contains(err.Error(), `host timeline "frames"`) {
				t.Fatalf("point %d: %v, want the cause named with timeline and value", v, err)
			}
			if again := h.Point(v).Err(); again == nil || again.Error() != err.Error() {
				t.Fatalf("point %d error changed: %v then %v", v, err, again)
			}
		}
		<-cbDone
		if err, _ := cbErr.Load().(error); !errors.Is(err, cause) {
			t.Fatalf("callback got %v", err)
		}
		if err := waitDone(t, h.Point(1)); err != nil {
			t.Fatalf("point 1 completed before the failure got %v", err)
		}
		if err := h.Signal(4); err != nil {
			t.Fatal(err)
		}
		if err := waitDone(t, h.Point(4)); err != nil {
			t.Fatalf("point 4 after a failure: %v", err)
		}
	})

	t.Run("signal_backwards_is_an_error_naming_the_VUID", func(t *testing.T) {
		h := newHost(t, d, "backwards")
		if err := h.Signal(5); err != nil {
			t.Fatal(err)
		}
		for _, v := range []uint64{5, 3, 0} {
			err := h.Signal(v)
			if !errors.Is(err, vkdep.ErrBadSignal) || !strings.Contains(err.Error(), "VUID-VkSemaphoreSignalInfo-value-03258") {
				t.Fatalf("Signal(%d) after 5: %v", v, err)
			}
		}
		if err := h.Signal(6); err != nil {
			t.Fatalf("Signal(6) after rejected signals: %v", err)
		}
		if err := waitDone(t, h.Point(6)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("O6_wait_cancelled_changes_nothing", func(t *testing.T) {
		h := newHost(t, d, "cancel")
		p := h.Point(1)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait with cancelled ctx: %v", err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait past deadline: %v", err)
		}
		if p.Completed() || p.Err() != nil {
			t.Fatal("cancelled waits changed the fence")
		}
		if err := h.Signal(1); err != nil {
			t.Fatal(err)
		}
		if err := waitDone(t, p); err != nil {
			t.Fatalf("fence after cancelled waits: %v", err)
		}
	})

	t.Run("E4_callbacks_once_on_completion_goroutine", func(t *testing.T) {
		h := newHost(t, d, "callbacks")
		var calls atomic.Int32
		var ids sync.Map
		me := goid()
		var wg sync.WaitGroup
		cb := func(err error) {
			if err != nil {
				t.Errorf("callback error %v", err)
			}
			ids.Store(goid(), true)
			calls.Add(1)
			wg.Done()
		}
		wg.Add(3)
		h.Point(1).OnDone(cb)
		h.Point(2).OnDone(cb)
		if err := h.Signal(2); err != nil {
			t.Fatal(err)
		}
		waitDone(t, h.Point(2))
		h.Point(1).OnDone(cb) // already complete: still runs once, on the completion goroutine
		wg.Wait()
		time.Sleep(20 * time.Millisecond) // a second call would show up here
		if n := calls.Load(); n != 3 {
			t.Fatalf("%d callback calls, want 3", n)
		}
		n := 0
		ids.Range(func(k, _ any) bool {
			n++
			if k.(int) == me {
				t.Error("callback ran on the caller's goroutine")
			}
			return true
		})
		if n != 1 {
			t.Errorf("callbacks ran on %d goroutines, want the one completion goroutine", n)
		}
	})

	t.Run("O6_no_goroutine_or_thread_per_waiter", func(t *testing.T) {
		h := newHost(t, d, "many")
		const waiters = 2000
		before := runtime.NumGoroutine()
		threadsBefore := threads(t)
		var fired atomic.Int32
		chans := make([]<-chan struct{}, 0, waiters)
		for i := range waiters {
			p := h.Point(uint64(i%100 + 1))
			if i%2 == 0 {
				chans = append(chans, p.Done())
			} else {
				p.OnDone(func(error) { fired.Add(1) })
			}
		}
		if g := runtime.NumGoroutine(); g > before {
			t.Fatalf("goroutines %d → %d with %d pending waiters", before, g, waiters)
		}
		if th := threads(t); th > threadsBefore+2 {
			t.Fatalf("OS threads %d → %d with %d pending waiters", threadsBefore, th, waiters)
		}
		if err := h.Signal(100); err != nil {
			t.Fatal(err)
		}
		for _, c := range chans {
			select {
			case <-c:
			case <-time.After(20 * time.Second):
				t.Fatal("Done channel not closed")
			}
		}
		waitDone(t, h.Point(100))
		deadline := time.Now().Add(20 * time.Second)
		for fired.Load() != waiters/2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := fired.Load(); n != waiters/2 {
			t.Fatalf("%d callbacks, want %d", n, waiters/2)
		}
	})

	t.Run("zero_fence", func(t *testing.T) {
		var f vkdep.Fence
		if !f.IsZero() || !f.Completed() || f.Err() != nil || f.Wait(context.Background()) != nil {
			t.Fatal("zero fence is not done-without-error")
		}
		<-f.Done()
		called := false
		f.OnDone(func(err error) { called = err == nil })
		if !called {
			t.Fatal("zero fence OnDone not called")
		}
	})
}
