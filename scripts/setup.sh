#!/bin/bash
# Install ctrd's build dependencies from Debian, provision CRIU 4.x and build
# ctrd into build/.  Safe to run again: each step skips what is done.
#
# Usage: scripts/setup.sh        (as root, on Debian 12 or newer)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${CTRD_BUILD_DIR:-$top/build}

say() { echo "setup: $*" >&2; }

[ "$(id -u)" -eq 0 ] || { say "must run as root (apt-get, CRIU)"; exit 1; }

packages=(
	build-essential clang cmake pkg-config
	libevent-dev libprotobuf-c-dev protobuf-c-compiler libjansson-dev
	libsystemd-dev libcmocka-dev
	# The man pages need scdoc.  tests/integration/systemd_units.sh checks
	# the installed units, man pages and completion with the other three.
	scdoc bash-completion systemd man-db
	python3 iproute2 procps
	# tests/integration/migrate.sh: network namespaces (nsenter, in
	# util-linux) and certificates for TLS page-server links.
	# checkpoint_edges.sh fails a system call in ctrd with strace.
	util-linux openssl strace
)

missing=()
for package in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >/dev/null
else
	say "build dependencies already installed"
fi

criu=$(bash "$top/scripts/provision-criu.sh")
say "CRIU: $criu"

say "building into $build_dir"
cmake -S "$top" -B "$build_dir" -DBUILD_TESTING=ON -DCTRD_TEST_CRIU="$criu" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" >/dev/null
say "built $build_dir/daemon/ctrd and $build_dir/client/ctrd-cli"
