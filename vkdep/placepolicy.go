package vkdep

// The placement policy (H4): pure functions of a snapshot of the VkQueues, the queues and their
// dependency edges, so that tests drive them with made-up costs (placement.go applies them).

// placeView is what the policy sees: the VkQueues, the queues, and the dependency edges of their
// recent jobs.
type placeView struct {
	costs  hopCosts
	vkqs   []vkqView
	queues []queueView
	edges  []edge
}

type vkqView struct {
	family             uint32
	compute, exclusive bool
	users              int
}

type queueView struct {
	vkq     int // index into vkqs
	family  uint32
	movable bool // placed by vkdep, not by the application
	idle    bool // nothing in flight, no submit under way: it may move now
}

// edge says that share of queue from's recent jobs waited on queue to.
type edge struct {
	from, to int
	share    float64
}

// pickDefault is where a new queue goes without instructions: the compute VkQueue with the
// fewest users, not held by an Exclusive queue; the first such on a tie. -1 when there is none.
func pickDefault(v placeView) int {
	best := -1
	for i, h := range v.vkqs {
		if !h.compute || h.exclusive {
			continue
		}
		if best < 0 || h.users < v.vkqs[best].users {
			best = i
		}
	}
	return best
}

// planMove is the placement policy for queue q (see the top of this file): the VkQueue q should
// move to, and whether it should move at all.
func planMove(v *placeView, q int) (int, bool) {
	me := v.queues[q]
	if !me.movable || !me.idle {
		return 0, false
	}
	related := func(a, b int) bool {
		for _, e := range v.edges {
			if (e.from == a && e.to == b) || (e.from == b && e.to == a) {
				return true
			}
		}
		return false
	}
	fits := func(k int) bool {
		h := v.vkqs[k]
		return h.compute && !h.exclusive && h.family == me.family
	}
	// Together: next to the producer most of q's recent jobs waited on.
	if v.costs.crossCostly() {
		best, share := -1, 0.0
		for _, e := range v.edges {
			if e.from == q && e.to != q && e.share > share {
				best, share = e.to, e.share
			}
		}
		if best >= 0 && share >= 0.5 {
			to := v.queues[best].vkq
			ok := to != me.vkq && fits(to)
			for r, x := range v.queues {
				if ok && r != q && r != best && x.vkq == to && !related(q, r) {
					ok = false // an independent queue is there: q would stop running beside it
				}
			}
			if ok {
				return to, true
			}
			if to == me.vkq {
				return 0, false // already together
			}
		}
	}
	// Apart: q shares its VkQueue only with queues it has nothing to do with.
	shared, alone := false, true
	for r, x := range v.queues {
		if r != q && x.vkq == me.vkq {
			shared = true
			if related(q, r) {
				alone = false
			}
		}
	}
	if !shared || !alone {
		return 0, false
	}
	best := -1
	for k, h := range v.vkqs {
		if k != me.vkq && fits(k) && (best < 0 || h.users < v.vkqs[best].users) {
			best = k
		}
	}
	if best >= 0 && v.vkqs[best].users < v.vkqs[me.vkq].users-1 {
		return best, true
	}
	return 0, false
}
