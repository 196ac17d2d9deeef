package vkdep

import (
	"context"
	"time"
)

// Drain waits until every job pushed so far to any queue of the device has completed and its
// release hook has run, and leaves the device and its queues open. It is the barrier for an
// application that owns objects on a device vkdep opened (or wrapped) and wants to free or reuse
// them without closing the device: after Drain returns nil, no job pushed before the call still
// references anything. Jobs pushed during the call, and queues created during it, are not
// waited for.
//
// Drain does not make work finish: a job held back by an unsignalled HostTimeline point, a
// stopped queue (S1) or a GPU hang keeps it waiting until ctx ends, and then it returns
// ctx.Err() with nothing changed. A timed-out job's release waits for its GPU work to end (T4), so
// Drain does too. After Close it returns ErrDeviceClosed. Do not call it from a fence callback or
// release hook: they run on the completion goroutine, which Drain waits for.
func (d *Device) Drain(ctx context.Context) error {
	d.mu.Lock()
	if d.state == devClosed {
		d.mu.Unlock()
		return ErrDeviceClosed
	}
	queues := d.queuesLocked()
	d.mu.Unlock()

	for _, q := range queues {
		q.mu.Lock()
		last := q.pushedUpTo
		q.mu.Unlock()
		if last == 0 {
			continue
		}
		// The fence completing is not enough: release hooks run after it (L6), and a timed-out
		// job's fence completes long before its release (T4). Ask the completion goroutine,
		// which runs the release hooks, whether any job up to last is still on the queue; a
		// retire it is doing finishes before a posted task runs.
		if err := (Fence{tl: &q.tl, value: last}).Wait(ctx); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
			done, err := d.askWaiter(ctx, func() bool { return q.releasedUpTo(last) })
			if err != nil {
				return err
			}
			if done {
				break
			}
			// Only a timed-out job still running on the GPU gets here (T4): poll gently.
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// askWaiter runs fn on the completion goroutine and returns its answer.
func (d *Device) askWaiter(ctx context.Context, fn func() bool) (bool, error) {
	ch := make(chan bool, 1)
	d.waiter.post(func() { ch <- fn() })
	select {
	case ok := <-ch:
		return ok, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// releasedUpTo reports whether every job of q with a value up to v has been retired (its release
// hook has run). Completion goroutine only, so that a retire is never half done.
func (q *Queue) releasedUpTo(v uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return (q.inflight.len() == 0 || q.inflight.at(0).value > v) && (q.pending.len() == 0 || q.pending.at(0).value > v)
}
