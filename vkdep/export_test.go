package vkdep

import "vkdep.dev/internal/vk"

// Test-only views of internals that the behaviour tests check.

// JobDeps is the number of dependencies j keeps after D1–D3 filtering.
func JobDeps(j *Job) int { return len(j.deps) }

// SetFault installs the binding's fault-injection hook on d (V1 tests).
func SetFault(d *Device, hook func(vk.FaultPoint) error) { d.vk.SetFault(hook) }
