# shellcheck shell=bash
# shellcheck disable=SC2034  # the test scripts read cli_status and others
# Helpers for the integration tests, which each test script sources.
#
# A test calls begin_test, which checks the prerequisites, makes a private
# directory and installs an EXIT trap.  It then starts its own ctrd on a
# socket in that directory, starts workloads as its direct children and
# dumps them with the CRIU CLI.  At exit the trap kills, by pid, the clients
# and workloads the test started and the restored trees it recorded or that
# ctrd still lists, then stops ctrd.
#
# Environment:
#   CTRD_BIN, CTRD_CLI, CTRD_WORKLOAD  the binaries under test (ctest sets
#                      them; by default they are taken from CTRD_BUILD_DIR,
#                      else from build/ in the source tree)
#   CTRD_TEST_CRIU     the CRIU binary; default /opt/ctrd/criu/bin/criu
#   CI                 "true": running without root fails the test instead
#                      of skipping it (a missing CRIU always fails)
#   CTRD_TEST_KEEP     "1": keep the test directory after a failure
#   CTRD_TEST_SANITIZED  "1": the binaries are built with ASan and UBSan
#                      (ctest sets it in a CTRD_SANITIZE build), so memory
#                      checks allow for ASan's overhead and sanitizer
#                      reports go to files in the test directory

test_name=$(basename "$0" .sh)
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${CTRD_BUILD_DIR:-$source_dir/build}
ctrd_bin=${CTRD_BIN:-$build_dir/daemon/ctrd}
cli_bin=${CTRD_CLI:-$build_dir/client/ctrd-cli}
workload_bin=${CTRD_WORKLOAD:-$build_dir/tests/ctrd-workload}
criu_bin=${CTRD_TEST_CRIU:-/opt/ctrd/criu/bin/criu}

# Exit status ctest reads as "skipped" (SKIP_RETURN_CODE).
skip_status=77

test_dir=
state_dir=
ctrd_socket=
ctrd_pid=
workload_pid=
# Direct children of this shell (workloads, background clients): killed and
# waited for at exit.
child_pids=()
# Roots of restored trees, children of ctrd: killed at exit, reaped by ctrd.
restored_pids=()
# Exit status of the last run_cli.
cli_status=0
# Unshare processes (this shell's children) and the workloads under them,
# each the init of a pid namespace, at the same index.
ns_unshare_pids=()
ns_workload_pids=()

log() {
	echo "$test_name: $*" >&2
}

fail() {
	log "FAIL: $*"
	exit 1
}

# Skip when a developer runs the test without root; CI=true never skips.
skip_or_fail() {
	if [ "${CI:-}" = true ]; then
		fail "$* (CI=true: a missing prerequisite is a failure)"
	fi
	log "SKIP: $*"
	exit "$skip_status"
}

is_pid() {
	[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt 1 ]
}

# Print the parent pid of $1 from /proc, or nothing if it is gone.  The
# command name in /proc/PID/stat may contain spaces, so split after ')'.
parent_pid_of() {
	local stat fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	read -r -a fields <<<"${stat##*) }"
	echo "${fields[1]}"
}

# Succeed if $1 runs: it exists and is not a zombie.
pid_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# Wait up to $2 seconds until pid $1 is gone from /proc (reaped).
wait_pid_gone() {
	local pid=$1 tries=$(($2 * 10)) i
	for ((i = 0; i < tries; i++)); do
		[ -e "/proc/$pid" ] || return 0
		sleep 0.1
	done
	return 1
}

check_prerequisites() {
	local var path
	if [ "$(id -u)" -ne 0 ]; then
		skip_or_fail "needs root to checkpoint and restore processes"
	fi
	if [ ! -x "$criu_bin" ]; then
		fail "no CRIU at '$criu_bin'; run scripts/provision-criu.sh or set CTRD_TEST_CRIU"
	fi
	if ! "$criu_bin" --version >/dev/null 2>&1; then
		fail "CRIU at '$criu_bin' does not run ('$criu_bin --version' failed)"
	fi
	for var in ctrd_bin cli_bin workload_bin; do
		path=${!var}
		[ -x "$path" ] ||
			fail "no executable at '$path'; build first or run through ctest"
	done
	command -v python3 >/dev/null || fail "python3 is missing; the tests parse JSON with it"
}

# Check the prerequisites, make the test directory, cd there and install
# the EXIT trap.  The socket path must stay under 108 bytes, so the
# directory is made in /tmp, not under a possibly long TMPDIR.
begin_test() {
	check_prerequisites
	test_dir=$(mktemp -d "/tmp/ctrd-$test_name.XXXXXX")
	state_dir=$test_dir/state
	ctrd_socket=$test_dir/ctrd.sock
	trap cleanup EXIT
	cd "$test_dir" || fail "cannot enter $test_dir"
	log "test directory $test_dir"
	sanitizer_log_to "$test_dir"
}

# In a sanitized run, make every sanitized process write its reports to
# $1/sanitizer.PID.  The stderr of ctrd's children and of ctrd-cli goes to
# files the test may not read, or to /dev/null, so a report there would
# pass unnoticed.
sanitizer_log_to() {
	[ "${CTRD_TEST_SANITIZED:-}" = 1 ] || return 0
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$1/sanitizer"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$1/sanitizer"
}

# Print this test's sanitizer reports and succeed if there are any: the
# files from sanitizer_log_to, or reports in ctrd.log, where they go when
# sanitized binaries run without CTRD_TEST_SANITIZED.
sanitizer_reports_found() {
	local report found=1
	for report in "$test_dir"/sanitizer.*; do
		[ -f "$report" ] || continue
		log "sanitizer report $report:"
		cat "$report" >&2
		found=0
	done
	if [ -f "$test_dir/ctrd.log" ] &&
		grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|: runtime error: ' \
			"$test_dir/ctrd.log" >&2; then
		log "sanitizer report in $test_dir/ctrd.log (lines above)"
		found=0
	fi
	return "$found"
}

# Add the pids of ctrd's unfinished jobs to restored_pids, so a test that
# failed before it read a job's pid still kills that tree.
collect_job_pids() {
	local pid
	for pid in $(timeout 5 "$cli_bin" --socket "$ctrd_socket" --json list 2>/dev/null |
		python3 -c '
import json, sys
reply = json.loads(sys.stdin.readline())
for job in reply.get("result", reply).get("jobs", []):
    if isinstance(job.get("pid"), int) and job.get("ended") is None:
        print(job["pid"])
' 2>/dev/null); do
		restored_pids+=("$pid")
	done
}

# Kill the restored roots that are still ctrd's children, and wait until
# ctrd has reaped them: a child still unreaped when ctrd exits passes to
# PID 1, which on some hosts never reaps, and its zombie keeps the pid.
stop_restored() {
	local pid
	for pid in "${restored_pids[@]}"; do
		if is_pid "$pid" && [ "$(parent_pid_of "$pid")" = "$ctrd_pid" ]; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	for pid in "${restored_pids[@]}"; do
		if is_pid "$pid" && [ "$(parent_pid_of "$pid")" = "$ctrd_pid" ]; then
			wait_pid_gone "$pid" 5 ||
				log "restored pid $pid was not reaped by ctrd $ctrd_pid"
		fi
	done
}

stop_ctrd() {
	local i
	kill -TERM "$ctrd_pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		pid_running "$ctrd_pid" || break
		sleep 0.1
	done
	if pid_running "$ctrd_pid"; then
		log "ctrd $ctrd_pid still runs 10 s after SIGTERM; killing it"
		kill -KILL "$ctrd_pid" 2>/dev/null || true
	fi
	wait "$ctrd_pid" 2>/dev/null || true
}

cleanup() {
	local status=$? pid
	set +e
	trap - EXIT

	for pid in "${child_pids[@]}"; do
		if is_pid "$pid" && [ "$(parent_pid_of "$pid")" = "$$" ]; then
			kill -KILL "$pid" 2>/dev/null
			{ wait "$pid"; } 2>/dev/null
		fi
	done
	if is_pid "$ctrd_pid"; then
		pid_running "$ctrd_pid" && collect_job_pids
		stop_restored
		stop_ctrd
	fi
	remove_slow_cgroup
	# After ctrd's exit, so that LeakSanitizer's report at exit is there too.
	if [ -n "$test_dir" ] && sanitizer_reports_found; then
		log "FAIL: a sanitizer reported an error (see above)"
		[ "$status" -ne 0 ] || status=1
	fi

	if [ "$status" -ne 0 ] && [ -f "$test_dir/ctrd.log" ]; then
		log "last lines of $test_dir/ctrd.log:"
		tail -n 60 "$test_dir/ctrd.log" >&2
	fi
	cd /
	if [ "$status" -ne 0 ] && [ "${CTRD_TEST_KEEP:-}" = 1 ]; then
		log "kept $test_dir"
	elif [ -n "$test_dir" ]; then
		rm -rf "$test_dir"
	fi
	exit "$status"
}

cli() {
	"$cli_bin" --socket "$ctrd_socket" "$@"
}

# Run ctrd-cli with stdout to $1 and stderr to $1.err; set cli_status to
# its exit status instead of stopping the test.
run_cli() {
	local out=$1
	shift
	cli_status=0
	cli "$@" >"$out" 2>"$out.err" || cli_status=$?
}

# Print the member at dotted path $1 of the JSON object on stdin.  A reply
# {"id": ..., "result": R} is read as R; an error reply fails.  Strings
# print bare, null as "null", booleans as "true"/"false", objects and
# arrays as JSON.  A list index may be negative ("jobs.-1.job").
json_value() {
	python3 -c '
import json, sys
doc = json.loads(sys.stdin.readline())
if isinstance(doc, dict) and "error" in doc and "id" in doc:
    sys.exit("error reply: %s" % json.dumps(doc["error"]))
if isinstance(doc, dict) and "result" in doc and "id" in doc:
    doc = doc["result"]
for key in filter(None, sys.argv[1].split(".")):
    doc = doc[int(key)] if isinstance(doc, list) else doc.get(key)
if doc is None:
    print("null")
elif isinstance(doc, bool):
    print("true" if doc else "false")
elif isinstance(doc, str):
    print(doc)
else:
    print(json.dumps(doc))
' "$1"
}

# Print member $2 of job $1's object, from `ctrd-cli --json status`.
job_value() {
	cli --json status "$1" | json_value "$2"
}

# Print member $3 of the first event named $2 in the JSON lines file $1, as
# json_value prints it, or nothing when no such event is there.
event_value() {
	local line
	line=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.strip() and json.loads(line).get("event") == sys.argv[2]:
        print(line, end="")
        break
' "$1" "$2")
	[ -z "$line" ] || json_value "$3" <<<"$line"
}

# A CRIU wrapper whose lazy-pages servers run in a cgroup (v1 cpu
# controller) limited to 1% of a CPU, so a page transfer lasts seconds on
# any machine.  Pages must arrive slowly, not stop: CRIU's restore itself
# waits for the server.  Sets slow_lazy_criu to the wrapper's path; cleanup
# removes the cgroup.
slow_cgroup=
slow_lazy_criu=
make_slow_lazy_criu() {
	[ -d /sys/fs/cgroup/cpu ] ||
		fail "no cgroup v1 cpu controller at /sys/fs/cgroup/cpu to slow down lazy-pages servers"
	slow_cgroup=/sys/fs/cgroup/cpu/ctrd-test-${test_dir##*.}
	mkdir "$slow_cgroup"
	echo 100000 >"$slow_cgroup/cpu.cfs_period_us"
	echo 1000 >"$slow_cgroup/cpu.cfs_quota_us"
	slow_lazy_criu=$test_dir/criu-slow-lazy
	cat >"$slow_lazy_criu" <<WRAPPER
#!/bin/bash
# Run CRIU, a lazy-pages server inside the slow cgroup.
case " \$* " in
*" lazy-pages "*) echo \$\$ >"$slow_cgroup/cgroup.procs" ;;
esac
exec "$criu_bin" "\$@"
WRAPPER
	chmod +x "$slow_lazy_criu"
}

# Remove the slow cgroup, once cleanup has killed the processes in it.
remove_slow_cgroup() {
	local i
	[ -n "$slow_cgroup" ] && [ -d "$slow_cgroup" ] || return 0
	for ((i = 0; i < 50; i++)); do
		rmdir "$slow_cgroup" 2>/dev/null && return 0
		sleep 0.1
	done
	log "could not remove cgroup $slow_cgroup: $(cat "$slow_cgroup/cgroup.procs")"
}

# Print the id of ctrd's newest job.
newest_job() {
	cli --json list | json_value jobs.-1.job
}

# Run the command $2... every 0.1 s until it succeeds; fail after $1 s.
wait_until() {
	local seconds=$1 i
	shift
	for ((i = 0; i < seconds * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# Succeed if file $1 has a line matching the basic regex $2.
file_has() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# Print the id of the newest job once it differs from $1 (may be empty).
wait_new_job() {
	local job= i
	for ((i = 0; i < 100; i++)); do
		job=$(newest_job 2>/dev/null || true)
		if [ -n "$job" ] && [ "$job" != null ] && [ "$job" != "$1" ]; then
			echo "$job"
			return 0
		fi
		sleep 0.05
	done
	fail "no new job after '$1' within 5 s"
}



# ctrd creates its socket only once its pool is warm and CRIU was checked.
start_ctrd() {
	local workers=${1:-2} criu=${2:-$criu_bin} i worker_flag=()
	shift $(($# < 2 ? $# : 2))
	[ "$workers" = - ] || worker_flag=(--workers "$workers")
	"$ctrd_bin" --socket "$ctrd_socket" --state-dir "$state_dir" \
		--criu "$criu" "${worker_flag[@]}" --log-level debug "$@" \
		</dev/null >"$test_dir/ctrd.log" 2>&1 &
	ctrd_pid=$!
	for ((i = 0; i < 200; i++)); do
		if cli info >/dev/null 2>&1; then
			log "ctrd $ctrd_pid is ready with $workers workers"
			return 0
		fi
		pid_running "$ctrd_pid" || fail "ctrd exited during start-up; see its log below"
		sleep 0.1
	done
	fail "ctrd did not reply to 'info' on $ctrd_socket within 20 s"
}

# Start a workload named $1 with $2 MiB of memory and any further options,
# writing to $test_dir/$1, and wait for its first heartbeat.  Sets
# workload_pid.  It must be this shell's direct child, so the shell can
# reap it once criu dump has killed it: setsid execs without forking here,
# because a background job of a non-interactive shell leads no process
# group.
start_workload() {
	local name=$1 memory=$2 dir=$test_dir/$1 exe i
	shift 2
	mkdir -p "$dir"
	setsid "$workload_bin" --dir "$dir" --memory "$memory" "$@" \
		</dev/null >"$test_dir/$name.log" 2>&1 &
	workload_pid=$!
	child_pids+=("$workload_pid")

	for ((i = 0; i < 300; i++)); do
		[ -s "$dir/heartbeat" ] && break
		pid_running "$workload_pid" ||
			fail "workload $name exited at start: $(cat "$test_dir/$name.log")"
		sleep 0.1
	done
	[ -s "$dir/heartbeat" ] || fail "workload $name wrote no heartbeat within 30 s"
	exe=$(readlink "/proc/$workload_pid/exe" 2>/dev/null || true)
	[ "$exe" = "$(readlink -f "$workload_bin")" ] ||
		fail "pid $workload_pid runs '$exe', not the workload: did setsid fork?"
	log "workload $name is pid $workload_pid ($memory MiB)"
}

# Checkpoint pid $1 into directory $2 with the CRIU CLI (which kills it),
# then reap it.
dump_workload() {
	local pid=$1 images=$2 status=0
	is_pid "$pid" || fail "refusing to dump pid '$pid'"
	mkdir -p "$images"
	# When criu returns, bash prints a "Killed" notice for the workload to
	# this group's stderr, which is /dev/null.  criu's stderr uses fd 3.
	if ! { "$criu_bin" dump -t "$pid" -D "$images" -o dump.log -v4 2>&3; } 3>&2 2>/dev/null; then
		tail -n 30 "$images/dump.log" >&2
		fail "criu dump of pid $pid failed; log in $images/dump.log"
	fi
	wait "$pid" || status=$?
	forget_child_pid "$pid"
	[ ! -e "/proc/$pid" ] || fail "pid $pid still exists after the dump and wait"
	log "dumped pid $pid into $images (it ended with status $status)"
}

# Drop reaped pid $1 from child_pids: the pid is free now, and a restore
# of the same image gives it to a child of ctrd.
forget_child_pid() {
	local pid kept=()
	for pid in "${child_pids[@]}"; do
		[ "$pid" = "$1" ] || kept+=("$pid")
	done
	child_pids=("${kept[@]}")
}

# Record pid $1 as the root of a restored tree, to be killed at exit.
record_restored_pid() {
	is_pid "$1" || fail "restored pid '$1' is not a pid above 1"
	restored_pids+=("$1")
}

# Record pid $1 as a direct child of this shell, to be killed at exit.
record_child_pid() {
	is_pid "$1" || fail "child pid '$1' is not a pid above 1"
	child_pids+=("$1")
}

# Send one restore request per images dir in $@, all in a single write, so
# ctrd reads them in one turn, and print the job id of each reply.
submit_together() {
	python3 - "$ctrd_socket" "$@" <<'PY' || fail "a restore sent together with others was rejected (see above)"
import json, socket, sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
dirs = sys.argv[2:]
sock.sendall(b"".join(
    (json.dumps({"id": n, "method": "restore",
                 "params": {"images_dir": d}}) + "\n").encode()
    for n, d in enumerate(dirs, 1)))
replies = sock.makefile()
for n in range(1, len(dirs) + 1):
    reply = json.loads(replies.readline())
    if "result" not in reply:
        sys.exit(f"restore {n} was rejected: {reply}")
    print(reply["result"]["job"])
PY
}

assert_eq() {
	local expected=$1 actual=$2 what=$3
	[ "$actual" = "$expected" ] || fail "$what: expected '$expected', got '$actual'"
}

assert_ne() {
	local unexpected=$1 actual=$2 what=$3
	[ "$actual" != "$unexpected" ] || fail "$what: expected anything but '$unexpected'"
}

# Fail unless file $1 contains the fixed string $2.
assert_file_contains() {
	local file=$1 needle=$2 what=$3
	grep -qF -- "$needle" "$file" ||
		fail "$what: expected '$needle' in $file, got:
$(cat "$file")"
}

assert_nonempty_file() {
	[ -s "$1" ] || fail "$2: expected a non-empty file at $1"
}

read_heartbeat() {
	local value
	value=$(cat "$1/heartbeat" 2>/dev/null || true)
	[[ "$value" =~ ^[0-9]+$ ]] ||
		fail "heartbeat in $1 is not a counter: '$value'"
	echo "$value"
}

# Fail unless the workload writing to directory $1 still beats: its
# counter must advance within half a second (five beats).
check_heartbeat() {
	local before after
	before=$(read_heartbeat "$1")
	sleep 0.5
	after=$(read_heartbeat "$1")
	[ "$after" -gt "$before" ] ||
		fail "heartbeat in $1: expected a counter above $before after 0.5 s, got $after"
}

# Send SIGUSR1 to workload pid $1, which reads all of its memory and writes
# the checksum to $2/verify.  Fail unless that equals $2/expected, the
# checksum the workload wrote before the dump.
check_memory() {
	local pid=$1 dir=$2 expected actual i
	is_pid "$pid" || fail "refusing to signal pid '$pid'"
	pid_running "$pid" || fail "workload pid $pid does not run"
	expected=$(cat "$dir/expected")
	rm -f "$dir/verify"
	kill -USR1 "$pid"
	for ((i = 0; i < 300; i++)); do
		[ -s "$dir/verify" ] && break
		sleep 0.1
	done
	[ -s "$dir/verify" ] || fail "workload pid $pid wrote no $dir/verify within 30 s of SIGUSR1"
	actual=$(cat "$dir/verify")
	assert_eq "$expected" "$actual" "memory checksum of pid $pid"
}

# Restore the images dir $1 with ctrd-cli and check that its root runs as
# pid $3 with the memory the workload writing to directory $2 had.
restore_intact() {
	local images=$1 dir=$2 pid=$3 job
	run_cli restore.out restore "$images"
	assert_eq 0 "$cli_status" "exit status of the restore of $images (stderr: $(cat restore.out.err))"
	job=$(newest_job)
	record_restored_pid "$(job_value "$job" pid)"
	assert_eq "$pid" "$(job_value "$job" pid)" "pid of restored job $job"
	check_memory "$pid" "$dir"
}

# Wait up to 5 s until every worker of ctrd's pool is warm again.
wait_pool_refilled() {
	local pool warm size i
	for ((i = 0; i < 50; i++)); do
		pool=$(cli --json info | json_value pool)
		warm=$(json_value warm <<<"$pool")
		size=$(json_value size <<<"$pool")
		if [ "$size" -gt 0 ] && [ "$warm" = "$size" ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "worker pool: expected warm == size within 5 s, got $pool"
}

# Tests that let ctrd exit with restored trees still running start it under
# subreaper.py, which becomes the parent of those trees and reaps them.
reaper_pid=

# Start ctrd under the subreaper with the config file $1 and the CRIU at $2
# (default criu_bin), and wait until it replies to info.  Sets ctrd_pid and
# reaper_pid.
start_reaped_ctrd() {
	local config=$1 criu=${2:-$criu_bin} i
	rm -f "$test_dir/ctrd.pid" "$test_dir/ctrd.status"
	python3 "$source_dir/tests/integration/subreaper.py" \
		"$test_dir/ctrd.pid" "$test_dir/ctrd.status" \
		"$ctrd_bin" --socket "$ctrd_socket" --state-dir "$state_dir" \
		--criu "$criu" --workers 2 --log-level debug --config "$config" \
		</dev/null >>"$test_dir/ctrd.log" 2>&1 &
	reaper_pid=$!
	record_child_pid "$reaper_pid"
	for ((i = 0; i < 200; i++)); do
		[ -s "$test_dir/ctrd.pid" ] && cli info >/dev/null 2>&1 && break
		sleep 0.1
	done
	ctrd_pid=$(cat "$test_dir/ctrd.pid" 2>/dev/null || true)
	is_pid "$ctrd_pid" || fail "ctrd did not start under the subreaper"
	cli info >/dev/null || fail "ctrd $ctrd_pid did not reply to info within 20 s"
	log "ctrd $ctrd_pid is ready under subreaper $reaper_pid"
}

# Wait up to $1 seconds for the ctrd under the subreaper to exit; print its
# wait status.
wait_ctrd_exit() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[ -s "$test_dir/ctrd.status" ] && break
		sleep 0.1
	done
	[ -s "$test_dir/ctrd.status" ] || fail "ctrd $ctrd_pid did not exit within $1 s"
	cat "$test_dir/ctrd.status"
}

# Wait up to $3 seconds (default 15) until job $1 is in state $2.
wait_job_state() {
	local i state= seconds=${3:-15}
	for ((i = 0; i < seconds * 20; i++)); do
		state=$(job_value "$1" state 2>/dev/null || true)
		[ "$state" = "$2" ] && return 0
		sleep 0.05
	done
	fail "job $1: expected state '$2' within $seconds s, last seen '$state'"
}

# Kill the restored processes that outlived ctrd; the subreaper reaps them.
kill_orphans() {
	local pid
	for pid in "${restored_pids[@]}"; do
		if is_pid "$pid" && is_pid "$reaper_pid" &&
			[ "$(parent_pid_of "$pid")" = "$reaper_pid" ]; then
			kill -KILL "$pid" 2>/dev/null || true
			wait_pid_gone "$pid" 5 || log "orphan $pid was not reaped"
		fi
	done
}

# Fail if a process is left over: a zombie child of ctrd, a CRIU child of
# ctrd beyond its pool of idle workers, or a process whose command line
# names the test directory.  ctrd, the subreaper and the pids $@ may stay.
# Call it once no job runs, because it waits for the pool to be warm.
assert_no_strays() {
	local allowed=" $ctrd_pid $reaper_pid $* " workers=0 size pid dir cmdline
	wait_pool_refilled
	size=$(cli --json info | json_value pool.size)
	for pid in $(ps -o pid= --ppid "$ctrd_pid"); do
		pid_running "$pid" || fail "ctrd $ctrd_pid left its child $pid a zombie"
		cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
		# CRIU's command line may start with a loader, not $criu_bin.
		case "$cmdline" in
		*criu*" swrk "*) workers=$((workers + 1)) ;;
		*criu*) fail "CRIU process $pid is left as ctrd's child: $cmdline" ;;
		esac
	done
	[ "$workers" -le "$size" ] ||
		fail "ctrd has $workers CRIU workers, more than its pool of $size"
	for dir in /proc/[0-9]*; do
		pid=${dir#/proc/}
		[[ "$allowed" != *" $pid "* ]] || continue
		cmdline=$(tr '\0' ' ' 2>/dev/null <"$dir/cmdline") || continue
		[[ "$cmdline" != *"$test_dir"* ]] || fail "stray process $pid: $cmdline"
	done
}

# Succeed if pid $1 is gone or a zombie.
pid_ended() {
	! pid_running "$1"
}

# Start a workload named $1 with $2 MiB and seed $3 as the init of a new
# pid namespace, run through the command prefix $4... if given (such as
# nsenter --net=NS), and wait for its first heartbeat.  Sets workload_pid
# to its pid on the host.  Only a pid-namespace init can be restored while
# its dumped copy still exists on the same host.  setsid makes it a session
# leader, which CRIU needs of a tree it dumps without shell_job.
start_pidns_workload() {
	local name=$1 mib=$2 seed=$3 dir=$test_dir/$1 unshare_pid pid='' i
	shift 3
	mkdir -p "$dir"
	"$@" unshare --pid --fork setsid "$workload_bin" --dir "$dir" \
		--memory "$mib" --seed "$seed" </dev/null >"$test_dir/$name.log" 2>&1 &
	unshare_pid=$!
	record_child_pid "$unshare_pid"
	for ((i = 0; i < 300; i++)); do
		read -r pid _ <"/proc/$unshare_pid/task/$unshare_pid/children" || true
		[ -n "$pid" ] && [ -s "$dir/heartbeat" ] && break
		pid_running "$unshare_pid" ||
			fail "workload $name exited at start: $(cat "$test_dir/$name.log")"
		sleep 0.1
	done
	is_pid "$pid" || fail "workload $name has no pid under unshare $unshare_pid"
	[ -s "$dir/heartbeat" ] || fail "workload $name wrote no heartbeat within 30 s"
	[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$workload_bin")" ] ||
		fail "pid $pid under unshare $unshare_pid is not the workload"
	ns_unshare_pids+=("$unshare_pid")
	ns_workload_pids+=("$pid")
	workload_pid=$pid
	log "workload $name is pid $pid on the host, pid 1 in its namespace ($mib MiB)"
}
