package vkdep

import (
	"fmt"
	"strings"

	"vkdep.dev/internal/vk"
)

// openFeatures resolves Options.Features for the chosen physical device: nil when there are
// none, else a set the caller frees after vkCreateDevice. A name that is no core feature, or a
// feature the device lacks, is an error matching ErrMissingFeature that names it, since enabling
// an unsupported feature is invalid (VUID-VkDeviceCreateInfo-pNext-pNext and the per-struct
// "must be supported" rules) and a driver may fail vkCreateDevice with a bare
// VK_ERROR_FEATURE_NOT_PRESENT that names nothing.
func openFeatures(p vk.PhysicalInfo, names []string) (*vk.FeatureSet, error) {
	if len(names) == 0 {
		return nil, nil
	}
	fs, err := vk.NewFeatureSet(names)
	if err != nil {
		return nil, fmt.Errorf("%w: Options.Features: %w", ErrMissingFeature, err)
	}
	if missing := fs.Missing(p); len(missing) > 0 {
		fs.Free()
		return nil, fmt.Errorf("%w: %s does not support %s (Options.Features)", ErrMissingFeature, p.Name,
			strings.Join(missing, ", "))
	}
	return fs, nil
}
