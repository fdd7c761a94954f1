# Shared helpers for the integration tests.  Each test sources this file,
# gets a private temporary directory, starts its own ctrd there and records
# every pid it starts or restores, so cleanup() stops exactly those.
#
# Environment (set by ctest): CTRD_BIN, CTRD_CLI, CTRD_WORKLOAD,
# CTRD_TEST_CRIU.  CI=true turns every missing prerequisite into a failure.

set -euo pipefail

test_name=$(basename "$0" .sh)
test_dir=$(mktemp -d "/tmp/ctrd-test-$test_name.XXXXXX")
socket=$test_dir/ctrd.sock
state_dir=$test_dir/state
criu=${CTRD_TEST_CRIU:-/opt/ctrd/criu/bin/criu}
owned_pids=()
ctrd_pid=

log() { echo "[$test_name] $*" >&2; }

fail() {
	log "FAIL: $*"
	exit 1
}

# Exit 77 (skip) only outside CI; in CI a missing prerequisite is a failure.
require() {
	local reason=$1
	if [ "${CI:-}" = true ] || [ "$(id -u)" -eq 0 ]; then
		fail "$reason"
	fi
	log "SKIP: $reason"
	exit 77
}

[ "$(id -u)" -eq 0 ] || require "needs root to checkpoint and restore"
for var in CTRD_BIN CTRD_CLI CTRD_WORKLOAD; do
	[ -x "${!var:-}" ] || fail "$var is not set to an executable (run through ctest)"
done
[ -x "$criu" ] || require "no CRIU at '$criu'; run scripts/provision-criu.sh"

# Record a pid to kill at exit; refuses anything that is not a real pid.
own_pid() {
	local pid=$1
	[[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] ||
		fail "refusing to track pid '$pid'"
	owned_pids+=("$pid")
}

cleanup() {
	local status=$? pid
	for pid in "${owned_pids[@]}"; do
		[ "$pid" -gt 1 ] && kill -9 "$pid" 2>/dev/null || true
	done
	# Restored processes are ctrd's children: let ctrd reap them before it
	# stops, or they stay zombies holding their pids on hosts whose PID 1
	# does not reap.
	for pid in "${owned_pids[@]}"; do
		for _ in $(seq 50); do
			[ -e "/proc/$pid" ] || break
			sleep 0.05
		done
	done
	if [ -n "$ctrd_pid" ] && [ "$ctrd_pid" -gt 1 ]; then
		kill -TERM "$ctrd_pid" 2>/dev/null || true
		wait "$ctrd_pid" 2>/dev/null || true
	fi
	if [ "$status" -ne 0 ] && [ -f "$test_dir/ctrd.log" ]; then
		log "ctrd log:"
		tail -n 40 "$test_dir/ctrd.log" >&2
	fi
	rm -rf "$test_dir"
	exit "$status"
}
trap cleanup EXIT

cli() { "$CTRD_CLI" --socket "$socket" "$@"; }

# Print the value at a dotted path of a JSON document read from stdin.
json_get() {
	python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if isinstance(value, list) else value.get(key)
print("null" if value is None else json.dumps(value) if isinstance(value, (dict, list)) else str(value).lower() if isinstance(value, bool) else value)
' "$1"
}

# Print the result member of the reply of `ctrd-cli --json ARGS`.
cli_result() { cli --json "$@" | json_get result; }

start_ctrd() {
	"$CTRD_BIN" --socket "$socket" --state-dir "$state_dir" --criu "$criu" \
		--workers "${1:-2}" --log-level debug ${CTRD_EXTRA_ARGS:-} \
		>"$test_dir/ctrd.log" 2>&1 &
	ctrd_pid=$!
	local i
	for i in $(seq 200); do
		cli info >/dev/null 2>&1 && return 0
		kill -0 "$ctrd_pid" 2>/dev/null || fail "ctrd exited at start"
		sleep 0.1
	done
	fail "ctrd did not answer 'info' within 20 s"
}

# Start a workload as a direct child (setsid execs without forking here), so
# this shell reaps it after CRIU's dump kills it.  Sets workload_pid.
start_workload() {
	local dir=$1
	shift
	mkdir -p "$dir"
	setsid "$CTRD_WORKLOAD" --dir "$dir" "$@" </dev/null \
		>"$dir.log" 2>&1 &
	workload_pid=$!
	own_pid "$workload_pid"
	wait_for_file "$dir/heartbeat" 100
}

wait_for_file() {
	local path=$1 tries=${2:-100} i
	for i in $(seq "$tries"); do
		[ -s "$path" ] && return 0
		sleep 0.1
	done
	fail "'$path' did not appear"
}

# Checkpoint the workload into $2 with the CRIU CLI; the dump kills it.
dump_workload() {
	local pid=$1 images=$2
	shift 2
	mkdir -p "$images"
	"$criu" dump -t "$pid" -D "$images" -o dump.log -v4 "$@" ||
		{ tail -n 20 "$images/dump.log" >&2; fail "criu dump of $pid failed"; }
	{ wait "$pid"; } 2>/dev/null || true
}

job_field() { cli_result status "$1" | json_get "$2"; }

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# The restored process must keep running: its heartbeat advances.
assert_heartbeat_advances() {
	local dir=$1 before after
	before=$(cat "$dir/heartbeat")
	sleep 0.5
	after=$(cat "$dir/heartbeat")
	[ "$after" -gt "$before" ] ||
		fail "heartbeat in $dir did not advance ($before -> $after)"
}

# The restored process's memory must match the pattern it wrote at start.
assert_memory_intact() {
	local pid=$1 dir=$2
	rm -f "$dir/verify"
	kill -USR1 "$pid"
	wait_for_file "$dir/verify" 200
	assert_eq "$(cat "$dir/verify")" "$(cat "$dir/expected")" \
		"memory checksum of pid $pid"
}

# Wait until the pool is back to its size of warm workers.
assert_pool_refills() {
	local i warm size
	for i in $(seq 100); do
		warm=$(cli_result info | json_get pool.warm)
		size=$(cli_result info | json_get pool.size)
		[ "$warm" = "$size" ] && return 0
		sleep 0.1
	done
	fail "pool did not refill: $warm of $size warm"
}

# Print the id of the newest job.
last_job() { cli_result list | json_get jobs.-1.job; }
