#!/bin/bash
# ctrd stops reading a client that sends requests but never reads the
# replies, once its unread output passes the pause bound.  So ctrd's memory
# stays bounded, and other clients are served meanwhile.  Once the client
# reads, every reply arrives in order, and ctrd goes on reading.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_ctrd 1

python3 - "$ctrd_socket" "$ctrd_pid" <<'PY' || fail "backpressure on the slow reader failed (see above)"
import json, os, socket, sys, time

path, pid = sys.argv[1], int(sys.argv[2])

def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

before = rss_kib()
stuck = socket.socket(socket.AF_UNIX)
stuck.connect(path)
stuck.settimeout(0.5)
# About 30 MiB of replies if ctrd read every request: it must stop reading.
sent = 0
try:
    for i in range(120000):
        stuck.sendall(b'{"id": %d, "method": "info"}\n' % i)
        sent += 1
except socket.timeout:
    pass
print(f"sent {sent} requests before ctrd stopped reading", file=sys.stderr)
assert sent < 120000, "ctrd read every request of a client that reads nothing"

other = socket.socket(socket.AF_UNIX)
other.connect(path)
other.settimeout(5)
other.sendall(b'{"method": "info"}\n')
assert b'"result"' in other.makefile("rb").readline(), "other client not served"
grown = rss_kib() - before
print(f"ctrd grew by {grown} KiB", file=sys.stderr)
# ASan keeps freed memory in quarantine, so a sanitized ctrd grows more.
bound = 256 * 1024 if os.environ.get("CTRD_TEST_SANITIZED") == "1" else 16 * 1024
assert grown < bound, f"ctrd grew by {grown} KiB for one slow reader"

# Reading now yields every reply in order; ctrd reads the rest meanwhile.
stuck.settimeout(10)
reader = stuck.makefile("rb")
for expected in range(sent):
    reply = json.loads(reader.readline())
    assert reply.get("id") == expected, f"reply {expected} is {reply}"
    assert "result" in reply, reply
print(f"read {sent} replies in order", file=sys.stderr)
PY
pid_running "$ctrd_pid" || fail "ctrd died"
log PASS
