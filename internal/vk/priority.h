#pragma once
#include <stdint.h>

int vkdep_device_has_extension(uint64_t phys, const char *name);
