#!/bin/bash
# The worker pool while jobs wait.  With one worker and one running slot,
# the replacement of the claimed worker starts while the first restore
# runs, not once it has ended.  A warm worker that dies right before a
# submit, before ctrd has reaped it, does not fail the job: the job waits
# for another worker and restores.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
echo '{"max_running": 1}' >"$test_dir/ctrd.json"
start_ctrd 1 "$criu_bin" --config "$test_dir/ctrd.json"

start_workload first 8 --seed 41
first_pid=$workload_pid
dump_workload "$first_pid" "$test_dir/first-images"
start_workload second 8 --seed 42
second_pid=$workload_pid
dump_workload "$second_pid" "$test_dir/second-images"

# a. Two restores at once: the second waits for a running slot, and the
# worker it will get is spawned before the first restore ends.
submit_together "$test_dir/first-images" "$test_dir/second-images" >a.jobs
first_job=$(sed -n 1p a.jobs)
second_job=$(sed -n 2p a.jobs)
wait_job_state "$first_job" restored
record_restored_pid "$first_pid"
wait_job_state "$second_job" restored
record_restored_pid "$second_pid"
python3 - ctrd.log "$first_job" <<'PY' || fail "no worker was spawned while job $first_job restored; see $test_dir/ctrd.log"
import re, sys

path, job = sys.argv[1], sys.argv[2]
lines = open(path, errors="replace").read().splitlines()
start = next(i for i, line in enumerate(lines)
             if f"job={job}: queued -> restoring" in line)
end = next(i for i, line in enumerate(lines)
           if f"job={job}: restoring -> restored" in line)
spawned = [line for line in lines[start:end]
           if re.search(r"worker \d+: spawned", line)]
if not spawned:
    sys.exit(f"lines {start + 1} to {end + 1} of {path} spawn no worker")
PY
check_heartbeat "$test_dir/first"
check_heartbeat "$test_dir/second"
kill -KILL "$first_pid" "$second_pid"
wait_pid_gone "$first_pid" 5 || fail "restored pid $first_pid did not end"
wait_pid_gone "$second_pid" 5 || fail "restored pid $second_pid did not end"
log "a: the replacement worker started while job $first_job restored"

# b. The warm worker dies while ctrd is stopped, and a restore arrives
# before ctrd reaps it.  ctrd may see the request first and find the
# worker's socket closed, or the worker's exit first; either way the job
# restores.
for round in 1 2 3; do
	wait_pool_refilled
	worker=
	for pid in $(ps -o pid= --ppid "$ctrd_pid"); do
		[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *criu*" swrk "* ]] && worker=$pid
	done
	is_pid "$worker" || fail "round $round: no warm worker under ctrd $ctrd_pid"
	python3 - "$ctrd_socket" "$test_dir/first-images" "$ctrd_pid" "$worker" \
		>"b$round.jsonl" <<'PY' || fail "round $round: the restore did not end restored; see $test_dir/b$round.jsonl"
import json, os, signal, socket, sys, time

path, images, ctrd, worker = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(path)
os.kill(ctrd, signal.SIGSTOP)
try:
    os.kill(worker, signal.SIGKILL)
    # A zombie until ctrd, its parent, reaps it; its socket is closed.
    for _ in range(200):
        with open(f"/proc/{worker}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    request = {"id": 1, "method": "restore",
               "params": {"images_dir": images, "follow": True}}
    sock.sendall((json.dumps(request) + "\n").encode())
finally:
    os.kill(ctrd, signal.SIGCONT)
end = None
for line in sock.makefile():
    print(line, end="")
    message = json.loads(line)
    if message.get("event") in ("restored", "failed", "canceled"):
        end = message
        break
if end is None or end["event"] != "restored":
    sys.exit(f"expected a restored event, got {end}")
PY
	job=$(json_value job <"b$round.jsonl")
	record_restored_pid "$first_pid"
	assert_eq restored "$(job_value "$job" state)" "round $round: state of job $job"
	kill -KILL "$first_pid"
	wait_pid_gone "$first_pid" 5 || fail "round $round: restored pid $first_pid did not end"
	if file_has ctrd.log "job=$job: worker $worker: .*queuing the job"; then
		log "b: round $round: job $job found worker $worker dead at the send and waited for another"
	else
		log "b: round $round: ctrd reaped worker $worker before job $job started"
	fi
done
assert_no_strays
log PASS
