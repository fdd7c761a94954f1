#!/bin/bash
# Restoring an image whose pid is already in use fails with pid-in-use and
# the log lines that show it, and the daemon keeps serving.
. "$(dirname "$0")/lib.sh"

start_ctrd 2
start_workload "$test_dir/work" --memory 8 --seed 3
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"
cli restore "$test_dir/images" >/dev/null || fail "first restore failed"
own_pid "$pid"

if cli restore "$test_dir/images" >"$test_dir/second.out" 2>&1; then
	fail "second restore of the same images succeeded"
fi
job=$(last_job)
assert_eq "$(job_field "$job" state)" failed "second job state"
assert_eq "$(job_field "$job" error.code)" pid-in-use "second job error code"
job_field "$job" error.message | grep -q "$pid" ||
	fail "error message does not name pid $pid"
job_field "$job" error.log | grep -q "Can't fork for $pid" ||
	fail "error log lines do not show the fork failure"
grep -q "pid-in-use" "$test_dir/second.out" ||
	fail "ctrd-cli did not print the error code: $(cat "$test_dir/second.out")"

# The first copy still runs and the daemon still restores other images.
assert_heartbeat_advances "$test_dir/work"
cli info >/dev/null || fail "info failed after the failed restore"
start_workload "$test_dir/work2" --memory 8 --seed 4
pid2=$workload_pid
dump_workload "$pid2" "$test_dir/images2"
cli restore "$test_dir/images2" >/dev/null || fail "restore of other images failed"
own_pid "$pid2"
assert_heartbeat_advances "$test_dir/work2"
log "ok"
