package jobtrace_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"vkdep.dev/vkdep"
	"vkdep.dev/vkdep/jobtrace"
)

// Record the jobs of a device while they run, then write them as a Chrome/Perfetto trace and an
// SVG timeline, and read back the phases of one job.
func Example() {
	d, err := vkdep.Open(vkdep.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(context.Background())

	rec := jobtrace.New(0)
	stop := d.Observe(rec.Observe) // from now on every completed job is recorded

	q, err := d.NewQueue(vkdep.QueueOptions{Name: "render", Bypass: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	var last vkdep.Fence
	for range 4 {
		if last, err = q.Submit(q.NewJob()); err != nil {
			fmt.Println(err)
			return
		}
	}
	last.Wait(context.Background()) // a job's record is delivered before its fence completes
	stop()

	dir, err := os.MkdirTemp("", "jobtrace")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	svg, err := rec.WriteFiles(filepath.Join(dir, "run.trace.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("wrote", filepath.Base(svg))

	recs, _ := rec.Records()
	r := recs[len(recs)-1]
	fmt.Printf("queue %q value %d:", r.Queue, r.Value)
	for _, p := range jobtrace.Phases(r) {
		fmt.Printf(" %s", p.Name)
	}
	fmt.Println()
	// Output:
	// wrote run.trace.svg
	// queue "render" value 4: waiting ready gpu
}
