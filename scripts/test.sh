#!/bin/bash
# Set up (dependencies, CRIU, build) and run every test against real CRIU.
# Three passes: the unit and integration tests, the same tests built with
# ASan and UBSan (build-asan/), then the fuzzers (scripts/fuzz.sh).  Every
# pass runs, and the script fails if any of them failed.
#
# Usage: scripts/test.sh [ctest arguments]     (as root)
#   The ctest arguments apply to the first two passes.  CTRD_FUZZ_SECONDS
#   sets how long each fuzzer runs (default 60; they run side by side).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${CTRD_BUILD_DIR:-$top/build}
asan_dir=$top/build-asan

say() { echo "test: $*" >&2; }

bash "$top/scripts/setup.sh"
criu=$(sed -n 's/^CTRD_TEST_CRIU:[A-Z]*=//p' "$build_dir/CMakeCache.txt")

say "building with ASan and UBSan into $asan_dir"
cmake -S "$top" -B "$asan_dir" -DBUILD_TESTING=ON -DCTRD_SANITIZE=ON \
	-DCTRD_TEST_CRIU="$criu" >/dev/null
cmake --build "$asan_dir" -j"$(nproc)" >/dev/null

failed=()
say "pass 1 of 3: unit and integration tests ($build_dir)"
ctest --test-dir "$build_dir" --output-on-failure "$@" || failed+=(tests)
say "pass 2 of 3: the same tests with ASan and UBSan ($asan_dir)"
ctest --test-dir "$asan_dir" --output-on-failure "$@" || failed+=(sanitizers)
say "pass 3 of 3: fuzzing"
bash "$top/scripts/fuzz.sh" || failed+=(fuzzing)

if [ ${#failed[@]} -gt 0 ]; then
	say "FAIL: passes that failed: ${failed[*]}"
	exit 1
fi
say "all passes succeeded"
