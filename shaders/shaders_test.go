package shaders

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// wantKernels lists every kernel the package must export, in All() order.
var wantKernels = []string{"saxpy", "gate", "append", "reduce", "scan", "scan_add", "plasma", "fractal", "particles", "composite"}

// requireTool returns the path of an external tool. When the tool is not on
// PATH the test fails under CI (which must provide it) and is skipped
// elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found on PATH, and CI is set: the CI image must provide it (see third_party/debian-packages.txt): %v", name, err)
	}
	t.Skipf("skipping: %s not found on PATH (install it with make deps to run this check): %v", name, err)
	return ""
}

// TestSPIRVUpToDate recompiles every kernel with the same command the
// Makefile uses and checks that the committed .spv matches byte for byte.
func TestSPIRVUpToDate(t *testing.T) {
	glslc := requireTool(t, "glslc")
	tmp := t.TempDir()
	for _, k := range All() {
		t.Run(k.Name, func(t *testing.T) {
			out := filepath.Join(tmp, k.Name+".spv")
			// Run from the repository root so the command line is exactly
			// the one in the Makefile.
			cmd := exec.Command(glslc, "-std=450", "--target-env=vulkan1.2", "-O", "-Ishaders",
				"-o", out, filepath.Join("shaders", k.Name+".comp"))
			cmd.Dir = ".."
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("glslc failed on shaders/%s.comp: %v\n%s", k.Name, err, msg)
			}
			fresh, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			committed, err := os.ReadFile(k.Name + ".spv")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fresh, committed) {
				t.Fatalf("shaders/%s.spv is stale: run make shaders", k.Name)
			}
		})
	}
}

// TestSPIRVValid runs the SPIR-V validator over every committed module.
func TestSPIRVValid(t *testing.T) {
	spirvVal := requireTool(t, "spirv-val")
	for _, k := range All() {
		t.Run(k.Name, func(t *testing.T) {
			cmd := exec.Command(spirvVal, "--target-env", "vulkan1.2", k.Name+".spv")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("spirv-val rejected shaders/%s.spv: %v\n%s", k.Name, err, msg)
			}
		})
	}
}

// TestKernelTable checks the hand-written Kernel table against the files in
// this directory and against what the SPIR-V modules actually declare.
func TestKernelTable(t *testing.T) {
	all := All()
	var names []string
	for _, k := range all {
		names = append(names, k.Name)
	}
	if !slices.Equal(names, wantKernels) {
		t.Fatalf("All() names = %v, want %v", names, wantKernels)
	}

	// Every .comp and .spv in the directory must belong to a kernel in the
	// table, so a new shader cannot be added without an entry.
	for _, pattern := range []string{"*.comp", "*.spv"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		var stems []string
		for _, f := range files {
			stems = append(stems, strings.TrimSuffix(f, filepath.Ext(f)))
		}
		sort.Strings(stems)
		want := slices.Clone(wantKernels)
		sort.Strings(want)
		if !slices.Equal(stems, want) {
			t.Errorf("%s files in shaders/ = %v, want exactly %v", pattern, stems, want)
		}
	}

	for _, k := range all {
		t.Run(k.Name, func(t *testing.T) {
			raw, err := os.ReadFile(k.Name + ".spv")
			if err != nil {
				t.Fatal(err)
			}
			words, err := decodeSPIRV(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(words, k.SPIRV) {
				t.Fatalf("embedded SPIR-V differs from shaders/%s.spv", k.Name)
			}

			info := parseModule(t, k.SPIRV)
			if info.localSize != [3]uint32{k.LocalSizeX, 1, 1} {
				t.Errorf("LocalSize = %v in SPIR-V, table says LocalSizeX = %d (y and z must be 1)",
					info.localSize, k.LocalSizeX)
			}
			var wantBindings []uint32
			for b := range k.Bindings {
				wantBindings = append(wantBindings, uint32(b))
			}
			if !slices.Equal(info.bindings, wantBindings) {
				t.Errorf("bindings = %v in SPIR-V, table says Bindings = %d (want %v)",
					info.bindings, k.Bindings, wantBindings)
			}
			if info.pushConstants != k.PushConstants {
				t.Errorf("push-constant block is %d bytes in SPIR-V, table says %d",
					info.pushConstants, k.PushConstants)
			}
			if k.PushConstants%4 != 0 {
				t.Errorf("PushConstants = %d is not a multiple of 4, as Vulkan requires", k.PushConstants)
			}
		})
	}
}

// TestDecodeSPIRVRejects checks the validation done when the package loads.
func TestDecodeSPIRVRejects(t *testing.T) {
	good := []byte{0x03, 0x02, 0x23, 0x07, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}
	if _, err := decodeSPIRV(good); err != nil {
		t.Fatalf("minimal header rejected: %v", err)
	}
	bad := map[string][]byte{
		"empty":        nil,
		"odd length":   append(slices.Clone(good), 0),
		"short header": good[:8],
		"big-endian":   append([]byte{0x07, 0x23, 0x02, 0x03}, good[4:]...),
		"not spir-v":   []byte("#version 450\nvoid main() {}\n\n\n\n\n\n\n"),
	}
	for name, data := range bad {
		if _, err := decodeSPIRV(data); err == nil {
			t.Errorf("%s: decodeSPIRV accepted invalid input", name)
		}
	}
}

// TestMustLoadMissingPanics checks that a missing file gives a clear panic.
func TestMustLoadMissingPanics(t *testing.T) {
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.Contains(msg, "no_such_kernel.spv") || !strings.Contains(msg, "missing") {
			t.Fatalf("panic = %v, want a message naming the missing file", r)
		}
	}()
	mustLoad("no_such_kernel", 1, 4, 1)
}

// SPIR-V opcodes, decorations and enums used by parseModule.
const (
	opEntryPoint      = 15
	opExecutionMode   = 16
	opTypeInt         = 21
	opTypeFloat       = 22
	opTypeStruct      = 30
	opTypePointer     = 32
	opVariable        = 59
	opDecorate        = 71
	opMemberDecorate  = 72
	decBinding        = 33
	decDescriptorSet  = 34
	decOffset         = 35
	modeLocalSize     = 17
	execGLCompute     = 5
	scPushConstant    = 9
	scStorageBuffer   = 12
	scUniform         = 2
	scUniformConstant = 0
)

// moduleInfo is what TestKernelTable needs to know about a compute module.
type moduleInfo struct {
	localSize     [3]uint32
	bindings      []uint32 // distinct binding numbers, sorted
	pushConstants uint32   // bytes spanned by the push-constant block
}

// parseModule walks the instruction stream of a SPIR-V module and extracts
// its workgroup size, descriptor bindings and push-constant block size. It
// fails the test on anything this package's kernels are not supposed to use
// (a second entry point, descriptor sets other than 0, non-storage-buffer
// descriptors, non-scalar push constants).
func parseModule(t *testing.T, words []uint32) moduleInfo {
	t.Helper()
	var (
		info         moduleInfo
		entryPoints  int
		localSizes   int
		bindingOf    = map[uint32]uint32{} // variable id -> binding
		setOf        = map[uint32]uint32{} // variable id -> descriptor set
		varClass     = map[uint32]uint32{} // variable id -> storage class
		varType      = map[uint32]uint32{} // variable id -> pointer type id
		pointee      = map[uint32]uint32{} // pointer type id -> pointee type id
		scalarBytes  = map[uint32]uint32{} // int/float type id -> size
		structFields = map[uint32][]uint32{}
		memberOffset = map[[2]uint32]uint32{} // {struct id, member} -> offset
	)
	for i := 5; i < len(words); {
		n := int(words[i] >> 16)
		op := words[i] & 0xffff
		if n == 0 || i+n > len(words) {
			t.Fatalf("malformed instruction at word %d", i)
		}
		arg := words[i+1 : i+n]
		switch op {
		case opEntryPoint:
			entryPoints++
			if arg[0] != execGLCompute {
				t.Errorf("entry point has execution model %d, want GLCompute", arg[0])
			}
		case opExecutionMode:
			if arg[1] == modeLocalSize {
				localSizes++
				info.localSize = [3]uint32{arg[2], arg[3], arg[4]}
			}
		case opTypeInt, opTypeFloat:
			scalarBytes[arg[0]] = arg[1] / 8
		case opTypeStruct:
			structFields[arg[0]] = arg[1:]
		case opTypePointer:
			pointee[arg[0]] = arg[2]
		case opVariable:
			varType[arg[1]] = arg[0]
			varClass[arg[1]] = arg[2]
		case opDecorate:
			switch arg[1] {
			case decBinding:
				bindingOf[arg[0]] = arg[2]
			case decDescriptorSet:
				setOf[arg[0]] = arg[2]
			}
		case opMemberDecorate:
			if arg[2] == decOffset {
				memberOffset[[2]uint32{arg[0], arg[1]}] = arg[3]
			}
		}
		i += n
	}
	if entryPoints != 1 {
		t.Errorf("module has %d entry points, want 1", entryPoints)
	}
	if localSizes != 1 {
		t.Errorf("module has %d LocalSize execution modes, want 1", localSizes)
	}

	seen := map[uint32]bool{}
	for id, b := range bindingOf {
		if set := setOf[id]; set != 0 {
			t.Errorf("binding %d is in descriptor set %d, want 0", b, set)
		}
		if c := varClass[id]; c != scStorageBuffer {
			t.Errorf("binding %d has storage class %d, want StorageBuffer (%d)", b, c, scStorageBuffer)
		}
		if !seen[b] {
			seen[b] = true
			info.bindings = append(info.bindings, b)
		}
	}
	slices.Sort(info.bindings)

	for id, class := range varClass {
		switch class {
		case scUniform, scUniformConstant:
			t.Errorf("variable %%%d uses a uniform descriptor; kernels here use storage buffers only", id)
		case scPushConstant:
			if info.pushConstants != 0 {
				t.Errorf("module has more than one push-constant block")
			}
			st := pointee[varType[id]]
			fields, ok := structFields[st]
			if !ok {
				t.Fatalf("push-constant variable %%%d does not point to a struct", id)
			}
			for m, ft := range fields {
				size, ok := scalarBytes[ft]
				if !ok {
					t.Fatalf("push-constant member %d is not a scalar; extend parseModule", m)
				}
				off, ok := memberOffset[[2]uint32{st, uint32(m)}]
				if !ok {
					t.Fatalf("push-constant member %d has no Offset decoration", m)
				}
				info.pushConstants = max(info.pushConstants, off+size)
			}
		}
	}
	return info
}
