package vulkango_test

import (
	"testing"

	vk "github.com/vulkan-go/vulkan"

	"vkdep.dev/vkdep/vulkango"
)

// TestHandleRoundTrip: Handle and As are inverse for every handle type vkdep passes, and
// VK_NULL_HANDLE is 0 both ways. (Non-dispatchable handles are driver-chosen 64-bit values; the
// ones here are never dereferenced.)
func TestHandleRoundTrip(t *testing.T) {
	for _, u := range []uint64{0, 1, 0x10af2b90, 0xc000000000c, 1<<63 | 42} {
		if got := vulkango.Handle(vulkango.As[vk.Semaphore](u)); got != u {
			t.Errorf("Semaphore %#x → %#x", u, got)
		}
		if got := vulkango.Handle(vulkango.As[vk.CommandBuffer](u)); got != u {
			t.Errorf("CommandBuffer %#x → %#x", u, got)
		}
		if got := vulkango.Handle(vulkango.As[vk.Buffer](u)); got != u {
			t.Errorf("Buffer %#x → %#x", u, got)
		}
	}
	if vulkango.As[vk.Queue](0) != nil || vulkango.Handle(vk.NullSemaphore) != 0 {
		t.Error("VK_NULL_HANDLE is not nil/0")
	}
	hs := vulkango.Handles(vulkango.As[vk.CommandBuffer](7), vulkango.As[vk.CommandBuffer](9))
	if len(hs) != 2 || hs[0] != 7 || hs[1] != 9 {
		t.Errorf("Handles = %v", hs)
	}
}

// TestTimelineSubmitCounts: the value arrays always match the semaphore arrays, also when the
// application put binary semaphores into the SubmitInfo before (VUID-VkSubmitInfo-pNext-03240,
// -03241: the layer would report a mismatch in the example otherwise).
func TestTimelineSubmitCounts(t *testing.T) {
	bin := vulkango.As[vk.Semaphore](5)
	si := vk.SubmitInfo{SType: vk.StructureTypeSubmitInfo, WaitSemaphoreCount: 1,
		PWaitSemaphores: []vk.Semaphore{bin}, PWaitDstStageMask: []vk.PipelineStageFlags{1}}
	ts := vulkango.NewTimelineSubmit()
	defer ts.Free()
	ts.Wait(&si, vulkango.As[vk.Semaphore](6), 3, 1)
	ts.Signal(&si, vulkango.As[vk.Semaphore](7), 4)
	if si.WaitSemaphoreCount != 2 || len(si.PWaitDstStageMask) != 2 || si.SignalSemaphoreCount != 1 {
		t.Fatalf("counts: %+v", si)
	}
	if si.PNext == nil {
		t.Fatal("no VkTimelineSemaphoreSubmitInfo chained")
	}
	waits, signals := ts.Values()
	if len(waits) != 2 || waits[0] != 0 || waits[1] != 3 || len(signals) != 1 || signals[0] != 4 {
		t.Fatalf("values: waits %v signals %v", waits, signals)
	}
}
