#!/bin/bash
# A 64 MiB process restored through ctrd without lazy pages runs on as the
# same pid, as ctrd's child, with its memory intact.  ctrd's worker pool
# refills afterwards, and the job ends exited when its root is killed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_ctrd 2

start_workload full 64 --seed 1
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"

run_cli restore.out restore "$test_dir/images"
assert_eq 0 "$cli_status" "exit status of ctrd-cli restore (stderr: $(cat restore.out.err))"
assert_file_contains restore.out restored "ctrd-cli restore output"

job=$(newest_job)
restored_pid=$(job_value "$job" pid)
record_restored_pid "$restored_pid"
assert_eq "$pid" "$restored_pid" "pid of restored job $job"
assert_eq restored "$(job_value "$job" state)" "state of job $job"
assert_eq "$ctrd_pid" "$(parent_pid_of "$restored_pid")" "parent of restored pid $restored_pid"

check_heartbeat "$test_dir/full"
check_memory "$restored_pid" "$test_dir/full"
wait_pool_refilled

# ctrd reaps its restored child and ends the job with the exit status.
kill -KILL "$restored_pid"
wait_pid_gone "$restored_pid" 5 ||
	fail "killed restored pid $restored_pid was not reaped within 5 s"
for ((i = 0; i < 50; i++)); do
	[ "$(job_value "$job" state)" = exited ] && break
	sleep 0.1
done
assert_eq exited "$(job_value "$job" state)" "state of job $job after its root was killed"
assert_eq 9 "$(job_value "$job" exit.signal)" "exit signal of job $job"
log PASS
