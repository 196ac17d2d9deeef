package vkdep

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestMoveBetweenJobs/H4_move_between_jobs runs the move itself on a real device. lavapipe has one VkQueue, so the
// test gives the device a second entry for that same VkQueue, sharing its lock (as Wrap does for an
// application's lock): to vkdep they are two VkQueues of one family, to the driver one, so every
// submit stays valid. With made-up costs that make crossing expensive, a queue whose jobs all wait
// on another's stays put while it has work in flight, and moves next to its producer at its first
// push while idle; its jobs still run in order, under validation.
func TestMoveBetweenJobs(t *testing.T) {
	t.Run("H4_move_between_jobs", func(t *testing.T) {
		d, done := openTwinned(t)
		gate, err := d.vk.CreateTimeline(0)
		if err != nil {
			t.Fatal(err)
		}
		var producer, consumer *Queue
		defer func() {
			if t.Failed() {
				_ = d.vk.Signal(gate, 1<<40) // let whatever waits on the gate finish
			}
			for _, q := range []*Queue{producer, consumer} {
				if q != nil {
					q.Close()
					<-q.Done()
				}
			}
			d.vk.DestroySemaphore(gate)
			done()
		}()
		d.place.costs, d.place.canMove = hopCosts{same: 15 * time.Microsecond, cross: 170 * time.Microsecond, source: "test"}, true

		producer, err = d.NewQueue(QueueOptions{Name: "producer"})
		if err != nil {
			t.Fatal(err)
		}
		consumer, err = d.NewQueue(QueueOptions{Name: "consumer"})
		if err != nil {
			t.Fatal(err)
		}
		if producer.hw == consumer.hw {
			t.Fatalf("independent new queues share VkQueue %d: want them apart", producer.hw.pos+1)
		}
		var gateValue uint64
		// round pushes a producer job held on the GPU by the gate, and n consumer jobs waiting on it.
		round := func(n int) Fence {
			gateValue++
			p := producer.NewJob()
			if err := p.WaitSemaphore(uint64(gate), gateValue, 0); err != nil {
				t.Fatal(err)
			}
			pf, err := producer.Submit(p)
			if err != nil {
				t.Fatal(err)
			}
			var last Fence
			for range n {
				c := consumer.NewJob()
				c.AddDependency(pf)
				if last, err = consumer.Submit(c); err != nil {
					t.Fatal(err)
				}
			}
			return last
		}
		wait := func(f Fence) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := f.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		from := consumer.hw
		last := round(2 * placeWindow)
		consumer.mu.Lock()
		moved, inflight := consumer.hw != from, consumer.inflight.len()
		consumer.mu.Unlock()
		if moved {
			t.Fatalf("the consumer moved with %d jobs in flight", inflight)
		}
		if err := d.vk.Signal(gate, gateValue); err != nil {
			t.Fatal(err)
		}
		wait(last)
		// Idle now: its next push moves it next to the producer, before that job is submitted.
		last = round(1)
		if consumer.hw != producer.hw {
			t.Fatalf("an idle consumer whose jobs all waited on one producer stayed on VkQueue %d (producer on %d)",
				consumer.hw.pos+1, producer.hw.pos+1)
		}
		if p := consumer.Placement(); !strings.Contains(p, "moved 1×") {
			t.Errorf("Placement() = %q, want it to say it moved", p)
		}
		if err := d.vk.Signal(gate, gateValue); err != nil {
			t.Fatal(err)
		}
		wait(last)
		if from.users.Load() != 0 || producer.hw.users.Load() != 2 {
			t.Fatalf("users after the move: old VkQueue %d, new %d; want 0 and 2", from.users.Load(), producer.hw.users.Load())
		}
	})
}

// TestD5_consumer_of_a_host_held_job_is_held: a job waiting GPU-side on a host point (its queue
// alone on its VkQueue) stalls that VkQueue only. A job of another queue that depends on it is
// held on the CPU until the host point completes: a GPU-side wait on the held job's value would
// carry the stall to the consumer's VkQueue. As above, the device gets a second entry for its one
// VkQueue, so that the two queues are on different VkQueues to vkdep.
func TestD5_consumer_of_a_host_held_job_is_held(t *testing.T) {
	d, done := openTwinned(t)
	h, err := d.NewHostTimeline("upload")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			_ = h.Signal(1 << 20)
		}
		done()
	}()
	producer, err := d.NewQueue(QueueOptions{Name: "producer", Exclusive: true, Bypass: true})
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := d.NewQueue(QueueOptions{Name: "consumer", Bypass: true})
	if err != nil {
		t.Fatal(err)
	}
	if producer.hw == consumer.hw {
		t.Fatal("both queues on one VkQueue entry")
	}
	p := producer.NewJob()
	p.AddDependency(h.Point(1))
	pf, err := producer.Submit(p)
	if err != nil || !pf.Submitted() {
		t.Fatalf("producer: %v, submitted %v: want it submitted at once (D5)", err, pf.Submitted())
	}
	c := consumer.NewJob()
	c.AddDependency(pf)
	cf, err := consumer.Submit(c)
	if err != nil {
		t.Fatal(err)
	}
	if cf.Submitted() {
		t.Fatal("the consumer of a job held GPU-side by a host point was submitted: the stall would spread to its VkQueue")
	}
	if err := h.Signal(1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cf.Wait(ctx); err != nil {
		t.Fatalf("consumer: %v", err)
	}
	if err := pf.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestQueueMethodsDuringAMove/E3_Raised_while_the_queue_moves: a Queue's methods are safe for
// concurrent use (E3), including while vkdep moves the queue to another VkQueue between jobs
// (H4). Raised read the queue's VkQueue without the lock a move writes it under; -race reports
// that on the old code. The device is given a second entry for its one VkQueue, as above.
func TestQueueMethodsDuringAMove(t *testing.T) {
	t.Run("E3_Raised_while_the_queue_moves", func(t *testing.T) {
		d, done := openTwinned(t)
		defer done()
		d.place.costs, d.place.canMove = hopCosts{same: 15 * time.Microsecond, cross: 170 * time.Microsecond, source: "test"}, true
		producer, err := d.NewQueue(QueueOptions{Name: "producer"})
		if err != nil {
			t.Fatal(err)
		}
		consumer, err := d.NewQueue(QueueOptions{Name: "consumer"})
		if err != nil {
			t.Fatal(err)
		}
		from := consumer.hw
		stop := make(chan struct{})
		reading := make(chan struct{})
		go func() {
			defer close(reading)
			for {
				select {
				case <-stop:
					return
				default:
					_ = consumer.Raised()
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Every consumer job waits on the producer's: once the window is full and the consumer
		// is idle, its next push moves it next to the producer.
		for i := 0; i < 4*placeWindow && !strings.Contains(consumer.Placement(), "moved"); i++ {
			pf, err := producer.Submit(producer.NewJob())
			if err != nil {
				t.Fatal(err)
			}
			c := consumer.NewJob()
			c.AddDependency(pf)
			cf, err := consumer.Submit(c)
			if err != nil {
				t.Fatal(err)
			}
			if err := cf.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		<-reading
		consumer.mu.Lock()
		moved := consumer.hw != from
		consumer.mu.Unlock()
		if !moved {
			t.Errorf("the consumer never moved (%s): the test did not exercise a move", consumer.Placement())
		}
		for _, q := range []*Queue{producer, consumer} {
			q.Close()
			<-q.Done()
		}
	})
}
