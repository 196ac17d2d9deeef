package vkdep

import (
	"errors"
	"time"
)

// Blame (T7): a hung dispatch holds shared hardware — the VkQueue it was submitted to, and on a
// GPU whose compute units it fills, every VkQueue of the device — so jobs of other queues queued
// behind it overrun their own timeouts too, though they are innocent. Like the kernel's
// schedulers, which blame the context whose job was actually running, vkdep times out only the
// job that has been on the GPU longest, device-wide: an overdue job is re-armed as still running
// while a job of another queue that reached the GPU before it has not finished. A banned job whose
// GPU work still runs (T4) keeps its place until its value lands, so the queues behind it are not
// blamed while the abort word (T5) ends it.

// gpuSince is when q's oldest unfinished job started on the GPU at the latest: its submit, or
// the queue's previous completion if that came later (now() clock); ok is false when q has no
// job on the GPU. A banned job counts until the GPU reaches its value. For another queue (self
// false), a job waiting on the application's semaphores does not count. Completion goroutine only
// (it reads the timeline's last seen counter).
func (q *Queue) gpuSince(self bool) (since int64, ok bool) {
	seen := q.tl.seen
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.inflight.len() {
		j := q.inflight.at(i)
		if j.value <= seen || j.skip || j.state != jobSubmitted {
			continue
		}
		if (len(j.waits) > 0 && !self) || j.hostHeld {
			// It waits for the application's semaphores, or GPU-side for a host point (D5):
			// blocked, not running. It must not shield another queue's overdue job
			// device-wide for as long as the application takes (nor may the jobs queued
			// behind it); and its own clock has not started (T1).
			return 0, false
		}
		return max(j.submittedAt, q.lastProgress, j.hostFreed), true
	}
	return 0, false
}

// blamesAnother reports whether q's oldest unfinished job is not to blame for its time on the
// GPU: a job of another queue of the device has been there longer (named for the log), or q's job
// has not had a whole JobTimeout since a timed-out job left the GPU (time spent queued behind
// banned work does not count, as the kernel re-arms its timers after a reset). Completion
// goroutine only, q.mu not held.
func (q *Queue) blamesAnother() (*Queue, bool) {
	mine, ok := q.gpuSince(true)
	if !ok {
		return nil, false
	}
	d := q.dev
	if end := d.hangEnded.Load(); mine < end && now()-end < int64(q.opts.JobTimeout) {
		return nil, true
	}
	d.mu.Lock()
	queues := d.queuesLocked()
	d.mu.Unlock()
	for _, p := range queues {
		if p == q {
			continue
		}
		if since, ok := p.gpuSince(false); ok && since < mine {
			return p, true
		}
	}
	return nil, false
}

// spare re-arms q's overdue job as still running because another queue's job holds the GPU, or
// held it until just now (T7).
func (q *Queue) spare(value uint64, guilty *Queue, onGPU time.Duration) {
	longer := "a timed-out job, until just now"
	if guilty != nil {
		longer = guilty.tl.name
	}
	q.log.Debug("vkdep: overdue job spared: another job has been on the GPU longer",
		"queue", q.opts.Name, "value", value, "on_gpu", onGPU, "longer", longer)
	q.rearm(value)
}

// noteRetired runs on the completion goroutine for a retired job that failed: a timed-out job
// leaving the GPU ends a hang, and the device's clock of hang ends moves (T7).
func (q *Queue) noteRetired(j *Job, t int64) {
	if errors.Is(j.err, ErrTimedOut) {
		q.dev.hangEnded.Store(t)
	}
}
