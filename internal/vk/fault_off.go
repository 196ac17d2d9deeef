//go:build !vkfault

package vk

// fault is the fault-injection seam. Normal builds compile it to nothing; build with -tags vkfault
// to get SetFault.
func (d *Device) fault(FaultPoint) error { return nil }

// FaultsEnabled reports whether this build has the fault-injection seam.
const FaultsEnabled = false
