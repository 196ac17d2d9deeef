#version 450
// scan_add: second half of a multi-block inclusive prefix sum.
//
// Run after scan (per-block scan) and after block_sums has itself been
// scanned inclusively into block_offsets. Every element of block b > 0 gets
// the total of all earlier blocks, block_offsets[b - 1], added to it, which
// turns the per-block scans into one scan over the whole array.
//
// Interface (descriptor set 0, all storage buffers):
//   binding 0: uint data[]                (updated in place)
//   binding 1: readonly uint block_offsets[]
// Push constants (std430, 4 bytes): uint n;
// Local size 256 x 1 x 1; dispatch ceil(n / 256) workgroups in X (the same
// grid as scan).

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) buffer Data {
    uint data[];
};

layout(std430, set = 0, binding = 1) readonly buffer BlockOffsets {
    uint block_offsets[];
};

layout(push_constant, std430) uniform Params {
    uint n;
} pc;

void main() {
    uint b = gl_WorkGroupID.x;
    uint i = gl_GlobalInvocationID.x;
    if (b > 0u && i < pc.n) {
        data[i] += block_offsets[b - 1u];
    }
}
