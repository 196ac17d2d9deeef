package vkdep

// Test-only views for the test binary's shared device (rig_test.go), which tests use one after
// another: each test's queues are closed when it ends, and a device a test closed or lost is
// replaced.

// LiveQueues returns the queues of d that have not finished.
func LiveQueues(d *Device) []*Queue {
	d.mu.Lock()
	defer d.mu.Unlock()
	qs := make([]*Queue, 0, len(d.queues))
	for q := range d.queues {
		qs = append(qs, q)
	}
	return qs
}

// Usable is d.usable: nil while d accepts new queues and timelines, else ErrDeviceClosed or the
// loss.
func Usable(d *Device) error { return d.usable() }
