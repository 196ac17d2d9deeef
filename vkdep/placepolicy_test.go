package vkdep

import (
	"testing"
	"time"
)

// The placement policy (H4) is a pure function of measured costs and observed dependency edges;
// these tests drive it with made-up cost tables, since lavapipe has one VkQueue.

var (
	// gpuLike: a wait across VkQueues costs 11× one within (the H200's figures).
	gpuLike = hopCosts{same: 15 * time.Microsecond, cross: 170 * time.Microsecond, source: "test"}
	// flat: crossing costs about the same: nothing to gain by moving together.
	flat = hopCosts{same: 20 * time.Microsecond, cross: 25 * time.Microsecond, source: "test"}
)

// fourVkQueues is one family of four compute VkQueues, plus a transfer-only family.
func fourVkQueues(users ...int) []vkqView {
	v := make([]vkqView, 5)
	for i := range 4 {
		v[i] = vkqView{family: 0, compute: true}
		if i < len(users) {
			v[i].users = users[i]
		}
	}
	v[4] = vkqView{family: 1}
	return v
}

func TestPolicyChainedPairLandsTogether(t *testing.T) {
	t.Run("H4_policy_chained_pair_lands_together", func(t *testing.T) {
		// q0 on VkQueue 0, q1 on VkQueue 1; every recent job of q1 waited on q0.
		v := &placeView{costs: gpuLike, vkqs: fourVkQueues(1, 1),
			queues: []queueView{{vkq: 0, movable: true}, {vkq: 1, movable: true, idle: true}},
			edges:  []edge{{from: 1, to: 0, share: 1}}}
		if to, ok := planMove(v, 1); !ok || to != 0 {
			t.Fatalf("planMove = %d, %v; want a move to VkQueue 0, next to its producer", to, ok)
		}
		// A ping-pong (each waits on the other) moves one of the two; the other then stays.
		v.edges = append(v.edges, edge{from: 0, to: 1, share: 1})
		v.queues[0].idle = true
		if _, ok := planMove(v, 1); !ok {
			t.Fatal("ping-pong: the first queue to look does not move")
		}
		v.queues[1].vkq = 0
		v.vkqs[0].users, v.vkqs[1].users = 2, 0
		if to, ok := planMove(v, 0); ok {
			t.Fatalf("ping-pong: the partner moved too (to %d) although they are together", to)
		}
	})
}

func TestPolicyStaysApartWhenCrossingIsCheap(t *testing.T) {
	t.Run("H4_policy_stays_apart_when_crossing_is_cheap", func(t *testing.T) {
		v := &placeView{costs: flat, vkqs: fourVkQueues(1, 1),
			queues: []queueView{{vkq: 0, movable: true}, {vkq: 1, movable: true, idle: true}},
			edges:  []edge{{from: 1, to: 0, share: 1}}}
		if to, ok := planMove(v, 1); ok {
			t.Fatalf("moved to %d although a wait across VkQueues costs about one within", to)
		}
		v.costs = hopCosts{} // unknown costs: no evidence, no move
		if to, ok := planMove(v, 1); ok {
			t.Fatalf("moved to %d on unknown costs", to)
		}
	})
}

func TestPolicyIndependentQueuesApart(t *testing.T) {
	t.Run("H4_policy_independent_queues_apart", func(t *testing.T) {
		// A new queue goes to the least used compute VkQueue, never a transfer-only or Exclusive one.
		vkqs := fourVkQueues(1, 0, 2, 0)
		vkqs[1].exclusive = true
		if got := pickDefault(placeView{vkqs: vkqs}); got != 3 {
			t.Fatalf("pickDefault = %d, want 3 (least used, not exclusive, compute)", got)
		}
		// Two unrelated queues sharing a VkQueue: one moves to a free one.
		v := &placeView{costs: gpuLike, vkqs: fourVkQueues(2, 0, 0, 0),
			queues: []queueView{{vkq: 0, movable: true}, {vkq: 0, movable: true, idle: true}}}
		if to, ok := planMove(v, 1); !ok || to == 0 {
			t.Fatalf("planMove = %d, %v; want the independent queue moved off VkQueue 0", to, ok)
		}
		// A weak, occasional dependency (1 in 16 jobs) keeps neither together nor apart by force.
		v.edges = []edge{{from: 1, to: 0, share: 1.0 / 16}}
		if to, ok := planMove(v, 1); ok {
			t.Fatalf("moved to %d although the two are related", to)
		}
		// A fork: q1 and q2 both depend on q0, not on each other. q1 is already next to q0; q2
		// must not join them, or the two branches would stop running side by side.
		v = &placeView{costs: gpuLike, vkqs: fourVkQueues(2, 0, 1),
			queues: []queueView{{vkq: 0, movable: true}, {vkq: 0, movable: true}, {vkq: 2, movable: true, idle: true}},
			edges:  []edge{{from: 1, to: 0, share: 1}, {from: 2, to: 0, share: 1}}}
		if to, ok := planMove(v, 2); ok {
			t.Fatalf("second branch of a fork moved to %d, onto its sibling's VkQueue", to)
		}
	})
}

func TestPolicyNothingMovesWhileBusyOrPlaced(t *testing.T) {
	t.Run("H4_policy_nothing_moves_while_busy_or_placed", func(t *testing.T) {
		base := func() *placeView {
			return &placeView{costs: gpuLike, vkqs: fourVkQueues(1, 1),
				queues: []queueView{{vkq: 0, movable: true}, {vkq: 1, movable: true, idle: true}},
				edges:  []edge{{from: 1, to: 0, share: 1}}}
		}
		v := base()
		v.queues[1].idle = false // work in flight or a submit under way
		if to, ok := planMove(v, 1); ok {
			t.Fatalf("a queue with work in flight moved to %d", to)
		}
		v = base()
		v.queues[1].movable = false // VkQueueIndex, With or Exclusive
		if to, ok := planMove(v, 1); ok {
			t.Fatalf("an explicitly placed queue moved to %d", to)
		}
		v = base()
		v.queues[1].family = 1 // the producer is in another family: command buffers would not fit
		v.vkqs[1].family = 1
		if to, ok := planMove(v, 1); ok {
			t.Fatalf("moved across families to %d", to)
		}
		v = base()
		v.vkqs[0].exclusive = true
		if to, ok := planMove(v, 1); ok {
			t.Fatalf("moved onto an Exclusive queue's VkQueue %d", to)
		}
	})
}
