#!/bin/bash
# A restore of an image whose pages file is truncated makes CRIU's restorer
# loop while its log grows by tens of MB/s.  ctrd fails the job once the
# log passes max_log_bytes, kills the half-restored tree and keeps serving.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
echo '{"max_log_bytes": 4194304}' >"$test_dir/ctrd.json"
start_ctrd 1 "$criu_bin" --config "$test_dir/ctrd.json"

start_workload damaged 16 --seed 9
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"
pages=$(ls "$test_dir"/images/pages-*.img | head -n 1)
truncate -s 4096 "$pages"

run_cli damaged.jsonl --json restore "$test_dir/images"
assert_ne 0 "$cli_status" "exit status of the restore of a truncated image"
job=$(json_value job <damaged.jsonl)
assert_eq failed "$(job_value "$job" state)" "state of job $job"
assert_eq log-limit "$(job_value "$job" error.code)" "error code of job $job"
wait_pid_gone "$pid" 5 || fail "half-restored pid $pid still exists"
for child in $(ps -o pid= --ppid "$ctrd_pid"); do
	[ "$(readlink "/proc/$child/exe" 2>/dev/null || true)" != "$(readlink -f "$workload_bin")" ] ||
		fail "ctrd still has a restored workload child, pid $child"
done
cli info >/dev/null || fail "ctrd-cli info failed after the damaged restore"
log "ok"
