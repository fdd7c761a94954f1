#!/bin/bash
# A second client that runs `ctrd-cli watch` on a lazy restore job receives
# the same events as the client that submitted it.  Canceling the restored
# job kills the restored process and ends the job canceled, which the
# watcher receives as its last event.  Canceling a queued job ends it
# before it starts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Wait up to $2 seconds until file $1 has a line that contains $3.
wait_for_line() {
	local file=$1 tries=$(($2 * 10)) needle=$3 i
	for ((i = 0; i < tries; i++)); do
		grep -qF -- "$needle" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

begin_test

# A lazy restore of 256 MiB ends within a few hundred milliseconds, less
# than a second client needs to start and attach.  This CRIU wrapper starts
# `criu lazy-pages` 3 s late, so the job waits in state lazy-pages until the
# watcher is attached and everything from lazy-pages-ready on can be
# compared.  With max_running 1, that job also takes the only restore slot
# meanwhile, so a second job stays queued.
cat >criu-slow-lazy-pages <<WRAPPER
#!/bin/sh
case " \$* " in
*" lazy-pages "*) sleep 3 ;;
esac
exec "$criu_bin" "\$@"
WRAPPER
chmod +x criu-slow-lazy-pages
echo '{"max_running": 1}' >ctrd.json
start_ctrd 2 "$test_dir/criu-slow-lazy-pages" --config "$test_dir/ctrd.json"

start_workload watched 256 --seed 6
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"

cli --json restore --lazy-pages "$test_dir/images" >restore.jsonl 2>restore.err &
restore_client=$!
record_child_pid "$restore_client"
wait_for_line restore.jsonl 10 '"result"' ||
	fail "ctrd-cli restore printed no reply within 10 s: $(cat restore.jsonl restore.err)"
job=$(json_value job <restore.jsonl)

cli --json watch "$job" >watch.jsonl 2>watch.err &
watch_client=$!
record_child_pid "$watch_client"

# A second job waits behind the first; canceling it takes it off the queue.
run_cli queued.jsonl --json restore --detach "$test_dir/images"
assert_eq 0 "$cli_status" "exit status of ctrd-cli restore --detach (stderr: $(cat queued.jsonl.err))"
queued_job=$(json_value job <queued.jsonl)
assert_eq lazy-pages "$(job_value "$job" state)" "state of job $job while its lazy-pages server starts"
assert_eq queued "$(job_value "$queued_job" state)" "state of job $queued_job behind job $job"
run_cli cancel-queued.out cancel "$queued_job"
assert_eq 0 "$cli_status" "exit status of ctrd-cli cancel of queued job $queued_job (stderr: $(cat cancel-queued.out.err))"
assert_eq canceled "$(job_value "$queued_job" state)" "state of job $queued_job after cancel"
assert_eq null "$(job_value "$queued_job" started)" "start time of job $queued_job canceled in the queue"

restore_status=0
wait "$restore_client" || restore_status=$?
forget_child_pid "$restore_client"
assert_eq 0 "$restore_status" "exit status of ctrd-cli restore --lazy-pages (stderr: $(cat restore.err))"
wait_for_line watch.jsonl 10 '"pages-complete"' ||
	fail "the watcher received no pages-complete event within 10 s: $(cat watch.jsonl watch.err)"

restored_pid=$(job_value "$job" pid)
record_restored_pid "$restored_pid"
assert_eq "$pid" "$restored_pid" "pid of restored job $job"
check_heartbeat "$test_dir/watched"

# Both clients print each line as ctrd sent it; the watcher's events must
# be the submitter's last ones, identical member for member.
python3 - restore.jsonl watch.jsonl "$job" <<'PY' || fail "the watcher's events differ from the submitter's (see above)"
import json, sys

restore_path, watch_path, job = sys.argv[1], sys.argv[2], sys.argv[3]

def events(path):
    lines = [json.loads(line) for line in open(path) if line.strip()]
    return lines[0], [line for line in lines[1:] if "event" in line]

_, submitted = events(restore_path)
reply, watched = events(watch_path)
print("submitter:", " ".join(e["event"] for e in submitted), file=sys.stderr)
print("watcher:  ", " ".join(e["event"] for e in watched), file=sys.stderr)
snapshot = reply.get("result", {})
if snapshot.get("job") != job:
    sys.exit(f"watch reply: expected job {job}, got {snapshot.get('job')!r}")
names = [e["event"] for e in watched]
for name in ("lazy-pages-ready", "restored", "pages-complete"):
    if name not in names:
        sys.exit(f"the watcher received no {name} event")
if watched != submitted[-len(watched):]:
    sys.exit(f"expected the watcher's events to end the submitter's list:\n"
             f"  watcher:   {watched}\n  submitter: {submitted}")
PY

run_cli cancel.out cancel "$job"
assert_eq 0 "$cli_status" "exit status of ctrd-cli cancel $job (stderr: $(cat cancel.out.err))"
wait_pid_gone "$restored_pid" 5 ||
	fail "restored pid $restored_pid still exists 5 s after the cancel of job $job"
assert_eq canceled "$(job_value "$job" state)" "state of job $job after cancel"

# The job has ended, so the watcher exits; watch exits 1 when the job it
# watched was canceled.
watch_status=0
for ((i = 0; i < 50; i++)); do
	pid_running "$watch_client" || break
	sleep 0.1
done
if pid_running "$watch_client"; then
	fail "ctrd-cli watch still runs 5 s after job $job ended"
fi
wait "$watch_client" || watch_status=$?
forget_child_pid "$watch_client"
assert_eq 1 "$watch_status" "exit status of ctrd-cli watch of a canceled job"
last_event=$(tail -n 1 watch.jsonl | json_value event)
assert_eq canceled "$last_event" "last event the watcher received"

# A second cancel of the ended job is rejected.
run_cli cancel-again.out --json cancel "$job"
assert_ne 0 "$cli_status" "exit status of a second cancel of ended job $job"
assert_eq invalid-state "$(python3 -c '
import json, sys
print(json.loads(open(sys.argv[1]).readline())["error"]["code"])' cancel-again.out)" \
	"error code of a second cancel of ended job $job"

# The job canceled in the queue never started.
assert_eq canceled "$(job_value "$queued_job" state)" "state of job $queued_job at the end"
assert_eq null "$(job_value "$queued_job" started)" "start time of job $queued_job at the end"
log PASS
