#!/bin/bash
# Under journald, ctrd logs through the native journal protocol with
# structured fields: each job state change is one record carrying
# CTRD_JOB, CTRD_PHASE, CTRD_PEER_UID, PRIORITY and SYSLOG_IDENTIFIER.
# ctrd picks the journal itself when JOURNAL_STREAM names its stderr, as
# systemd sets it for a service.
#
# The test runs in a private mount namespace with a tmpfs on /run.  There a
# small receiver binds journald's fixed socket path,
# /run/systemd/journal/socket, in place of journald.  The host's /run is not touched.
set -euo pipefail

if [ "${CTRD_JOURNAL_NS:-}" != 1 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		. "$(dirname "$0")/lib.sh"
		skip_or_fail "needs root for a private mount namespace"
	fi
	exec unshare --mount --propagation private \
		env CTRD_JOURNAL_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

begin_test
mount -t tmpfs -o mode=0755 ctrd-test-run /run
mkdir -p /run/systemd/journal
records=$test_dir/journal.jsonl

# Decode each datagram: "KEY=value\n", or "KEY\n" + 64-bit little-endian
# length + value + "\n" for values with newlines.  One JSON object a line.
python3 - /run/systemd/journal/socket "$records" <<'PY' &
import json, socket, struct, sys
path, out = sys.argv[1:]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(out, "w", buffering=1) as log:
    while True:
        data, fields = sock.recv(65536), {}
        while data:
            line, sep, rest = data.partition(b"\n")
            if b"=" in line:
                key, _, value = line.partition(b"=")
                data = rest
            else:
                key = line
                size = struct.unpack("<Q", rest[:8])[0]
                value, data = rest[8:8 + size], rest[9 + size:]
            fields[key.decode()] = value.decode()
        log.write(json.dumps(fields) + "\n")
PY
record_child_pid $!
for ((i = 0; i < 50; i++)); do
	[ -S /run/systemd/journal/socket ] && break
	sleep 0.1
done
[ -S /run/systemd/journal/socket ] || fail "the journal receiver did not bind its socket"

# JOURNAL_STREAM names the log file, as systemd names a service's stream.
: >"$test_dir/ctrd.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$test_dir/ctrd.log") start_ctrd 2

start_workload journal 8 --seed 41
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"
run_cli restore.out restore "$test_dir/images"
assert_eq 0 "$cli_status" "exit status of ctrd-cli restore ($(cat restore.out.err))"
record_restored_pid "$pid"
job=$(newest_job)
kill -KILL "$pid"
wait_pid_gone "$pid" 5 || fail "restored pid $pid was not reaped"
for ((i = 0; i < 50; i++)); do
	grep -q '"CTRD_PHASE": "exited"' "$records" && break
	sleep 0.1
done

# One record per state change, each with the job's fields; other records
# about the job carry its id.
python3 - "$records" "$job" <<'PY' || fail "journal records are wrong: $(cat "$records")"
import json, sys
path, job = sys.argv[1:]
records = [json.loads(line) for line in open(path)]
mine = [r for r in records if r.get("CTRD_JOB") == job and "CTRD_PHASE" in r]
detail = [r for r in records if r.get("CTRD_JOB") == job and "CTRD_PHASE" not in r]
notes = [r for r in detail if r["MESSAGE"] == "CRIU notify post-resume"]
assert notes, detail
assert notes[0]["PRIORITY"] == "7", notes
phases = [r.get("CTRD_PHASE") for r in mine]
assert phases == ["queued", "restoring", "restored", "exited"], phases
for r in mine:
    assert r["SYSLOG_IDENTIFIER"] == "ctrd", r
    assert r["PRIORITY"] == "6", r
    assert r["CTRD_PEER_UID"] == "0", r
    assert r["MESSAGE"], r
assert "restored -> exited" in mine[-1]["MESSAGE"], mine[-1]
ready = [r for r in records if r["MESSAGE"].startswith("ready: listening on")]
assert ready, "no ready record"
assert ready[0]["PRIORITY"] == "5", ready
assert "CTRD_JOB" not in ready[0], ready
PY

# Nothing about the job went to stderr.
if grep -q "job=$job" "$test_dir/ctrd.log"; then
	fail "ctrd logged job $job to stderr as well as to the journal: $(cat "$test_dir/ctrd.log")"
fi
log PASS
