package vkdep_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

// TestT5_abort_latency measures how long a killed queue's running, abort-polling kernel (the
// gate, through shaders/vkdep_abort.glsl) takes to end: from Kill, which sets the abort word, to
// the job's fence completing on the CPU. Each round checks that the kernel did see the abort word
// (the gate reports GateAborted), so the figure is the abort path, not a kernel that ended on its
// own. The latencies are logged (docs/ABORT.md quotes them), not asserted: they depend on the
// machine's load.
//
//	VKDEP_VALIDATE=1 go test -count=1 -run TestT5_abort_latency -v ./vkdep/
func TestT5_abort_latency(t *testing.T) {
	r := newRig(t)
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	var lat []time.Duration
	for i := range rounds {
		q := r.queue(vkdep.QueueOptions{Name: "abortable"})
		// 4000 workgroups: tens of seconds of polling on lavapipe unless aborted.
		j, _, result := r.gateJob(q, 4000)
		f := r.submit(q, j)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := f.WaitSubmitted(ctx); err != nil {
			cancel()
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the kernel is spinning by now
		start := time.Now()
		q.Kill(errors.New("abort latency test"))
		err := f.Wait(ctx)
		d := time.Since(start)
		cancel()
		if err != nil && !errors.Is(err, vkdep.ErrKilled) {
			t.Fatalf("round %d: fence: %v", i, err)
		}
		if result[0]&(1<<shaders.GateAborted) == 0 {
			t.Fatalf("round %d: gate reasons %#b: the kernel ended without seeing the abort word", i, result[0])
		}
		lat = append(lat, d)
		q.Close()
		<-q.Done()
	}
	slices.Sort(lat)
	t.Logf("Kill → fence done over %d rounds on %s (validation on): min %v, p50 %v, max %v",
		len(lat), r.d.Info().Name, lat[0], lat[len(lat)/2], lat[len(lat)-1])
}
