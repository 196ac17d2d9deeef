// vkdep_abort.glsl: poll a vkdep queue's cooperative abort word (SEMANTICS T5) from a compute
// shader, so that long GPU work of a banned or killed queue ends early instead of holding its
// VkQueue (and every queue sharing it) until it finishes on its own.
//
// Host side: bind the device's abort-word buffer (vkdep Queue.AbortWord(): Buffer, offset 0,
// range Size) as a storage buffer, and pass AbortWord().Index to the shader (a push constant).
// vkdep writes a non-zero value there when the queue is banned by its timeout or killed.
//
// Shader side:
//
//   #define VKDEP_ABORT_SET 0        // optional, default 0
//   #define VKDEP_ABORT_BINDING 1    // required: where the abort-word buffer is bound
//   #include "vkdep_abort.glsl"      // compile with glslc -I <dir of this file>
//
//   layout(local_size_x = 64) in;    // see "Lanes" below
//   ...
//   uint it = 0u;
//   while (!vkdep_should_stop(pc.abort_index, it, pc.budget)) {
//       do_a_slice_of_work();
//   }
//   if (vkdep_aborted(pc.abort_index)) { /* leave results marked incomplete */ }
//
// Why each piece:
//
// Reads. The word is declared coherent volatile: coherent makes the host's write visible to the
// shader without a barrier inside the dispatch, volatile forces a load from memory on every read,
// so the compiler can neither hoist the read out of the loop nor keep it in a register. (A plain
// buffer read in a loop may legally be read once; a shader spinning on such a read never sees the
// host's write.) The memory is host-visible and coherent, allocated by vkdep.
//
// A bounded loop. Every polling loop needs an iteration budget of its own: a shader that forgets
// the abort word, or runs on a queue nobody kills, must still end. Mesa's lavapipe (llvmpipe) also
// forces every loop of an invocation out after 65,535 iterations in total (VKDEP_LAVAPIPE_LOOP_CAP),
// whatever the budget, so on lavapipe a long job must be made of many workgroups (each polling
// for at most that many iterations) or of several dispatches, not of one long loop. Carry the
// loop state in variables and derive the result after the loop, as vkdep_should_stop does, so a
// loop ended by that cap still leaves defined results. On GPUs the budget is the only bound.
//
// Lanes. GPUs and lavapipe run a workgroup as SIMD lanes, and a loop keeps running while any lane
// of the group is still in it. With local_size_x = 1 the other lanes of the group are idle, and on
// lavapipe they kept the loop going to its iteration cap after the one real lane had left: the
// abort saved nothing. So every invocation of the workgroup must poll the word itself (use a
// workgroup of at least 32 or 64 invocations, all in the loop), or the shader must be written so
// that all lanes leave the loop together.
//
// Cost. A volatile read is a memory access each time; poll once per slice of real work (a few
// microseconds), not once per arithmetic instruction, where the work loop is tight.
#ifndef VKDEP_ABORT_GLSL
#define VKDEP_ABORT_GLSL

#ifndef VKDEP_ABORT_BINDING
#error "vkdep_abort.glsl: #define VKDEP_ABORT_BINDING (the binding of the abort-word buffer) before including it"
#endif
#ifndef VKDEP_ABORT_SET
#define VKDEP_ABORT_SET 0
#endif

// lavapipe's cap on loop iterations per invocation (Mesa 22.3, Debian 12).
const uint VKDEP_LAVAPIPE_LOOP_CAP = 65535u;

layout(std430, set = VKDEP_ABORT_SET, binding = VKDEP_ABORT_BINDING) coherent volatile readonly buffer VkdepAbortWords {
    uint vkdep_abort_words[];
};

// vkdep_aborted reads the abort word at index from memory: true once the queue is banned or
// killed.
bool vkdep_aborted(uint index) {
    return vkdep_abort_words[index] != 0u;
}

// vkdep_should_stop is the condition of a bounded, abortable loop: true when the abort word is
// set or iter has reached budget; otherwise it counts the iteration and returns false.
bool vkdep_should_stop(uint index, inout uint iter, uint budget) {
    if (iter >= budget || vkdep_aborted(index)) {
        return true;
    }
    ++iter;
    return false;
}

#endif
