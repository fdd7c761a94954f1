#!/bin/bash
# Set everything up and run ctrd's benchmark suite, which rewrites
# BENCHMARKS.md and the plots and raw results in tests/bench/results/.
#
# Runs scripts/setup.sh (dependencies, CRIU, build), installs gnuplot-nox
# when gnuplot is missing, builds the benchmark programs, then runs
# tests/bench/run.sh, which needs root.  The suite took 6 minutes on a
# shared 2-core VM.  Options go to tests/bench/run.sh: --quick is a
# one-minute trial that leaves BENCHMARKS.md alone, and --keep keeps the
# images and logs in /tmp.
#
# Usage: scripts/bench.sh [--quick] [--keep]     (as root)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${CTRD_BUILD_DIR:-$top/build}

say() { echo "bench: $*" >&2; }

bash "$top/scripts/setup.sh"
if ! command -v gnuplot >/dev/null; then
	say "installing gnuplot-nox for the plots"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends gnuplot-nox >/dev/null
fi
criu=$(sed -n 's/^CTRD_TEST_CRIU:[A-Z]*=//p' "$build_dir/CMakeCache.txt")

say "building the benchmark programs"
cmake --build "$build_dir" --target bench-tools -j"$(nproc)" >/dev/null
BENCH_COMMAND="bash scripts/bench.sh" \
	bash "$top/tests/bench/run.sh" --build-dir "$build_dir" --criu "$criu" "$@"
