#version 450
// append: record that this job ran by appending its id to a shared list.
//
// Each dispatch atomically claims the next slot, so after a batch of jobs
// the ids[] array shows the order in which they actually executed. Slots at
// or beyond cap are not written, but count still records every attempt.
//
// Interface (descriptor set 0, all storage buffers):
//   binding 0: { uint count; uint ids[]; }
// Push constants (std430, 8 bytes): uint id; uint cap;
// Local size 1 x 1 x 1; dispatch exactly one workgroup.

layout(local_size_x = 1, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) buffer Log {
    uint count;
    uint ids[];
};

layout(push_constant, std430) uniform Params {
    uint id;
    uint cap;
} pc;

void main() {
    uint idx = atomicAdd(count, 1u);
    if (idx < pc.cap) {
        ids[idx] = pc.id;
    }
}
