#!/bin/bash
# Jobs survive a restart of ctrd.  After ctrd is killed with SIGKILL, a new
# ctrd on the same state dir lists every job.  The restored one is adopted
# (same pid and start time) and still reports its exit.  The running and
# the queued one end as interrupted, and an ended one keeps its outcome.  A
# graceful restart keeps every state again, and a torn last line of the
# journal is skipped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
trap 'status=$?; set +e; kill_orphans; (exit "$status"); cleanup' EXIT

start_workload kept 8 --seed 51
kept_pid=$workload_pid
dump_workload "$kept_pid" "$test_dir/kept-images"
start_workload stuck 8 --seed 52
stuck_pid=$workload_pid
dump_workload "$stuck_pid" "$test_dir/stuck-images"
# CRIU blocks in open() on this FIFO before it forks any task.  ctrd itself
# reads only inventory.img and pstree.img, so it accepts the job.
mv "$test_dir/stuck-images/files.img" "$test_dir/stuck-files.img"
mkfifo "$test_dir/stuck-images/files.img"
start_workload queued 8 --seed 53
dump_workload "$workload_pid" "$test_dir/queued-images"

echo '{"max_running": 1}' >"$test_dir/ctrd.json"
start_reaped_ctrd "$test_dir/ctrd.json"

# A restored job, whose process must outlive the crash.
run_cli kept.out restore "$test_dir/kept-images"
assert_eq 0 "$cli_status" "exit status of the kept restore ($(cat kept.out.err))"
record_restored_pid "$kept_pid"
kept_job=$(newest_job)
# A running job, stuck in open() on the FIFO, a queued one behind it, and
# an ended one, canceled while queued.
cli restore --detach "$test_dir/stuck-images" >/dev/null
stuck_job=$(wait_new_job "$kept_job")
wait_job_state "$stuck_job" restoring
cli restore --detach "$test_dir/queued-images" >/dev/null
queued_job=$(wait_new_job "$stuck_job")
cli restore --detach "$test_dir/queued-images" >/dev/null
canceled_job=$(wait_new_job "$queued_job")
cli cancel "$canceled_job" >/dev/null

kept_criu_stats=$(job_value "$kept_job" criu_stats)
[ "$kept_criu_stats" != null ] || fail "job $kept_job has no criu_stats: $(cli --json status "$kept_job")"

kill -KILL "$ctrd_pid"
assert_eq "signal 9" "$(wait_ctrd_exit 10)" "wait status of ctrd after SIGKILL"
# Let the orphaned CRIU worker of the stuck job go on: with ctrd gone it
# cannot finish, and it must not leave the job's processes behind.
timeout 20 cp "$test_dir/stuck-files.img" "$test_dir/stuck-images/files.img" ||
	fail "CRIU did not open files.img of job $stuck_job within 20 s"
wait_pid_gone "$stuck_pid" 10 || fail "pid $stuck_pid of the interrupted restore runs after its worker ended"
pid_running "$kept_pid" || fail "restored pid $kept_pid died with ctrd"
# Every CRIU worker of the killed ctrd, idle or not, exits once its socket
# closes; the subreaper inherited them.
wait_until 10 eval '! ps -o args= --ppid "$reaper_pid" | grep -q " swrk "' ||
	fail "CRIU workers outlived the killed ctrd: $(ps -o pid=,args= --ppid "$reaper_pid")"

start_reaped_ctrd "$test_dir/ctrd.json"
assert_file_contains ctrd.log "4 jobs reloaded" "ctrd log after the restart"
assert_eq restored "$(job_value "$kept_job" state)" "state of the restored job after a crash"
assert_eq true "$(job_value "$kept_job" adopted)" "adoption of job $kept_job"
assert_eq "$kept_pid" "$(job_value "$kept_job" pid)" "pid of job $kept_job"
assert_eq interrupted "$(job_value "$stuck_job" state)" "state of the running job after a crash"
assert_eq interrupted "$(job_value "$stuck_job" error.code)" "error code of job $stuck_job"
assert_eq interrupted "$(job_value "$queued_job" state)" "state of the queued job after a crash"
assert_eq canceled "$(job_value "$canceled_job" state)" "state of the canceled job after a crash"
assert_eq 0 "$(job_value "$kept_job" peer.uid)" "peer uid of job $kept_job"
assert_eq "$kept_criu_stats" "$(job_value "$kept_job" criu_stats)" "criu_stats of job $kept_job after a crash"
# Reloaded jobs are not counted again.
assert_eq 0 "$(cli metrics | sed -n 's/^ctrd_criu_restore_seconds_count //p')" "CRIU restores in the metrics after a crash"

# The adopted process can be canceled like any restored one: its tree is
# killed and the job ends canceled, once.  (killed_ctrd.sh covers an
# adopted root that exits on its own.)
check_memory "$kept_pid" "$test_dir/kept"
cli cancel "$kept_job" >/dev/null || fail "cancel of adopted job $kept_job failed"
wait_pid_gone "$kept_pid" 5 || fail "canceled pid $kept_pid was not reaped by the subreaper"
assert_eq canceled "$(job_value "$kept_job" state)" "state of adopted job $kept_job after cancel"
sleep 0.5
assert_eq canceled "$(job_value "$kept_job" state)" "state of job $kept_job once its pidfd fired"
assert_eq 1 "$(cli metrics | sed -n 's/^ctrd_jobs_ended_total{state="canceled"} //p')" "canceled jobs in the metrics"
assert_eq 0 "$(cli metrics | sed -n 's/^ctrd_jobs_ended_total{state="exited"} //p')" "exited jobs in the metrics"

# A graceful restart keeps every state; a torn last record is skipped.
kill -TERM "$ctrd_pid"
assert_eq "exit 0" "$(wait_ctrd_exit 20)" "wait status of ctrd after SIGTERM"
printf '{"job": "0123456789abcdef", "state": "rest' >>"$state_dir/jobs.journal"
start_reaped_ctrd "$test_dir/ctrd.json"
assert_file_contains ctrd.log "cut short by a crash" "ctrd log after a torn record"
assert_eq canceled "$(job_value "$kept_job" state)" "state of job $kept_job after a graceful restart"
assert_eq interrupted "$(job_value "$stuck_job" state)" "state of job $stuck_job after a graceful restart"
assert_eq canceled "$(job_value "$canceled_job" state)" "state of job $canceled_job after a graceful restart"
assert_eq 4 "$(cli --json list | json_value jobs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "jobs listed after two restarts"

# Jobs dropped from the history take their work dirs, and CRIU's logs in
# them, along.
kept_dir=$(job_value "$kept_job" work_dir)
[ -d "$kept_dir" ] || fail "work dir $kept_dir of job $kept_job is missing"
kill -TERM "$ctrd_pid"
assert_eq "exit 0" "$(wait_ctrd_exit 20)" "wait status of ctrd after SIGTERM"
echo '{"max_running": 1, "max_history": 0}' >"$test_dir/ctrd.json"
start_reaped_ctrd "$test_dir/ctrd.json"
wait_until 5 eval '[ "$(cli --json list | json_value jobs)" = "[]" ]' ||
	fail "ended jobs listed with max_history 0: $(cli --json list)"
[ ! -e "$kept_dir" ] || fail "work dir $kept_dir of dropped job $kept_job is still there"
# What is left is at most the empty work dir ctrd makes ahead for its next
# job.
left=$(find "$state_dir/jobs" -mindepth 1 -maxdepth 1 | wc -l)
[ "$left" -le 1 ] || fail "work dirs left in $state_dir/jobs: $(ls "$state_dir/jobs")"
[ -z "$(find "$state_dir/jobs" -mindepth 2)" ] ||
	fail "files left in $state_dir/jobs: $(find "$state_dir/jobs" -mindepth 2)"
log PASS
