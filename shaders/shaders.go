// Package shaders holds the GLSL compute kernels that vkdep's tests, examples
// and demo dispatch, together with their compiled SPIR-V.
//
// Each kernel lives in this directory as NAME.comp (GLSL 4.50 source, headed
// by a comment describing its interface) and NAME.spv (the compiled module,
// committed so that building vkdep needs no shader compiler). The .spv files
// are embedded into this package and exposed as [Kernel] values that also
// record the descriptor bindings, push-constant size and workgroup size each
// kernel expects.
//
// After editing a .comp file, rebuild the SPIR-V with
//
//	make shaders
//
// which runs, for every kernel,
//
//	glslc -std=450 --target-env=vulkan1.2 -O -Ishaders -o shaders/NAME.spv shaders/NAME.comp
//
// vkdep_abort.glsl is an include for kernels of any application that poll their vkdep queue's
// abort word (the cooperative abort, docs/ABORT.md): [Gate] uses it.
//
// and commit the regenerated .spv files. The package tests recompile every
// kernel and fail if a committed .spv no longer matches its source.
//
// All kernels (the demo's too) use storage buffers only, in descriptor set 0 at bindings
// 0..Bindings-1, and a push-constant block laid out with std430 rules starting
// at offset 0.
package shaders

import (
	"embed"
	"encoding/binary"
	"fmt"
)

//go:embed *.spv
var spvFiles embed.FS

// spirvMagic is the first word of every SPIR-V module.
const spirvMagic uint32 = 0x07230203

// Kernel is one compiled compute kernel and the interface it expects.
type Kernel struct {
	Name          string   // file stem, e.g. "saxpy"
	SPIRV         []uint32 // SPIR-V words
	Bindings      int      // storage buffers at bindings 0..Bindings-1 of set 0
	PushConstants uint32   // size in bytes of the push-constant block
	LocalSizeX    uint32
}

// Reasons a [Gate] workgroup stops; result[result_index] collects 1<<reason
// over all workgroups.
const (
	GateReleased        = 1 // gate[release_index] became non-zero
	GateAborted         = 2 // abort_words[abort_index] became non-zero
	GateBudgetExhausted = 3 // the loop ran budget iterations without either
)

var (
	// SAXPY computes y[i] = a*x[i] + y[i] for i < n.
	//
	// Bindings: 0 readonly float x[], 1 float y[].
	// Push constants (8 bytes): float a; uint n.
	// Dispatch ceil(n/64) workgroups.
	SAXPY = mustLoad("saxpy", 2, 8, 64)

	// Gate is a job that keeps running until the host releases it or its
	// queue's abort word is set, so tests can hold a queue busy and see what
	// happens around a job that has not finished, and so long work can be
	// shown killable (the cooperative abort of vkdep.Queue.AbortWord).
	//
	// Each workgroup (64 invocations, all polling; invocation 0 reports) polls gate[release_index] and
	// abort_words[abort_index] (coherent volatile: re-read from memory on
	// every iteration; the abort word through vkdep_abort.glsl). It stops with [GateReleased] when the first becomes
	// non-zero, with [GateAborted] when the second does, or with
	// [GateBudgetExhausted] after budget iterations; it then ORs 1<<reason
	// into result[result_index] and adds the iterations it did to
	// result[result_index+1]. Dispatch many workgroups for a long job: they
	// run one budget each, and those that start after a release or abort
	// stop at once, so W workgroups hang for up to W budgets yet end within
	// microseconds of a release or abort.
	//
	// The budget is a safety bound: a test that forgets to release its gate
	// leaves a job that still ends on its own instead of hanging the queue
	// (and the test run) indefinitely. Check the reasons afterwards:
	// GateBudgetExhausted alone means the job ended on its own.
	//
	// Software rendering caveat: lavapipe (llvmpipe, Mesa 22.3 in Debian 12)
	// forces every loop in a shader invocation to exit after 65535 loop
	// iterations in total, whatever the budget: about 1–2 ms of polling per
	// workgroup there. Use many workgroups for a longer hang.
	//
	// Bindings: 0 gate[], 1 abort_words[], 2 result[].
	// Push constants (16 bytes): uint budget, release_index, abort_index,
	// result_index.
	Gate = mustLoad("gate", 3, 16, 64)

	// Append atomically appends id to a shared list, so a buffer shared by
	// several jobs shows the order in which they executed.
	//
	// Binding 0: { uint count; uint ids[]; }. The kernel increments count
	// and, if the claimed slot is below cap, stores id there.
	// Push constants (8 bytes): uint id; uint cap.
	// Dispatch exactly one workgroup of one invocation.
	Append = mustLoad("append", 1, 8, 1)

	// Reduce sums each 256-element block of data[] (elements at index >= n
	// count as zero) and writes the block total to partial[workgroup].
	// Applying it repeatedly to its own output reduces to a single value.
	//
	// Bindings: 0 readonly float data[], 1 float partial[].
	// Push constants (4 bytes): uint n.
	// Dispatch ceil(n/256) workgroups.
	Reduce = mustLoad("reduce", 2, 4, 256)

	// Scan replaces each 256-element block of data[] by its inclusive prefix
	// sum and writes the block total to block_sums[workgroup]. Elements at
	// index >= n are neither read nor written.
	//
	// Bindings: 0 uint data[] (in place), 1 uint block_sums[].
	// Push constants (4 bytes): uint n.
	// Dispatch ceil(n/256) workgroups.
	Scan = mustLoad("scan", 2, 4, 256)

	// ScanAdd finishes a multi-block prefix sum: for every element i < n of
	// block b > 0 it adds block_offsets[b-1], where block_offsets is the
	// inclusive scan of the block_sums that [Scan] produced. Scan, then a
	// scan of the block sums, then ScanAdd yields the inclusive prefix sum
	// of the whole array.
	//
	// Bindings: 0 uint data[] (in place), 1 readonly uint block_offsets[].
	// Push constants (4 bytes): uint n.
	// Dispatch ceil(n/256) workgroups, the same grid as Scan.
	ScanAdd = mustLoad("scan_add", 2, 4, 256)

	// Plasma, Fractal and Particles draw one frame of a demo client: animated content at
	// animation time t into a size×size block of a pixel buffer, packed 0xAABBGGRR.
	//
	// Binding 0: uint pixels[], the frame at pixels[offset + y*size + x].
	// Push constants (16 bytes): float t; uint offset; uint size; and a fourth word: the
	// palette seed (Plasma), the iteration limit (Fractal), the particle count (Particles).
	// Dispatch ceil(size*size/64) workgroups.
	Plasma    = mustLoad("plasma", 1, 16, 64)
	Fractal   = mustLoad("fractal", 1, 16, 64)
	Particles = mustLoad("particles", 1, 16, 64)

	// Composite draws one frame of the demo's compositor: a background, a framed window per
	// client showing its latest frame, and a text layer from a character grid and a bitmap font.
	// composite.comp documents the layout of the hud buffer.
	//
	// Bindings: 0 readonly uint clients[], 1 uint out[] (width*height pixels, the bytes of
	// VK_FORMAT_B8G8R8A8_*), 2 readonly uint hud[].
	// Push constants (16 bytes): uint width, height, client_size, windows.
	// Dispatch ceil(width*height/64) workgroups.
	Composite = mustLoad("composite", 3, 16, 64)
)

// All returns every kernel in this package, in a fixed order. The slice is
// freshly allocated; the SPIRV word slices are shared and must not be
// modified.
func All() []Kernel {
	return []Kernel{SAXPY, Gate, Append, Reduce, Scan, ScanAdd, Plasma, Fractal, Particles, Composite}
}

// mustLoad builds a Kernel from the embedded NAME.spv and panics if the file
// is missing or is not a SPIR-V module.
func mustLoad(name string, bindings int, pushConstants, localSizeX uint32) Kernel {
	file := name + ".spv"
	data, err := spvFiles.ReadFile(file)
	if err != nil {
		panic(fmt.Sprintf("vkdep/shaders: embedded %s is missing (run make shaders): %v", file, err))
	}
	words, err := decodeSPIRV(data)
	if err != nil {
		panic(fmt.Sprintf("vkdep/shaders: embedded %s is not valid SPIR-V (run make shaders): %v", file, err))
	}
	return Kernel{
		Name:          name,
		SPIRV:         words,
		Bindings:      bindings,
		PushConstants: pushConstants,
		LocalSizeX:    localSizeX,
	}
}

// decodeSPIRV converts a little-endian SPIR-V binary into words and checks
// its length and magic number.
func decodeSPIRV(data []byte) ([]uint32, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("file is empty")
	}
	if len(data)%4 != 0 {
		return nil, fmt.Errorf("length %d is not a multiple of 4", len(data))
	}
	// The SPIR-V header is five words: magic, version, generator, bound,
	// schema.
	if len(data) < 5*4 {
		return nil, fmt.Errorf("length %d is shorter than the 20-byte SPIR-V header", len(data))
	}
	words := make([]uint32, len(data)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(data[4*i:])
	}
	if words[0] != spirvMagic {
		return nil, fmt.Errorf("magic number is %#08x, want %#08x (little-endian)", words[0], spirvMagic)
	}
	return words, nil
}
