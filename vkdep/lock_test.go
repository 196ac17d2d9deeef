package vkdep_test

import (
	"errors"
	"testing"
	"time"

	"vkdep.dev/vkdep"
)

// TestVkQueueLockHeldByApplication: an application may hold a VkQueue's lock for long — lavapipe's
// vkQueuePresentKHR runs behind every job queued before it, a hung one included. While it does,
// the queue's worker waits for the lock, but nothing else may wait with it: Stats and Kill return,
// and the timeout watch still bans the hung job (T2), which is what ends such a hang (T5).
func TestVkQueueLockHeldByApplication(t *testing.T) {
	r := newRig(t)
	q := r.queue(vkdep.QueueOptions{Name: "locked", JobTimeout: 200 * time.Millisecond})
	hold, release := r.rawHold()
	hung := r.job(q, 1)
	hold(hung)
	hf := r.submit(q, hung)
	eventually(t, "the hung job on the GPU", func() bool { return q.Stats().InFlight == 1 })

	lock := q.VkQueue().Lock
	lock.Lock()
	held := true
	defer func() {
		if held {
			lock.Unlock()
		}
	}()
	// The worker takes this one and waits for the VkQueue's lock inside its submit.
	next := r.submit(q, r.job(q, 2))
	time.Sleep(20 * time.Millisecond)

	returned := make(chan struct{})
	go func() {
		q.Stats()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Stats blocked while the application holds the VkQueue's lock")
	}
	select {
	case <-hf.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the timeout watch did not ban the hung job while the application held the VkQueue's lock")
	}
	if !errors.Is(hf.Err(), vkdep.ErrTimedOut) {
		t.Fatalf("hung job: %v, want ErrTimedOut", hf.Err())
	}
	lock.Unlock()
	held = false
	release()
	// Killed if it was still waiting for the lock at the ban; if its submit got in first, it
	// fails behind the timed-out job (T6).
	if err := r.wait(next); err != nil && !errors.Is(err, vkdep.ErrKilled) &&
		!(errors.Is(err, vkdep.ErrDependency) && errors.Is(err, vkdep.ErrTimedOut)) {
		t.Fatalf("job behind the ban: %v", err)
	}
	r.check()
}
