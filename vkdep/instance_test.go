package vkdep_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"vkdep.dev/internal/vk"
	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

// TestX2_hundred_opens_share_one_instance opens and closes a device 100 times in one process. The
// NVIDIA driver refuses vkCreateInstance after about 30 instances in one process, destroyed or
// not: Open shares one VkInstance per configuration.
func TestX2_hundred_opens_share_one_instance(t *testing.T) {
	before := vk.InstancesCreated()
	start := time.Now()
	var inst uint64
	for i := range 100 {
		d, err := vkdep.Open(vkdep.Options{Validate: true, OnValidation: func(m vkdep.ValidationMessage) { t.Errorf("validation: %v", m) }})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		h := d.Handles().Instance
		if i == 0 {
			inst = h
		} else if h != inst {
			t.Fatalf("open %d: instance %#x, want the shared %#x", i, h, inst)
		}
		q, err := d.NewQueue(vkdep.QueueOptions{Name: "open"})
		if err != nil {
			t.Fatal(err)
		}
		f, _ := q.Submit(q.NewJob())
		if err := f.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(context.Background()); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
	}
	t.Logf("100 Open/Close cycles in %v; instances created in the process: %d before, %d after",
		time.Since(start).Round(time.Millisecond), before, vk.InstancesCreated())
	if n := vk.InstancesCreated() - before; n > 1 {
		t.Fatalf("100 opens of one configuration created %d instances", n)
	}
}

// Two devices open at once on one shared instance: a validation message about one reaches that
// device's OnValidation only.
func TestValidationMessagesReachTheirOwnDevice(t *testing.T) {
	a, am := vktest.OpenWith(t, vkdep.Options{})
	b, bm := vktest.OpenWith(t, vkdep.Options{})
	if a.Handles().Instance != b.Handles().Instance {
		t.Fatalf("two opens of one configuration got two instances")
	}
	// A backwards host signal of a's queue's semaphore (vkdep's, so a's): a validation error
	// that names only that semaphore.
	q, err := a.NewQueue(vkdep.QueueOptions{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := q.Submit(q.NewJob())
	waitDone(t, f)
	raw := rawDevice(t, a)
	_ = raw.VK.Signal(vk.Semaphore(q.Semaphore()), 0)
	found := false
	for _, m := range am.Take() {
		t.Logf("a got %v", m)
		found = found || strings.Contains(m.ID, "VUID-VkSemaphoreSignalInfo-value-03258")
	}
	if !found {
		t.Fatal("the device's own message did not reach its OnValidation")
	}
	for _, m := range bm.Take() {
		t.Errorf("b got a's message: %v", m)
	}
	_ = b
}
