package vkdep

import (
	"errors"
	"fmt"
	"slices"

	"vkdep.dev/internal/vk"
)

// Global priority (H5). vkdep's arbiter orders the queues that share a VkQueue; between VkQueues
// only the driver and the GPU decide. Where the device offers VK_KHR_global_priority (or the EXT),
// Open creates the queues of one family at a higher global priority and places high and realtime
// queues there, so the GPU itself favours them. Vulkan takes one VkDeviceQueueCreateInfo per
// family, and so one priority per family: vkdep raises a family that can compute and is not the
// graphics family (an H200's 8 compute queues, say), leaving the graphics family for normal work.
// Raising a priority may need privileges: VK_ERROR_NOT_PERMITTED is a normal answer, after which
// the device is created at the default priority and DeviceInfo.GlobalPriority says so.

// createDevice creates the device with the queues reqs, with a raised global priority on one
// family where the device allows it. It returns the raised family (-1 for none) and a report for
// DeviceInfo.GlobalPriority.
func createDevice(p vk.PhysicalInfo, reqs []vk.QueueRequest, exts []string, feats *vk.FeatureSet) (*vk.Device, int, string, error) {
	ext := vk.GlobalPriorityExtension(p)
	if ext == "" {
		dev, err := vk.CreateDevice(p, reqs, exts, feats)
		return dev, -1, "not supported: the device has neither VK_KHR_global_priority nor VK_EXT_global_priority; priorities are vkdep's own (H1–H3)", err
	}
	raise := -1
	for i, r := range reqs {
		f := familyFlags(p, r.Family)
		if f&vk.QueueCompute != 0 && f&vk.QueueGraphics == 0 && (raise < 0 || r.Count > reqs[raise].Count) {
			raise = i
		}
	}
	if raise < 0 {
		dev, err := vk.CreateDevice(p, reqs, exts, feats)
		return dev, -1, fmt.Sprintf("%s offered, but no compute family besides the graphics one to raise (one priority per family); priorities are vkdep's own (H1–H3)", ext), err
	}
	raised := slices.Clone(reqs)
	raised[raise].GlobalPriority = vk.GlobalPriorityHigh
	withExt := exts
	if !slices.Contains(exts, ext) {
		withExt = append(slices.Clone(exts), ext)
	}
	dev, err := vk.CreateDevice(p, raised, withExt, feats)
	if err == nil {
		return dev, int(reqs[raise].Family), fmt.Sprintf("high on family %d (%d VkQueues, %s), for high and realtime queues",
			reqs[raise].Family, reqs[raise].Count, ext), nil
	}
	why := "refused"
	if errors.Is(err, vk.ErrorNotPermittedKHR) {
		why = "not permitted"
	}
	dev, err2 := vk.CreateDevice(p, reqs, exts, feats)
	return dev, -1, fmt.Sprintf("%s: high on family %d %s (%v); every VkQueue at the default priority, priorities are vkdep's own (H1–H3)",
		ext, reqs[raise].Family, why, err), err2
}

// onlyRaised narrows the VkQueues the default placement may pick to those of q's kind on a
// device with raised VkQueues (H5): raised ones for high and realtime queues, the others for the
// rest. Where that leaves none (a device with no raised compute VkQueue, or all of one kind
// held Exclusive), v is returned as it was.
func (v placeView) onlyRaised(d *Device, p Priority) placeView {
	if !slices.ContainsFunc(d.hw, func(h *hwQueue) bool { return h.raised }) {
		return v
	}
	want := p >= PriorityHigh
	out := placeView{vkqs: make([]vkqView, len(v.vkqs))}
	any := false
	for i, h := range v.vkqs {
		out.vkqs[i] = h
		if d.hw[i].raised != want {
			out.vkqs[i].compute = false // not a candidate
		} else if h.compute && !h.exclusive {
			any = true
		}
	}
	if !any {
		return v
	}
	return out
}

// Raised reports whether the queue's VkQueue was created with a raised global priority (H5).
func (q *Queue) Raised() bool {
	// q.hw under q.mu, as in VkQueue: a move (H4, placement.go) writes it under q.mu.
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.hw.raised
}
