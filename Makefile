# vkdep — make bench (the main job) and make test (what CI runs) do their own set-up on a fresh
# Debian 12 machine: `make deps` installs whatever Debian package of third_party/debian-packages.txt
# is missing (apt-get, through sudo when not root; nothing when all are present).

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

GO       ?= go
PACKAGES := $(shell sed -e 's/\#.*//' third_party/debian-packages.txt)
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
KERNELS  := $(wildcard shaders/*.comp)

.PHONY: all bench test deps shaders vet staticcheck gotest schedules benchcheck soak demo clean

all: bench

## bench: the benchmark suite on the default device (a GPU when present, else lavapipe).
bench: deps
	$(GO) run ./cmd/bench $(BENCHFLAGS)

## test: vet, staticcheck, the whole suite with -race and the validation layer on, then the
## 1000 random fault schedules (without -race, which would make them take ten times longer) and
## the benchmark suite's -quick run (results checked, JSON, gobench lines and SVG parsed back), and
## the GPU bundle with a short run of scripts/gpu-run.sh on this machine's device (gpucheck).
test: deps vet staticcheck gotest schedules benchcheck gpucheck

# Debian 12's golang-go is Go 1.19, which cannot read go.mod's tool line: make deps says so
# instead of the go command's parse error. Go 1.21 and later fetch the Go that go.mod names
# themselves (GOTOOLCHAIN=auto).
deps:
	@command -v $(GO) >/dev/null || { echo "make deps: Go 1.26 is needed (https://go.dev/dl)"; exit 1; }
	@v=$$($(GO) env GOVERSION 2>/dev/null); case $$v in go1.2[1-9]* | go1.[3-9][0-9]* ) ;; \
		*) echo "make deps: Go 1.26 is needed (https://go.dev/dl), $(GO) is $${v:-unknown}"; exit 1 ;; esac
	@missing=$$(for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing" $$missing; \
		log=$$(mktemp); \
		{ $(SUDO) apt-get update -qq && \
		  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		} >$$log 2>&1 || { cat $$log; echo "make deps: apt-get failed"; exit 1; }; \
		rm -f $$log; \
	fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

# CI (set by the CI runner) makes a missing Vulkan device a failure in every test; the suite
# always runs with the Khronos validation layer and fails on any message.
# The core behaviour tests also run under each completion waiter (VKDEP_WAITER, F3) and each way
# of ordering a queue on the GPU (VKDEP_ORDER, D3) forced: Open picks both per driver, so the
# default run alone would only ever test one of each.
CORETESTS := TestSemantics|TestBlame|TestClose|TestHostTimeline|TestFaults|TestWrap|TestExternalSemaphore|TestSkippedJob|TestWaitSubmitted|TestIdleDeviceCostsNoCPU

gotest:
	VKDEP_VALIDATE=1 $(GO) test -race -short -count=1 -timeout 30m ./...
	VKDEP_VALIDATE=1 VKDEP_WAITER=any VKDEP_ORDER=submission $(GO) test -race -short -count=1 -timeout 30m -run '$(CORETESTS)' ./vkdep/
	VKDEP_VALIDATE=1 VKDEP_WAITER=single VKDEP_ORDER=semaphore $(GO) test -race -short -count=1 -timeout 30m -run '$(CORETESTS)' ./vkdep/

schedules:
	VKDEP_VALIDATE=1 VKDEP_SCHEDULES=1000 $(GO) test -count=1 -timeout 30m -run 'TestSchedules' -v ./vkdep/ | grep -E '^(---|ok|FAIL|PASS)|schedules in|seed'

benchcheck:
	$(GO) test -count=1 -run TestQuickSuite ./cmd/bench/

## soak: a million jobs over four queues; heap and goroutines at start and end.
soak: deps
	VKDEP_SOAK=$${VKDEP_SOAK:-1000000} $(GO) test -count=1 -timeout 60m -run TestSoak -v ./vkdep/

## demo: the compositor demo; in a window when there is a display, else headless to out/demo/.
## DEMOFLAGS adds flags (e.g. DEMOFLAGS="-hang-at 60" to hang a client at frame 60).
demo: deps
	@if [ -n "$$DISPLAY" ]; then \
		echo "make demo: DISPLAY=$$DISPLAY is set: windowed (keys: H hang a client, K kill one, P pause, Esc quit)"; \
		$(GO) run ./cmd/demo $(DEMOFLAGS); \
	else \
		echo "make demo: no DISPLAY: headless, 120 frames to out/demo/ (run under xvfb-run for the window)"; \
		$(GO) run ./cmd/demo -headless -frames 120 -save-every 10 -hang-at 40 -out out/demo $(DEMOFLAGS); \
	fi

## gpu-bundle: build into .gpu/ everything a run on a GPU machine without Go, Vulkan loader or X
## libraries needs (binaries, test binaries, testdata, the demo's X libraries), and download the
## Vulkan loader, glvnd and validation-layer debs into .gl/ (a warning when offline); both are
## git-ignored and fit the 64 MiB a visit to the GPU machine carries. scripts/gpu-run.sh runs it
## there: README, "On a GPU machine".
.PHONY: gpu-bundle gpucheck
gpu-bundle: deps
	GO=$(GO) scripts/gpu-bundle.sh

## gpucheck: make gpu-bundle, then scripts/gpu-run.sh -short on this machine's device (lavapipe
## here): every step of the GPU run, smaller, so neither the bundle nor the script rots.
gpucheck: gpu-bundle
	scripts/gpu-run.sh -short

## shaders: recompile the committed SPIR-V from the GLSL sources.
shaders: $(KERNELS:.comp=.spv)

# -Ishaders: kernels include shaders/vkdep_abort.glsl (the abort-word poll, docs/ABORT.md).
shaders/%.spv: shaders/%.comp shaders/vkdep_abort.glsl
	glslc -std=450 --target-env=vulkan1.2 -O -Ishaders -o $@ $<

clean:
	$(GO) clean -testcache
