#version 450
// reduce: sum each 256-element block of data[] into partial[workgroup].
//
// Elements at index >= n count as zero. Dispatching ceil(n / 256)
// workgroups turns n values into ceil(n / 256) partial sums; running it
// again on the partial sums (with n = previous group count) repeats until a
// single value remains.
//
// Interface (descriptor set 0, all storage buffers):
//   binding 0: readonly float data[]
//   binding 1: float partial[]      (one value per workgroup)
// Push constants (std430, 4 bytes): uint n;
// Local size 256 x 1 x 1; dispatch ceil(n / 256) workgroups in X.

#define BLOCK 256u

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Data {
    float data[];
};

layout(std430, set = 0, binding = 1) buffer Partial {
    float partial[];
};

layout(push_constant, std430) uniform Params {
    uint n;
} pc;

shared float sums[BLOCK];

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint gid = gl_GlobalInvocationID.x;

    sums[lid] = gid < pc.n ? data[gid] : 0.0;
    barrier();

    // Tree reduction: halve the active range each step.
    for (uint stride = BLOCK / 2u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            sums[lid] += sums[lid + stride];
        }
        barrier();
    }

    if (lid == 0u) {
        partial[gl_WorkGroupID.x] = sums[0];
    }
}
