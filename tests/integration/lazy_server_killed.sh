#!/bin/bash
# When a job's lazy-pages server dies before it has copied every page, the
# job fails with lazy-pages-failed and ctrd kills the restored tree, since
# every page the server had not copied would read back as zeros.  The
# server is stopped with SIGSTOP the moment it is ready, so it dies with
# pages still to copy however fast this machine is, then killed.  A second
# server is killed while it copies pages into a tree that already runs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_ctrd 1

start_workload lazy 128 --seed 21
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"

python3 - "$ctrd_socket" "$test_dir/images" "$pid" >events.jsonl <<'PY' ||
import json, os, signal, socket, sys, time

sock_path, images, dumped_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
sock = socket.socket(socket.AF_UNIX)
sock.connect(sock_path)
sock.settimeout(30)
stream = sock.makefile("rwb")
stream.write((json.dumps({"id": 1, "method": "restore", "params": {
    "images_dir": images, "lazy_pages": True, "follow": True}}) + "\n").encode())
stream.flush()

server = None
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    line = stream.readline()
    if not line:
        sys.exit("ctrd closed the connection before the job ended")
    print(line.decode(), end="", flush=True)
    message = json.loads(line)
    event = message.get("event")
    if event == "lazy-pages-ready":
        server = message["server_pid"]
        if not isinstance(server, int) or server <= 1:
            sys.exit(f"bad server_pid {server!r}")
        os.kill(server, signal.SIGSTOP)
        # Let the restore run into the stopped server, then kill it.
        time.sleep(1)
        os.kill(server, signal.SIGKILL)
    if event in ("failed", "canceled", "exited", "pages-complete"):
        break
else:
    sys.exit("no final event within 30 s")
if server is None:
    sys.exit("no lazy-pages-ready event")
PY
	fail "restore with a killed lazy-pages server did not end (see $test_dir/events.jsonl)"

job=$(json_value job <events.jsonl)
events=$(python3 -c '
import json, sys
print(" ".join(json.loads(l).get("event", "reply") for l in open(sys.argv[1]) if l.strip()))' events.jsonl)
log "events: $events"
case "$events" in
*pages-complete*) fail "pages-complete after the lazy-pages server was killed" ;;
*failed) ;;
*) fail "expected the job to end failed, got events: $events" ;;
esac
assert_eq failed "$(job_value "$job" state)" "state of job $job"
assert_eq lazy-pages-failed "$(job_value "$job" error.code)" "error code of job $job"

# Whether or not the restore had finished, no process of the image runs on.
wait_pid_gone "$pid" 5 || fail "restored pid $pid still exists after the job failed"
for child in $(ps -o pid= --ppid "$ctrd_pid"); do
	[ "$(readlink "/proc/$child/exe" 2>/dev/null || true)" != "$(readlink -f "$workload_bin")" ] ||
		fail "ctrd still has a restored workload child, pid $child"
done

# The server is killed again, this time while it copies the pages of a
# tree that already runs: the job is restored, and fails only then.  The
# server is slowed down, or it could copy every page before the kill.
stop_ctrd
ctrd_pid=
make_slow_lazy_criu
start_ctrd 1 "$slow_lazy_criu"
start_workload transfer 256 --seed 22
transfer_pid=$workload_pid
dump_workload "$transfer_pid" "$test_dir/transfer-images"
python3 "$source_dir/tests/integration/kill_during_restore.py" \
	"$ctrd_socket" "$test_dir/transfer-images" transfer server --lazy \
	>transfer.jsonl 2>transfer.err ||
	fail "lazy restore whose server was killed mid-transfer did not end: $(cat transfer.err)"
job=$(json_value job <transfer.jsonl)
log "job $job: $(cat transfer.err)"
assert_ne "" "$(event_value transfer.jsonl restored pid)" "restored event of job $job"
assert_eq "" "$(event_value transfer.jsonl pages-complete job)" "pages-complete event of job $job"
assert_eq lazy-pages-failed "$(event_value transfer.jsonl failed code)" "code of the failed event of job $job"
assert_eq failed "$(job_value "$job" state)" "state of job $job"
assert_eq lazy-pages-failed "$(job_value "$job" error.code)" "error code of job $job"
wait_pid_gone "$transfer_pid" 5 ||
	fail "restored pid $transfer_pid still exists after its pages stopped arriving"
assert_no_strays
log "ok"
