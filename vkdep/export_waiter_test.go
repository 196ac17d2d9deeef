package vkdep

// WaiterKind names d's completion waiter: "any" (one wait-any over every timeline) or "single"
// (one blocked thread per watched timeline, where the driver's wait-any spins).
func WaiterKind(d *Device) string { return d.waiter.kind() }

// SetMaxWatchThreads changes the single waiter's thread bound for devices opened afterwards'
// queues, and returns a function that restores it.
func SetMaxWatchThreads(n int) (restore func()) {
	old := maxWatchThreads
	maxWatchThreads = n
	return func() { maxWatchThreads = old }
}

// WaitAnySpins reports what Open measured on d's driver: its wait-any polls instead of blocking.
func WaitAnySpins(d *Device) bool { return d.waiter.anySpins }

// QueueOrder names how d makes queue order a GPU-side dependency (D3): "semaphore" or
// "submission".
func QueueOrder(d *Device) string { return d.order.name() }
