// Handles cross the cgo boundary as uint64_t (see helpers.h): H casts one back to its Vulkan type,
// OUT a Vulkan handle to the uint64_t handed back to Go.
// Dispatchable handles are pointers and non-dispatchable ones 64-bit integers on the platforms
// vkdep builds for (helpers.c asserts it), so the cast through uintptr_t is exact either way.
#ifndef VKDEP_HANDLE_H
#define VKDEP_HANDLE_H

#include <stdint.h>

#define H(T, x) ((T)(uintptr_t)(x))
#define OUT(x) ((uint64_t)(uintptr_t)(x))

#endif
