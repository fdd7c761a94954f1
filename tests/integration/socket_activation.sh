#!/bin/bash
# ctrd serves the listening socket that systemd passes (here through
# systemd-socket-activate, which listens and starts ctrd on the first
# connection).  The first client's request waits in the backlog until the
# pool is warm and is then served.  ctrd ignores its socket setting, does not
# remove the passed socket's file at stop, and no child inherits LISTEN_*.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
command -v systemd-socket-activate >/dev/null ||
	skip_or_fail "systemd-socket-activate is missing (Debian package systemd)"

systemd-socket-activate --listen="$ctrd_socket" --fdname=ctrd \
	"$ctrd_bin" --socket "$test_dir/unused.sock" --state-dir "$state_dir" \
	--criu "$criu_bin" --workers 2 --log-level debug \
	</dev/null >"$test_dir/ctrd.log" 2>&1 &
# systemd-socket-activate execs ctrd in place, so this is ctrd's pid.
ctrd_pid=$!
for ((i = 0; i < 50; i++)); do
	[ -S "$ctrd_socket" ] && break
	sleep 0.1
done
[ -S "$ctrd_socket" ] || fail "systemd-socket-activate did not create $ctrd_socket"

# The first connection starts ctrd; the reply comes once the pool is warm.
run_cli info.out --json info
assert_eq 0 "$cli_status" "exit status of ctrd-cli info ($(cat info.out.err))"
assert_eq 2 "$(json_value pool.warm <info.out)" "warm workers in the first reply"
assert_file_contains ctrd.log "socket-activated" "ctrd log"
assert_file_contains ctrd.log "listening on '$ctrd_socket'" "ctrd log"
[ ! -e "$test_dir/unused.sock" ] || fail "ctrd bound its own socket although one was passed"
exe=$(readlink "/proc/$ctrd_pid/exe")
assert_eq "$(readlink -f "$ctrd_bin")" "$exe" "program of pid $ctrd_pid"

for child in $(cat /proc/"$ctrd_pid"/task/*/children); do
	if tr '\0' '\n' <"/proc/$child/environ" | grep -E '^LISTEN_(PID|FDS|FDNAMES)='; then
		fail "child $child of ctrd inherited a LISTEN_ variable"
	fi
done

kill -TERM "$ctrd_pid"
status=0
wait "$ctrd_pid" || status=$?
ctrd_pid=
assert_eq 0 "$status" "exit status of ctrd after SIGTERM"
[ -S "$ctrd_socket" ] || fail "ctrd removed the passed socket's file, which belongs to systemd"

# An unnamed passed socket that is not a stream socket is rejected.
systemd-socket-activate --datagram --listen="$test_dir/dgram.sock" \
	"$ctrd_bin" --state-dir "$state_dir" --criu "$criu_bin" \
	</dev/null >"$test_dir/dgram.log" 2>&1 &
dgram_pid=$!
record_child_pid "$dgram_pid"
for ((i = 0; i < 50; i++)); do
	[ -S "$test_dir/dgram.sock" ] && break
	sleep 0.1
done
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"x", sys.argv[1])
' "$test_dir/dgram.sock"
status=0
for ((i = 0; i < 100; i++)); do
	pid_running "$dgram_pid" || break
	sleep 0.1
done
wait "$dgram_pid" || status=$?
forget_child_pid "$dgram_pid"
assert_eq 1 "$status" "exit status of ctrd given a datagram socket"
assert_file_contains dgram.log "not a listening Unix stream socket" "ctrd log with a datagram socket"
log PASS
