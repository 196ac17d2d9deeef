package vk

/*
#include <stdlib.h>
#include "corefeatures.h"
*/
import "C"

import (
	"fmt"
	"slices"
	"unsafe"
)

// FeatureSet is a set of core Vulkan features (1.0 to 1.3) named as the Vulkan headers name the
// members of VkPhysicalDeviceFeatures and VkPhysicalDeviceVulkan11/12/13Features
// ("shaderInt64", "bufferDeviceAddress", "maintenance4"), kept in C memory so that a
// VkDeviceCreateInfo can point at it (cgo forbids C memory pointing into Go memory). Free it when
// the device has been created.
type FeatureSet struct {
	c     *C.vkdep_features
	names []string
}

// ErrUnknownFeature is wrapped by NewFeatureSet for a name that is no core feature.
var ErrUnknownFeature = fmt.Errorf("vk: unknown Vulkan feature")

// NewFeatureSet resolves names. An unknown name is an error naming it.
func NewFeatureSet(names []string) (*FeatureSet, error) {
	s := &FeatureSet{c: (*C.vkdep_features)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vkdep_features{}))))}
	C.vkdep_features_init(s.c)
	for _, n := range names {
		if err := s.Add(n); err != nil {
			s.Free()
			return nil, err
		}
	}
	return s, nil
}

func find(name string) C.int {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.vkdep_feature_find(cs)
}

// Add adds the named feature.
func (s *FeatureSet) Add(name string) error {
	i := find(name)
	if i < 0 {
		return fmt.Errorf("%w %q: name a member of VkPhysicalDeviceFeatures or VkPhysicalDeviceVulkan11/12/13Features, spelled as in the Vulkan headers", ErrUnknownFeature, name)
	}
	C.vkdep_feature_set(s.c, i)
	if !slices.Contains(s.names, name) {
		s.names = append(s.names, name)
	}
	return nil
}

// Names lists the features added, in the order added.
func (s *FeatureSet) Names() []string { return slices.Clone(s.names) }

// FeatureVersion is the Vulkan core version a known feature belongs to (10, 11, 12 or 13), or 0.
func FeatureVersion(name string) int {
	i := find(name)
	if i < 0 {
		return 0
	}
	return []int{10, 11, 12, 13}[C.vkdep_feature_block(i)]
}

// Missing returns the features of s that the physical device does not support, with the
// version each needs. A feature of a core version above the device's is missing too: its
// struct may not even be chained there.
func (s *FeatureSet) Missing(p PhysicalInfo) []string {
	// C memory: the query links the blocks to each other through pNext, and Go memory handed to
	// C may not end up holding Go pointers.
	have := (*C.vkdep_features)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vkdep_features{}))))
	defer C.free(unsafe.Pointer(have))
	C.vkdep_features_query(C.uint64_t(p.Handle), C.uint32_t(p.APIVersion), have)
	var out []string
	for _, n := range s.names {
		if C.vkdep_feature_get(have, find(n)) == 0 {
			out = append(out, fmt.Sprintf("%s (Vulkan %d.%d)", n, FeatureVersion(n)/10, FeatureVersion(n)%10))
		}
	}
	return out
}

// Used reports whether any feature of core version v (10, 11, 12, 13) is in the set.
func (s *FeatureSet) Used(v int) bool {
	return C.vkdep_features_used(s.c, C.int(v-10)) != 0
}

// Chain links the blocks of the set that hold a feature (and the 1.2 and 1.3 blocks when always
// is set, for timelineSemaphore and synchronization2) into a pNext chain ending at tail, and
// returns its head, in C memory that stays valid until Free.
func (s *FeatureSet) Chain(tail unsafe.Pointer, always bool) unsafe.Pointer {
	b := func(v int) C.int {
		if s.Used(v) || (always && v >= 12) {
			return 1
		}
		return 0
	}
	return C.vkdep_features_chain(s.c, b(10), b(11), b(12), b(13), tail)
}

// Free releases the C memory. The set must not be used afterwards.
func (s *FeatureSet) Free() {
	if s != nil && s.c != nil {
		C.free(unsafe.Pointer(s.c))
		s.c = nil
	}
}
