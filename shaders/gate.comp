#version 450
#extension GL_GOOGLE_include_directive : require
// gate: a job that keeps running until the host releases it.
//
// The single invocation polls two host-visible words. It stops when
// gate[release_index] becomes non-zero (reason 1, released), when
// abort_words[abort_index] becomes non-zero (reason 2, aborted), or after
// budget iterations (reason 3, budget exhausted). The budget keeps a
// forgotten gate from hanging the GPU queue forever.
//
// Interface (descriptor set 0, all storage buffers):
//   binding 0: coherent volatile uint gate[]
//   binding 1: the abort words, as vkdep_abort.glsl declares them
//   binding 2: uint result[]
//                result[result_index]     |= 1 << reason (1, 2 or 3), over
//                                            every workgroup (atomicOr)
//                result[result_index + 1] += iterations completed before the
//                                            loop stopped (atomicAdd)
// Push constants (std430, 16 bytes):
//   uint budget; uint release_index; uint abort_index; uint result_index;
// Local size 64 x 1 x 1 (every invocation polls; invocation 0 reports).
// Dispatch one workgroup, or many: each polls on its
// own, and a workgroup that starts after the gate is released or aborted
// stops at once, so W workgroups make a job that hangs for up to W budgets
// yet ends within microseconds of a release or abort.
//
// Driver note: lavapipe (llvmpipe; Mesa 22.3 in Debian 12) forces every loop
// of a shader invocation to exit once 65535 loop iterations in total have
// run. There the effective budget is min(budget, 65535), roughly a
// millisecond of polling, and the kernel then reports reason 3.

// 64 invocations, all polling: lavapipe runs a workgroup as SIMD lanes and
// keeps a loop going while any lane of the group is still in it; with one
// invocation the unused lanes kept every loop running to its iteration cap
// even after the real one had left, so an abort saved nothing.
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

// volatile + coherent: every read goes to memory, so the loads below are
// issued on every loop iteration and cannot be hoisted or cached.
layout(std430, set = 0, binding = 0) coherent volatile buffer GateBuf {
    uint gate[];
};

// The abort word, read as vkdep_abort.glsl says a shader should (coherent volatile).
#define VKDEP_ABORT_BINDING 1
#include "vkdep_abort.glsl"

layout(std430, set = 0, binding = 2) buffer ResultBuf {
    uint result[];
};

layout(push_constant, std430) uniform Params {
    uint budget;
    uint release_index;
    uint abort_index;
    uint result_index;
} pc;

const uint REASON_RELEASED = 1u;
const uint REASON_ABORTED = 2u;
const uint REASON_BUDGET_EXHAUSTED = 3u;

void main() {
    // state is carried around the loop and only changes when the gate or
    // the abort word is seen set, so after the loop it is well defined
    // however the loop ended. (lavapipe/llvmpipe caps every shader at 65535
    // loop iterations and leaves the loop early when the cap is hit; written
    // this way, that case reports REASON_BUDGET_EXHAUSTED and the true
    // iteration count instead of an undefined reason.)
    uint state = 0u;
    uint i = 0u;
    while (state == 0u && i < pc.budget) {
        if (gate[pc.release_index] != 0u) {
            state = REASON_RELEASED;
        } else if (vkdep_aborted(pc.abort_index)) {
            state = REASON_ABORTED;
        } else {
            ++i;
        }
    }
    if (gl_LocalInvocationIndex == 0u) {
        uint reason = state != 0u ? state : REASON_BUDGET_EXHAUSTED;
        atomicOr(result[pc.result_index], 1u << reason);
        atomicAdd(result[pc.result_index + 1u], i);
    }
}
