#!/usr/bin/env bash
# make gpu-bundle: builds into .gpu/ everything scripts/gpu-run.sh needs on a machine that has a
# GPU but no Go, no Vulkan loader and no X libraries (../docs/BENCHMARKS.md, "GPU figures"), and
# downloads the Debian Vulkan loader, glvnd and validation-layer debs into .gl/. Both folders are
# git-ignored; a visit to the GPU machine carries them (64 MiB in all: binaries are stripped).
#
# .gpu/bin/      bench, demo; the test binary of every package with tests (vkdep also with -race)
# .gpu/lib/      the shared libraries cmd/demo links that such a machine lacks (X11 and friends)
# .gpu/tree/     the files the test binaries read from their package folder, at its path
# .gl/           *.deb, unpacked by gpu-run.sh only where libvulkan.so.1 is missing
#
# Offline (CI without network): the debs are optional. When apt-get cannot fetch them, a warning
# says so and the bundle still runs wherever a Vulkan loader is installed (this machine, CI);
# a GPU machine without a loader then needs `make gpu-bundle` again from a machine with network.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
B=.gpu
rm -rf "$B/bin" "$B/lib" "$B/tree"
mkdir -p "$B/bin" "$B/lib" "$B/tree"

# -s -w drops the ELF symbol table and DWARF: the binaries shrink by about a third and Go's own
# tracebacks (pclntab) still name functions and lines.
ld=("-ldflags=-s -w")
"$GO" build "${ld[@]}" -o "$B/bin/" ./cmd/bench ./cmd/demo
for pkg in $("$GO" list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do
	name=$(basename "$pkg")
	"$GO" test -c "${ld[@]}" -o "$B/bin/$name.test" "$pkg"
	# What a test opens relative to its folder, at the same path under .gpu/tree: testdata/, and
	# the shaders' sources and SPIR-V (TestSPIRVUpToDate compiles from the folder above).
	rel=$(realpath --relative-to=. "$("$GO" list -f '{{.Dir}}' "$pkg")")
	mkdir -p "$B/tree/$rel"
	[ -d "$rel/testdata" ] && cp -r "$rel/testdata" "$B/tree/$rel/"
	if compgen -G "$rel/*.spv" >/dev/null; then cp "$rel"/*.spv "$rel"/*.comp "$rel"/*.glsl "$B/tree/$rel/"; fi
done
"$GO" test -c -race "${ld[@]}" -o "$B/bin/vkdep.race.test" ./vkdep

# cmd/demo links libX11 and friends. glibc (newer there), the Vulkan loader (from .gl or the
# machine) and the GL/glvnd libraries (the driver's own must be used) stay behind.
for bin in "$B/bin/demo" "$B/bin/demo.test"; do
	ldd "$bin" | awk '/=> \//{print $3}'
done | sort -u | grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*|libvulkan|libGL[^/]*|libGLX[^/]*|libGLdispatch|libEGL[^/]*|libOpenGL)\.so' |
	while read -r l; do cp -L "$l" "$B/lib/"; done

# The Vulkan loader and glvnd (the NVIDIA ICD loads libGLX_nvidia through them) and the Khronos
# validation layer, for amd64, with a private package list so the system's apt state is untouched.
debs=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 vulkan-validationlayers)
have=1
for p in "${debs[@]}"; do compgen -G ".gl/${p}_*.deb" >/dev/null || have=0; done
if [ $have = 0 ]; then
	lists=${TMPDIR:-/tmp}/vkdep-gl-lists
	mkdir -p .gl "$lists/partial" "$lists/cache/archives/partial"
	# Private lists and cache: no root needed, the system's apt state untouched; no retries, so an
	# offline machine gives up at once.
	o=(-q -oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists" "-oDir::Cache=$lists/cache"
		-oDebug::NoLocking=1 -oAcquire::Retries=0 -oAcquire::http::Timeout=10)
	if apt-get "${o[@]}" update >"$lists/log" 2>&1 && (cd .gl && apt-get "${o[@]}" download "${debs[@]}") >>"$lists/log" 2>&1; then
		echo "gpu-bundle: downloaded $(ls .gl/*.deb | wc -l) debs into .gl/"
	else
		tail -n 5 "$lists/log" >&2
		echo "gpu-bundle: WARNING: could not download the Vulkan loader debs into .gl/ (offline?)." >&2
		echo "gpu-bundle: the bundle runs where libvulkan.so.1 is installed; a GPU machine without one needs .gl/." >&2
	fi
fi

du -sh "$B" .gl 2>/dev/null | sed 's/^/gpu-bundle: /'
total=$(du -sck "$B" .gl 2>/dev/null | awk 'END{print $1}')
echo "gpu-bundle: $((total / 1024)) MiB to carry (.gpu and .gl; a visit carries at most 64 MiB with the tree)"
if [ "$total" -gt $((56 * 1024)) ]; then
	echo "gpu-bundle: too big to carry beside the working tree" >&2
	exit 1
fi
