#!/usr/bin/env bash
# scripts/gpu-run.sh [-short]: runs what `make gpu-bundle` built (.gpu/, .gl/) on whatever Vulkan
# device the machine has (the NVIDIA GPU when its ICD is found), from the repository root:
#
#   1 bench      the benchmark suite, alone on the machine (table, JSON, SVG), then its hang
#                workload alone (what a hung job costs bystanders, T4/T5/T7, with a job trace)
#   2 idle       the CPU an idle Device costs, with 0 and with 4 queues (bench -workload idle)
#   3 suites     every test binary side by side, validation on (VKDEP_VALIDATE=1, CI=true)
#   4 schedules  the random fault schedules (500, in 4 processes), beside step 3; then the hang
#                workload under validation, alone (issue 16: is the timeout late there?)
#   5 demo       cmd/demo headless with a hung client
#   6 gobench    the library's Go benchmarks
#
# Each step has its own timeout; the full run fits in 8 minutes on the NVIDIA H200 machine
# (../shared GPU.md), where one validated device open costs ~5 s. -short (or GPU_RUN_SHORT=1)
# runs a slice of each step in a minute or two on lavapipe: `make test` runs it so the bundle and
# this script cannot rot. Logs go to $OUT (default ./out/gpu-run) after every step, so a run cut
# short still returns what it did; at most 8 files: run.log (steps and the summary table),
# bench.txt, bench.json, bench.svg, demo-last.png and logs.tar.gz (every step's full log).
# The exit status is 0 when every step's was.
#
# Environment: OUT, GPU_RUN_SHORT=1, GPU_RUN_SCHEDULES (default 500, 20 with -short),
# GPU_BUNDLE (default .gpu), GPU_DEBS (default .gl), VKDEP_DEVICE (passed through).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
short=${GPU_RUN_SHORT:-0}
for a in "$@"; do
	case $a in
	-short | --short) short=1 ;;
	*) echo "usage: $0 [-short]" >&2; exit 2 ;;
	esac
done
G=$(cd "${GPU_BUNDLE:-.gpu}" 2>/dev/null && pwd) || { echo "gpu-run: no bundle: run make gpu-bundle first" >&2; exit 1; }
GL=${GPU_DEBS:-.gl}
OUT=${OUT:-$ROOT/out/gpu-run}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/gpu-run.XXXXXX")
LOG=$W/run.log
T0=$(date +%s%N)

say() { echo "== $(date -u +%T) $*" | tee -a "$LOG"; }
# sync copies the log and a tarball of every step's log to $OUT (a run cut short keeps them).
sync_out() {
	cp "$LOG" "$OUT/run.log"
	tar -C "$W" -czf "$OUT/logs.tar.gz.part" --exclude demo-out --exclude 'dir-*' . 2>/dev/null &&
		mv "$OUT/logs.tar.gz.part" "$OUT/logs.tar.gz"
}

# Short mode keeps the shape of every step with less work in it.
if [ "$short" = 1 ]; then
	mode=short
	t_bench=60 t_hang=30 t_idle=20 t_suite=150 t_sched=150 t_demo=60 t_gobench=60
	bench_flags=(-quick)
	schedules=${GPU_RUN_SCHEDULES:-20}
	# The vkdep -short suite on its shared device; a slice of it with -race (make test has run
	# every test with -race already).
	vkdep_shards=(all:.) # on lavapipe one process holds any number of VkInstances
	race_shards=('slice:TestOpenReportsDevice|TestSemantics/(L1|D4|O3)_|TestHostTimeline|TestFaults/T5_')
	sched_shards=1
	run_demo='TestHeadlessGolden|TestGolden'
	demo_flags=(-frames 40 -save-every 20 -hang-at 10)
	gobench='Benchmark(RawSubmit|PushBypass|CrossQueueChain)$' benchtime=200x
else
	mode=full
	t_bench=90 t_hang=45 t_idle=20 t_suite=200 t_sched=200 t_demo=45 t_gobench=60
	bench_flags=()
	schedules=${GPU_RUN_SCHEDULES:-500}
	# The NVIDIA driver refuses more than ~30 VkInstances in one process. The vkdep suite creates
	# about 29 through vkdep.Open besides the shared device's and ~18 through extdev (the wrap
	# tests' application device), so it runs as three processes (~10, ~19 and ~18), and the
	# schedules as four (each ~8 devices). TestSchedules is step 4.
	a='TestSemantics|TestFaults|TestBadInput|TestClose'
	c='TestWrap.*|TestExternalSemaphore|TestSkippedJobPassesSemaphores|ExampleWrap'
	vkdep_shards=("a:^($a)\$" "b:!^($a|$c)\$" "c:^($c)\$")
	race_shards=("${vkdep_shards[@]}")
	sched_shards=4
	run_demo=.
	demo_flags=(-frames 120 -save-every 40 -hang-at 40)
	gobench=. benchtime=500ms # a fixed count would not fit: Kill10k takes ~25 ms per op on lavapipe
fi

say "gpu-run ($mode): bundle $G, logs $OUT, work $W"
{ uname -srm; head -n 2 /etc/os-release; echo "cores: $(nproc)"; } >>"$LOG" 2>&1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >>"$LOG" 2>&1

# The Vulkan loader: a machine without libvulkan.so.1 (the GPU machine) gets Debian's, and glvnd
# and the validation layer, unpacked into / from .gl. A machine that has one (this development
# machine, CI) is never touched.
# What the dynamic linker finds for the bundle's own binary decides (ldconfig may be off PATH).
if ldd "$G/bin/bench" 2>/dev/null | grep -q 'libvulkan\.so\.1 => not found'; then
	if ! compgen -G "$GL/*.deb" >/dev/null; then
		say "no libvulkan.so.1 here and no $GL/*.deb: run make gpu-bundle where apt-get can download them"
		sync_out
		exit 1
	fi
	if [ "$(id -u)" != 0 ]; then
		say "no libvulkan.so.1 here, and unpacking $GL/*.deb into / needs root"
		sync_out
		exit 1
	fi
	for f in "$GL"/*.deb; do dpkg -x "$f" /; done
	ldconfig
	say "unpacked $(ls "$GL"/*.deb | wc -l) debs from $GL into /"
fi
# The NVIDIA ICD: the loader finds it in the standard folders; that machine keeps it under
# /usr/local/nvidia. Without one the loader picks whatever device there is (lavapipe here).
if [ -z "${VK_DRIVER_FILES:-}" ] && ! compgen -G '/usr/share/vulkan/icd.d/*nvidia*' >/dev/null &&
	! compgen -G '/etc/vulkan/icd.d/*nvidia*' >/dev/null; then
	for j in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/etc/vulkan/icd.d/nvidia_icd.json; do
		[ -f "$j" ] && export VK_DRIVER_FILES=$j && break
	done
fi
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset} VKDEP_DEVICE=${VKDEP_DEVICE:-unset}"
sync_out

# run_step NAME LIMIT DIR CMD...: runs CMD in $W/DIR (made if missing) under timeout, logging to
# $W/NAME.log, and leaves its exit status and wall seconds beside the log for record.
run_step() {
	local name=$1 limit=$2 dir=$3
	shift 3
	mkdir -p "$W/$dir"
	local t0
	t0=$(date +%s%N)
	(cd "$W/$dir" && exec timeout -k 5 "$limit" "$@") >"$W/$name.log" 2>&1
	echo $? >"$W/$name.rc"
	echo $(($(date +%s%N) - t0)) >"$W/$name.ns"
}

rows=()
failed=0
# record NAME: adds the step's row (exit status, test counts, wall seconds) and syncs $OUT.
record() {
	local name=$1 rc ns pass fail skip
	rc=$(cat "$W/$name.rc" 2>/dev/null || echo '?')
	ns=$(cat "$W/$name.ns" 2>/dev/null || echo 0)
	pass=$(grep -c -- '--- PASS' "$W/$name.log")
	fail=$(grep -c -- '--- FAIL' "$W/$name.log")
	skip=$(grep -c -- '--- SKIP' "$W/$name.log")
	[ "$rc" = 0 ] || failed=$((failed + 1))
	[ "$rc" = 124 ] || [ "$rc" = 137 ] && rc="$rc(timeout)"
	rows+=("$(printf '%-16s %-13s %5s %5s %5s %8.1f' "$name" "$rc" "$pass" "$fail" "$skip" "$(echo "$ns" | awk '{print $1/1e9}')")")
	say "$name: rc=$rc pass=$pass fail=$fail skip=$skip"
	grep -E -- '--- FAIL|^panic:|DATA RACE|^FAIL|validation' "$W/$name.log" | head -n 20 >>"$LOG"
	sync_out
}

# 1. The benchmark suite, alone: nothing else runs while it measures. The hang workload runs as
# a step of its own, so that a hang the abort word does not end costs only that step.
run_step 1-bench "$t_bench" dir-bench "$G/bin/bench" "${bench_flags[@]}" -skip hang -json "$W/bench.json" -svg "$W/bench.svg"
cp "$W/1-bench.log" "$OUT/bench.txt"
cp "$W/bench.json" "$W/bench.svg" "$OUT/" 2>/dev/null
record 1-bench
cat "$W/1-bench.log" >>"$LOG"
run_step 1-hang "$t_hang" dir-hang "$G/bin/bench" "${bench_flags[@]}" -workload hang -log debug -json "$W/hang.json" -trace "$W/hang-trace.json"
record 1-hang
cat "$W/1-hang.log" >>"$LOG"

# 2. CPU used by an idle Device (lavapipe's wait-any polls; the NVIDIA driver's blocks).
# Measured again alone, after the suite: the figure F3 is about (the bench's first rows too).
run_step 2-idle "$t_idle" dir-idle "$G/bin/bench" -workload idle
record 2-idle
grep -E '^(device| *idle)' "$W/2-idle.log" >>"$LOG"
sync_out

# 3 and 4. The correctness suites side by side, with the validation layer on: each test binary
# in a folder of its own holding the testdata it reads. CI=true makes a missing device a failure.
tsecs() { echo "$(($1 - 10))s"; } # the binary's own timeout, so a hang prints its goroutines
export VKDEP_VALIDATE=1
cp -r "$G/tree" "$W/dir-tree"
suite=(-test.short -test.count=1 -test.v -test.timeout "$(tsecs "$t_suite")")
# Without glslc and spirv-val (the GPU machine) the shader tool checks skip instead of failing.
shaders_ci=$(command -v glslc >/dev/null && command -v spirv-val >/dev/null && echo true)
# A shard is NAME:PATTERN, the tests matching PATTERN, or NAME:!PATTERN, the others; shard_flags
# sets flags to the test binary's flags for it.
shard_flags() {
	local pat=${1#*:}
	case $pat in
	!*) flags=("-test.skip=${pat#!}|^TestSchedules\$") ;;
	*) flags=("-test.run=$pat" "-test.skip=^TestSchedules\$") ;;
	esac
}
# On the GPU machine (16 cores) the suites run side by side; in -short mode, on a 2-core machine
# with lavapipe (CI), one after another, since the timeout tests' clocks (T1) do not survive six
# suites sharing two cores.
spawn() {
	if [ "$short" = 1 ]; then
		"$@"
	else
		"$@" &
	fi
}
steps3=()
for sh in "${vkdep_shards[@]}"; do
	shard_flags "$sh"
	CI=true spawn run_step "3-vkdep-${sh%%:*}" "$t_suite" dir-tree/vkdep "$G/bin/vkdep.test" "${suite[@]}" "${flags[@]}"
	steps3+=("3-vkdep-${sh%%:*}")
done
for sh in "${race_shards[@]}"; do
	shard_flags "$sh"
	CI=true spawn run_step "3-race-${sh%%:*}" "$t_suite" dir-tree/vkdep "$G/bin/vkdep.race.test" "${suite[@]}" "${flags[@]}"
	steps3+=("3-race-${sh%%:*}")
done
CI=true LD_LIBRARY_PATH="$G/lib" spawn run_step 3-demo "$t_suite" dir-tree/cmd/demo "$G/bin/demo.test" "${suite[@]}" -test.run "$run_demo" -test.skip TestWindowed
CI=true spawn run_step 3-bench-test "$t_suite" dir-tree/cmd/bench "$G/bin/bench.test" "${suite[@]}"
CI=$shaders_ci spawn run_step 3-shaders "$t_suite" dir-tree/shaders "$G/bin/shaders.test" "${suite[@]}"
CI=true spawn run_step 3-jobtrace "$t_suite" dir-tree/vkdep/jobtrace "$G/bin/jobtrace.test" "${suite[@]}"
per=$(((schedules + sched_shards - 1) / sched_shards))
for k in $(seq 0 $((sched_shards - 1))); do
	CI=true VKDEP_SCHEDULES=$per VKDEP_SCHEDULE_FIRST=$((k * per)) spawn run_step "4-schedules-$k" "$t_sched" dir-sched \
		"$G/bin/vkdep.test" -test.count=1 -test.v -test.run '^TestSchedules$' -test.timeout "$(tsecs "$t_sched")"
	steps3+=("4-schedules-$k")
done
wait
for s in "${steps3[@]}" 3-demo 3-bench-test 3-shaders 3-jobtrace; do record "$s"; done
grep -h -E 'schedules .*in' "$W"/4-schedules-*.log >>"$LOG"
unset VKDEP_VALIDATE

# The hang workload under validation, alone (its hang fills the GPU, and blame cannot see other
# processes: beside the suites it would stall their jobs, and their load would blur its figure).
# Issue 16 saw a timeout fire seconds late under validation, so its lateness rows are the figure,
# with the goroutine stacks it prints past 500 ms and vkdep's log of a slow counter read.
run_step 4-hang-validated "$t_hang" dir-hang-validated "$G/bin/bench" "${bench_flags[@]}" -validate -workload hang -log debug -json "$W/hang-validated.json"
record 4-hang-validated
grep -E 'hang|^device' "$W/4-hang-validated.log" >>"$LOG"

# 5. The demo, headless, with a hung client: the compositor must go on presenting.
LD_LIBRARY_PATH="$G/lib" run_step 5-demo "$t_demo" dir-demorun "$G/bin/demo" -headless "${demo_flags[@]}" \
	-out "$W/demo-out" -trace "$W/demo-trace.json"
last=$(ls "$W/demo-out" 2>/dev/null | grep '\.png$' | sort | tail -n 1)
[ -n "$last" ] && cp "$W/demo-out/$last" "$OUT/demo-last.png"
record 5-demo
tail -n 12 "$W/5-demo.log" >>"$LOG"

# 6. The library's Go benchmarks (raw-Vulkan yardsticks beside vkdep's paths).
run_step 6-gobench "$t_gobench" dir-gobench "$G/bin/vkdep.test" -test.run '^$' -test.bench "$gobench" \
	-test.benchmem -test.benchtime "$benchtime"
record 6-gobench
grep -E '^Benchmark' "$W/6-gobench.log" >>"$LOG"

total=$(awk -v a="$T0" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
{
	echo
	echo "summary ($mode, $total s in all; pass/fail/skip count go test -v lines, subtests included)"
	printf '%-16s %-13s %5s %5s %5s %8s\n' step rc pass fail skip wall_s
	printf '%s\n' "${rows[@]}"
} | tee -a "$LOG"
sync_out
rm -rf "$W"
[ "$failed" = 0 ]
