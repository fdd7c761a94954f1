#!/bin/bash
# A process with a listening TCP socket on 127.0.0.1, restored through
# ctrd, accepts connections on the same port again.  CRIU restores a
# listening socket without tcp_established, which only covers connections.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Succeed if nothing is bound to 127.0.0.1:$1.  The check binds with
# SO_REUSEADDR, as the workload does, so TIME_WAIT leftovers do not count.
port_is_free() {
	python3 - "$1" <<'PY'
import socket, sys
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    sock.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# Print the line that 127.0.0.1:$1 sends on a new connection, or fail.
read_reply() {
	python3 - "$1" <<'PY'
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as sock:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(64)
        if not chunk:
            break
        data += chunk
print(data.decode(errors="replace").strip())
PY
}

begin_test

port=$((20000 + $$ % 10000))
for ((tries = 0; tries < 100; tries++)); do
	port_is_free "$port" && break
	port=$((20000 + (port - 20000 + 1) % 10000))
done
port_is_free "$port" || fail "found no free port on 127.0.0.1 in 100 tries"

start_ctrd 2
start_workload tcp 16 --seed 3 --listen "$port"
pid=$workload_pid

reply=$(read_reply "$port") || fail "workload pid $pid does not answer on 127.0.0.1:$port before the dump"
[[ "$reply" =~ ^pong\ [0-9]+$ ]] ||
	fail "reply before the dump: expected 'pong BEAT', got '$reply'"
dump_workload "$pid" "$test_dir/images"
port_is_free "$port" || fail "127.0.0.1:$port is still bound after the dump killed pid $pid"

run_cli restore.out restore "$test_dir/images"
assert_eq 0 "$cli_status" "exit status of ctrd-cli restore (stderr: $(cat restore.out.err))"
job=$(newest_job)
restored_pid=$(job_value "$job" pid)
record_restored_pid "$restored_pid"
assert_eq "$pid" "$restored_pid" "pid of restored job $job"
assert_eq restored "$(job_value "$job" state)" "state of job $job"

reply=$(read_reply "$port") || fail "restored pid $pid does not answer on 127.0.0.1:$port"
[[ "$reply" =~ ^pong\ [0-9]+$ ]] ||
	fail "reply after the restore: expected 'pong BEAT', got '$reply'"
check_heartbeat "$test_dir/tcp"
log PASS
