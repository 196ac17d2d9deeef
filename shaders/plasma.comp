#version 450
// plasma: one frame of an animated plasma, a demo client's content.
//
// Interface (descriptor set 0):
//   binding 0: uint pixels[]  frame written at pixels[offset + y*size + x],
//                             packed 0xAABBGGRR (sRGB-encoded bytes R, G, B, A)
// Push constants (std430, 16 bytes):
//   float t;      animation time in seconds
//   uint offset;  first word of the frame in pixels[]
//   uint size;    the frame is size x size pixels
//   uint seed;    varies the palette between clients
// Local size 64 x 1 x 1; dispatch ceil(size*size/64) workgroups.
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) buffer Pixels {
    uint pixels[];
};

layout(push_constant, std430) uniform Params {
    float t;
    uint offset;
    uint size;
    uint seed;
} pc;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.size * pc.size) {
        return;
    }
    vec2 p = vec2(i % pc.size, i / pc.size) / float(pc.size) - 0.5;
    float t = pc.t;
    // Four travelling waves; their sum folds into a palette, which is what makes the bands move.
    float v = sin(p.x * 10.0 + t);
    v += sin(10.0 * (p.x * sin(t * 0.5) + p.y * cos(t * 0.33)) + t);
    vec2 c = p + 0.5 * vec2(sin(t * 0.2), cos(t * 0.3));
    v += sin(sqrt(100.0 * dot(c, c) + 1.0) + t);
    v += sin(length(p) * 14.0 - t * 1.7);
    float hue = float(pc.seed) * 0.7;
    vec3 col = 0.5 + 0.5 * cos(3.14159 * v + vec3(0.0, 2.1, 4.2) + hue);
    uvec3 b = uvec3(clamp(col, 0.0, 1.0) * 255.0 + 0.5);
    pixels[pc.offset + i] = b.r | (b.g << 8) | (b.b << 16) | (255u << 24);
}
