// Command example is a vulkan-go application that uses vkdep for its queues: a doubling compute
// kernel runs on two vkdep queues with a GPU-side dependency between them, held back by a host
// timeline until the input is uploaded; the application's own vk.QueueSubmit then waits on the
// second queue's fence and signals a timeline of its own, which a third job waits on. It needs no
// pointer conversions and no cgo of its own: vkdep.dev/vkdep/vulkango converts handles and builds the
// Vulkan 1.2/1.3 structs vulkan-go's headers lack.
//
// With VKDEP_VALIDATE=1 it enables the Khronos validation layer and exits non-zero on any
// message. It prints the result and "ok" on success.
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	vk "github.com/vulkan-go/vulkan"

	"vkdep.dev/shaders"
	"vkdep.dev/vkdep"
	"vkdep.dev/vkdep/vulkango"
)

const n = 1024 // floats per buffer

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
	fmt.Println("ok")
}

// check turns a vulkan-go result into an error naming the call.
func check(r vk.Result, what string) error {
	if r != vk.Success {
		return fmt.Errorf("%s: %w", what, vk.Error(r))
	}
	return nil
}

// app holds what the application created with vulkan-go.
type app struct {
	inst    vk.Instance
	phys    vk.PhysicalDevice
	dev     vk.Device
	family  uint32
	queue   vk.Queue
	queueMu sync.Mutex // the application's lock for queue, shared with vkdep (WrapQueue.Lock)

	bufs   []vk.Buffer
	mems   []vk.DeviceMemory
	mapped [][]byte

	module   vk.ShaderModule
	setLay   vk.DescriptorSetLayout
	pipeLay  vk.PipelineLayout
	pipeline vk.Pipeline
	descPool vk.DescriptorPool
	cmdPool  vk.CommandPool
	report   vk.DebugReportCallback
}

func run() error {
	validate := os.Getenv("VKDEP_VALIDATE") == "1"
	var problems atomic.Int32
	a := &app{}
	if err := a.createInstance(validate, func(isError bool, layer, text string) {
		problems.Add(1)
		fmt.Fprintf(os.Stderr, "validation (%s, error=%v): %s\n", layer, isError, text)
	}); err != nil {
		return err
	}
	defer func() {
		if a.report != nil {
			vk.DestroyDebugReportCallback(a.inst, a.report, nil)
		}
		vk.DestroyInstance(a.inst, nil)
	}()

	// The device: vulkan-go's DeviceCreateInfo, with the feature chain vkdep needs linked in.
	chain, ci, err := a.createDevice()
	if err != nil {
		return err
	}
	defer vk.DestroyDevice(a.dev, nil)
	// Three doublings: in → mid (queue "first"), mid → out (queue "second"), out → final (queue
	// "first" again, after the application's own submit). Created before Wrap, so that the
	// deferred vkdep Close runs before they are destroyed.
	if err := a.createResources(4); err != nil {
		return err
	}
	defer a.destroyResources()
	d, err := vulkango.Wrap(vulkango.WrapOptions{
		Instance: a.inst, PhysicalDevice: a.phys, Device: a.dev,
		APIVersion: vk.MakeVersion(1, 3, 0), CreateInfo: ci,
		Queues: []vkdep.WrapQueue{{Family: a.family, Index: 0, Lock: &a.queueMu}},
	})
	chain.Free() // read by vk.CreateDevice and Wrap only
	ci.Free()
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			_ = d.Close(context.Background())
		}
	}()

	cmds, err := a.record([][2]int{{0, 1}, {1, 2}, {2, 3}})
	if err != nil {
		return err
	}

	first, err := d.NewQueue(vkdep.QueueOptions{Name: "first"})
	if err != nil {
		return err
	}
	second, err := d.NewQueue(vkdep.QueueOptions{Name: "second"})
	if err != nil {
		return err
	}
	upload, err := d.NewHostTimeline("upload")
	if err != nil {
		return err
	}
	released := make(chan vk.CommandBuffer, len(cmds))

	// Job 1 waits for the host upload (a HostTimeline point), job 2 for job 1 on another queue: a
	// GPU-side timeline wait in its submit, no CPU round trip.
	j1 := first.NewJob()
	j1.AddCommandBuffers(vulkango.Handle(cmds[0]))
	j1.AddDependency(upload.Point(1))
	j1.OnRelease(func() { released <- cmds[0] })
	f1, err := first.Submit(j1)
	if err != nil {
		return err
	}
	j2 := second.NewJob()
	j2.AddCommandBuffers(vulkango.Handle(cmds[1]))
	j2.AddDependency(f1)
	j2.OnRelease(func() { released <- cmds[1] })
	f2, err := second.Submit(j2)
	if err != nil {
		return err
	}

	// The upload: write the input, then signal the host timeline. Nothing ran before this.
	for i := range n {
		binary.LittleEndian.PutUint32(a.mapped[0][4*i:], math.Float32bits(float32(i)))
	}
	if err := upload.Signal(1); err != nil {
		return err
	}

	// The application's own submit waits on job 2's fence on the GPU and signals a timeline of
	// the application, which job 3 waits on.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	appTL, err := vulkango.NewTimelineSemaphore(a.dev, 0)
	if err != nil {
		return err
	}
	defer vk.DestroySemaphore(a.dev, appTL, nil)
	si := vk.SubmitInfo{SType: vk.StructureTypeSubmitInfo}
	ts := vulkango.NewTimelineSubmit()
	if err := ts.WaitFence(ctx, &si, f2, vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit)); err != nil {
		return err
	}
	ts.Signal(&si, appTL, 1)
	a.queueMu.Lock()
	r := vk.QueueSubmit(a.queue, 1, []vk.SubmitInfo{si}, vk.NullFence)
	a.queueMu.Unlock()
	ts.Free()
	if err := check(r, "vkQueueSubmit"); err != nil {
		return err
	}

	j3 := first.NewJob()
	j3.AddCommandBuffers(vulkango.Handle(cmds[2]))
	j3.WaitSemaphore(vulkango.Handle(appTL), 1, uint64(vk.PipelineStageComputeShaderBit))
	j3.OnRelease(func() { released <- cmds[2] })
	f3, err := first.Submit(j3)
	if err != nil {
		return err
	}
	if err := f3.Wait(ctx); err != nil {
		return err
	}

	for i := range n {
		got := math.Float32frombits(binary.LittleEndian.Uint32(a.mapped[3][4*i:]))
		if want := float32(8 * i); got != want {
			return fmt.Errorf("final[%d] = %v, want %v", i, got, want)
		}
	}
	// Every release hook has run by the time Close returns; the command buffers are the
	// application's again.
	if err := d.Close(ctx); err != nil {
		return err
	}
	closed = true
	if len(released) != len(cmds) {
		return fmt.Errorf("%d release hooks ran, want %d", len(released), len(cmds))
	}
	fmt.Printf("final[1..3] = %v %v %v (8x the input); fences %d %d %d\n",
		math.Float32frombits(binary.LittleEndian.Uint32(a.mapped[3][4:])),
		math.Float32frombits(binary.LittleEndian.Uint32(a.mapped[3][8:])),
		math.Float32frombits(binary.LittleEndian.Uint32(a.mapped[3][12:])),
		f1.Value(), f2.Value(), f3.Value())
	if p := problems.Load(); p > 0 {
		return fmt.Errorf("%d validation messages", p)
	}
	return nil
}

func (a *app) createInstance(validate bool, report func(bool, string, string)) error {
	if err := vk.SetDefaultGetInstanceProcAddr(); err != nil {
		return err
	}
	if err := vk.Init(); err != nil {
		return err
	}
	ici := vk.InstanceCreateInfo{
		SType: vk.StructureTypeInstanceCreateInfo,
		PApplicationInfo: &vk.ApplicationInfo{
			SType: vk.StructureTypeApplicationInfo, PApplicationName: "vulkango example\x00",
			ApiVersion: vk.MakeVersion(1, 3, 0), // vkdep needs Vulkan 1.3
		},
	}
	if validate {
		ici.EnabledLayerCount, ici.PpEnabledLayerNames = 1, []string{"VK_LAYER_KHRONOS_validation\x00"}
		ici.EnabledExtensionCount, ici.PpEnabledExtensionNames = 1, []string{"VK_EXT_debug_report\x00"}
	}
	var inst vk.Instance
	if err := check(vk.CreateInstance(&ici, nil, &inst), "vkCreateInstance"); err != nil {
		return err
	}
	a.inst = inst
	if err := vk.InitInstance(a.inst); err != nil {
		return err
	}
	if validate {
		var cb vk.DebugReportCallback
		err := check(vk.CreateDebugReportCallback(a.inst, &vk.DebugReportCallbackCreateInfo{
			SType:       vk.StructureTypeDebugReportCallbackCreateInfo,
			Flags:       vk.DebugReportFlags(vk.DebugReportErrorBit | vk.DebugReportWarningBit),
			PfnCallback: vulkango.DebugReport(report),
		}, nil, &cb), "vkCreateDebugReportCallbackEXT")
		if err != nil {
			return err
		}
		a.report = cb
	}
	return nil
}

// createDevice picks the first Vulkan 1.3 device with a compute queue and creates a device with
// one queue of that family, the feature chain vkdep needs linked into the create info.
func (a *app) createDevice() (*vulkango.FeatureChain, *vk.DeviceCreateInfo, error) {
	var count uint32
	if err := check(vk.EnumeratePhysicalDevices(a.inst, &count, nil), "vkEnumeratePhysicalDevices"); err != nil {
		return nil, nil, err
	}
	phys := make([]vk.PhysicalDevice, count)
	if err := check(vk.EnumeratePhysicalDevices(a.inst, &count, phys), "vkEnumeratePhysicalDevices"); err != nil {
		return nil, nil, err
	}
	found := false
	for _, p := range phys {
		var props vk.PhysicalDeviceProperties
		vk.GetPhysicalDeviceProperties(p, &props)
		props.Deref()
		if props.ApiVersion < vk.MakeVersion(1, 3, 0) {
			continue
		}
		var nf uint32
		vk.GetPhysicalDeviceQueueFamilyProperties(p, &nf, nil)
		fams := make([]vk.QueueFamilyProperties, nf)
		vk.GetPhysicalDeviceQueueFamilyProperties(p, &nf, fams)
		for i := range fams {
			fams[i].Deref()
			if fams[i].QueueFlags&vk.QueueFlags(vk.QueueComputeBit) != 0 {
				a.phys, a.family, found = p, uint32(i), true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return nil, nil, fmt.Errorf("no Vulkan 1.3 device with a compute queue")
	}
	chain, err := vulkango.NewFeatureChain(a.phys)
	if err != nil {
		return nil, nil, err
	}
	ci := &vk.DeviceCreateInfo{
		SType:                vk.StructureTypeDeviceCreateInfo,
		QueueCreateInfoCount: 1,
		PQueueCreateInfos: []vk.DeviceQueueCreateInfo{{
			SType: vk.StructureTypeDeviceQueueCreateInfo, QueueFamilyIndex: a.family,
			QueueCount: 1, PQueuePriorities: []float32{1},
		}},
	}
	if err := chain.Link(ci); err != nil {
		chain.Free()
		return nil, nil, err
	}
	var dev vk.Device
	if err := check(vk.CreateDevice(a.phys, ci, nil, &dev), "vkCreateDevice"); err != nil {
		chain.Free()
		return nil, nil, err
	}
	var q vk.Queue
	vk.GetDeviceQueue(dev, a.family, 0, &q)
	a.dev, a.queue = dev, q
	return chain, ci, nil
}

// createResources makes count host-visible storage buffers of n floats (mapped, zeroed), the
// doubling pipeline from vkdep's SAXPY kernel (y = a*x + y with a = 2 and y = 0), a descriptor
// pool and a command pool.
func (a *app) createResources(count int) error {
	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(a.phys, &mp)
	mp.Deref()
	want := vk.MemoryPropertyFlags(vk.MemoryPropertyHostVisibleBit | vk.MemoryPropertyHostCoherentBit)
	for range count {
		var b vk.Buffer
		err := check(vk.CreateBuffer(a.dev, &vk.BufferCreateInfo{
			SType: vk.StructureTypeBufferCreateInfo, Size: vk.DeviceSize(4 * n),
			Usage: vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit), SharingMode: vk.SharingModeExclusive,
		}, nil, &b), "vkCreateBuffer")
		if err != nil {
			return err
		}
		a.bufs = append(a.bufs, b)
		var req vk.MemoryRequirements
		vk.GetBufferMemoryRequirements(a.dev, b, &req)
		req.Deref()
		typ := -1
		for i := range mp.MemoryTypeCount {
			mt := mp.MemoryTypes[i]
			mt.Deref()
			if req.MemoryTypeBits&(1<<i) != 0 && mt.PropertyFlags&want == want {
				typ = int(i)
				break
			}
		}
		if typ < 0 {
			return fmt.Errorf("no host-visible coherent memory type")
		}
		var m vk.DeviceMemory
		err = check(vk.AllocateMemory(a.dev, &vk.MemoryAllocateInfo{
			SType: vk.StructureTypeMemoryAllocateInfo, AllocationSize: req.Size, MemoryTypeIndex: uint32(typ),
		}, nil, &m), "vkAllocateMemory")
		if err != nil {
			return err
		}
		a.mems = append(a.mems, m)
		if err := check(vk.BindBufferMemory(a.dev, b, m, 0), "vkBindBufferMemory"); err != nil {
			return err
		}
		data, err := vulkango.Mapped(a.dev, m, 0, 4*n)
		if err != nil {
			return err
		}
		clear(data)
		a.mapped = append(a.mapped, data)
	}

	k := shaders.SAXPY
	// Every output handle goes through a local: vulkan-go passes the address to C, and cgo's
	// pointer check rejects the address of a field of a struct that holds Go pointers.
	var module vk.ShaderModule
	err := check(vk.CreateShaderModule(a.dev, &vk.ShaderModuleCreateInfo{
		SType: vk.StructureTypeShaderModuleCreateInfo, CodeSize: uint(4 * len(k.SPIRV)), PCode: k.SPIRV,
	}, nil, &module), "vkCreateShaderModule")
	a.module = module
	if err != nil {
		return err
	}
	var binds []vk.DescriptorSetLayoutBinding
	for i := range k.Bindings {
		binds = append(binds, vk.DescriptorSetLayoutBinding{Binding: uint32(i), DescriptorType: vk.DescriptorTypeStorageBuffer,
			DescriptorCount: 1, StageFlags: vk.ShaderStageFlags(vk.ShaderStageComputeBit)})
	}
	var setLay vk.DescriptorSetLayout
	err = check(vk.CreateDescriptorSetLayout(a.dev, &vk.DescriptorSetLayoutCreateInfo{
		SType: vk.StructureTypeDescriptorSetLayoutCreateInfo, BindingCount: uint32(len(binds)), PBindings: binds,
	}, nil, &setLay), "vkCreateDescriptorSetLayout")
	a.setLay = setLay
	if err != nil {
		return err
	}
	var pipeLay vk.PipelineLayout
	err = check(vk.CreatePipelineLayout(a.dev, &vk.PipelineLayoutCreateInfo{
		SType: vk.StructureTypePipelineLayoutCreateInfo, SetLayoutCount: 1, PSetLayouts: []vk.DescriptorSetLayout{a.setLay},
		PushConstantRangeCount: 1, PPushConstantRanges: []vk.PushConstantRange{{
			StageFlags: vk.ShaderStageFlags(vk.ShaderStageComputeBit), Size: k.PushConstants}},
	}, nil, &pipeLay), "vkCreatePipelineLayout")
	a.pipeLay = pipeLay
	if err != nil {
		return err
	}
	pipes := make([]vk.Pipeline, 1)
	err = check(vk.CreateComputePipelines(a.dev, vk.NullPipelineCache, 1, []vk.ComputePipelineCreateInfo{{
		SType: vk.StructureTypeComputePipelineCreateInfo, Layout: a.pipeLay,
		Stage: vk.PipelineShaderStageCreateInfo{SType: vk.StructureTypePipelineShaderStageCreateInfo,
			Stage: vk.ShaderStageComputeBit, Module: a.module, PName: "main\x00"},
	}}, nil, pipes), "vkCreateComputePipelines")
	if err != nil {
		return err
	}
	a.pipeline = pipes[0]
	var descPool vk.DescriptorPool
	err = check(vk.CreateDescriptorPool(a.dev, &vk.DescriptorPoolCreateInfo{
		SType: vk.StructureTypeDescriptorPoolCreateInfo, MaxSets: 8, PoolSizeCount: 1,
		PPoolSizes: []vk.DescriptorPoolSize{{Type: vk.DescriptorTypeStorageBuffer, DescriptorCount: 16}},
	}, nil, &descPool), "vkCreateDescriptorPool")
	a.descPool = descPool
	if err != nil {
		return err
	}
	var cmdPool vk.CommandPool
	err = check(vk.CreateCommandPool(a.dev, &vk.CommandPoolCreateInfo{
		SType: vk.StructureTypeCommandPoolCreateInfo, QueueFamilyIndex: a.family,
	}, nil, &cmdPool), "vkCreateCommandPool")
	a.cmdPool = cmdPool
	return err
}

// record returns one command buffer per {from, to} pair: to = 2*from, then a barrier that makes
// the result visible to the host.
func (a *app) record(pairs [][2]int) ([]vk.CommandBuffer, error) {
	cmds := make([]vk.CommandBuffer, len(pairs))
	err := check(vk.AllocateCommandBuffers(a.dev, &vk.CommandBufferAllocateInfo{
		SType: vk.StructureTypeCommandBufferAllocateInfo, CommandPool: a.cmdPool,
		Level: vk.CommandBufferLevelPrimary, CommandBufferCount: uint32(len(pairs)),
	}, cmds), "vkAllocateCommandBuffers")
	if err != nil {
		return nil, err
	}
	push := make([]byte, 8)
	binary.LittleEndian.PutUint32(push[0:], math.Float32bits(2))
	binary.LittleEndian.PutUint32(push[4:], n)
	for i, p := range pairs {
		var set vk.DescriptorSet
		err := check(vk.AllocateDescriptorSets(a.dev, &vk.DescriptorSetAllocateInfo{
			SType: vk.StructureTypeDescriptorSetAllocateInfo, DescriptorPool: a.descPool,
			DescriptorSetCount: 1, PSetLayouts: []vk.DescriptorSetLayout{a.setLay},
		}, &set), "vkAllocateDescriptorSets")
		if err != nil {
			return nil, err
		}
		var writes []vk.WriteDescriptorSet
		for b, buf := range []vk.Buffer{a.bufs[p[0]], a.bufs[p[1]]} {
			writes = append(writes, vk.WriteDescriptorSet{
				SType: vk.StructureTypeWriteDescriptorSet, DstSet: set, DstBinding: uint32(b),
				DescriptorCount: 1, DescriptorType: vk.DescriptorTypeStorageBuffer,
				PBufferInfo: []vk.DescriptorBufferInfo{{Buffer: buf, Range: vk.DeviceSize(vk.WholeSize)}},
			})
		}
		vk.UpdateDescriptorSets(a.dev, uint32(len(writes)), writes, 0, nil)

		c := cmds[i]
		if err := check(vk.BeginCommandBuffer(c, &vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo}), "vkBeginCommandBuffer"); err != nil {
			return nil, err
		}
		vk.CmdBindPipeline(c, vk.PipelineBindPointCompute, a.pipeline)
		vk.CmdBindDescriptorSets(c, vk.PipelineBindPointCompute, a.pipeLay, 0, 1, []vk.DescriptorSet{set}, 0, nil)
		vk.CmdPushConstants(c, a.pipeLay, vk.ShaderStageFlags(vk.ShaderStageComputeBit), 0, uint32(len(push)), vk.Memview(push))
		vk.CmdDispatch(c, (n+63)/64, 1, 1)
		// Shader writes → host reads after the fence (and → the next job's shader reads, which
		// the semaphore wait between the jobs also orders).
		vk.CmdPipelineBarrier(c, vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit),
			vk.PipelineStageFlags(vk.PipelineStageHostBit|vk.PipelineStageComputeShaderBit), 0,
			1, []vk.MemoryBarrier{{SType: vk.StructureTypeMemoryBarrier,
				SrcAccessMask: vk.AccessFlags(vk.AccessShaderWriteBit),
				DstAccessMask: vk.AccessFlags(vk.AccessHostReadBit | vk.AccessShaderReadBit)}}, 0, nil, 0, nil)
		if err := check(vk.EndCommandBuffer(c), "vkEndCommandBuffer"); err != nil {
			return nil, err
		}
	}
	return cmds, nil
}

func (a *app) destroyResources() {
	if a.cmdPool != nil {
		vk.DestroyCommandPool(a.dev, a.cmdPool, nil)
	}
	if a.descPool != nil {
		vk.DestroyDescriptorPool(a.dev, a.descPool, nil)
	}
	if a.pipeline != nil {
		vk.DestroyPipeline(a.dev, a.pipeline, nil)
	}
	if a.pipeLay != nil {
		vk.DestroyPipelineLayout(a.dev, a.pipeLay, nil)
	}
	if a.setLay != nil {
		vk.DestroyDescriptorSetLayout(a.dev, a.setLay, nil)
	}
	if a.module != nil {
		vk.DestroyShaderModule(a.dev, a.module, nil)
	}
	for i, b := range a.bufs {
		vk.DestroyBuffer(a.dev, b, nil)
		if i < len(a.mems) {
			vk.FreeMemory(a.dev, a.mems[i], nil)
		}
	}
}
