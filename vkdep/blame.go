package vkdep

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Blame (T7): a hung dispatch holds shared hardware — the VkQueue it was submitted to, and maybe,
// on a GPU whose compute units it fills, other VkQueues — so jobs of other queues queued behind it
// overrun their own timeouts too, though they are innocent. Like the kernel's schedulers, which
// blame the context whose job was actually running, vkdep times out only the job that holds the
// others: an overdue job is re-armed as still running while a job of another queue that holds it
// has not finished (blamesAnother says which can). A banned job whose GPU work still runs (T4)
// keeps its place on its VkQueue until its value lands, so the queues behind it are not blamed
// while the abort word (T5) ends it.
//
// "Another queue" is any queue of any Device of this process on the same physical device (same
// deviceUUID), not only of q's own Device: a hang can stall another VkDevice too (on lavapipe,
// whose VkDevices share one pool of compute threads, it does: cmd/bench -workload hang measured a
// second Device's queue banned for it). Devices of other processes are out of a user-space
// layer's sight (T4).

// gpuShare is what the Devices of this process on one physical device share for blame.
type gpuShare struct {
	hangEnded atomic.Int64 // when a timed-out job last left the GPU (now())
	mu        sync.Mutex
	devices   []*Device
}

// gpuShares maps a deviceUUID to its gpuShare while a Device on it is open.
var gpuShares struct {
	sync.Mutex
	m map[[16]byte]*gpuShare
}

// joinGPU makes d one of the Devices of its physical device (Open and Wrap, once d works).
func (d *Device) joinGPU() {
	uuid := d.vk.Physical.UUID
	if uuid == ([16]byte{}) {
		d.gpu = &gpuShare{devices: []*Device{d}} // no identity to match: blame stays d's own
		return
	}
	gpuShares.Lock()
	defer gpuShares.Unlock()
	if gpuShares.m == nil {
		gpuShares.m = map[[16]byte]*gpuShare{}
	}
	g := gpuShares.m[uuid]
	if g == nil {
		g = &gpuShare{}
		gpuShares.m[uuid] = g
	}
	g.mu.Lock()
	g.devices = append(g.devices, d)
	g.mu.Unlock()
	d.gpu = g
}

// leaveGPU undoes joinGPU (Close, once d's queues and completion goroutine are done).
func (d *Device) leaveGPU() {
	g := d.gpu
	gpuShares.Lock() // as joinGPU: the map's lock, then the share's
	defer gpuShares.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.devices, d); i >= 0 {
		g.devices = slices.Delete(g.devices, i, i+1)
	}
	if len(g.devices) == 0 && gpuShares.m[d.vk.Physical.UUID] == g {
		delete(gpuShares.m, d.vk.Physical.UUID)
	}
}

// queues returns the live queues of every Device on the GPU.
func (g *gpuShare) queues() []*Queue {
	g.mu.Lock()
	devs := append([]*Device(nil), g.devices...)
	g.mu.Unlock()
	var out []*Queue
	for _, d := range devs {
		d.mu.Lock()
		for q := range d.queues {
			out = append(out, q)
		}
		d.mu.Unlock()
	}
	return out
}

// gpuJob is what blame reads of a queue's oldest unfinished job on the GPU.
type gpuJob struct {
	since   int64    // when it started on the GPU at the latest (now() clock)
	seq     uint64   // the number of its VkQueue's submit that carried it (submission order there)
	hw      *hwQueue // the VkQueue it was submitted to
	aborted int64    // when its queue's abort word was set (ban or Kill; now()), 0 if not
	// deadline is its first timeout deadline (unix nanoseconds): a whole JobTimeout after it
	// became its queue's oldest job on the GPU, however often OnTimeout re-armed it since; 0
	// when its queue has no timeout or is stopped.
	deadline int64
}

// gpuSince describes q's oldest unfinished job on the GPU; since is its submit, or the queue's
// previous completion if that came later; ok is false when q has no job on the GPU. A banned job
// counts until the GPU reaches its value. For another queue (self false), a job waiting on the
// application's semaphores does not count. Completion goroutine of q's Device, or of another
// Device on the GPU (it reads the timeline's last seen counter, atomically).
func (q *Queue) gpuSince(self bool) (g gpuJob, ok bool) {
	seen := q.tl.seen.Load()
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
			// for as long as the application takes (nor may the jobs queued
			// behind it); and its own clock has not started (T1).
			return gpuJob{}, false
		}
		g := gpuJob{since: max(j.submittedAt, q.lastProgress, j.hostFreed), seq: j.hwSeq, hw: q.hw, aborted: q.abortedAt}
		if q.deadline.Load() != 0 && q.watchedValue == j.value {
			g.deadline = q.headSince + int64(q.opts.JobTimeout)
		}
		return g, true
	}
	return gpuJob{}, false
}

// blamesAnother reports whether q's oldest unfinished job is not to blame for its time on the
// GPU: a job of another queue holds the hardware it needs (named for the log), or q's job has
// not had a whole JobTimeout since a timed-out job left the GPU (time spent queued behind banned
// work does not count, as the kernel re-arms its timers after a reset). until is when the
// verdict can next change (now() clock), 0 for "after a whole JobTimeout". Completion goroutine
// only, q.mu not held.
//
// On q's own VkQueue the order is known: the VkQueue runs its submits in submission order, so a
// job submitted there before q's (a lower seq) holds q's for as long as it stays, banned, killed
// or not, and one submitted after it never does. Elsewhere (another VkQueue, another VkDevice)
// user space knows only which was submitted first, and a job submitted earlier may itself be
// stuck behind q's (a hang that fills every compute unit, or lavapipe's compute threads, which
// its VkDevices share). So an older job elsewhere shields q only while its own verdict is
// pending: until its queue's deadline plus abortGrace, or abortGrace after its abort word was
// set (a ban or Kill ends cooperative work within that); a job whose queue has no timeout shields
// nothing, since nothing would ever ban it, and the deadline is its first one: an OnTimeout that
// keeps answering "still running" makes it a job without a timeout too. Unbounded, such a shield
// would keep a real hang from its ban, and its abort word, for as long as the other job lasted.
func (q *Queue) blamesAnother() (guilty *Queue, until int64, spared bool) {
	mine, ok := q.gpuSince(true)
	if !ok {
		return nil, 0, false
	}
	g := q.dev.gpu
	t := now()
	timeout := int64(q.opts.JobTimeout)
	if end := g.hangEnded.Load(); mine.since < end && t-end < timeout {
		return nil, end + timeout, true
	}
	grace := abortGrace.Load()
	wall := time.Now().UnixNano()
	for _, p := range g.queues() {
		if p == q {
			continue
		}
		other, ok := p.gpuSince(false)
		switch {
		case !ok:
			continue
		case other.hw == mine.hw:
			if other.seq < mine.seq {
				return p, 0, true
			}
			continue
		case other.since >= mine.since:
			continue
		}
		var end int64
		switch {
		case other.aborted != 0:
			end = other.aborted + grace
		case other.deadline != 0:
			end = t + (other.deadline - wall) + grace
		default:
			continue
		}
		if t < end {
			// Look again when the shield ends, not a whole JobTimeout later: a real hang
			// behind it is banned that much sooner.
			return p, end, true
		}
	}
	return nil, 0, false
}

// abortGrace is how long a job on another VkQueue shields an overdue job after its own verdict
// (its deadline, or its queue's ban or Kill; blamesAnother): about ten times what the abort word
// takes to end a spinning shader on lavapipe (5–10 ms, TestT5_abort_latency and cmd/bench
// -workload hang). Atomic so that tests can change it (export_test.go).
var abortGrace atomic.Int64

const defaultAbortGrace = 100 * time.Millisecond

func init() { abortGrace.Store(int64(defaultAbortGrace)) }

// spare re-arms q's overdue job as still running because another queue's job holds the GPU, or
// held it until just now (T7). The next check is at until (now() clock) when it is set, else a
// whole JobTimeout from now.
func (q *Queue) spare(value uint64, guilty *Queue, onGPU time.Duration, until int64) {
	longer := "a timed-out job, until just now"
	if guilty != nil {
		longer = guilty.tl.name
	}
	q.log.Debug("vkdep: overdue job spared: another job has been on the GPU longer",
		"queue", q.opts.Name, "value", value, "on_gpu", onGPU, "longer", longer)
	if until == 0 {
		q.rearm(value)
		return
	}
	q.rearmAt(value, time.Now().UnixNano()+(until-now()))
}

// noteRetired runs on the completion goroutine for a retired job that failed: a timed-out job
// leaving the GPU ends a hang, and the GPU's clock of hang ends moves (T7).
func (q *Queue) noteRetired(j *Job, t int64) {
	if errors.Is(j.err, ErrTimedOut) {
		q.dev.gpu.hangEnded.Store(t)
	}
}
