package main

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"vkdep.dev/vkdep"
)

// runIdle measures F3: the CPU an open device uses while it has no work, as a share of one core,
// over one second (a fifth of it with -quick), with no queue and with four queues that have each
// run a job. It runs first, before any other workload has made queues. A completion waiter that
// polls shows up here as ~100 %; a blocking one as ~0 %.
func runIdle(e *env) ([]row, error) {
	span := time.Second
	if e.quick {
		span = 200 * time.Millisecond
	}
	var rows []row
	var queues []*vkdep.Queue
	defer func() {
		for _, q := range queues {
			q.Close()
			<-q.Done()
		}
	}()
	for _, n := range []int{0, 4} {
		for len(queues) < n {
			q, err := e.dev.NewQueue(vkdep.QueueOptions{Name: fmt.Sprintf("idle%d", len(queues)), Bypass: true})
			if err != nil {
				return rows, err
			}
			queues = append(queues, q)
			f, err := q.Submit(q.NewJob())
			if err != nil {
				return rows, err
			}
			if err := f.Wait(context.Background()); err != nil {
				return rows, err
			}
		}
		time.Sleep(20 * time.Millisecond) // completion callbacks settle
		cpu0, err := processCPU()
		if err != nil {
			return rows, err
		}
		start := time.Now()
		time.Sleep(span)
		cpu1, err := processCPU()
		if err != nil {
			return rows, err
		}
		wall := time.Since(start)
		rows = append(rows, row{workload: "idle", variant: fmt.Sprintf("device CPU, %d queues", n), jobs: 1,
			elapsed: wall, cpuPercent: 100 * float64(cpu1-cpu0) / float64(wall)})
	}
	return rows, nil
}

// processCPU is the CPU time used by every thread of the process, user and system.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
