#!/bin/bash
# Restoring an image set while its first restored copy still runs fails
# with pid-in-use, because CRIU restores each process with its dumped pid.
# ctrd detects that before CRIU runs and rejects the request.  It checks
# again when a queued job starts, after any restore of the same root pid
# has ended.  The first copy runs on, and ctrd keeps serving.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Check that job $1 restored workload $4 as pid $3, and that job $2, a
# restore of the same images, failed its pid check on that process.
check_first_restored() {
	local first=$1 second=$2 pid=$3 name=$4 message
	wait_job_state "$second" failed 30
	record_restored_pid "$(job_value "$first" pid)"
	assert_eq restored "$(job_value "$first" state)" "state of job $first"
	assert_eq "$pid" "$(job_value "$first" pid)" "pid of job $first"
	assert_eq pid-in-use "$(job_value "$second" error.code)" "error code of job $second"
	message=$(job_value "$second" error.message)
	[[ "$message" == *"pid $pid of the image is in use by process 'ctrd-workload'"* ]] ||
		fail "error message of job $second: expected it to name pid $pid and 'ctrd-workload', got '$message'"
	check_heartbeat "$test_dir/$name"
}

begin_test
# One restore at a time, so jobs queue.  The low log cap ends the truncated
# image's restore, which keeps ctrd's only restore slot for about a second.
echo '{"max_running": 1, "workers": 2, "max_log_bytes": 4194304}' >"$test_dir/ctrd.json"
start_ctrd - "$criu_bin" --config "$test_dir/ctrd.json"

start_workload first 16 --seed 4
first_pid=$workload_pid
dump_workload "$first_pid" "$test_dir/first-images"
start_workload fresh 16 --seed 5
fresh_pid=$workload_pid
dump_workload "$fresh_pid" "$test_dir/fresh-images"
start_workload queued 16 --seed 6
queued_pid=$workload_pid
dump_workload "$queued_pid" "$test_dir/queued-images"
start_workload holder 16 --seed 7
dump_workload "$workload_pid" "$test_dir/holder-images"
pages=$(ls "$test_dir"/holder-images/pages-*.img | head -n 1)
truncate -s 4096 "$pages"
start_workload clash 16 --seed 8
clash_pid=$workload_pid
dump_workload "$clash_pid" "$test_dir/clash-images"

run_cli first.out restore "$test_dir/first-images"
assert_eq 0 "$cli_status" "exit status of the first restore (stderr: $(cat first.out.err))"
first_job=$(newest_job)
record_restored_pid "$(job_value "$first_job" pid)"
assert_eq "$first_pid" "$(job_value "$first_job" pid)" "pid of first job $first_job"

# The same images again, while the first copy still uses the pid: ctrd
# rejects the request before CRIU runs, naming the pid and its holder.
jobs_before=$(cli --json list | json_value jobs | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
run_cli second.json --json restore "$test_dir/first-images"
assert_ne 0 "$cli_status" "exit status of ctrd-cli restore of images whose pid is in use"
python3 - second.json "$first_pid" <<'PY' || fail "no matching pid-in-use error in $test_dir/second.json (see above)"
import json, re, sys

path, pid = sys.argv[1], sys.argv[2]
reply = json.loads(open(path).readline())
error = reply.get("error")
if not isinstance(error, dict):
    sys.exit(f"expected an error reply, got {reply!r}")
if error.get("code") != "pid-in-use":
    sys.exit(f"expected code 'pid-in-use', got {error.get('code')!r}")
message = error.get("message", "")
if not re.search(r"\bpid %s\b" % pid, message):
    sys.exit(f"expected a message naming pid {pid}, got {message!r}")
if "'ctrd-workload'" not in message:
    sys.exit(f"expected a message naming the holder 'ctrd-workload', got {message!r}")
PY
jobs_after=$(cli --json list | json_value jobs | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
assert_eq "$jobs_before" "$jobs_after" "number of jobs after the rejected restore"

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

# Two restores of the same images queue behind the holder's restore.  Both
# are accepted, because their pids are free then, and the second fails
# when it starts, because the first has taken them.
run_cli holder.out restore --detach "$test_dir/holder-images"
assert_eq 0 "$cli_status" "exit status of the holder's restore (stderr: $(cat holder.out.err))"
run_cli queued1.out restore --detach "$test_dir/queued-images"
assert_eq 0 "$cli_status" "exit status of the first queued restore (stderr: $(cat queued1.out.err))"
run_cli queued2.out restore --detach "$test_dir/queued-images"
assert_eq 0 "$cli_status" "exit status of the second queued restore (stderr: $(cat queued2.out.err))"
queued1_job=$(cat queued1.out)
queued2_job=$(cat queued2.out)
check_first_restored "$queued1_job" "$queued2_job" "$queued_pid" queued

# With two restores running at once, the same images twice would make two
# CRIUs restore the same pids at once: one fails, and its cleanup can kill
# the other's tree.  The second
# job waits until the first is restored, then fails its pid check, and the
# first copy runs on.
echo '{"max_running": 2, "workers": 2, "max_log_bytes": 4194304}' >"$test_dir/ctrd.json"
kill -HUP "$ctrd_pid"
wait_until 10 file_has "$test_dir/ctrd.log" "reload: 'max_running' 1 -> 2" ||
	fail "ctrd did not reload max_running 2; see $test_dir/ctrd.log"
wait_until 20 eval '[ "$(cli --json info | json_value pool.warm)" = 2 ]' ||
	fail "ctrd has not 2 warm workers: $(cli --json info)"
submit_together "$test_dir/clash-images" "$test_dir/clash-images" >clash.jobs
clash1_job=$(sed -n 1p clash.jobs)
clash2_job=$(sed -n 2p clash.jobs)
check_first_restored "$clash1_job" "$clash2_job" "$clash_pid" clash
log PASS
