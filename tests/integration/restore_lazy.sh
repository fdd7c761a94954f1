#!/bin/bash
# A 256 MiB process restored lazily: events arrive in order, the process
# runs on, and every page reaches it intact.
. "$(dirname "$0")/lib.sh"

start_ctrd 2
start_workload "$test_dir/work" --memory 256 --seed 11
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"

cli --json restore --lazy-pages "$test_dir/images" >"$test_dir/events" ||
	{ cat "$test_dir/events" >&2; fail "ctrd-cli restore --lazy-pages exited non-zero"; }
own_pid "$pid"

# Check the order of the events and their members.
python3 - "$test_dir/events" "$pid" <<'PY' || fail "events out of order or incomplete"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
events = [l for l in lines if "event" in l]
names = [e["event"] for e in events]
print("events:", " ".join(names), file=sys.stderr)
for name in ("queued", "started", "lazy-pages-ready", "restored", "pages-complete"):
    assert name in names, f"missing {name}"
assert names.index("lazy-pages-ready") < names.index("restored") < names.index("pages-complete"), names
for e in events:
    assert e["time"].endswith("Z") and len(e["time"]) == 24, e
    if e["event"] == "notify":
        assert e.get("name"), e
notify = [e["name"] for e in events if e["event"] == "notify"]
assert "post-restore" in notify, notify
restored = next(e for e in events if e["event"] == "restored")
assert restored["pid"] == int(sys.argv[2]), restored
done = next(e for e in events if e["event"] == "pages-complete")
pages = done.get("pages")
assert pages and pages["copied"] == pages["total"] and pages["total"] >= 65536, done
PY

job=$(last_job)
assert_eq "$(job_field "$job" pages_complete)" true "pages_complete"
work_dir=$(job_field "$job" work_dir)
[ -s "$work_dir/restore.log" ] || fail "no CRIU restore log in $work_dir"
[ -s "$work_dir/lazy-pages.log" ] || fail "no lazy-pages log in $work_dir"
assert_heartbeat_advances "$test_dir/work"
assert_memory_intact "$pid" "$test_dir/work"
assert_pool_refills
log "ok"
