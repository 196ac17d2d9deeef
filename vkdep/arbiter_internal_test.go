package vkdep

import "testing"

// BenchmarkArbiterTurnAlone is what the layer adds per job to a queue alone on its VkQueue: a turn
// asked in pump, the pump's settle, and the turn given back on the completion goroutine. Compare
// with BenchmarkPushBypass (the whole bypass path) for the overhead ratio.
func BenchmarkArbiterTurnAlone(b *testing.B) {
	d := &Device{sched: SchedulePriority, depth: DefaultDriverDepth, budget: int64(DefaultDriverBudget)}
	h := &hwQueue{}
	q := &Queue{dev: d, hw: h}
	h.arb.join(q)
	j := &Job{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		q.turn(j)
		q.settleTurn()
		h.arb.done(q, 1, j.turnCost, j.turn, int64(i), int64(i+1))
	}
}
