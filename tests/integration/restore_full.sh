#!/bin/bash
# A 64 MiB process restored through ctrd without lazy pages keeps running
# with its pid and memory, and the worker pool refills.
. "$(dirname "$0")/lib.sh"

start_ctrd 2
start_workload "$test_dir/work" --memory 64 --seed 7
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"

cli restore "$test_dir/images" >"$test_dir/restore.out" ||
	{ cat "$test_dir/restore.out" >&2; fail "ctrd-cli restore exited non-zero"; }
grep -q " restored pid=$pid" "$test_dir/restore.out" ||
	fail "no 'restored pid=$pid' line in: $(cat "$test_dir/restore.out")"
own_pid "$pid"

job=$(last_job)
assert_eq "$(job_field "$job" state)" restored "job state"
assert_eq "$(job_field "$job" pid)" "$pid" "restored pid"
[ -f "$(job_field "$job" work_dir)/restore.log" ] ||
	fail "no restore.log in the job's work dir"
assert_heartbeat_advances "$test_dir/work"
assert_memory_intact "$pid" "$test_dir/work"
assert_pool_refills

# The restored root is ctrd's child: ctrd reaps it and reports its exit.
kill -9 "$pid"
for _ in $(seq 50); do
	[ "$(job_field "$job" state)" = exited ] && break
	sleep 0.1
done
assert_eq "$(job_field "$job" state)" exited "state after kill"
assert_eq "$(job_field "$job" exit.signal)" 9 "exit signal"
log "ok"
