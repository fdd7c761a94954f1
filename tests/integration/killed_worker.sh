#!/bin/bash
# A CRIU worker killed with SIGKILL during a restore fails its job with
# worker-died: before the tree exists, while the job's lazy-pages server
# starts, or while CRIU fills the memory of a tree it has forked.  ctrd
# kills that half-restored tree and the lazy-pages server, so the image's
# pids are free again.  It refills its pool, also after an idle worker is
# killed, leaves no CRIU process behind and restores the same image
# afterwards.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Restore the image with kill_during_restore.py, killing the worker at
# moment $2 (with more options in $3...), and check that the job failed
# with worker-died.  Its events go to $1.jsonl.  Prints the job id.
restore_killing_worker() {
	local name=$1 when=$2 job worker
	shift 2
	python3 "$source_dir/tests/integration/kill_during_restore.py" \
		"$ctrd_socket" "$test_dir/images" "$when" worker \
		--image-pid "$image_pid" --parent "$ctrd_pid" "$@" \
		>"$name.jsonl" 2>"$name.err" ||
		fail "restore killing its worker at '$when' did not end: $(cat "$name.err")"
	job=$(json_value job <"$name.jsonl")
	worker=$(event_value "$name.jsonl" started worker_pid)
	log "job $job: $(cat "$name.err")"
	assert_eq failed "$(job_value "$job" state)" "state of job $job"
	assert_eq worker-died "$(job_value "$job" error.code)" "error code of job $job"
	assert_eq worker-died "$(event_value "$name.jsonl" failed code)" "code of the failed event of job $job"
	wait_pid_gone "$worker" 5 || fail "killed worker $worker of job $job is not reaped"
	wait_pid_gone "$image_pid" 5 ||
		fail "pid $image_pid of the image still exists after job $job failed: $(cat "/proc/$image_pid/status" 2>/dev/null)"
	echo "$job"
}

begin_test
start_ctrd 2

# 512 MiB takes CRIU a few hundred milliseconds to read back, a window
# in which its tree exists and waits for it.
start_workload big 512 --seed 31
image_pid=$workload_pid
dump_workload "$image_pid" "$test_dir/images"
record_restored_pid "$image_pid"

early_job=$(restore_killing_worker early started)
assert_no_strays

# Killed as the job starts, the worker dies while ctrd still waits for the
# job's lazy-pages server to listen.
lazy_job=$(restore_killing_worker lazy started --lazy)
log "$(grep -o "job=$lazy_job: [a-z-]* -> failed" ctrd.log)"
assert_no_strays

# An idle worker that dies is replaced.
idle=$(pgrep -P "$ctrd_pid" -f ' swrk ' | head -n 1)
is_pid "$idle" || fail "ctrd has no idle worker to kill"
kill -KILL "$idle"
wait_pid_gone "$idle" 5 || fail "killed idle worker $idle was not reaped"
assert_no_strays

late_job=$(restore_killing_worker late tree)
file_has ctrd.log "job=$late_job.*killing restored tree of pid $image_pid" ||
	fail "ctrd did not log killing the half-restored tree of job $late_job"
assert_no_strays
assert_ne "$early_job" "$late_job" "job ids of the two restores"

# The image's pids are free, so the same image restores intact.
restore_intact "$test_dir/images" "$test_dir/big" "$image_pid"
assert_no_strays "$image_pid"
log PASS
