#version 450
// saxpy: y = a*x + y over n floats.
//
// Interface (descriptor set 0, all storage buffers):
//   binding 0: readonly float x[]
//   binding 1: float y[]            (updated in place)
// Push constants (std430, 8 bytes): float a; uint n;
// Local size 64 x 1 x 1; dispatch ceil(n / 64) workgroups in X.

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer XBuf {
    float x[];
};

layout(std430, set = 0, binding = 1) buffer YBuf {
    float y[];
};

layout(push_constant, std430) uniform Params {
    float a;
    uint n;
} pc;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) {
        y[i] = pc.a * x[i] + y[i];
    }
}
