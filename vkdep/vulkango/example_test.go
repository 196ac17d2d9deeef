package vulkango_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleOutsideModule builds ./example as a user would: a module of its own in a temporary
// directory, requiring vkdep.dev (replaced by this checkout) and vulkan-go at the pinned version,
// then vets it and runs it on the test device with the validation layer on. The application's
// source must not contain "unsafe": every handle crosses between vulkan-go and vkdep through this
// package. The example exits non-zero on any validation message or wrong result.
func TestExampleOutsideModule(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	src, err := os.ReadFile(filepath.Join("example", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(src, []byte("unsafe")) {
		t.Fatal(`example/main.go mentions "unsafe": the application must need no unsafe conversion`)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := `module example.test/app

go 1.26.0

require (
	github.com/vulkan-go/vulkan v0.0.0-20221209234627-c0a353ae26c8
	vkdep.dev v0.0.0
)

replace vkdep.dev => ` + root + "\n"
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// -mod=mod lets the go command complete go.mod/go.sum from the module cache (GOPROXY as
	// configured; nothing is fetched when the cache has vulkan-go, as after `go mod download`).
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	goCmd := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(gobin, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	goCmd("build", "-o", "app", ".")
	goCmd("vet", ".")

	run := exec.Command(filepath.Join(dir, "app"))
	run.Env = append(os.Environ(), "VKDEP_VALIDATE=1")
	out, err := run.CombinedOutput()
	t.Logf("example output:\n%s", out)
	if err != nil {
		t.Fatalf("example failed: %v", err)
	}
	if !strings.Contains(string(out), "\nok\n") && !strings.HasPrefix(string(out), "ok\n") {
		t.Fatalf("example did not print ok")
	}
}
