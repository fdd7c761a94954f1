#!/bin/bash
# A 256 MiB process restored through ctrd with lazy pages: the events arrive
# in order, the process runs on with every page intact, and the job's work
# dir keeps CRIU's logs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_ctrd 2

start_workload lazy 256 --seed 2
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"

run_cli restore.jsonl --json restore --lazy-pages "$test_dir/images"
assert_eq 0 "$cli_status" "exit status of ctrd-cli restore --lazy-pages (stderr: $(cat restore.jsonl.err))"
job=$(json_value job <restore.jsonl)
restored_pid=$(job_value "$job" pid)
record_restored_pid "$restored_pid"

# The first line is the reply to restore; every later line is an event.
# Print CRIU's page counts and the end of the lazy-pages server's log, which
# show whether CRIU or ctrd got the pages wrong.
show_lazy_log() {
	local log=$state_dir/jobs/$job/lazy-pages.log
	echo "restore_lazy: CRIU's page counts, then the end of $log:" >&2
	grep -a 'UFFD transferred pages' "$log" >&2 || true
	tail -n 20 "$log" >&2 || true
}

python3 - restore.jsonl "$job" "$pid" <<'PY' || { show_lazy_log; fail "events of lazy job $job in $test_dir/restore.jsonl are wrong (see above)"; }
import json, sys

path, job, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [json.loads(line) for line in open(path) if line.strip()]
events = [line for line in lines[1:] if "event" in line]
names = [event["event"] for event in events]
print("events:", " ".join(names), file=sys.stderr)
errors = []

def check(condition, message):
    if not condition:
        errors.append(message)

for event in events:
    check(event.get("job") == job, f"event {event} is not for job {job}")
    check(isinstance(event.get("time"), str), f"event {event} has no time")
for name in ("queued", "started", "lazy-pages-ready", "restored", "pages-complete"):
    check(names.count(name) == 1, f"expected one '{name}' event, got {names.count(name)}")
if not errors:
    order = [names.index(name) for name in
             ("queued", "started", "lazy-pages-ready", "restored", "pages-complete")]
    check(order == sorted(order),
          f"expected queued < started < lazy-pages-ready < restored < pages-complete, got {names}")
    check(names[-1] == "pages-complete", f"expected pages-complete last, got {names[-1]}")
# Progress reports, if the transfer outlasted one interval, come between
# restored and pages-complete and never count past the total.
for index, event in enumerate(events):
    if event["event"] != "pages-progress":
        continue
    check("restored" in names and names.index("restored") < index,
          f"pages-progress before restored: {names}")
    pages = event.get("pages") or {}
    check(isinstance(pages.get("copied"), int) and
          pages["copied"] <= pages.get("total", -1),
          f"pages-progress with bad counts: {event}")
notify = [event for event in events if event["event"] == "notify"]
check(len(notify) > 0, "expected notify events, got none")
for event in notify:
    check(isinstance(event.get("name"), str) and event["name"] != "",
          f"notify event without a name: {event}")
for name in ("failed", "canceled", "exited"):
    check(name not in names, f"unexpected '{name}' event")
# 256 MiB is 65536 pages of 4 KiB, all lazy; CRIU 4.2 logs the counts.
complete = [event for event in events if event["event"] == "pages-complete"]
if complete:
    pages = complete[0].get("pages") or {}
    check(pages.get("copied") == pages.get("total"),
          f"pages-complete: expected copied == total, got {pages}")
    check(isinstance(pages.get("total"), int) and pages["total"] >= 65536,
          f"pages-complete: expected a total of at least 65536 pages, got {pages}")
restored = [event for event in events if event["event"] == "restored"]
if restored:
    check(restored[0].get("pid") == pid,
          f"restored event: expected pid {pid}, got {restored[0].get('pid')}")
for message in errors:
    print("  " + message, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

assert_eq "$pid" "$restored_pid" "pid of restored job $job"
assert_eq restored "$(job_value "$job" state)" "state of job $job"
assert_eq true "$(job_value "$job" pages_complete)" "pages_complete of job $job"

check_heartbeat "$test_dir/lazy"
check_memory "$restored_pid" "$test_dir/lazy"

work_dir=$(job_value "$job" work_dir)
assert_eq "$state_dir/jobs/$job" "$work_dir" "work dir of job $job"
assert_nonempty_file "$work_dir/restore.log" "CRIU's restore log of job $job"
assert_nonempty_file "$work_dir/lazy-pages.log" "CRIU's lazy-pages log of job $job"
log PASS
