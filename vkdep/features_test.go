package vkdep_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// int64Kernel compiles a compute shader that uses 64-bit integers (the SPIR-V Int64 capability),
// which a device may only run with shaderInt64 enabled (VUID-VkShaderModuleCreateInfo-pCode-08740
// in current layers, -01091 in older ones).
func int64Kernel(t *testing.T) []uint32 {
	t.Helper()
	glslc, err := exec.LookPath("glslc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("glslc not found and CI is set: %v", err)
		}
		t.Skipf("glslc not found: %v", err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "i64.comp")
	if err := os.WriteFile(src, []byte(`#version 450
#extension GL_ARB_gpu_shader_int64 : require
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer B { uint64_t v[]; };
void main() { v[0] = v[0] * 3ul + 1ul; }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "i64.spv")
	if msg, err := exec.Command(glslc, "--target-env=vulkan1.2", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("glslc: %v\n%s", err, msg)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	words := make([]uint32, len(raw)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	return words
}

// TestOptionsFeatures: Options.Features enables further core features at vkCreateDevice. The
// proof is the validation layer: a shader module using Int64 is accepted silently with
// "shaderInt64" named, and reported without it (so the test would fail if Open ignored the
// field). Names from every core version are accepted together, and a feature the device lacks,
// or a name that is no feature, fails Open with ErrMissingFeature naming it.
func TestOptionsFeatures(t *testing.T) {
	spirv := int64Kernel(t)
	t.Run("enabled", func(t *testing.T) {
		d, msgs := vktest.OpenWith(t, vkdep.Options{Features: []string{"shaderInt64", "shaderDrawParameters", "bufferDeviceAddress", "maintenance4"}})
		g := rawDevice(t, d)
		p, err := g.VK.CreateComputePipeline(spirv, 1, 0)
		if err != nil {
			t.Fatalf("int64 pipeline: %v", err)
		}
		g.VK.DestroyPipeline(p)
		for _, m := range msgs.Take() {
			t.Errorf("validation with shaderInt64 enabled: %v", m)
		}
	})
	t.Run("not_enabled", func(t *testing.T) {
		d, msgs := vktest.OpenWith(t, vkdep.Options{})
		g := rawDevice(t, d)
		p, err := g.VK.CreateComputePipeline(spirv, 1, 0)
		if err == nil {
			g.VK.DestroyPipeline(p)
		}
		found := false
		for _, m := range msgs.Take() {
			found = found || strings.Contains(m.Text, "Int64") || strings.Contains(m.Text, "shaderInt64")
		}
		if !found {
			t.Fatal("the layer did not report an Int64 shader on a device without shaderInt64: this test cannot tell whether Options.Features works")
		}
	})
	for _, tc := range []struct{ name, feature string }{
		{"unsupported", "sparseBinding"}, // lavapipe has no sparse memory
		{"unknown", "shaderInt65"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := vkdep.Open(vkdep.Options{Features: []string{"shaderInt64", tc.feature}})
			if err == nil {
				ok := !d.Info().IsCPU() && tc.name == "unsupported"
				if cerr := d.Close(context.Background()); cerr != nil {
					t.Error(cerr)
				}
				if ok {
					t.Skipf("this device supports %s", tc.feature)
				}
				t.Fatalf("Open with feature %q succeeded", tc.feature)
			}
			if !errors.Is(err, vkdep.ErrMissingFeature) || !strings.Contains(err.Error(), tc.feature) {
				t.Fatalf("Open with %q: %v, want ErrMissingFeature naming it", tc.feature, err)
			}
		})
	}
}
