package vkdep

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"vkdep.dev/internal/vk"
)

// Placement (H4): which VkQueue each Queue submits to.
//
// A dependency between two queues is a timeline wait in the consumer's submit (D4). Its price
// depends on where the two queues are: on one VkQueue the driver orders the two submits anyway
// and the wait is nearly free; across two VkQueues it can cost far more (NVIDIA 580 on an H200:
// ~170 µs per hop across, ~15 µs on one). But queues on one VkQueue never run side by side. So:
//
//   - A new queue without instructions goes to the least used compute VkQueue: independent
//     queues spread and overlap.
//   - vkdep watches each queue's recent jobs (the last placeWindow pushes) for dependencies on
//     other queues. When a queue is idle (nothing in flight, no submit under way) and most of
//     its recent jobs depended on one producer, it is moved to that producer's VkQueue — if the
//     device's measured costs say a wait across VkQueues costs more than twice one within, the
//     producer's VkQueue is in the same family, and every other queue already there is related
//     to it (so two independent consumers of one producer, the branches of a fork, stay apart).
//   - A queue that shares its VkQueue with queues it has nothing to do with moves to a VkQueue of
//     its family with fewer users.
//
// Moving is safe only between jobs: a job's command buffers were recorded for the queue's family
// (so a queue never leaves its family, and Family never changes), its submit holds the VkQueue's
// lock (a move needs q.submitting false), and its wait on the queue's previous value is valid on
// any VkQueue once that value has been reached (a move needs inflight empty: every earlier value
// has been reached and retired). planMove, the policy, is a pure function of a snapshot so that
// tests drive it with made-up costs.
//
// Queues placed by VkQueueIndex, With or Exclusive, and queues another one was placed With,
// never move.

// ErrNoVkQueue: QueueOptions asked for a placement the device cannot give now: Exclusive with no
// free VkQueue, or a VkQueue held by an Exclusive queue. (Options that can never work, such as a
// VkQueueIndex out of range or two placements at once, are ErrInvalidOptions.)
var ErrNoVkQueue = errors.New("vkdep: no VkQueue for this placement")

// placeWindow is how many recent pushes of a queue the policy looks at.
const placeWindow = 16

// placer is the device's placement state. mu is a leaf lock: taken under a queue's lock (push,
// NewQueue), never the other way round, and nothing else is taken while holding it.
type placer struct {
	costs   hopCosts
	measure string // what the measurement at Open found, for the docs and logs
	canMove bool   // some family has two or more compute VkQueues

	mu      sync.Mutex
	queues  []*Queue // live queues, in creation order
	excl    []int    // by VkQueue position: Exclusive queues on it
	anchors map[*Queue]bool
	view    placeView // scratch
}

// placeInfo is a queue's placement record.
type placeInfo struct {
	family   uint32
	explicit bool // VkQueueIndex, With, Exclusive, or somebody's With: never moved
	excl     bool
	lastLook uint64 // pushes at the last policy decision; under q.mu
	moves    int    // under q.mu
	pushes   atomic.Uint64
	// window holds, per recent push, the ids of up to two other queues of the device the job
	// waited on; read by other queues' decisions under the placer's lock, hence atomics.
	window [placeWindow][2]atomic.Uint64
}

// pickVkQueue binds a new queue to a VkQueue as opts ask (see QueueOptions.VkQueueIndex), or
// by the default policy. It takes a user of the VkQueue; placed records the queue.
func (d *Device) pickVkQueue(opts QueueOptions) (*hwQueue, error) {
	n := 0
	if opts.VkQueueIndex != 0 {
		n++
	}
	if opts.With != nil {
		n++
	}
	if opts.Exclusive {
		n++
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: QueueOptions %q: VkQueueIndex, With and Exclusive exclude each other", ErrInvalidOptions, opts.Name)
	}
	p := &d.place
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.excl) != len(d.hw) {
		p.excl = make([]int, len(d.hw))
	}
	var h *hwQueue
	switch {
	case opts.VkQueueIndex != 0:
		if opts.VkQueueIndex < 0 || opts.VkQueueIndex > len(d.hw) {
			return nil, fmt.Errorf("%w: QueueOptions.VkQueueIndex %d: the device has %d VkQueues", ErrInvalidOptions, opts.VkQueueIndex, len(d.hw))
		}
		h = d.hw[opts.VkQueueIndex-1]
	case opts.With != nil:
		w := opts.With
		if w.dev != d {
			return nil, fmt.Errorf("%w: QueueOptions.With: %s belongs to another device", ErrInvalidOptions, w.tl.name)
		}
		// w.hw is read under p.mu, which every move holds; taking w.mu here would invert the
		// lock order (push holds q.mu, then takes p.mu).
		h = w.hw
		if p.anchors == nil {
			p.anchors = map[*Queue]bool{}
		}
		p.anchors[w] = true // w stays where it is: the affinity was asked for
	case opts.Exclusive:
		for _, x := range d.hw {
			if x.flags&vk.QueueCompute != 0 && x.users.Load() == 0 {
				h = x
				break
			}
		}
		if h == nil {
			return nil, fmt.Errorf("%w: Exclusive queue %q: every compute VkQueue of %s has a queue", ErrNoVkQueue, opts.Name, d.info.Name)
		}
	default:
		// H5: high and realtime queues on VkQueues of a raised global priority, others off
		// them, where the device has any; then the policy's least used among those.
		i := pickDefault(p.snapshotVkQueues(d).onlyRaised(d, opts.Priority))
		if i < 0 {
			return nil, fmt.Errorf("%w: %s has no compute VkQueue free of Exclusive queues", ErrNoVkQueue, d.info.Name)
		}
		h = d.hw[i]
	}
	if p.excl[h.pos] > 0 {
		return nil, fmt.Errorf("%w: VkQueue %d is held by an Exclusive queue", ErrNoVkQueue, h.pos+1)
	}
	h.users.Add(1)
	if opts.Exclusive {
		p.excl[h.pos]++ // before the lock is let go: no other pick may land there meanwhile
	}
	return h, nil
}

// unpick undoes pickVkQueue for a queue that could not be created.
func (d *Device) unpick(h *hwQueue, opts QueueOptions) {
	if opts.Exclusive {
		d.place.mu.Lock()
		d.place.excl[h.pos]--
		d.place.mu.Unlock()
	}
	h.release()
}

// placed records a new queue (NewQueue, after pickVkQueue).
func (d *Device) placed(q *Queue) {
	p := &d.place
	q.place.family = q.hw.family
	q.place.explicit = q.opts.VkQueueIndex != 0 || q.opts.With != nil || q.opts.Exclusive
	q.place.excl = q.opts.Exclusive
	p.mu.Lock()
	p.queues = append(p.queues, q)
	p.mu.Unlock()
}

// unplace gives back the queue's VkQueue when it has finished.
func (d *Device) unplace(q *Queue) {
	p := &d.place
	p.mu.Lock()
	for i, x := range p.queues {
		if x == q {
			p.queues = append(p.queues[:i], p.queues[i+1:]...)
			break
		}
	}
	if q.place.excl {
		p.excl[q.hw.pos]--
	}
	delete(p.anchors, q)
	p.mu.Unlock()
	q.hw.release()
}

// notePush records the producers j waits on and, when q is idle, asks the policy whether q should
// move before j is submitted. The caller holds q.mu. Allocation-free unless a move is
// considered, which only happens on devices with a family of several compute VkQueues.
func (q *Queue) notePush(j *Job) {
	pl := &q.place
	n := pl.pushes.Add(1)
	var a, b uint64
	for _, f := range j.deps {
		if p := f.tl.queue; p != nil && p != q && p.dev == q.dev && !f.Completed() {
			switch {
			case a == 0:
				a = p.id
			case b == 0 && p.id != a:
				b = p.id
			}
		}
	}
	slot := &pl.window[n%placeWindow]
	slot[0].Store(a)
	slot[1].Store(b)
	// Only between jobs: nothing in flight, no submit under way, nothing queued but j.
	if !q.dev.place.canMove || pl.explicit || q.inflight.len() > 0 || q.submitting || q.pending.len() != 1 ||
		n-pl.lastLook < placeWindow/2 {
		return
	}
	pl.lastLook = n
	q.dev.place.consider(q)
}

// consider runs the policy for q, which is idle, and moves it if the policy says so. The caller
// holds q.mu.
func (p *placer) consider(q *Queue) {
	d := q.dev
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.anchors[q] {
		return
	}
	v := &p.view
	*v = placeView{costs: p.costs, vkqs: p.snapshotVkQueues(d).vkqs, queues: v.queues[:0], edges: v.edges[:0]}
	self := -1
	for i, r := range p.queues {
		if r == q {
			self = i
		}
		// r.hw is read under p.mu: every move holds it.
		v.queues = append(v.queues, queueView{vkq: r.hw.pos, family: r.place.family,
			movable: r == q && !r.place.explicit, idle: r == q})
	}
	if self < 0 {
		return
	}
	for i, r := range p.queues {
		var count [placeWindow * 2]struct {
			id uint64
			n  int
		}
		m := 0
		for k := range r.place.window {
			for s := range 2 {
				id := r.place.window[k][s].Load()
				if id == 0 {
					continue
				}
				found := false
				for c := range m {
					if count[c].id == id {
						count[c].n++
						found = true
					}
				}
				if !found {
					count[m].id, count[m].n = id, 1
					m++
				}
			}
		}
		for c := range m {
			for k, x := range p.queues {
				if x.id == count[c].id {
					v.edges = append(v.edges, edge{from: i, to: k, share: float64(count[c].n) / placeWindow})
				}
			}
		}
	}
	to, ok := planMove(v, self)
	if !ok {
		return
	}
	from := q.hw
	h := d.hw[to]
	h.users.Add(1)
	// Nothing of q is in flight, so it holds no turn of from's arbiter (H1–H3); it leaves it,
	// with any wait for a turn there, and starts on h's at that VkQueue's least virtual time.
	from.arb.leave(q)
	q.turnWait = false
	h.arb.join(q)
	q.hw = h
	from.release()
	q.place.moves++
	q.log.Debug("vkdep: queue moved", "queue", q.opts.Name, "from_vkqueue", from.pos+1, "to_vkqueue", h.pos+1,
		"hop_same", p.costs.same, "hop_cross", p.costs.cross, "costs", p.costs.source)
}

func (p *placer) snapshotVkQueues(d *Device) placeView {
	vkqs := p.view.vkqs[:0]
	for i, h := range d.hw {
		vkqs = append(vkqs, vkqView{family: h.family, compute: h.flags&vk.QueueCompute != 0,
			exclusive: i < len(p.excl) && p.excl[i] > 0, users: int(h.users.Load())})
	}
	p.view.vkqs = vkqs
	return placeView{vkqs: vkqs}
}

// Placement describes where the queue is and how it got there, for logs and benchmarks: "VkQueue
// 3 (family 0), placed by vkdep, moved 1×".
func (q *Queue) Placement() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	how := "placed by vkdep"
	switch {
	case q.opts.VkQueueIndex != 0:
		how = "pinned (VkQueueIndex)"
	case q.opts.With != nil:
		how = "with " + q.opts.With.tl.name
	case q.opts.Exclusive:
		how = "exclusive"
	}
	s := fmt.Sprintf("VkQueue %d (family %d), %s", q.hw.pos+1, q.hw.family, how)
	if q.place.moves > 0 {
		s += fmt.Sprintf(", moved %d×", q.place.moves)
	}
	return s
}

// DependencyCosts reports what placement decides from: the cost of a dependency wait within one
// VkQueue and across two, and where those figures come from ("measured at Open", a driver table,
// or empty when unknown).
func (d *Device) DependencyCosts() (same, cross time.Duration, source string) {
	c := d.place.costs
	return c.same, c.cross, c.source
}
