#!/bin/bash
# No user can lock others out by holding connections.  Each uid but root
# may open max_connections_per_uid connections, root may open a reserve of
# connections beyond max_connections, and a client that sends nothing for
# idle_timeout seconds, and follows no job, is closed.  Clients run as
# uids 65534 and 65533 on a socket made world-writable for the test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
echo '{"max_connections": 4, "max_connections_per_uid": 2, "idle_timeout": 3}' >"$test_dir/ctrd.json"
start_ctrd 1 "$criu_bin" --config "$test_dir/ctrd.json"
chmod 0755 "$test_dir"
chmod 0666 "$ctrd_socket"

# Open $2 connections as uid $1, print one line per connection (the reply
# to info, or the first line ctrd sent on its own), then hold the open ones
# until SIGTERM, printing "closed" for each one ctrd closes.  It runs
# Debian's python3: one under /root is not executable for other users.
#
# It execs setpriv, which execs python3, so the pid the test records and
# kills at exit is the client's own.
hold_connections() {
	exec setpriv --reuid="$1" --regid="$1" --clear-groups /usr/bin/python3 - "$ctrd_socket" "$2" <<'PY'
import json, select, signal, socket, sys, time
path, count = sys.argv[1], int(sys.argv[2])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
socks = []
for _ in range(count):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(5)
    socks.append(s)
for s in socks:
    try:
        s.sendall(b'{"method": "info"}\n')
    except OSError:
        pass  # a rejected connection is closed after its error line
for s in list(socks):
    reply = s.recv(65536).decode().splitlines()[0]
    code = json.loads(reply).get("error", {}).get("code", "ok")
    print(json.dumps(code), flush=True)
    if code != "ok":
        socks.remove(s)
while True:
    ready, _, _ = select.select(socks, [], [], 1)
    for s in ready:
        if s.recv(65536) == b"":
            print("closed", flush=True)
            socks.remove(s)
PY
}

hold_connections 65534 3 >first.out 2>first.err &
first=$!
record_child_pid "$first"
wait_until 10 eval '[ "$(wc -l <first.out)" -ge 3 ]' || fail "no replies for uid 65534: $(cat first.out first.err)"
assert_eq 2 "$(grep -c '"ok"' first.out)" "connections of uid 65534 served"
assert_eq 1 "$(grep -c '"too-many-connections"' first.out)" "connections of uid 65534 rejected"
assert_file_contains ctrd.log "uid 65534 has its maximum of 2 connections open" "ctrd log"

hold_connections 65533 2 >second.out 2>second.err &
second=$!
record_child_pid "$second"
wait_until 10 eval '[ "$(wc -l <second.out)" -ge 2 ]' || fail "no replies for uid 65533: $(cat second.out second.err)"
assert_eq 2 "$(grep -c '"ok"' second.out)" "connections of uid 65533 served"

# All 4 slots are taken; root still gets in through its reserve.
cli info >/dev/null || fail "root could not connect while other users held every slot"

# The held connections send nothing more: ctrd closes them after 3 s.
wait_until 10 eval '[ "$(grep -c closed first.out)" -ge 2 ]' ||
	fail "idle connections of uid 65534 were not closed: $(cat first.out)"
assert_file_contains ctrd.log "(idle_timeout), closing" "ctrd log"
log PASS
