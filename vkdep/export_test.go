package vkdep

// Test-only views of internals that the behaviour tests check.

// JobDeps is the number of dependencies j keeps after D1–D3 filtering.
func JobDeps(j *Job) int { return len(j.deps) }
