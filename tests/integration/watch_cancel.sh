#!/bin/bash
# A second client watching a lazy job sees the same events as the one that
# submitted it; canceling the restored job kills its tree and ends it
# canceled; a queued job can be canceled before it starts.
. "$(dirname "$0")/lib.sh"

echo '{"max_running": 1}' >"$test_dir/ctrd.json"
CTRD_EXTRA_ARGS="--config $test_dir/ctrd.json" start_ctrd 1
start_workload "$test_dir/work" --memory 64 --seed 5
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"

cli --json restore --detach --lazy-pages "$test_dir/images" >"$test_dir/submit"
job=$(json_get result.job <"$test_dir/submit")
[ -n "$job" ] || fail "no job id in: $(cat "$test_dir/submit")"
# watch follows the job until it ends, which a running job does not: stop
# the watcher once the last event of the restore has arrived.
cli --json watch "$job" >"$test_dir/watched" &
watcher=$!
own_pid "$watcher"
own_pid "$pid"
for _ in $(seq 100); do
	grep -q '"pages-complete"\|"pages_complete":true' "$test_dir/watched" && break
	sleep 0.1
done
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true

# The watcher may attach after the first events: it must see the job's
# state in the reply and every later event, ending with pages-complete or
# the job's snapshot already showing it.
python3 - "$test_dir/watched" <<'PY' || fail "watch output wrong"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
snapshot = lines[0]["result"]
events = [l["event"] for l in lines[1:]]
print("snapshot:", snapshot["state"], "events:", events, file=sys.stderr)
if snapshot["pages_complete"]:
    sys.exit(0)
assert "pages-complete" in events, events
if "lazy-pages-ready" in events and "restored" in events:
    assert events.index("lazy-pages-ready") < events.index("restored")
PY
for _ in $(seq 50); do
	[ "$(job_field "$job" pages_complete)" = true ] && break
	sleep 0.1
done
assert_eq "$(job_field "$job" state)" restored "state before cancel"
assert_heartbeat_advances "$test_dir/work"

cli cancel "$job" >/dev/null || fail "cancel failed"
assert_eq "$(job_field "$job" state)" canceled "state after cancel"
for _ in $(seq 50); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	fail "restored pid $pid still runs after cancel"
fi
if cli cancel "$job" >/dev/null 2>&1; then
	fail "second cancel of an ended job succeeded"
fi

# With one restore slot, the second of two jobs sent together waits in the
# queue, and canceling it there ends it before it ever starts.
mkdir -p "$test_dir/empty"
python3 - "$socket" "$test_dir/images" <<'PY' || fail "queued cancel failed"
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
stream = sock.makefile("rwb")
restore = {"method": "restore", "params": {"images_dir": sys.argv[2]}}
# The restored tree was killed, so its pid is free; only the first job runs.
stream.write((json.dumps(dict(restore, id="a")) + "\n" +
              json.dumps(dict(restore, id="b")) + "\n").encode())
stream.flush()
first = json.loads(stream.readline())
second = json.loads(stream.readline())
job = second["result"]["job"]
stream.write((json.dumps({"id": "c", "method": "cancel", "params": {"job": job}}) + "\n").encode())
stream.flush()
reply = json.loads(stream.readline())
assert reply["result"]["state"] == "canceled", reply
assert reply["result"]["started"] is None, reply
PY
first=$(cli_result list | json_get jobs.-2.job)
for _ in $(seq 100); do
	case "$(job_field "$first" state)" in
	queued|lazy-pages|restoring) sleep 0.1 ;;
	*) break ;;
	esac
done
first_pid=$(job_field "$first" pid)
[ "$first_pid" = null ] || own_pid "$first_pid"
log "ok"
