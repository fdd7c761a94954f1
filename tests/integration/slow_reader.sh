#!/bin/bash
# A client that sends requests but never reads the replies is disconnected
# once its unread output passes ctrd's bound, and other clients are served
# meanwhile.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_ctrd 1

python3 - "$ctrd_socket" <<'PY' || fail "slow reader was not disconnected"
import socket, sys, time

path = sys.argv[1]
stuck = socket.socket(socket.AF_UNIX)
stuck.connect(path)
stuck.settimeout(0.5)
# About 30 MiB of replies, far over the 16 MiB bound, none of them read.
request = b'{"method": "info"}\n'
sent = 0
try:
    for _ in range(120000):
        stuck.sendall(request)
        sent += 1
except OSError:
    pass  # ctrd already dropped us: what this test expects
print(f"sent {sent} requests without reading", file=sys.stderr)

other = socket.socket(socket.AF_UNIX)
other.connect(path)
other.settimeout(5)
other.sendall(request)
assert b'"result"' in other.makefile("rb").readline(), "other client not served"

# Reading the stuck connection now must reach its end: ctrd closed it.
stuck.settimeout(10)
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        chunk = stuck.recv(1 << 20)
    except ConnectionResetError:
        break
    if not chunk:
        break
else:
    sys.exit("stuck connection still open after 20 s")
PY
grep -q "unread, disconnecting" "$test_dir/ctrd.log" ||
	fail "ctrd did not log the disconnect of the slow reader"
pid_running "$ctrd_pid" || fail "ctrd died"
log "ok"
