#!/bin/bash
# Build the libFuzzer targets (tests/fuzz) with clang into build-fuzz/ and
# run them side by side for a bounded time, each on its seed corpus.  Any
# crash, sanitizer report, leak, timeout or out-of-memory fails the run.
# New inputs go to a temporary directory, so the committed corpus stays as
# it is.  An input that fails is kept in build-fuzz/artifacts/.
#
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]
#   SECONDS  run time of each target, default $CTRD_FUZZ_SECONDS or 60
#   TARGET   request or config, default both
#
# Needs clang and ctrd's build dependencies, which scripts/setup.sh
# installs.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$top/build-fuzz
seconds=${1:-${CTRD_FUZZ_SECONDS:-60}}
if [ $# -gt 0 ]; then shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request config)

say() { echo "fuzz: $*" >&2; }

[[ "$seconds" =~ ^[1-9][0-9]*$ ]] ||
	{ say "run time must be a whole number of seconds above 0, got '$seconds'"; exit 2; }
for target in "${targets[@]}"; do
	[ -f "$top/tests/fuzz/fuzz_$target.c" ] ||
		{ say "unknown target '$target'; expected request or config"; exit 2; }
done

say "building ${targets[*]} into $build_dir"
cmake -S "$top" -B "$build_dir" -DCMAKE_C_COMPILER=clang -DCTRD_FUZZ=ON \
	-DBUILD_TESTING=OFF >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

work=$(mktemp -d /tmp/ctrd-fuzz.XXXXXX)
artifacts=$build_dir/artifacts
mkdir -p "$artifacts"
pids=()
# At exit, stop by pid the fuzzers still running, as after an interrupt,
# and remove the new inputs.
# shellcheck disable=SC2317  # the EXIT trap calls it
stop_fuzzers() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap stop_fuzzers EXIT

# -max_len: 8 KiB fits every seed and an images_dir over PATH_MAX bytes.
# -timeout: seconds one input may take.  The decoders need microseconds.
for target in "${targets[@]}"; do
	mkdir "$work/$target"
	"$build_dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" \
		-max_len=8192 -timeout=10 \
		-dict="$top/tests/fuzz/$target.dict" \
		-artifact_prefix="$artifacts/$target-" \
		"$work/$target" "$top/tests/fuzz/corpus/$target" \
		>"$work/$target.log" 2>&1 &
	pids+=($!)
done
say "running ${targets[*]} for $seconds s each"

failed=0
for i in "${!targets[@]}"; do
	target=${targets[$i]}
	status=0
	wait "${pids[$i]}" || status=$?
	if [ "$status" -eq 0 ]; then
		say "$target: $(grep -E '^Done [0-9]+ runs' "$work/$target.log" || echo 'finished')"
		continue
	fi
	failed=1
	say "$target: FAIL: fuzzer exited with status $status; last lines of its output:"
	tail -n 60 "$work/$target.log" >&2
	say "$target: failing inputs are in $artifacts; reproduce one with $build_dir/tests/fuzz/fuzz_$target FILE"
done
pids=()
exit "$failed"
