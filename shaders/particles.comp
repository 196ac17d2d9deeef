#version 450
// particles: one frame of a glowing particle field, a demo client's content.
//
// Each pixel sums the glow of count particles that orbit on Lissajous curves; a particle's path is
// a function of its index and the time only, so any frame can be drawn on its own.
//
// Interface (descriptor set 0):
//   binding 0: uint pixels[]  frame written at pixels[offset + y*size + x],
//                             packed 0xAABBGGRR (sRGB-encoded bytes R, G, B, A)
// Push constants (std430, 16 bytes):
//   float t;      animation time in seconds
//   uint offset;  first word of the frame in pixels[]
//   uint size;    the frame is size x size pixels
//   uint count;   number of particles
// Local size 64 x 1 x 1; dispatch ceil(size*size/64) workgroups.
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) buffer Pixels {
    uint pixels[];
};

layout(push_constant, std430) uniform Params {
    float t;
    uint offset;
    uint size;
    uint count;
} pc;

float hash(float n) {
    return fract(sin(n * 12.9898) * 43758.5453);
}

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.size * pc.size) {
        return;
    }
    vec2 p = vec2(i % pc.size, i / pc.size) / float(pc.size) - 0.5;
    vec3 col = vec3(0.01, 0.01, 0.03);
    for (uint k = 0u; k < pc.count; ++k) {
        float f = float(k);
        vec2 freq = vec2(0.3 + hash(f) * 0.9, 0.3 + hash(f + 7.0) * 0.9);
        vec2 phase = vec2(hash(f + 3.0), hash(f + 5.0)) * 6.2832;
        vec2 q = 0.42 * sin(freq * pc.t + phase);
        vec2 d = p - q;
        float glow = 0.00035 / (dot(d, d) + 0.00012);
        col += glow * (0.55 + 0.45 * cos(f * 0.9 + vec3(0.0, 2.0, 4.0)));
    }
    col = col / (1.0 + col); // soft clip so overlapping particles saturate gently
    uvec3 b = uvec3(clamp(col, 0.0, 1.0) * 255.0 + 0.5);
    pixels[pc.offset + i] = b.r | (b.g << 8) | (b.b << 16) | (255u << 24);
}
