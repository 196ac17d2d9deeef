// Command idle prints how much CPU an idle vkdep Device costs: it opens the default device
// (VKDEP_DEVICE chooses another), creates each count of queues given, submits nothing, and
// reports the process's CPU time (user + system, from getrusage) over an idle interval as a
// percentage of one core. On lavapipe an idle Device has kept a core busy (Mesa's wait-any polls,
// PLATFORM.md); on the NVIDIA driver it used about 1 %.
//
//	idle            # 0 and 8 queues, 1 s each
//	idle -for 2s 0 4 16
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"vkdep.dev/vkdep"
)

func main() {
	dur := flag.Duration("for", time.Second, "idle interval measured for each count of queues")
	flag.Parse()
	counts := []int{0, 8}
	if flag.NArg() > 0 {
		counts = counts[:0]
		for _, a := range flag.Args() {
			n, err := strconv.Atoi(a)
			if err != nil || n < 0 {
				fail(fmt.Errorf("bad queue count %q", a))
			}
			counts = append(counts, n)
		}
	}
	d, err := vkdep.Open(vkdep.Options{})
	if err != nil {
		fail(err)
	}
	fmt.Printf("device: %s\n", d.Info())
	for _, n := range counts {
		var qs []*vkdep.Queue
		for i := range n {
			q, err := d.NewQueue(vkdep.QueueOptions{Name: fmt.Sprintf("idle%d", i)})
			if err != nil {
				fail(err)
			}
			qs = append(qs, q)
		}
		// Let queue creation's own work settle before the interval starts.
		time.Sleep(100 * time.Millisecond)
		c0, t0 := cpu(), time.Now()
		time.Sleep(*dur)
		used, wall := cpu()-c0, time.Since(t0)
		fmt.Printf("idle: %d queues: %.1f %% of a core over %v (CPU %v)\n",
			n, 100*used.Seconds()/wall.Seconds(), wall.Round(time.Millisecond), used.Round(time.Microsecond))
		for _, q := range qs {
			q.Close()
		}
		for _, q := range qs {
			<-q.Done()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		fail(err)
	}
}

// cpu returns the process's user plus system CPU time so far.
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "idle:", err)
	os.Exit(1)
}
