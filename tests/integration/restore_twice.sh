#!/bin/bash
# Restoring an image set while its first restored copy still runs fails
# with pid-in-use, because CRIU restores each process with its dumped pid.
# The failure leaves the first copy running and ctrd serving.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_ctrd 2

start_workload first 16 --seed 4
first_pid=$workload_pid
dump_workload "$first_pid" "$test_dir/first-images"
start_workload fresh 16 --seed 5
fresh_pid=$workload_pid
dump_workload "$fresh_pid" "$test_dir/fresh-images"

run_cli first.out restore "$test_dir/first-images"
assert_eq 0 "$cli_status" "exit status of the first restore (stderr: $(cat first.out.err))"
first_job=$(newest_job)
record_restored_pid "$(job_value "$first_job" pid)"
assert_eq "$first_pid" "$(job_value "$first_job" pid)" "pid of first job $first_job"

# The same images again, while the first copy still uses the pid.
run_cli second.jsonl --json restore "$test_dir/first-images"
assert_ne 0 "$cli_status" "exit status of ctrd-cli restore of images whose pid is in use"
second_job=$(json_value job <second.jsonl)
assert_ne "$first_job" "$second_job" "id of the second job"
python3 - second.jsonl "$second_job" "$first_pid" <<'PY' || fail "no matching failed event in $test_dir/second.jsonl (see above)"
import json, re, sys

path, job, pid = sys.argv[1], sys.argv[2], sys.argv[3]
events = [json.loads(line) for line in open(path) if line.strip()]
failed = [e for e in events if e.get("event") == "failed" and e.get("job") == job]
if len(failed) != 1:
    sys.exit(f"expected one failed event for job {job}, got {len(failed)}")
event = failed[0]
if event.get("code") != "pid-in-use":
    sys.exit(f"failed event: expected code 'pid-in-use', got {event.get('code')!r}")
if not re.search(r"\b%s\b" % pid, event.get("message", "")):
    sys.exit(f"failed event: expected a message naming pid {pid}, got {event.get('message')!r}")
if not isinstance(event.get("log"), list) or not event["log"]:
    sys.exit(f"failed event: expected CRIU log lines, got {event.get('log')!r}")
PY
assert_eq failed "$(job_value "$second_job" state)" "state of second job $second_job"
assert_eq pid-in-use "$(job_value "$second_job" error.code)" "error code of second job $second_job"
message=$(job_value "$second_job" error.message)
[[ "$message" =~ (^|[^0-9])$first_pid([^0-9]|$) ]] ||
	fail "error message of second job $second_job: expected it to name pid $first_pid, got '$message'"

# The first copy runs on untouched, and ctrd still serves and restores.
assert_eq restored "$(job_value "$first_job" state)" "state of first job $first_job after the failed restore"
check_heartbeat "$test_dir/first"
cli info >/dev/null || fail "ctrd-cli info failed after the failed restore"

run_cli fresh.out restore "$test_dir/fresh-images"
assert_eq 0 "$cli_status" "exit status of the restore of fresh images (stderr: $(cat fresh.out.err))"
fresh_job=$(newest_job)
record_restored_pid "$(job_value "$fresh_job" pid)"
assert_eq "$fresh_pid" "$(job_value "$fresh_job" pid)" "pid of fresh job $fresh_job"
check_heartbeat "$test_dir/fresh"
log PASS
