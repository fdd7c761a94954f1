#!/bin/bash
# Set everything up, then show a checkpoint and a lazy restore through
# ctrd: a 256 MiB process is checkpointed with `ctrd-cli checkpoint`,
# restored lazily with `ctrd-cli restore --lazy-pages`, and checked to run
# on with its memory intact.  Everything it starts lives in a temporary directory and is
# stopped at the end.
#
# Usage: scripts/demo.sh        (as root)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${CTRD_BUILD_DIR:-$top/build}
memory_mib=${CTRD_DEMO_MEMORY_MIB:-256}

bash "$top/scripts/setup.sh"
criu=$(bash "$top/scripts/provision-criu.sh" 2>/dev/null)
ctrd=$build_dir/daemon/ctrd
cli=$build_dir/client/ctrd-cli
workload=$build_dir/tests/ctrd-workload

demo_dir=$(mktemp -d /tmp/ctrd-demo.XXXXXX)
socket=$demo_dir/ctrd.sock
ctrd_pid= workload_pid= restored_pid=

say() { printf '\n== %s\n' "$*"; }

cleanup() {
	local status=$?
	# Only pids this script started or restored, and never pid <= 1.
	for pid in "$restored_pid" "$workload_pid"; do
		if [ -n "$pid" ] && [ "$pid" -gt 1 ]; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	done
	if [ -n "$ctrd_pid" ] && [ "$ctrd_pid" -gt 1 ]; then
		kill -TERM "$ctrd_pid" 2>/dev/null || true
		wait "$ctrd_pid" 2>/dev/null || true
	fi
	if [ "$status" -ne 0 ]; then
		echo "demo failed; logs and images kept in $demo_dir" >&2
		return
	fi
	rm -rf "$demo_dir"
}
trap cleanup EXIT

say "starting ctrd on $socket (log: $demo_dir/ctrd.log)"
"$ctrd" --socket "$socket" --state-dir "$demo_dir/state" --criu "$criu" \
	--workers 2 >"$demo_dir/ctrd.log" 2>&1 &
ctrd_pid=$!
for _ in $(seq 100); do
	"$cli" --socket "$socket" info >/dev/null 2>&1 && break
	kill -0 "$ctrd_pid" 2>/dev/null || { cat "$demo_dir/ctrd.log"; exit 1; }
	sleep 0.1
done
"$cli" --socket "$socket" info

say "starting a workload with $memory_mib MiB of patterned memory"
mkdir -p "$demo_dir/workload" "$demo_dir/images"
setsid "$workload" --memory "$memory_mib" --seed 42 --dir "$demo_dir/workload" \
	</dev/null >"$demo_dir/workload.log" 2>&1 &
workload_pid=$!
# Still reaped by this shell, but without a "Killed" notice after the dump.
disown "$workload_pid"
for _ in $(seq 100); do
	[ -s "$demo_dir/workload/heartbeat" ] && break
	sleep 0.1
done
echo "workload pid $workload_pid, heartbeat $(cat "$demo_dir/workload/heartbeat")"

say "checkpointing it through ctrd (CRIU kills the process once dumped)"
"$cli" --socket "$socket" checkpoint "$workload_pid" "$demo_dir/images"
workload_pid=
du -sh "$demo_dir/images"

say "restoring it lazily through ctrd"
"$cli" --socket "$socket" restore --lazy-pages "$demo_dir/images" |
	tee "$demo_dir/restore.out"
restored_pid=$(sed -n 's/.* restored pid=\([0-9]*\).*/\1/p' "$demo_dir/restore.out")
[ -n "$restored_pid" ] && [ "$restored_pid" -gt 1 ] ||
	{ echo "demo: no restored pid in the output" >&2; exit 1; }

say "checking the restored process (pid $restored_pid)"
before=$(cat "$demo_dir/workload/heartbeat")
sleep 1
after=$(cat "$demo_dir/workload/heartbeat")
echo "heartbeat $before -> $after"
[ "$after" -gt "$before" ] || { echo "demo: heartbeat did not advance" >&2; exit 1; }
rm -f "$demo_dir/workload/verify"
kill -USR1 "$restored_pid"
for _ in $(seq 100); do
	[ -s "$demo_dir/workload/verify" ] && break
	sleep 0.1
done
expected=$(cat "$demo_dir/workload/expected")
actual=$(cat "$demo_dir/workload/verify" 2>/dev/null || echo missing)
echo "memory checksum expected $expected, restored $actual"
[ "$expected" = "$actual" ] || { echo "demo: memory checksum differs" >&2; exit 1; }

say "demo passed: checkpointed and restored lazily through ctrd, running, memory intact"
