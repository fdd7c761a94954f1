#!/bin/bash
# ctrd killed with SIGKILL while one restore fills the memory of its tree
# and a lazy restore's pages are still arriving:
# - its CRIU workers, idle or busy, exit once ctrd's end of their sockets
#   closes;
# - the busy worker cannot send the post-restore notification, so CRIU
#   aborts that restore and kills the half-restored tree;
# - the lazy-pages server needs nothing from ctrd, so it copies the rest of
#   the pages and the lazy tree runs on with its memory intact.
# A new ctrd on the same state dir then serves, settles the jobs of the
# killed one and restores the first image again.
#
# ctrd runs under subreaper.py, which becomes the parent of what outlives
# it, since PID 1 here may never reap orphans.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lazy_server=
old_reaper=

# Succeed once no CRIU worker is a child of the subreaper $1.
workers_gone() {
	local pid
	for pid in $(ps -o pid= --ppid "$1"); do
		[[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" != *criu*" swrk "* ]] ||
			return 1
	done
}

# Stop what the test left running before cleanup kills the subreapers: a
# ctrd whose parent is gone would end as a zombie of PID 1.
stop_reaped_ctrd() {
	local cmdline
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$lazy_server/cmdline")
	if is_pid "$lazy_server" && [[ "$cmdline" == *lazy-pages* ]]; then
		kill -KILL "$lazy_server" 2>/dev/null
	fi
	if is_pid "$ctrd_pid" && pid_running "$ctrd_pid"; then
		collect_job_pids
		stop_restored
		kill -TERM "$ctrd_pid" 2>/dev/null
		wait_until 10 test -s "$test_dir/ctrd.status"
	fi
	kill_orphans
	if is_pid "$old_reaper"; then
		reaper_pid=$old_reaper kill_orphans
	fi
}

begin_test
# errexit is turned off first: "(exit N)" would otherwise end the trap
# before cleanup runs.
trap 'status=$?; set +e; stop_reaped_ctrd; (exit "$status"); cleanup' EXIT

# 512 MiB keeps CRIU filling the eager tree's memory for a few hundred
# milliseconds, and the lazy server copying pages for as long.
start_workload eager 512 --seed 51
eager_pid=$workload_pid
dump_workload "$eager_pid" "$test_dir/eager-images"
record_restored_pid "$eager_pid"
start_workload lazy 512 --seed 52
lazy_pid=$workload_pid
dump_workload "$lazy_pid" "$test_dir/lazy-images"
record_restored_pid "$lazy_pid"

echo '{}' >"$test_dir/ctrd.json"
make_slow_lazy_criu
start_reaped_ctrd "$test_dir/ctrd.json" "$slow_lazy_criu"

# SIGSTOP pauses the lazy server mid-transfer, so the transfer is still
# under way when ctrd dies.  The server runs slowed down until then, or it
# could copy every page before the test stops it.
python3 "$source_dir/tests/integration/kill_during_restore.py" \
	"$ctrd_socket" "$test_dir/lazy-images" transfer server --lazy \
	--signal STOP --detach >lazy.jsonl 2>lazy.err ||
	fail "could not pause the page transfer of the lazy restore: $(cat lazy.err)"
lazy_job=$(json_value job <lazy.jsonl)
lazy_server=$(event_value lazy.jsonl lazy-pages-ready server_pid)
log "job $lazy_job: $(cat lazy.err)"
assert_eq "$lazy_pid" "$(event_value lazy.jsonl restored pid)" "restored pid of job $lazy_job"

python3 "$source_dir/tests/integration/kill_during_restore.py" \
	"$ctrd_socket" "$test_dir/eager-images" tree "$ctrd_pid" \
	--image-pid "$eager_pid" --parent "$ctrd_pid" >eager.jsonl 2>eager.err ||
	fail "could not kill ctrd during the eager restore: $(cat eager.err)"
eager_job=$(json_value job <eager.jsonl)
eager_worker=$(event_value eager.jsonl started worker_pid)
log "job $eager_job: $(cat eager.err)"
assert_eq "signal 9" "$(wait_ctrd_exit 10)" "wait status of the killed ctrd"

wait_until 10 workers_gone "$reaper_pid" ||
	fail "CRIU workers still run 10 s after ctrd was killed: $(ps -o pid=,args= --ppid "$reaper_pid")"
wait_pid_gone "$eager_worker" 5 || fail "worker $eager_worker of job $eager_job outlived ctrd"
wait_pid_gone "$eager_pid" 10 ||
	fail "half-restored pid $eager_pid still exists 10 s after ctrd was killed"
assert_file_contains "$state_dir/jobs/$eager_job/restore.log" "Restoring FAILED" \
	"CRIU's log of job $eager_job"

# Back at full speed, the server copies the rest.
echo "$lazy_server" >/sys/fs/cgroup/cpu/cgroup.procs
kill -CONT "$lazy_server"
wait_pid_gone "$lazy_server" 30 ||
	fail "lazy-pages server $lazy_server did not finish within 30 s of SIGCONT"
lazy_server=
pid_running "$lazy_pid" || fail "lazy restored pid $lazy_pid died with ctrd"
assert_eq "$reaper_pid" "$(parent_pid_of "$lazy_pid")" "parent of lazy restored pid $lazy_pid"
check_heartbeat "$test_dir/lazy"
check_memory "$lazy_pid" "$test_dir/lazy"

old_reaper=$reaper_pid
start_reaped_ctrd "$test_dir/ctrd.json"
assert_file_contains ctrd.log "removed stale socket" "log of the second ctrd"

# Durable job history: enforced once proto/API.md documents the
# `interrupted` state.  A restore cut off by the kill ends interrupted, and
# the lazy tree still running is adopted.
history=false
grep -q "^| \`interrupted\` |" "$source_dir/proto/API.md" && history=true
if [ "$history" = true ]; then
	assert_eq interrupted "$(job_value "$eager_job" state)" "state of job $eager_job after the restart"
	assert_eq interrupted "$(job_value "$eager_job" error.code)" "error code of job $eager_job after the restart"
	assert_eq restored "$(job_value "$lazy_job" state)" "state of job $lazy_job after the restart"
	assert_eq true "$(job_value "$lazy_job" adopted)" "adopted flag of job $lazy_job"
else
	log "proto/API.md documents no 'interrupted' state: job history checks skipped"
fi

reaper_pid=$old_reaper kill_orphans
if [ "$history" = true ]; then
	wait_job_state "$lazy_job" exited
	assert_eq true "$(job_value "$lazy_job" exit.unknown)" "exit of adopted job $lazy_job"
fi
kill -TERM "$old_reaper"
wait "$old_reaper" 2>/dev/null || true
forget_child_pid "$old_reaper"
old_reaper=

# The eager image's pids are free again, so it restores intact.
restore_intact "$test_dir/eager-images" "$test_dir/eager" "$eager_pid"
assert_no_strays "$eager_pid"
log PASS
