package vkdep_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"vkdep.dev/internal/vktest/extdev"
	"vkdep.dev/vkdep"
)

// An application that already has its own Vulkan instance and device hands them to vkdep with
// Wrap. Here the application's Vulkan setup is package extdev: plain vkCreateInstance and
// vkCreateDevice calls in C, with timelineSemaphore and synchronization2 enabled and one queue
// guarded by the application's mutex. vkdep submits to that queue under the same mutex, so the
// application goes on submitting as before. Closing vkdep leaves the device to the application.
func ExampleWrap() {
	app, err := extdev.New(extdev.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Destroy() // the application destroys its device, after vkdep's Close

	d, err := vkdep.Wrap(vkdep.WrapOptions{
		Instance:       app.Instance,
		PhysicalDevice: app.PhysicalDevice,
		Device:         app.Device,
		APIVersion:     app.APIVersion, // VkApplicationInfo.apiVersion given to vkCreateInstance
		CreateInfo:     app.CreateInfo, // the VkDeviceCreateInfo given to vkCreateDevice
		Queues:         []vkdep.WrapQueue{{Family: app.Family, Index: 0, Lock: app.Lock}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	q, err := d.NewQueue(vkdep.QueueOptions{Name: "compute", Bypass: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := q.Submit(q.NewJob()) // a real job adds its command buffers first
	if err != nil {
		fmt.Println(err)
		return
	}

	// The application's own submit to the same VkQueue (under app.Lock) waits for the job on
	// the GPU, through the fence's timeline semaphore, and signals the application's timeline.
	// It comes after vkdep submitted the job (WaitSubmitted; with Bypass that is usually inside
	// Submit already): a wait queued on a VkQueue before the signal it waits for would block
	// that queue for good.
	if err := f.WaitSubmitted(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	appTL, err := app.Semaphore(true, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.DestroySemaphore(appTL)
	if err := app.Submit([]extdev.Sem{{Semaphore: f.Semaphore(), Value: f.Value()}}, nil,
		[]extdev.Sem{{Semaphore: appTL, Value: 1}}); err != nil {
		fmt.Println(err)
		return
	}
	if err := app.Wait(appTL, 1, 10*time.Second); err != nil {
		fmt.Println(err)
		return
	}
	// The semaphore reached the value on the GPU; the fence completes on vkdep's completion
	// goroutine right after.
	err = f.Wait(context.Background())
	fmt.Printf("job value %d: completed %v, err %v\n", f.Value(), f.Completed(), err)

	if err := d.Close(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	s, err := app.Semaphore(false, 0)
	fmt.Println("the application's device works after vkdep's Close:", err == nil)
	app.DestroySemaphore(s)
	// Output:
	// job value 1: completed true, err <nil>
	// the application's device works after vkdep's Close: true
}

// A queue with a JobTimeout watches its oldest job on the GPU. Here the job waits on the GPU for
// a host-timeline point nobody signals, standing for GPU work that hangs. Past the timeout,
// OnTimeout is asked (on vkdep's completion goroutine) and answers TimeoutBan: the job's fence
// completes with ErrTimedOut and the queue is killed, so later jobs fail at once with ErrKilled.
//
// vkdep cannot cancel the GPU work itself: the job's resources stay in use until its value
// lands. Here the application ends the hang by signalling the point; a long-running shader ends
// itself by polling the queue's abort word (Queue.AbortWord), which the ban sets.
func ExampleQueueOptions_jobTimeout() {
	d, err := vkdep.Open(vkdep.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close(context.Background())

	never, err := d.NewHostTimeline("never")
	if err != nil {
		fmt.Println(err)
		return
	}
	asked := make(chan string, 1)
	q, err := d.NewQueue(vkdep.QueueOptions{
		Name:       "client",
		JobTimeout: 50 * time.Millisecond,
		OnTimeout: func(to vkdep.TimedOut) vkdep.TimeoutAction {
			// Runs on the completion goroutine: must not block.
			select {
			case asked <- fmt.Sprintf("OnTimeout: %s value %d", to.Queue.Name(), to.Fence.Value()):
			default:
			}
			return vkdep.TimeoutBan
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	j := q.NewJob()
	j.WaitSemaphore(never.Semaphore(), 1, 0) // the GPU waits for a point nobody signals
	hung, err := q.Submit(j)
	if err != nil {
		fmt.Println(err)
		return
	}

	err = hung.Wait(context.Background())
	fmt.Println(<-asked)
	fmt.Println("timed out:", errors.Is(err, vkdep.ErrTimedOut))
	var fe *vkdep.FenceError // the error names the job; its text also says how long it ran
	if errors.As(err, &fe) {
		fmt.Printf("%s value %d\n", fe.Timeline, fe.Value)
	}

	_, err = q.Submit(q.NewJob())
	fmt.Println("later job killed:", errors.Is(err, vkdep.ErrKilled), "aborted:", q.Aborted())

	never.Signal(1) // the hung work ends; its value lands and the device can close
	// Output:
	// OnTimeout: client value 1
	// timed out: true
	// queue "client" value 1
	// later job killed: true aborted: true
}
