#!/bin/bash
# Set up (dependencies, CRIU, build) and run every test against real CRIU.
#
# Usage: scripts/test.sh [ctest arguments]     (as root)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${CTRD_BUILD_DIR:-$top/build}

bash "$top/scripts/setup.sh"
exec ctest --test-dir "$build_dir" --output-on-failure "$@"
