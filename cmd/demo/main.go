// Command demo will be a compositor on vkdep: client queues rendering at their own pace, a
// bypass compositor queue that never waits for them, and a hung client recovered live. Until that
// lands it opens the default device and reports what it found.
package main

import (
	"context"
	"fmt"
	"os"

	"vkdep.dev/vkdep"
)

func main() {
	d, err := vkdep.Open(vkdep.Options{AppName: "vkdep demo"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("device:", d.Info())
	fmt.Println("the compositor demo is not built yet; see the project's issues")
	if err := d.Close(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
