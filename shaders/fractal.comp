#version 450
// fractal: one frame of a Mandelbrot zoom, a slow demo client's content.
//
// Interface (descriptor set 0):
//   binding 0: uint pixels[]  frame written at pixels[offset + y*size + x],
//                             packed 0xAABBGGRR (sRGB-encoded bytes R, G, B, A)
// Push constants (std430, 16 bytes):
//   float t;      animation time in seconds
//   uint offset;  first word of the frame in pixels[]
//   uint size;    the frame is size x size pixels
//   uint max_iter;
// Local size 64 x 1 x 1; dispatch ceil(size*size/64) workgroups.
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) buffer Pixels {
    uint pixels[];
};

layout(push_constant, std430) uniform Params {
    float t;
    uint offset;
    uint size;
    uint max_iter;
} pc;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.size * pc.size) {
        return;
    }
    vec2 p = vec2(i % pc.size, i / pc.size) / float(pc.size) - 0.5;
    // Zoom into a point on the set's edge and start over every 10 s: single-precision floats
    // run out of detail after a zoom of about 1e4.
    float zoom = exp(-mod(pc.t, 10.0) * 0.8);
    vec2 c = vec2(-0.743644, 0.131826) + p * 3.0 * zoom;
    vec2 z = vec2(0.0);
    uint n = 0u;
    for (; n < pc.max_iter && dot(z, z) < 16.0; ++n) {
        z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + c;
    }
    vec3 col = vec3(0.02, 0.02, 0.05);
    if (n < pc.max_iter) {
        // Smooth iteration count, so the bands do not step as the zoom moves.
        float s = float(n) - log2(log2(dot(z, z))) + 4.0;
        col = 0.5 + 0.5 * cos(0.15 * s + vec3(3.0, 3.6, 4.2) + pc.t * 0.3);
    }
    uvec3 b = uvec3(clamp(col, 0.0, 1.0) * 255.0 + 0.5);
    pixels[pc.offset + i] = b.r | (b.g << 8) | (b.b << 16) | (255u << 24);
}
