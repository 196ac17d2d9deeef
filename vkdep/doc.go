// Package vkdep brings the Linux kernel's drm_dep job-queue semantics to Go programs over Vulkan:
// per-context queues of jobs with fence dependencies, run in order when their dependencies are met,
// batched, killable, torn down asynchronously, with a bypass path that submits from the caller when
// nothing is pending.
//
// # The model
//
// A Device is one Vulkan logical device (Open picks a GPU, else lavapipe). It owns one completion
// goroutine: the only goroutine, and the only OS thread, that blocks in vkWaitSemaphores, over
// every timeline the device watches. Every fence of the device completes there, and every fence
// callback and job release hook runs there.
//
// A Queue is one submission context bound to one VkQueue; several Queues may share a VkQueue.
// QueueOptions place a queue (VkQueueIndex, With another queue, Exclusive); without them vkdep puts
// new queues on the least used VkQueue and, between jobs and within the family, moves a queue next
// to the queue its jobs keep waiting on when the device's measured costs say that pays (H4).
// It owns a timeline semaphore, and its fences are values on it: a job armed on the queue gets the
// next value (its seqno) and a Fence for it.
//
//	NewJob ─► AddCommandBuffers / AddDependency / SetCost / OnRelease ─► Arm ─► Push
//	                 (everything that can fail happens before Arm)      └ Queue.Submit does both
//
//	pushed ──► ready? ──► vkQueueSubmit2 ──► GPU ──► value reached ──► fence completes ──► release hook
//	          deps met,    (bypass: caller;                             (completion goroutine)
//	          credits,      else the worker,
//	          not stopped   batched)
//
// A Fence is (timeline, value) plus a CPU-side completion record that carries the error, since
// errors cannot travel on a Vulkan semaphore. Fences of one queue complete in value order, exactly
// once, and every fence completes in finite time: success, a dependency error, kill, close, device
// loss. Wait on one with Wait(ctx), Done() or OnDone; none of them holds an OS thread.
//
// A HostTimeline is a timeline the application signals from the CPU (an upload finished, a frame
// latched, another device's work done); its points are Fences too.
//
// # Dependencies
//
// A job may depend on any Fence. A dependency on another Queue of the same Device becomes a wait
// in the job's own vkQueueSubmit2: the job is submitted as soon as the producer's signal has been
// submitted, without waiting for it to complete, and never before (no wait-before-signal is handed
// to the driver, so queues sharing one VkQueue cannot deadlock). Dependencies on other devices, or
// on producers not yet submitted, are resolved on the CPU: the job is held back. So is a
// dependency on a HostTimeline point, except where the job's queue is alone on its VkQueue: there
// the job is submitted at once and waits for the point on the GPU, where the stall holds up nobody
// else (the timeout watch does not count that wait). A dependency that fails makes the job fail with ErrDependency (and the cause) without
// running, unless QueueOptions.RunOnDependencyError says otherwise. Jobs of one queue run in order,
// and each waits on the GPU for the one before it, so it sees its writes.
//
// # Ownership and goroutines
//
// A Job belongs to the goroutine that made it until Push; then the queue owns it and recycles it
// after its release hook, so the caller must not touch it again. Command buffers and other
// resources a job references must stay alive until its release hook runs; that hook is the place
// to free or reuse them. Queue, Fence, HostTimeline and Device methods are safe for concurrent use.
// Push, Submit, Kill, Stop, Start and Close do not block on the GPU. Fence callbacks and release
// hooks run on the device's completion goroutine and must not block: a callback that waits stalls
// every completion of the device.
// Recycler hands command buffers from release hooks back to the goroutine that owns their command
// pool and resets them there; Device.Drain waits until every job pushed so far is released,
// keeping the device open, before an application frees objects of its own.
//
// # Failure
//
// Misuse that is a programming error (Push twice, Push out of Arm order) panics with a message
// naming it. Everything else returns an error that matches an exported sentinel with errors.Is
// (ErrKilled, ErrDependency, ErrQueueClosed, ErrDeviceLost, ...), and errors on fences name the
// queue and value they concern (FenceError). Vulkan results print their enum name (VkResult).
//
// User space cannot cancel GPU work: a Vulkan device has no way to stop a submitted batch. Kill
// and Close complete what has not reached the GPU; what has, runs to its end.
//
// # Timeouts and hung work
//
// With QueueOptions.JobTimeout, the completion goroutine watches each queue's oldest submitted job
// (no timer goroutines). Past the timeout, OnTimeout decides: still running (re-arm), signalled, or
// ban — the default: the job's fence completes with ErrTimedOut at once and the queue is killed.
//
// That is as far as a user-space timeout can go. The timed-out work may still be running on the GPU,
// so its release hook waits until its value is really reached (or the device is lost), and whatever
// waits for it on the GPU — its own queue's later jobs, dependents on other queues, and, where
// several queues share one VkQueue (lavapipe has exactly one), every job queued behind it in the
// driver — stays blocked until it ends. vkdep does not pretend otherwise.
//
// Long GPU work can make itself killable: each queue has an abort word (Queue.AbortWord), a 32-bit
// word in host-visible memory that vkdep sets when the queue is banned or killed. A shader that polls
// it and exits early lets its value land at once; the release hook runs, and the queues stuck behind
// it move again. On a device with several VkQueues, give latency-critical queues their own
// (QueueOptions.VkQueueIndex) so that their jobs never wait behind hung work in a queue. That may
// not keep them out of a hang altogether: on an NVIDIA H200 a compositor on its own VkQueue
// stalled during a client's hang; cmd/bench -workload hang measures on your device whether a
// hang holds up other VkQueues, and why.
//
// Blame lands on the guilty job only: when jobs of several queues are overdue because one holds the
// hardware, only the job that holds it is reported to OnTimeout, among the queues of every
// Device of the process on the same GPU; the others are re-armed as still running, and time spent
// queued behind a timed-out job does not count. On one VkQueue submission order tells which job
// holds the others; across VkQueues only "reached the driver first" is known, so such a job
// shields the others only until its own verdict (its deadline, or its ban, plus the 100 ms an
// abort takes), and a job just ahead of a hang on another VkQueue can be banned in its place.
//
// # Priorities and shared VkQueues
//
// A VkQueue is limited hardware that several queues may share. Each VkQueue has an arbiter that
// decides whose ready job goes to the driver next: a higher QueueOptions.Priority first, a bounded
// amount of lower-priority work in the driver (Options.DriverBudget, in estimated GPU time, and
// Options.DriverDepth), and a fair share by GPU time among equal priorities. A queue alone on its
// VkQueue is not gated. Where the device offers VK_KHR_global_priority, high and realtime queues
// are placed on VkQueues created at a higher global priority (DeviceInfo.GlobalPriority says what
// the device allowed). Options.Scheduling = ScheduleFIFO turns the arbiter off.
//
// # Your own device, queues and semaphores
//
// An application that already has a Vulkan device hands it to Wrap (raw handles, the
// VkDeviceCreateInfo it used so vkdep can check the features it needs, and the VkQueues vkdep may
// use, each with the lock the application already takes for it). vkdep never destroys what it did
// not create. Every submit to a VkQueue, vkdep's or the application's, holds that queue's lock
// (VkQueue.Lock, Device.VkQueues). Jobs record nothing themselves: command buffers come from the
// application's own binding as raw handles, recorded for the queue's family (Queue.Family).
//
// A job can wait on and signal the application's semaphores: a swapchain acquire (binary,
// signalled before the job is pushed), a present semaphore, or the application's timelines
// (Job.WaitSemaphore, Job.SignalSemaphore). Before the application waits on what a job signals —
// vkQueuePresentKHR, or its own submit waiting on Fence.Semaphore — it waits for the job's
// submission with Fence.WaitSubmitted. A job that is killed or skipped still passes its semaphore
// waits and signals through, so a swapchain never stalls on it.
//
// # Observing
//
// Queue.Stats gives counters and push→submit and submit→done latency percentiles over the queue's
// recent jobs. Device.Observe hands every completed job's JobRecord (the time of each phase, its
// batch, its error) to a callback; package vkdep/jobtrace turns them into a Chrome/Perfetto trace
// and an SVG timeline. While runtime/trace is on, every job is a task with its phases logged, and
// the workers and the completion goroutine carry pprof labels. Options.Logger receives vkdep's
// diagnostics through log/slog; nil is silent. docs/ARCHITECTURE.md in the repository has the
// picture of all of this.
//
// The numbered contract (L1, D4, O5…) this package implements is docs/SEMANTICS.md in the
// repository: each promise with where it lives, the test that shows it (tests are named after the
// numbers) and where vkdep departs from the kernel. Writing shaders that poll the abort word:
// docs/ABORT.md and shaders/vkdep_abort.glsl. Applications written with vulkan-go use package
// vkdep/vulkango.
package vkdep
