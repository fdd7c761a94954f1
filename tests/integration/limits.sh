#!/bin/bash
# ctrd's limits reject work with a clear error instead of piling it up: a
# restore stuck in CRIU fails at restore_timeout, a full queue rejects new
# jobs with queue-full, and a client over max_connections (plus root's
# reserve) gets one too-many-connections line.  A FIFO in place of files.img keeps CRIU
# blocked in open(), a real stuck restore.  ctrd itself reads only
# inventory.img and pstree.img, so it accepts the job.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
echo '{"max_running": 1, "max_queue": 1, "restore_timeout": 3, "max_connections": 3}' \
	>"$test_dir/ctrd.json"
start_ctrd 1 "$criu_bin" --config "$test_dir/ctrd.json"

start_workload stuck 8 --seed 13
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"
rm "$test_dir/images/files.img"
mkfifo "$test_dir/images/files.img"

python3 - "$ctrd_socket" "$test_dir/images" <<'PY' || fail "limit checks failed"
import json, socket, sys, time

path, images = sys.argv[1], sys.argv[2]

def connect():
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    sock.settimeout(10)
    return sock, sock.makefile("rwb")

def call(stream, method, **params):
    stream.write((json.dumps({"method": method, "params": params}) + "\n").encode())
    stream.flush()
    return json.loads(stream.readline())

sock, stream = connect()
first = call(stream, "restore", images_dir=images)["result"]["job"]
second = call(stream, "restore", images_dir=images)["result"]["job"]
time.sleep(0.5)
assert call(stream, "status", job=first)["result"]["state"] == "restoring"
assert call(stream, "status", job=second)["result"]["state"] == "queued"
full = call(stream, "restore", images_dir=images)
assert full.get("error", {}).get("code") == "queue-full", full

# The blocked restore fails at its deadline, and the queued job starts.
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    job = call(stream, "status", job=first)["result"]
    if job["state"] != "restoring":
        break
    time.sleep(0.2)
assert job["state"] == "failed", job
assert job["error"]["code"] == "timeout", job["error"]
assert call(stream, "status", job=second)["result"]["state"] == "restoring"
assert call(stream, "cancel", job=second)["result"]["state"] == "canceled"

# Three connections are the limit, and root, which runs this test, may
# open a reserve of 16 more: this one and 18 more.
held = [connect() for _ in range(2 + 16)]
for _, held_stream in held:
    assert "result" in call(held_stream, "info")
extra, extra_stream = connect()
reply = json.loads(extra_stream.readline())
assert reply["error"]["code"] == "too-many-connections", reply
assert extra_stream.readline() == b"", "rejected connection stayed open"
PY
pid_running "$ctrd_pid" || fail "ctrd died"
log "ok"
