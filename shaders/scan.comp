#version 450
// scan: inclusive prefix sum of each 256-element block, in place.
//
// After this pass data[i] holds the sum of its block's elements up to and
// including i, and block_sums[b] holds the total of block b. Elements at
// index >= n count as zero and are left untouched. Scanning block_sums and
// then running scan_add completes a prefix sum over the whole array.
//
// Interface (descriptor set 0, all storage buffers):
//   binding 0: uint data[]          (scanned in place)
//   binding 1: uint block_sums[]    (one total per workgroup)
// Push constants (std430, 4 bytes): uint n;
// Local size 256 x 1 x 1; dispatch ceil(n / 256) workgroups in X.

#define BLOCK 256u

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) buffer Data {
    uint data[];
};

layout(std430, set = 0, binding = 1) buffer BlockSums {
    uint block_sums[];
};

layout(push_constant, std430) uniform Params {
    uint n;
} pc;

shared uint vals[BLOCK];

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint gid = gl_GlobalInvocationID.x;

    vals[lid] = gid < pc.n ? data[gid] : 0u;
    barrier();

    // Hillis-Steele scan: at each step add the value `offset` places back.
    // Read into a register first, then write after a barrier, so no
    // invocation sees a half-updated step.
    for (uint offset = 1u; offset < BLOCK; offset <<= 1u) {
        uint v = vals[lid];
        if (lid >= offset) {
            v += vals[lid - offset];
        }
        barrier();
        vals[lid] = v;
        barrier();
    }

    if (gid < pc.n) {
        data[gid] = vals[lid];
    }
    if (lid == BLOCK - 1u) {
        block_sums[gl_WorkGroupID.x] = vals[lid];
    }
}
