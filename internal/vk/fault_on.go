//go:build vkfault

package vk

import "sync"

// FaultsEnabled reports whether this build has the fault-injection seam.
const FaultsEnabled = true

var faults struct {
	sync.Mutex
	hook map[*Device]func(FaultPoint) error
}

// SetFault installs hook on d: before each covered call, hook decides whether the call fails
// (returning, for example, ErrorDeviceLost) instead of reaching the driver. A nil hook removes it.
// Only in builds with -tags vkfault.
func (d *Device) SetFault(hook func(FaultPoint) error) {
	faults.Lock()
	defer faults.Unlock()
	if faults.hook == nil {
		faults.hook = map[*Device]func(FaultPoint) error{}
	}
	if hook == nil {
		delete(faults.hook, d)
	} else {
		faults.hook[d] = hook
	}
}

func (d *Device) fault(p FaultPoint) error {
	faults.Lock()
	h := faults.hook[d]
	faults.Unlock()
	if h == nil {
		return nil
	}
	return h(p)
}
