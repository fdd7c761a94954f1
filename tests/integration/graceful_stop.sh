#!/bin/bash
# SIGTERM stops ctrd gracefully.  It closes its socket, cancels the queued
# job with a reason, lets the running restore finish and exits 0, and the
# restored process runs on.  A restore still running at stop_timeout is
# canceled, and its CRIU worker does not outlive ctrd.
#
# A FIFO in place of files.img keeps CRIU blocked in open(), before it
# forks any task, so a restore stays running for as long as the test
# wants.  Writing the real files.img into the FIFO lets that restore go on
# and finish.  ctrd itself reads only inventory.img and pstree.img.
#
# ctrd runs under subreaper.py here, so the processes that outlive it are
# reparented to that script, which reaps them, instead of to PID 1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
# errexit is turned off first: "(exit N)" would otherwise end the trap
# before cleanup runs.
trap 'status=$?; set +e; kill_orphans; (exit "$status"); cleanup' EXIT

start_workload big 256 --seed 21
big_pid=$workload_pid
dump_workload "$big_pid" "$test_dir/big-images"
mv "$test_dir/big-images/files.img" "$test_dir/big-files.img"
mkfifo "$test_dir/big-images/files.img"
start_workload small 8 --seed 22
dump_workload "$workload_pid" "$test_dir/small-images"

echo '{"max_running": 1, "stop_timeout": 60}' >"$test_dir/ctrd.json"
start_reaped_ctrd "$test_dir/ctrd.json"

cli restore "$test_dir/big-images" >big.out 2>&1 &
big_cli=$!
record_child_pid "$big_cli"
big_job=$(wait_new_job "")
wait_job_state "$big_job" restoring
cli restore "$test_dir/small-images" >small.out 2>&1 &
small_cli=$!
record_child_pid "$small_cli"
small_job=$(wait_new_job "$big_job")
assert_eq queued "$(job_value "$small_job" state)" "state of job $small_job"
assert_eq restoring "$(job_value "$big_job" state)" "state of job $big_job before SIGTERM"

kill -TERM "$ctrd_pid"
wait_until 5 file_has ctrd.log "stopping: waiting up to 60 s" || true
assert_file_contains ctrd.log "stopping: waiting up to 60 s" "ctrd log after SIGTERM"
# The running restore goes on once CRIU can read its files.img.
timeout 20 cp "$test_dir/big-files.img" "$test_dir/big-images/files.img" ||
	fail "CRIU did not open files.img of job $big_job within 20 s"
assert_eq "exit 0" "$(wait_ctrd_exit 60)" "wait status of ctrd after SIGTERM"
[ ! -e "$ctrd_socket" ] || fail "ctrd left its socket $ctrd_socket behind"

big_status=0
wait "$big_cli" || big_status=$?
small_status=0
wait "$small_cli" || small_status=$?
forget_child_pid "$big_cli"
forget_child_pid "$small_cli"
assert_eq 0 "$big_status" "exit status of the restore that ran at SIGTERM ($(cat big.out))"
assert_file_contains big.out "restored" "events of job $big_job"
assert_ne 0 "$small_status" "exit status of the queued restore"
assert_file_contains small.out "canceled" "events of job $small_job"
assert_file_contains small.out "ctrd is stopping" "cancel reason of job $small_job"
assert_file_contains ctrd.log "job=$small_job" "ctrd log"

# The restored process outlives ctrd, with its memory intact.
record_restored_pid "$big_pid"
pid_running "$big_pid" || fail "restored pid $big_pid does not run after ctrd exited"
assert_eq "$reaper_pid" "$(parent_pid_of "$big_pid")" "parent of restored pid $big_pid after ctrd exited"
check_heartbeat "$test_dir/big"
check_memory "$big_pid" "$test_dir/big"
kill_orphans

# A restore stuck past stop_timeout is canceled and its worker killed.
start_workload stuck 8 --seed 23
dump_workload "$workload_pid" "$test_dir/stuck-images"
rm "$test_dir/stuck-images/files.img"
mkfifo "$test_dir/stuck-images/files.img"
echo '{"stop_timeout": 2}' >"$test_dir/ctrd-short.json"
start_reaped_ctrd "$test_dir/ctrd-short.json"
# The new ctrd lists the jobs of the first one from its job history.
last_job=$(newest_job)
cli restore "$test_dir/stuck-images" >stuck.out 2>&1 &
stuck_cli=$!
record_child_pid "$stuck_cli"
stuck_job=$(wait_new_job "$last_job")
wait_job_state "$stuck_job" restoring
worker=$(sed -n 's/.* started .*worker_pid=\([0-9]*\).*/\1/p' stuck.out | head -n 1)
is_pid "$worker" || fail "no worker pid in the started event: $(cat stuck.out)"

started=$SECONDS
kill -TERM "$ctrd_pid"
assert_eq "exit 0" "$(wait_ctrd_exit 20)" "wait status of ctrd after SIGTERM with a stuck restore"
elapsed=$((SECONDS - started))
[ "$elapsed" -ge 1 ] || fail "ctrd exited after $elapsed s, before its stop_timeout of 2 s"
stuck_status=0
wait "$stuck_cli" || stuck_status=$?
forget_child_pid "$stuck_cli"
assert_ne 0 "$stuck_status" "exit status of the stuck restore"
assert_file_contains stuck.out "canceled" "events of job $stuck_job"
assert_file_contains stuck.out "stop_timeout 2 s" "cancel reason of job $stuck_job"
wait_pid_gone "$worker" 5 || fail "CRIU worker $worker outlived ctrd"
log PASS
