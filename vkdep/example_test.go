package vkdep_test

import (
	"context"
	"errors"
	"fmt"

	"vkdep.dev/vkdep"
)

// The examples submit empty jobs: a job with no command buffers is valid and just reaches its
// fence's value, in order. Real jobs add VkCommandBuffer handles, recorded with any Go Vulkan
// binding, with Job.AddCommandBuffers(uint64(cmd)) before Submit.

// Submit three jobs to one queue and wait for the last: the fences of a queue complete in order,
// so the earlier ones have completed too.
func Example() {
	d, err := vkdep.Open(vkdep.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(context.Background())

	q, err := d.NewQueue(vkdep.QueueOptions{Name: "compute"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var fences []vkdep.Fence
	for range 3 {
		j := q.NewJob()
		// j.AddCommandBuffers(uint64(cmd)) // the job's work, recorded beforehand
		f, err := q.Submit(j)
		if err != nil {
			fmt.Println(err)
			return
		}
		fences = append(fences, f)
	}
	if err := fences[2].Wait(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fences {
		fmt.Printf("value %d: completed %v, err %v\n", f.Value(), f.Completed(), f.Err())
	}
	// Output:
	// value 1: completed true, err <nil>
	// value 2: completed true, err <nil>
	// value 3: completed true, err <nil>
}

// A job on one queue depends on a job of another queue of the same device. The dependency
// becomes a wait on the GPU: the render job is submitted at once and waits for the upload job's
// semaphore value there, without a round trip through the CPU. Its fence completes after the
// upload's.
func ExampleQueue_Submit_crossQueue() {
	d, err := vkdep.Open(vkdep.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(context.Background())

	upload, err := d.NewQueue(vkdep.QueueOptions{Name: "upload"})
	if err != nil {
		fmt.Println(err)
		return
	}
	render, err := d.NewQueue(vkdep.QueueOptions{Name: "render"})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Callbacks run on the device's completion goroutine; a buffered channel records the order
	// in which the fences complete. They are set between Arm and Push so that neither fence
	// can complete before its callback is in place.
	order := make(chan string, 2)

	up := upload.NewJob()
	uploaded, err := up.Arm()
	if err != nil {
		fmt.Println(err)
		return
	}
	uploaded.OnDone(func(err error) { order <- fmt.Sprintf("upload value %d: err %v", uploaded.Value(), err) })
	up.Push()

	draw := render.NewJob()
	draw.AddDependency(uploaded) // GPU-side wait on the upload queue's timeline
	rendered, err := draw.Arm()
	if err != nil {
		fmt.Println(err)
		return
	}
	rendered.OnDone(func(err error) { order <- fmt.Sprintf("render value %d: err %v", rendered.Value(), err) })
	draw.Push()

	if err := rendered.Wait(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-order)
	fmt.Println(<-order)
	// Output:
	// upload value 1: err <nil>
	// render value 1: err <nil>
}

// A host timeline holds a job until the application signals a point from the CPU: here an
// upload the host finishes itself. Failing the point instead completes the dependent job with
// an error matching ErrDependency. (Where the job's queue is alone on its VkQueue, as here, the
// job waits for the point on the GPU, and its work, run once the failed point is reached, is
// not to be trusted; on a shared VkQueue it is held on the CPU and never runs.)
func ExampleHostTimeline() {
	d, err := vkdep.Open(vkdep.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(context.Background())
	ctx := context.Background()

	q, err := d.NewQueue(vkdep.QueueOptions{Name: "render"})
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := d.NewHostTimeline("upload")
	if err != nil {
		fmt.Println(err)
		return
	}

	j := q.NewJob()
	j.AddDependency(h.Point(1))
	f, err := q.Submit(j)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("before Signal: completed", f.Completed())
	if err := h.Signal(1); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after Signal: err", f.Wait(ctx), "completed", f.Completed())

	j = q.NewJob()
	j.AddDependency(h.Point(2))
	f, err = q.Submit(j)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := h.Fail(2, errors.New("upload corrupted")); err != nil {
		fmt.Println(err)
		return
	}
	err = f.Wait(ctx)
	fmt.Println("after Fail:", errors.Is(err, vkdep.ErrDependency))
	fmt.Println(err)
	// Output:
	// before Signal: completed false
	// after Signal: err <nil> completed true
	// after Fail: true
	// queue "render" value 2: vkdep: dependency failed: host timeline "upload" value 2: upload corrupted
}

// Kill completes every job not yet submitted with an error matching ErrKilled and the cause,
// without running it. Here the queue is stopped first, so none of the jobs has been submitted.
func ExampleQueue_Kill() {
	d, err := vkdep.Open(vkdep.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(context.Background())

	q, err := d.NewQueue(vkdep.QueueOptions{Name: "client"})
	if err != nil {
		fmt.Println(err)
		return
	}
	q.Stop()
	var fences []vkdep.Fence
	for range 3 {
		f, err := q.Submit(q.NewJob())
		if err != nil {
			fmt.Println(err)
			return
		}
		fences = append(fences, f)
	}
	cause := errors.New("client disconnected")
	q.Kill(cause)
	for _, f := range fences {
		err := f.Wait(context.Background())
		fmt.Printf("value %d: killed %v, cause %v\n", f.Value(), errors.Is(err, vkdep.ErrKilled), errors.Is(err, cause))
	}
	fmt.Println(fences[0].Err())
	// Output:
	// value 1: killed true, cause true
	// value 2: killed true, cause true
	// value 3: killed true, cause true
	// queue "client" value 1: vkdep: killed: client disconnected
}
