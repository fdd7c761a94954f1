#!/bin/bash
# A ctrd-cli restore killed with SIGKILL while it follows its job does not
# stop the job.  An eager restore whose client died as the job started and
# a lazy restore whose client died while pages were still arriving both
# end restored with their memory intact, and ctrd serves on.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Run `ctrd-cli --json restore` with the arguments $3..., writing to $1.out,
# and SIGKILL it as soon as its output contains the event $2.  Prints the job
# id.
restore_killing_client() {
	local name=$1 event=$2 client job
	shift 2
	cli --json restore "$@" >"$name.out" 2>"$name.err" &
	client=$!
	record_child_pid "$client"
	wait_until 20 file_has "$name.out" "\"event\": *\"$event\"" ||
		fail "no '$event' event from ctrd-cli restore $*: $(cat "$name.out" "$name.err")"
	kill -KILL "$client"
	wait "$client" 2>/dev/null || true
	forget_child_pid "$client"
	job=$(json_value job <"$name.out")
	log "killed ctrd-cli $client at the '$event' event of job $job:" \
		"state $(job_value "$job" state)," \
		"pages_complete $(job_value "$job" pages_complete)"
	echo "$job"
}

begin_test
start_ctrd 2

start_workload eager 512 --seed 41
eager_pid=$workload_pid
dump_workload "$eager_pid" "$test_dir/eager-images"
record_restored_pid "$eager_pid"
start_workload lazy 512 --seed 42
lazy_pid=$workload_pid
dump_workload "$lazy_pid" "$test_dir/lazy-images"
record_restored_pid "$lazy_pid"

eager_job=$(restore_killing_client eager started "$test_dir/eager-images")
lazy_job=$(restore_killing_client lazy restored --lazy-pages "$test_dir/lazy-images")

wait_job_state "$eager_job" restored
assert_eq "$eager_pid" "$(job_value "$eager_job" pid)" "pid of job $eager_job"
wait_job_state "$lazy_job" restored
assert_eq "$lazy_pid" "$(job_value "$lazy_job" pid)" "pid of job $lazy_job"
wait_until 30 test "$(job_value "$lazy_job" pages_complete)" = true ||
	fail "job $lazy_job: pages not complete 30 s after its client was killed"

check_memory "$eager_pid" "$test_dir/eager"
check_memory "$lazy_pid" "$test_dir/lazy"
assert_no_strays "$eager_pid" "$lazy_pid"
log PASS
