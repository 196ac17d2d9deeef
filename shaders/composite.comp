#version 450
// composite: one frame of the demo's compositor.
//
// Draws a background, one framed window per client showing that client's latest completed frame,
// and a text layer (window titles and the HUD) from a character grid and a 5x7 bitmap font that
// the CPU writes. Client frames are read where the CPU says they are: the compositor never waits
// for a client, it shows whatever frame completed last.
//
// Interface (descriptor set 0, all storage buffers):
//   binding 0: readonly uint clients[]  client frames, packed 0xAABBGGRR (see plasma.comp)
//   binding 1: uint out[]               width*height pixels, row-major, packed 0xAARRGGBB, i.e.
//                                       the bytes B, G, R, A of VK_FORMAT_B8G8R8A8_* in memory,
//                                       sRGB-encoded, ready to be copied into a swapchain image
//   binding 2: readonly uint hud[]      what the CPU says to draw:
//     hud[8*w + 0..4] window w (w < 4): x, y of its content's top-left pixel; word offset of its
//                     frame in clients[] (0xFFFFFFFF: none yet); frame colour 0x00RRGGBB; flags
//                     (bit 0: the client is hung or being recovered)
//     hud[GRID + r*COLS + c]  the character at text cell (c, r), cells 12x16 pixels:
//                     bits 0-6 ASCII code (32..95), bits 8-11 colour index, bits 12-15 background
//                     colour index (0: none)
//     hud[FONT + 8*g + row]   5x7 glyph g = code-32, one word per row, bit 4 = leftmost pixel
// Push constants (std430, 16 bytes):
//   uint width; uint height; uint client_size; uint windows;
// Local size 64 x 1 x 1; dispatch ceil(width*height/64) workgroups.
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Clients {
    uint clients[];
};

layout(std430, set = 0, binding = 1) writeonly buffer Out {
    uint out_pixels[];
};

layout(std430, set = 0, binding = 2) readonly buffer Hud {
    uint hud[];
};

layout(push_constant, std430) uniform Params {
    uint width;
    uint height;
    uint client_size;
    uint windows;
} pc;

const uint COLS = 80u;
const uint ROWS = 34u;
const uint GRID = 64u;
const uint FONT = GRID + COLS * ROWS;
const uint NONE = 0xFFFFFFFFu;
const int BORDER = 3;
const int TITLE = 16;

vec3 unpack_rgb(uint c) {
    return vec3(c & 0xFFu, (c >> 8) & 0xFFu, (c >> 16) & 0xFFu) / 255.0;
}

vec3 palette(uint i) {
    switch (i) {
    case 1u: return vec3(0.92, 0.92, 0.92); // text
    case 2u: return vec3(0.55, 0.60, 0.68); // dim text
    case 3u: return vec3(0.40, 0.90, 0.45); // ok
    case 4u: return vec3(1.00, 0.80, 0.25); // warning
    case 5u: return vec3(1.00, 0.35, 0.30); // fault
    case 6u: return vec3(0.45, 0.75, 1.00); // accent
    case 7u: return vec3(0.10, 0.11, 0.15); // panel
    case 8u: return vec3(0.45, 0.08, 0.08); // fault background
    }
    return vec3(0.0);
}

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.width * pc.height) {
        return;
    }
    int x = int(i % pc.width);
    int y = int(i / pc.width);

    // Background: a vertical gradient with a faint grid.
    float g = float(y) / float(max(pc.height, 1u));
    vec3 col = mix(vec3(0.09, 0.12, 0.20), vec3(0.03, 0.04, 0.07), g);
    if (x % 24 == 0 || y % 24 == 0) {
        col += vec3(0.025);
    }
    // HUD panel under the windows.
    if (y >= 352) {
        col = (y == 352) ? palette(6u) * 0.6 : palette(7u);
    }

    // Windows: a frame with a title bar, around the client's latest frame.
    int size = int(pc.client_size);
    for (uint w = 0u; w < min(pc.windows, 4u); ++w) {
        int wx = int(hud[8u * w]);
        int wy = int(hud[8u * w + 1u]);
        int lx = x - wx;
        int ly = y - wy;
        if (lx < -BORDER || lx >= size + BORDER || ly < -BORDER - TITLE || ly >= size + BORDER) {
            continue;
        }
        uint flags = hud[8u * w + 4u];
        vec3 frame = unpack_rgb(hud[8u * w + 3u]);
        if (lx < 0 || lx >= size || ly < 0 || ly >= size) {
            col = ly < -BORDER ? frame * 0.55 : frame;
            continue;
        }
        uint off = hud[8u * w + 2u];
        if (off == NONE) {
            col = vec3(0.15);
        } else {
            uint c = clients[off + uint(ly) * pc.client_size + uint(lx)];
            col = unpack_rgb(c);
        }
        if ((flags & 1u) != 0u) {
            // A hung client: its last good frame, greyed, under red stripes.
            float grey = dot(col, vec3(0.3, 0.59, 0.11)) * 0.5;
            col = ((lx + ly) / 12) % 2 == 0 ? mix(vec3(grey), vec3(0.8, 0.1, 0.1), 0.45) : vec3(grey);
        }
    }

    // Text layer.
    uint cx = uint(x) / 12u;
    uint cy = uint(y) / 16u;
    if (cx < COLS && cy < ROWS) {
        uint code = hud[GRID + cy * COLS + cx];
        uint bg = (code >> 12) & 0xFu;
        if (bg != 0u) {
            col = palette(bg);
        }
        uint ch = code & 0x7Fu;
        int gx = (x % 12) / 2;
        int gy = (y % 16) / 2 - 1;
        if (ch >= 32u && ch < 96u && gx < 5 && gy >= 0 && gy < 7) {
            uint row = hud[FONT + 8u * (ch - 32u) + uint(gy)];
            if ((row & (16u >> uint(gx))) != 0u) {
                col = palette((code >> 8) & 0xFu);
            }
        }
    }

    uvec3 b = uvec3(clamp(col, 0.0, 1.0) * 255.0 + 0.5);
    out_pixels[i] = b.b | (b.g << 8) | (b.r << 16) | (255u << 24);
}
