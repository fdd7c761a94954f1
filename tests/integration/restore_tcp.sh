#!/bin/bash
# A process with a listening TCP socket on 127.0.0.1 answers a connection
# after its restore through ctrd.
. "$(dirname "$0")/lib.sh"

port_free() {
	! python3 -c 'import socket,sys; s=socket.socket(); s.connect(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

ping_port() {
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
print(s.recv(64).decode().strip())' "$1"
}

port=$((20000 + $$ % 10000))
while ! port_free "$port"; do
	port=$((port + 1))
done

start_ctrd 1
start_workload "$test_dir/work" --memory 8 --listen "$port"
pid=$workload_pid
case "$(ping_port "$port")" in
pong*) ;;
*) fail "workload does not answer on port $port before the dump" ;;
esac
dump_workload "$pid" "$test_dir/images"
port_free "$port" || fail "port $port still answers after the dump"

cli restore "$test_dir/images" >"$test_dir/restore.out" ||
	{ cat "$test_dir/restore.out" >&2; fail "restore exited non-zero"; }
own_pid "$pid"
reply=$(ping_port "$port") || fail "no answer on port $port after restore"
case "$reply" in
pong*) ;;
*) fail "unexpected answer '$reply' on port $port" ;;
esac
log "ok ($reply)"
