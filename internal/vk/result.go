package vk

/*
#include <vulkan/vulkan.h>
*/
import "C"

import "strconv"

// Result is a VkResult. As an error it prints the enum's name (VK_ERROR_DEVICE_LOST), so callers
// match it with errors.Is(err, vk.ErrorDeviceLost) or errors.As into a Result.
type Result int32

// The VkResult values vkdep meets, named as in the Vulkan headers.
const (
	Success                                     Result = C.VK_SUCCESS
	NotReady                                    Result = C.VK_NOT_READY
	Timeout                                     Result = C.VK_TIMEOUT
	EventSet                                    Result = C.VK_EVENT_SET
	EventReset                                  Result = C.VK_EVENT_RESET
	Incomplete                                  Result = C.VK_INCOMPLETE
	ErrorOutOfHostMemory                        Result = C.VK_ERROR_OUT_OF_HOST_MEMORY
	ErrorOutOfDeviceMemory                      Result = C.VK_ERROR_OUT_OF_DEVICE_MEMORY
	ErrorInitializationFailed                   Result = C.VK_ERROR_INITIALIZATION_FAILED
	ErrorDeviceLost                             Result = C.VK_ERROR_DEVICE_LOST
	ErrorMemoryMapFailed                        Result = C.VK_ERROR_MEMORY_MAP_FAILED
	ErrorLayerNotPresent                        Result = C.VK_ERROR_LAYER_NOT_PRESENT
	ErrorExtensionNotPresent                    Result = C.VK_ERROR_EXTENSION_NOT_PRESENT
	ErrorFeatureNotPresent                      Result = C.VK_ERROR_FEATURE_NOT_PRESENT
	ErrorIncompatibleDriver                     Result = C.VK_ERROR_INCOMPATIBLE_DRIVER
	ErrorTooManyObjects                         Result = C.VK_ERROR_TOO_MANY_OBJECTS
	ErrorFormatNotSupported                     Result = C.VK_ERROR_FORMAT_NOT_SUPPORTED
	ErrorFragmentedPool                         Result = C.VK_ERROR_FRAGMENTED_POOL
	ErrorUnknown                                Result = C.VK_ERROR_UNKNOWN
	ErrorOutOfPoolMemory                        Result = C.VK_ERROR_OUT_OF_POOL_MEMORY
	ErrorInvalidExternalHandle                  Result = C.VK_ERROR_INVALID_EXTERNAL_HANDLE
	ErrorFragmentation                          Result = C.VK_ERROR_FRAGMENTATION
	ErrorInvalidOpaqueCaptureAddress            Result = C.VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS
	PipelineCompileRequired                     Result = C.VK_PIPELINE_COMPILE_REQUIRED
	ErrorSurfaceLostKHR                         Result = C.VK_ERROR_SURFACE_LOST_KHR
	ErrorNativeWindowInUseKHR                   Result = C.VK_ERROR_NATIVE_WINDOW_IN_USE_KHR
	SuboptimalKHR                               Result = C.VK_SUBOPTIMAL_KHR
	ErrorOutOfDateKHR                           Result = C.VK_ERROR_OUT_OF_DATE_KHR
	ErrorIncompatibleDisplayKHR                 Result = C.VK_ERROR_INCOMPATIBLE_DISPLAY_KHR
	ErrorValidationFailedEXT                    Result = C.VK_ERROR_VALIDATION_FAILED_EXT
	ErrorInvalidShaderNV                        Result = C.VK_ERROR_INVALID_SHADER_NV
	ErrorImageUsageNotSupportedKHR              Result = C.VK_ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR
	ErrorVideoPictureLayoutNotSupportedKHR      Result = C.VK_ERROR_VIDEO_PICTURE_LAYOUT_NOT_SUPPORTED_KHR
	ErrorVideoProfileOperationNotSupportedKHR   Result = C.VK_ERROR_VIDEO_PROFILE_OPERATION_NOT_SUPPORTED_KHR
	ErrorVideoProfileFormatNotSupportedKHR      Result = C.VK_ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR
	ErrorVideoProfileCodecNotSupportedKHR       Result = C.VK_ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR
	ErrorVideoStdVersionNotSupportedKHR         Result = C.VK_ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR
	ErrorInvalidDRMFormatModifierPlaneLayoutEXT Result = C.VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT
	ErrorNotPermittedKHR                        Result = C.VK_ERROR_NOT_PERMITTED_KHR
	ErrorFullScreenExclusiveModeLostEXT         Result = C.VK_ERROR_FULL_SCREEN_EXCLUSIVE_MODE_LOST_EXT
	ThreadIdleKHR                               Result = C.VK_THREAD_IDLE_KHR
	ThreadDoneKHR                               Result = C.VK_THREAD_DONE_KHR
	OperationDeferredKHR                        Result = C.VK_OPERATION_DEFERRED_KHR
	OperationNotDeferredKHR                     Result = C.VK_OPERATION_NOT_DEFERRED_KHR
	ErrorCompressionExhaustedEXT                Result = C.VK_ERROR_COMPRESSION_EXHAUSTED_EXT
)

var resultNames = map[Result]string{
	Success:                                     "VK_SUCCESS",
	NotReady:                                    "VK_NOT_READY",
	Timeout:                                     "VK_TIMEOUT",
	EventSet:                                    "VK_EVENT_SET",
	EventReset:                                  "VK_EVENT_RESET",
	Incomplete:                                  "VK_INCOMPLETE",
	ErrorOutOfHostMemory:                        "VK_ERROR_OUT_OF_HOST_MEMORY",
	ErrorOutOfDeviceMemory:                      "VK_ERROR_OUT_OF_DEVICE_MEMORY",
	ErrorInitializationFailed:                   "VK_ERROR_INITIALIZATION_FAILED",
	ErrorDeviceLost:                             "VK_ERROR_DEVICE_LOST",
	ErrorMemoryMapFailed:                        "VK_ERROR_MEMORY_MAP_FAILED",
	ErrorLayerNotPresent:                        "VK_ERROR_LAYER_NOT_PRESENT",
	ErrorExtensionNotPresent:                    "VK_ERROR_EXTENSION_NOT_PRESENT",
	ErrorFeatureNotPresent:                      "VK_ERROR_FEATURE_NOT_PRESENT",
	ErrorIncompatibleDriver:                     "VK_ERROR_INCOMPATIBLE_DRIVER",
	ErrorTooManyObjects:                         "VK_ERROR_TOO_MANY_OBJECTS",
	ErrorFormatNotSupported:                     "VK_ERROR_FORMAT_NOT_SUPPORTED",
	ErrorFragmentedPool:                         "VK_ERROR_FRAGMENTED_POOL",
	ErrorUnknown:                                "VK_ERROR_UNKNOWN",
	ErrorOutOfPoolMemory:                        "VK_ERROR_OUT_OF_POOL_MEMORY",
	ErrorInvalidExternalHandle:                  "VK_ERROR_INVALID_EXTERNAL_HANDLE",
	ErrorFragmentation:                          "VK_ERROR_FRAGMENTATION",
	ErrorInvalidOpaqueCaptureAddress:            "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS",
	PipelineCompileRequired:                     "VK_PIPELINE_COMPILE_REQUIRED",
	ErrorSurfaceLostKHR:                         "VK_ERROR_SURFACE_LOST_KHR",
	ErrorNativeWindowInUseKHR:                   "VK_ERROR_NATIVE_WINDOW_IN_USE_KHR",
	SuboptimalKHR:                               "VK_SUBOPTIMAL_KHR",
	ErrorOutOfDateKHR:                           "VK_ERROR_OUT_OF_DATE_KHR",
	ErrorIncompatibleDisplayKHR:                 "VK_ERROR_INCOMPATIBLE_DISPLAY_KHR",
	ErrorValidationFailedEXT:                    "VK_ERROR_VALIDATION_FAILED_EXT",
	ErrorInvalidShaderNV:                        "VK_ERROR_INVALID_SHADER_NV",
	ErrorImageUsageNotSupportedKHR:              "VK_ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR",
	ErrorVideoPictureLayoutNotSupportedKHR:      "VK_ERROR_VIDEO_PICTURE_LAYOUT_NOT_SUPPORTED_KHR",
	ErrorVideoProfileOperationNotSupportedKHR:   "VK_ERROR_VIDEO_PROFILE_OPERATION_NOT_SUPPORTED_KHR",
	ErrorVideoProfileFormatNotSupportedKHR:      "VK_ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR",
	ErrorVideoProfileCodecNotSupportedKHR:       "VK_ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR",
	ErrorVideoStdVersionNotSupportedKHR:         "VK_ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR",
	ErrorInvalidDRMFormatModifierPlaneLayoutEXT: "VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT",
	ErrorNotPermittedKHR:                        "VK_ERROR_NOT_PERMITTED_KHR",
	ErrorFullScreenExclusiveModeLostEXT:         "VK_ERROR_FULL_SCREEN_EXCLUSIVE_MODE_LOST_EXT",
	ThreadIdleKHR:                               "VK_THREAD_IDLE_KHR",
	ThreadDoneKHR:                               "VK_THREAD_DONE_KHR",
	OperationDeferredKHR:                        "VK_OPERATION_DEFERRED_KHR",
	OperationNotDeferredKHR:                     "VK_OPERATION_NOT_DEFERRED_KHR",
	ErrorCompressionExhaustedEXT:                "VK_ERROR_COMPRESSION_EXHAUSTED_EXT",
}

// String returns the VkResult's enum name, or VkResult(N) for a value this binding does not know.
func (r Result) String() string {
	if s, ok := resultNames[r]; ok {
		return s
	}
	return "VkResult(" + strconv.Itoa(int(r)) + ")"
}

// Error returns the enum name.
func (r Result) Error() string { return r.String() }

// result turns a VkResult into an error: nil for VK_SUCCESS, the Result otherwise.
func result(r C.VkResult) error {
	if r == C.VK_SUCCESS {
		return nil
	}
	return Result(r)
}
