package vkdep_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/internal/vktest/extdev"
	"vkdep.dev/vkdep"
)

// TestObserve shows that a job observer sees every job once, after its fence completed, in value
// order per queue, with its phases in order; a killed job was never submitted; stop ends it.
func TestObserve(t *testing.T) {
	r := newRig(t)
	var mu sync.Mutex
	var recs []vkdep.JobRecord
	stop := r.d.Observe(func(rec vkdep.JobRecord) {
		mu.Lock()
		recs = append(recs, rec)
		mu.Unlock()
	})
	a := r.queue(vkdep.QueueOptions{Name: "obs-a", Bypass: true})
	b := r.queue(vkdep.QueueOptions{Name: "obs-b"})
	var last vkdep.Fence
	for i := range uint32(20) {
		j := r.job(a, i+1)
		if i > 0 {
			j.AddDependency(last)
		}
		last = r.submit(a, j)
	}
	wait, release := r.held("obs-hold")
	jb := r.job(b, 100)
	wait(jb)
	held := r.submit(b, jb)
	gate, err := r.d.NewHostTimeline("obs-gate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gate.Signal(1) })
	jk := r.job(b, 101)
	jk.AddDependency(gate.Point(1)) // held on the CPU until killed
	killed := r.submit(b, jk)
	eventually(t, "the held job on the GPU", func() bool { return b.Stats().InFlight == 1 })
	b.Kill(errors.New("observed kill"))
	release()
	r.check()
	if err := r.wait(held); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(killed.Err(), vkdep.ErrKilled) {
		t.Fatalf("killed job: %v", killed.Err())
	}
	eventually(t, "22 records", func() bool { mu.Lock(); defer mu.Unlock(); return len(recs) == 22 })
	stop()
	stop()
	j := r.job(a, 200)
	r.wait(r.submit(a, j))
	r.check()

	mu.Lock()
	defer mu.Unlock()
	if len(recs) != 22 {
		t.Fatalf("%d records after stop, want 22", len(recs))
	}
	next := map[string]uint64{"obs-a": 1, "obs-b": 1}
	for _, rec := range recs {
		if rec.Value != next[rec.Queue] {
			t.Fatalf("%s: record of value %d, want %d", rec.Queue, rec.Value, next[rec.Queue])
		}
		next[rec.Queue]++
		if rec.VkQueue < 1 || rec.QueueID == 0 || rec.Cost != 1 {
			t.Fatalf("record %+v: bad VkQueue, QueueID or Cost", rec)
		}
		if rec.Queue == "obs-b" && rec.Value == 2 {
			if !errors.Is(rec.Err, vkdep.ErrKilled) || !rec.Submitted.IsZero() || rec.Batch != 0 || rec.Done.IsZero() {
				t.Fatalf("killed job's record %+v: want ErrKilled, never submitted, done", rec)
			}
			continue
		}
		phases := []time.Time{rec.Armed, rec.Pushed, rec.Ready, rec.Submitted, rec.Done}
		for i := 1; i < len(phases); i++ {
			if phases[i].IsZero() || phases[i].Before(phases[i-1]) {
				t.Fatalf("record %+v: phase %d at %v, before phase %d", rec, i, phases[i], i-1)
			}
		}
		if rec.Err != nil || rec.Batch < 1 {
			t.Fatalf("record %+v: want no error and a batch", rec)
		}
		if rec.Queue == "obs-a" && rec.Value == 1 && !rec.Bypass {
			t.Fatalf("first job of a bypass queue was not bypassed: %+v", rec)
		}
	}
}

// TestStatsLatency shows Stats' push→submit and submit→done latencies: one sample per job that
// ran, ordered percentiles, and a killed job not counted.
func TestStatsLatency(t *testing.T) {
	r := newRig(t)
	q := r.queue(vkdep.QueueOptions{Name: "lat"})
	if s := q.Stats(); s.SubmitToDone.Samples != 0 || s.PushToSubmit.P99 != 0 {
		t.Fatalf("fresh queue has latencies: %+v", s)
	}
	const n = 50
	var last vkdep.Fence
	for i := range uint32(n) {
		last = r.submit(q, r.job(q, i+1))
	}
	r.wait(last)
	r.check()
	s := q.Stats()
	for name, l := range map[string]vkdep.Latency{"PushToSubmit": s.PushToSubmit, "SubmitToDone": s.SubmitToDone} {
		if l.Samples != n {
			t.Fatalf("%s has %d samples, want %d", name, l.Samples, n)
		}
		if l.P50 > l.P99 || l.P99 > l.Max || l.Last > l.Max || l.P50 < 0 {
			t.Fatalf("%s out of order: %+v", name, l)
		}
	}
	if s.SubmitToDone.Max <= 0 {
		t.Fatalf("SubmitToDone is zero: %+v", s.SubmitToDone)
	}
	q.Kill(errors.New("stop"))
	r.submit(q, r.job(q, 999))
	r.check()
	if got := q.Stats().SubmitToDone.Samples; got != n {
		t.Fatalf("a killed job was counted: %d samples", got)
	}
}

// TestRuntimeTrace shows that jobs are runtime/trace tasks with their phases logged, and that
// submits and release hooks are regions.
func TestRuntimeTrace(t *testing.T) {
	r := newRig(t)
	q := r.queue(vkdep.QueueOptions{Name: "traced", Bypass: true})
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("runtime/trace already in use: %v", err) // only when the test binary runs with -trace
	}
	var last vkdep.Fence
	for i := range uint32(5) {
		last = r.submit(q, r.job(q, i+1))
	}
	r.wait(last)
	r.check()
	trace.Stop()
	for _, s := range []string{"vkdep.job", "vkdep.phase", "submitted", "vkdep.submit", "vkdep.release", `traced value 5`} {
		if !bytes.Contains(buf.Bytes(), []byte(s)) {
			t.Errorf("the execution trace does not mention %q", s)
		}
	}
}

// TestProfileLabels shows that the queue's worker and the completion goroutine carry pprof labels.
func TestProfileLabels(t *testing.T) {
	r := newRig(t)
	r.queue(vkdep.QueueOptions{Name: "labelled"})
	var out string
	eventually(t, "labelled goroutines", func() bool {
		var buf bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&buf, 1)
		out = buf.String()
		return strings.Contains(out, `"vkdep.queue":"labelled"`) && strings.Contains(out, `"vkdep":"completion"`)
	})
}

// TestWaitSubmitted shows Fence.WaitSubmitted: it waits while the job is held on the CPU, gives up
// with the context, and returns once the job's submit has reached the driver, before the job
// completes.
func TestWaitSubmitted(t *testing.T) {
	r := newRig(t)
	q := r.queue(vkdep.QueueOptions{Name: "ws"})
	// A second queue on the same VkQueue: a host point is then held on the CPU (D5).
	r.queue(vkdep.QueueOptions{Name: "ws beside", With: q})
	h, err := r.d.NewHostTimeline("ws-dep")
	if err != nil {
		t.Fatal(err)
	}
	gpuWait, gpuRelease := r.held("ws-gpu")
	j := r.job(q, 1)
	j.AddDependency(h.Point(1)) // held on the CPU (D5)
	gpuWait(j)                  // then held on the GPU
	f := r.submit(q, j)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.WaitSubmitted(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitSubmitted of a job held on the CPU: %v, want the context's error", err)
	}
	done := make(chan error, 1)
	go func() { done <- f.WaitSubmitted(context.Background()) }()
	h.Signal(1)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("WaitSubmitted did not return after the dependency was met")
	}
	if f.Completed() {
		t.Fatal("the job completed while held on the GPU")
	}
	gpuRelease()
	r.check()
	if err := f.WaitSubmitted(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A host timeline point counts as submitted when signalled.
	if err := h.Point(1).WaitSubmitted(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSkippedJobPassesSemaphores shows that a killed job still performs its application semaphore
// operations: it consumes a swapchain-acquire-like binary semaphore and signals a present-like one,
// so an application submit waiting on that signal completes, while the job's work never runs.
func TestSkippedJobPassesSemaphores(t *testing.T) {
	r := newExtRig(t)
	acquire, present, appDone := r.semaphore(false), r.semaphore(false), r.semaphore(true)
	// The acquire's signal is submitted before the job is pushed, as a swapchain's would be.
	r.appSubmit(nil, nil, []extdev.Sem{{Semaphore: acquire}})

	h, err := r.d.NewHostTimeline("skip-sems-dep")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Signal(1) })
	j := r.job(r.q, 7)
	j.AddDependency(h.Point(1))
	j.WaitSemaphore(acquire, 0, 0)
	j.SignalSemaphore(present, 0)
	f := r.submit(r.q, j)
	r.q.Kill(errors.New("client went away"))
	r.submitted(f) // its semaphore signals must still be submitted
	r.appSubmit([]extdev.Sem{{Semaphore: present}}, nil, []extdev.Sem{{Semaphore: appDone, Value: 1}})
	if err := r.ext.Wait(appDone, 1, 30*time.Second); err != nil {
		t.Fatalf("the application's wait on the killed job's signal: %v", err)
	}
	r.check()
	if !errors.Is(f.Err(), vkdep.ErrKilled) {
		t.Fatalf("fence: %v, want ErrKilled", f.Err())
	}
	if ids := r.ids(); len(ids) != 0 {
		t.Fatalf("the killed job's work ran: %v", ids)
	}
}

// TestLogger shows that vkdep's diagnostics go to the slog.Logger of the options, with the queue
// named, and the queue's own Logger overrides the device's.
func TestLogger(t *testing.T) {
	var devLog, qLog bytes.Buffer
	var mu sync.Mutex
	handler := func(buf *bytes.Buffer) *slog.Logger {
		return slog.New(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, _ := vktest.OpenWith(t, vkdep.Options{Logger: handler(&devLog)})
	a, err := d.NewQueue(vkdep.QueueOptions{Name: "logged"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.NewQueue(vkdep.QueueOptions{Name: "own-logger", Logger: handler(&qLog)})
	if err != nil {
		t.Fatal(err)
	}
	a.Kill(errors.New("log me"))
	a.Close()
	b.Close()
	<-a.Done()
	<-b.Done()
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{`"msg":"vkdep: queue created","queue":"logged"`, `"msg":"vkdep: queue killed","queue":"logged","cause":"log me"`, `"msg":"vkdep: queue finished","queue":"logged"`} {
		if !strings.Contains(devLog.String(), want) {
			t.Errorf("device log lacks %s:\n%s", want, devLog.String())
		}
	}
	if strings.Contains(devLog.String(), "own-logger") || !strings.Contains(qLog.String(), `"queue":"own-logger"`) {
		t.Errorf("a queue's Logger does not take its messages:\ndevice: %s\nqueue: %s", devLog.String(), qLog.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
