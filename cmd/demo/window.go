package main

import (
	"errors"

	"vkdep.dev/vkdep"
)

func runWindow(opts vkdep.Options, cfg Config, f flags) error {
	return errors.New("windowed mode not yet built")
}
