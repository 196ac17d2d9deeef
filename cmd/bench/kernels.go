package main

import (
	"fmt"
	"strings"

	"vkdep.dev/internal/gpu"
	"vkdep.dev/internal/vk"
	"vkdep.dev/shaders"
)

// kit records the kernels package gpu has no helper for (Reduce, Scan, ScanAdd): pipelines and
// descriptor sets of its own, destroyed by close once the GPU no longer uses them.
type kit struct {
	g     *gpu.Ctx
	pool  vk.DescriptorPool
	pipes map[string]*vk.Pipeline
	sets  map[string]vk.DescriptorSet
}

func newKit(g *gpu.Ctx) (*kit, error) {
	pool, err := g.VK.CreateDescriptorPool(256, 1024)
	if err != nil {
		return nil, err
	}
	return &kit{g: g, pool: pool, pipes: map[string]*vk.Pipeline{}, sets: map[string]vk.DescriptorSet{}}, nil
}

func (k *kit) close() {
	for _, p := range k.pipes {
		k.g.VK.DestroyPipeline(p)
	}
	k.g.VK.DestroyDescriptorPool(k.pool)
}

// dispatch records kern over groups workgroups with its push constants and buffers.
func (k *kit) dispatch(cmd vk.CommandBuffer, kern shaders.Kernel, groups uint32, push []uint32, bufs ...*vk.Buffer) error {
	p, ok := k.pipes[kern.Name]
	if !ok {
		var err error
		if p, err = k.g.VK.CreateComputePipeline(kern.SPIRV, kern.Bindings, kern.PushConstants); err != nil {
			return fmt.Errorf("%s pipeline: %w", kern.Name, err)
		}
		k.pipes[kern.Name] = p
	}
	key := []string{kern.Name}
	ranges := make([]vk.BufferRange, len(bufs))
	for i, b := range bufs {
		key = append(key, fmt.Sprint(b.Handle))
		ranges[i] = vk.BufferRange{Buffer: b}
	}
	set, ok := k.sets[strings.Join(key, "/")]
	if !ok {
		var err error
		if set, err = k.g.VK.AllocateSet(k.pool, p, ranges...); err != nil {
			return fmt.Errorf("%s descriptor set: %w", kern.Name, err)
		}
		k.sets[strings.Join(key, "/")] = set
	}
	cmd.BindCompute(p, set)
	cmd.PushConstants(p, push...)
	cmd.Dispatch(groups, 1, 1)
	return nil
}

// computeBarrier makes the shader writes before it visible to the shaders after it.
func computeBarrier(g *gpu.Ctx, cmd vk.CommandBuffer) {
	g.VK.Barrier(cmd, vk.StageComputeShader, vk.AccessShaderWrite, vk.StageComputeShader, vk.AccessShaderRead|vk.AccessShaderWrite)
}

func groups(n, local uint32) uint32 { return (n + local - 1) / local }
