package vkdep

import (
	"fmt"
	"os"

	"vkdep.dev/internal/vk"
)

// Validation: the Khronos layer that Options.Validate loads, what it is told to check, and where
// its messages go.

// SyncMode chooses synchronization validation (see Options.SyncValidation).
type SyncMode int

const (
	// SyncAuto, the default, enables synchronization validation on validation layers from
	// 1.3.296 on, and leaves it off on older ones unless VKDEP_SYNCVAL=1. Older layers (Debian
	// 12 ships 1.3.239) take a device-wide lock when synchronization validation is on, and a
	// host vkSignalSemaphore racing a host vkWaitSemaphores or vkGetSemaphoreCounterValue on
	// another thread then stalls inside the layer for its 10 s internal timeout and reports
	// UNASSIGNED-VkSemaphore-state-timeout (Vulkan-ValidationLayers issues 4649 and 4968, fixed
	// by pull request 8519 in 1.3.296). vkdep's completion goroutine waits while other
	// goroutines signal host timelines, by design, so those layers would fail every test on a
	// layer bug. VKDEP_SYNCVAL=0 turns it off everywhere.
	SyncAuto SyncMode = iota
	// SyncOn always enables synchronization validation.
	SyncOn
	// SyncOff never enables it.
	SyncOff
)

// syncFixedLayer is the first validation layer whose timeline-semaphore tracking survives
// concurrent host signal and host wait (see SyncAuto).
var syncFixedLayer = vk.APIVersion(1, 3, 296)

func (m SyncMode) enabled() bool {
	switch os.Getenv("VKDEP_SYNCVAL") {
	case "1":
		return true
	case "0":
		return false
	}
	switch m {
	case SyncOn:
		return true
	case SyncOff:
		return false
	}
	return vk.LayerVersion(vk.ValidationLayer) >= syncFixedLayer
}

// ValidationMessage is one message of the Khronos validation layer.
type ValidationMessage struct {
	Severity string // "error" or "warning"
	Type     string // "validation", "performance" or "general"
	ID       string // the VUID or message id
	Text     string
}

func (m ValidationMessage) String() string {
	return fmt.Sprintf("%s %s [%s] %s", m.Type, m.Severity, m.ID, m.Text)
}

// listen routes the shared instance's validation messages about this Open's device to its
// OnValidation (see Options.OnValidation).
func listen(inst *vk.SharedInstance, opts Options) *vk.Listener {
	if !opts.Validate {
		return nil
	}
	on := opts.OnValidation
	if on == nil {
		on = func(m ValidationMessage) { fmt.Fprintln(os.Stderr, "vkdep validation:", m) }
	}
	return inst.Listen(func(m vk.Message) {
		on(ValidationMessage{Severity: m.Severity, Type: m.Type, ID: m.ID, Text: m.Text})
	})
}
