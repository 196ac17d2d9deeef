package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
)

// runHang measures what a hung job costs everybody else (SEMANTICS T4, T5, T7; issue 16, point 5).
// A client queue submits a job that never ends on its own (the gate kernel, never released, with
// an iteration budget of 2³²−1: it ends only through the queue's abort word), with a JobTimeout,
// while bystander queues with the same JobTimeout keep submitting small jobs:
//
//   - on the hung job's VkQueue (it must wait for the hang: T4, what a user-space layer cannot
//     avoid);
//   - on another VkQueue of the same family, where the device has one;
//   - at realtime priority, placed by vkdep (on a raised global-priority VkQueue where the device
//     allowed one, H5);
//   - on a second Device (another VkDevice: what a compositor in another process sees).
//
// Per hang size (one workgroup; a grid larger than any GPU keeps resident at once) it reports
// the deadline → OnTimeout lateness, the ban → hung fence done time (the abort word reaching the
// shader), and each bystander's job latency unloaded and during the hang (its p99 there is the
// stall); a note counts the bystanders banned, which T7 says must be none. So one run tells
// whether a stall on another VkQueue comes from the hang filling every compute unit (one
// workgroup does not stall it, the grid does), from the abort word (ban → done), or from the
// timeout watch (lateness). When OnTimeout is late by more than latenessDump, every goroutine's
// stack goes to standard error once, to show where the completion goroutine was.
func runHang(e *env) ([]row, error) {
	timeout, reps := 400*time.Millisecond, 3 // the job timeout of issue 16's H200 demo run
	if e.quick {
		timeout, reps = 100*time.Millisecond, 1
	}
	sizes := []uint32{1, hangGrid}
	if strings.Contains(e.dev.Info().Name, "llvmpipe") {
		// lavapipe ends every shader loop after 65,535 iterations (vkdep_abort.glsl), so one
		// workgroup is done in about a millisecond: only the grid hangs.
		sizes = sizes[1:]
		e.note("hang: lavapipe ends every shader loop after 65,535 iterations, so only the %d-workgroup job hangs there (for seconds, without its abort word)", hangGrid)
	}
	other, err := openBystanderDevice(e)
	if err != nil {
		return nil, err
	}
	defer other.close()

	var rows []row
	innocent, inFlight, bystanders := 0, 0, 0
	for _, w := range sizes {
		size := fmt.Sprintf("%d workgroup", w)
		if w > 1 {
			size += "s"
		}
		res := map[string]*hangSamples{}
		var late, fail, abort []time.Duration
		var order []string
		for range reps {
			r, err := hangOnce(e, other, w, timeout)
			for _, n := range r.notes {
				e.note("hang (%s): %s", size, n)
			}
			if err != nil {
				return rows, fmt.Errorf("%s: %w", size, err)
			}
			late = append(late, r.late)
			fail = append(fail, r.fail)
			abort = append(abort, r.abort)
			for _, b := range r.bystanders {
				if res[b.name] == nil {
					res[b.name] = &hangSamples{vkqs: b.vkqs}
					order = append(order, b.name)
				}
				x := res[b.name]
				x.unloaded = append(x.unloaded, b.unloaded...)
				x.during = append(x.during, b.during...)
				bystanders++
				if b.banned {
					innocent++
				}
				if b.bannedInFlight {
					inFlight++
				}
			}
		}
		rows = append(rows,
			latencyRow("hang", fmt.Sprintf("%s: deadline(%v)→OnTimeout lateness", size, timeout), late),
			latencyRow("hang", size+": ban→hung job's fence failed (T2)", fail),
			latencyRow("hang", size+": ban→GPU left the hung job (abort word, T5)", abort))
		for _, name := range order {
			x := res[name]
			if len(x.unloaded) == 0 || len(x.during) == 0 {
				when := "during the hang"
				if len(x.unloaded) == 0 {
					when = "before the hang"
				}
				e.note("hang (%s): bystander %s has no samples %s", size, name, when)
				continue
			}
			base := fmt.Sprintf("%s: bystander %s, unloaded", size, name)
			r0 := latencyRow("hang", base, x.unloaded)
			r1 := latencyRow("hang", fmt.Sprintf("%s: bystander %s, during the hang", size, name), x.during, base)
			r0.vkqs, r1.vkqs = x.vkqs, x.vkqs
			rows = append(rows, r0, r1)
		}
	}
	e.note("hang: innocent queues banned: %d of %d bystander runs for jobs submitted after the hang (T7 wants 0); %d more for a job already in flight on another VkQueue or VkDevice when it began, which blame cannot tell from the hang (T7)",
		innocent, bystanders, inFlight)
	return rows, nil
}

// hangGrid is the large hang: 16,384 workgroups of 64 invocations, more than any current GPU
// keeps resident (an H200's 132 SMs hold 4,224 such groups), so it occupies every compute unit.
const hangGrid = 16384

// latenessDump is how late OnTimeout may be before the goroutine stacks are written out.
const latenessDump = 500 * time.Millisecond

type hangSamples struct {
	vkqs             string
	unloaded, during []time.Duration
}

// hangRun is one hang: its lateness, its abort time, and what each bystander saw.
type hangRun struct {
	late, fail, abort time.Duration
	bystanders        []bystanderRun
	notes             []string
}

type bystanderRun struct {
	name, vkqs       string
	unloaded, during []time.Duration
	// banned: a job submitted after the hang was timed out, which T7 forbids; bannedInFlight:
	// one already in flight when the hang was submitted, on another VkQueue or VkDevice, which
	// blame cannot tell from the hang (docs/SEMANTICS.md, T7).
	banned, bannedInFlight bool
}

// bystanderDevice is the second Device, and what records its jobs.
type bystanderDevice struct {
	d *vkdep.Device
	s *spinner
}

func openBystanderDevice(e *env) (*bystanderDevice, error) {
	d, err := vkdep.Open(e.opts)
	if err != nil {
		return nil, fmt.Errorf("second device: %w", err)
	}
	g, err := gpu.New(d)
	if err != nil {
		d.Close(context.Background())
		return nil, err
	}
	s, err := newSpinner(g)
	if err != nil {
		g.Close()
		d.Close(context.Background())
		return nil, err
	}
	return &bystanderDevice{d: d, s: s}, nil
}

func (b *bystanderDevice) close() {
	b.s.g.VK.WaitIdle()
	b.s.g.Close()
	b.d.Close(context.Background())
}

// bystander is a queue that submits probe jobs one after the other and records each one's
// latency, until its context ends.
type bystander struct {
	name  string
	d     *vkdep.Device
	q     *vkdep.Queue
	s     *spinner
	mu    sync.Mutex
	jobs  []bystanderJob
	err   error        // how its last job failed (a ban), nil if none did
	lost  bystanderJob // that job
	timed bool         // OnTimeout was called for it
	done  chan struct{}
}

type bystanderJob struct{ start, end time.Time }

func (b *bystander) run(ctx context.Context) {
	defer close(b.done)
	for ctx.Err() == nil {
		start := time.Now()
		f, err := b.s.submit(b.q, probeSpin)
		if err == nil {
			err = f.Wait(ctx)
		}
		if ctx.Err() != nil {
			return // stopped: the job in flight is not a sample
		}
		b.mu.Lock()
		if err != nil {
			b.err, b.lost = err, bystanderJob{start, time.Now()}
			b.mu.Unlock()
			return
		}
		b.jobs = append(b.jobs, bystanderJob{start, time.Now()})
		b.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}

// split returns the latencies of the jobs that ended before from, and of those that overlapped
// [from, to], a failed job's time until it failed included.
func (b *bystander) split(from, to time.Time) (before, during []time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	jobs := b.jobs
	if b.err != nil {
		jobs = append(slices.Clip(jobs), b.lost)
	}
	for _, j := range jobs {
		switch {
		case j.end.Before(from):
			before = append(before, j.end.Sub(j.start))
		case !j.start.After(to):
			during = append(during, j.end.Sub(j.start))
		}
	}
	return before, during
}

// hangOnce runs one hang of w workgroups with the bystanders around it.
func hangOnce(e *env, other *bystanderDevice, w uint32, timeout time.Duration) (r hangRun, err error) {
	local, err := newSpinner(e.g)
	if err != nil {
		return r, err
	}
	vkqs := e.dev.VkQueues()
	hungAt := 1
	otherAt := 0
	for i, q := range vkqs {
		if i+1 != hungAt && q.Family == vkqs[hungAt-1].Family {
			otherAt = i + 1
			break
		}
	}
	var bs []*bystander
	add := func(name string, d *vkdep.Device, s *spinner, o vkdep.QueueOptions) error {
		b := &bystander{name: name, d: d, s: s, done: make(chan struct{})}
		o.Name, o.JobTimeout = "bystander "+name, timeout
		o.OnTimeout = func(vkdep.TimedOut) vkdep.TimeoutAction {
			b.mu.Lock()
			b.timed = true
			b.mu.Unlock()
			return vkdep.TimeoutBan
		}
		q, err := d.NewQueue(o)
		if err != nil {
			return fmt.Errorf("bystander %s: %w", name, err)
		}
		b.q = q
		bs = append(bs, b)
		return nil
	}
	defer func() {
		for _, b := range bs {
			b.q.Close()
			<-b.q.Done()
		}
	}()
	if err := add("on the hung job's VkQueue", e.dev, local, vkdep.QueueOptions{VkQueueIndex: hungAt}); err != nil {
		return r, err
	}
	if otherAt > 0 {
		if err := add("on another VkQueue", e.dev, local, vkdep.QueueOptions{VkQueueIndex: otherAt}); err != nil {
			return r, err
		}
	}
	if err := add("realtime, placed by vkdep", e.dev, local, vkdep.QueueOptions{Priority: vkdep.PriorityRealtime}); err != nil {
		return r, err
	}
	if err := add("on a second VkDevice", other.d, other.s, vkdep.QueueOptions{}); err != nil {
		return r, err
	}

	// The hung client: its job polls its own abort word and a release word nobody sets, unless
	// the abort word is not seen within hangGiveUp of the ban.
	type fired struct {
		at    time.Time
		onGPU time.Duration
	}
	firedc := make(chan fired, 1)
	hung, err := e.dev.NewQueue(vkdep.QueueOptions{Name: "hung client", VkQueueIndex: hungAt, JobTimeout: timeout,
		OnTimeout: func(t vkdep.TimedOut) vkdep.TimeoutAction {
			select {
			case firedc <- fired{time.Now(), t.OnGPU}:
			default:
			}
			return vkdep.TimeoutBan
		}})
	if err != nil {
		return r, err
	}
	aw := hung.AbortWord()
	release, err := e.g.Buffer(16)
	if err != nil {
		hung.Close()
		return r, err
	}
	// However this run ends, the hung job ends: the queue is killed (its abort word set) and
	// released through its gate word, and the wait for it is bounded, so that an error is
	// reported instead of a process that never exits.
	defer func() {
		hung.Kill(errors.New("bench: hang run over"))
		release.Uint32s()[0] = 1
		hung.Close()
		select {
		case <-hung.Done():
		case <-time.After(hangGiveUp):
			r.notes = append(r.notes, fmt.Sprintf("the hung queue had not finished %v after its release", hangGiveUp))
		}
	}()
	result, err := e.g.Buffer(16)
	if err != nil {
		return r, err
	}
	cmd, err := e.g.Record(hung.Family(), func(cmd vk.CommandBuffer) {
		e.g.Gate(cmd, gpu.GateSpec{Gate: release, AbortBuf: &vk.Buffer{Handle: aw.Buffer, Size: aw.Size}, ResultBuf: result,
			Abort: aw.Index, Workgroups: w, Budget: math.MaxUint32})
	})
	if err != nil {
		return r, err
	}

	// The job records of both Devices: whether a banned bystander's job reached the driver
	// before the hung job did (Submitted) decides what its ban was.
	here, stopHere := track(e.dev)
	defer stopHere()
	there, stopThere := track(other.d)
	defer stopThere()

	// Bystanders first, unloaded, then the hang. Their command buffers are recorded now, so
	// that no sample includes the recording.
	for _, b := range bs {
		if _, err := b.s.cmd(b.q.Family(), probeSpin); err != nil {
			return r, err
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	for _, b := range bs {
		go b.run(ctx)
	}
	stopped := false
	stopAll := func() {
		if !stopped {
			stopped = true
			stop()
			for _, b := range bs {
				<-b.done
			}
		}
	}
	defer stopAll()
	time.Sleep(200 * time.Millisecond)
	j := hung.NewJob()
	j.AddCommandBuffers(uint64(cmd))
	released := make(chan time.Time, 1)
	j.OnRelease(func() { released <- time.Now() }) // the GPU has left the job (its value landed)
	submitted := time.Now()
	f, err := hung.Submit(j)
	if err != nil {
		return r, err
	}
	var fire fired
	select {
	case fire = <-firedc:
	case <-time.After(timeout + latenessDump):
		dumpGoroutines(fmt.Sprintf("OnTimeout not called %v after the %v deadline", latenessDump, timeout))
		select {
		case fire = <-firedc:
		case <-time.After(hangGiveUp):
			return r, fmt.Errorf("OnTimeout not called %v after a %v deadline", latenessDump+hangGiveUp, timeout)
		}
	}
	r.late = fire.at.Sub(submitted.Add(timeout))
	err = f.Wait(context.Background()) // T2: the fence fails at the ban, GPU work or not
	r.fail = time.Since(fire.at)
	var end time.Time
	select {
	case end = <-released:
	case <-time.After(hangGiveUp):
		// The abort word did not reach the shader: release it through the gate word, which is
		// read the same way (coherent volatile), and say so.
		release.Uint32s()[0] = 1
		t := time.Now()
		select {
		case end = <-released:
		case <-time.After(hangGiveUp):
			return r, fmt.Errorf("the hung job ended neither through its abort word nor its release word, %v after its ban", 2*hangGiveUp)
		}
		r.notes = append(r.notes, fmt.Sprintf("the abort word had not ended the hung job %v after the ban; the release word ended it %v later",
			hangGiveUp, end.Sub(t)))
	}
	r.abort = end.Sub(fire.at)
	if !errors.Is(err, vkdep.ErrTimedOut) {
		return r, fmt.Errorf("the hung job completed with %v, want ErrTimedOut", err)
	}
	if got := result.Uint32s()[0]; got&(1<<shaders.GateAborted) == 0 && got&(1<<shaders.GateReleased) == 0 {
		r.notes = append(r.notes, fmt.Sprintf("the hung job's workgroups reported reasons %#x, not aborted", got))
	}
	if lag := fire.onGPU - timeout; lag > 50*time.Millisecond {
		r.notes = append(r.notes, fmt.Sprintf("OnTimeout saw the job %v on the GPU (%v past its timeout)", fire.onGPU, lag))
	}
	time.Sleep(100 * time.Millisecond) // the bystanders after the hang
	stopAll()
	recs := append(here.take(), there.take()...)
	var hungAtDriver time.Time
	for _, rec := range recs {
		if rec.Queue == "hung client" {
			hungAtDriver = rec.Submitted
		}
	}
	// failedBefore reports whether the failed job of the queue named name reached the driver
	// before the hung job.
	failedBefore := func(name string) bool {
		for _, rec := range recs {
			if rec.Queue == name && rec.Err != nil && !rec.Submitted.IsZero() && rec.Submitted.Before(hungAtDriver) {
				return true
			}
		}
		return false
	}
	for _, b := range bs {
		b.mu.Lock()
		err, timed := b.err, b.timed
		b.mu.Unlock()
		before, during := b.split(submitted, end)
		vq := b.q.VkQueue()
		where := "VkQueue " + fmt.Sprint(slices.IndexFunc(b.d.VkQueues(), func(x vkdep.VkQueue) bool { return x.Handle == vq.Handle })+1)
		if b.s != local {
			where = "other VkDevice"
		}
		banned := timed || errors.Is(err, vkdep.ErrTimedOut) || errors.Is(err, vkdep.ErrKilled)
		inFlight := banned && failedBefore(b.q.Name())
		r.bystanders = append(r.bystanders, bystanderRun{name: b.name, vkqs: where, unloaded: before, during: during,
			banned: banned && !inFlight, bannedInFlight: inFlight})
		if err != nil && !banned {
			return r, fmt.Errorf("bystander %s: %w", b.name, err)
		}
		if banned {
			when := "submitted after the hang"
			if inFlight {
				when = "in the driver before the hang"
			}
			r.notes = append(r.notes, fmt.Sprintf("bystander %s was timed out, its job %s (%v)", b.name, when, err))
		}
	}
	return r, nil
}

// hangGiveUp is how long a hung job may outlive its ban before the run stops waiting for the
// abort word and releases the job another way.
const hangGiveUp = 5 * time.Second

// dumpGoroutines writes every goroutine's stack to standard error, once per process.
var dumpOnce sync.Once

func dumpGoroutines(why string) {
	dumpOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "bench: hang: %s; every goroutine's stack follows\n", why)
		pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
	})
}
