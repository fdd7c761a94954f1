#!/bin/bash
# ctrd speaks systemd's notify protocol to the datagram socket named by
# NOTIFY_SOCKET.  READY=1 comes once the worker pool is warm, and not
# before the API socket accepts.  STATUS= follows the jobs.  WATCHDOG=1
# arrives at half of WATCHDOG_USEC.  SIGHUP sends RELOADING=1 then READY=1
# and changes the worker count live, and an invalid config keeps the
# running one.  SIGTERM sends STOPPING=1 and ctrd exits 0.  No child of
# ctrd inherits NOTIFY_SOCKET, WATCHDOG_USEC or WATCHDOG_PID.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
notify_socket=$test_dir/notify.sock
notify_log=$test_dir/notify.log

# Record each datagram as "<monotonic seconds> <message with \n as |>", and
# whether the API socket accepted connections at that moment.
python3 - "$notify_socket" "$notify_log" "$ctrd_socket" <<'PY' &
import os, socket, sys, time
path, out, api = sys.argv[1:]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(out, "w", buffering=1) as log:
    while True:
        data = sock.recv(4096).decode()
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(api)
            accepting = "accepting"
        except OSError:
            accepting = "closed"
        probe.close()
        log.write("%.3f %s %s\n" % (time.monotonic(), accepting,
                                     data.replace("\n", "|")))
PY
record_child_pid $!
for ((i = 0; i < 50; i++)); do
	[ -S "$notify_socket" ] && break
	sleep 0.1
done
[ -S "$notify_socket" ] || fail "the notify receiver did not bind $notify_socket"

# Everything comes from the config file, so a reload can change any key:
# command-line flags would override the file.
write_config() {
	printf '{"socket": "%s", "state_dir": "%s", "criu": "%s", "log_level": "debug", %s}\n' \
		"$1" "$state_dir" "$criu_bin" "$2" >"$test_dir/ctrd.json"
}
write_config "$ctrd_socket" '"workers": 2'
NOTIFY_SOCKET=$notify_socket WATCHDOG_USEC=1000000 \
	"$ctrd_bin" --config "$test_dir/ctrd.json" </dev/null >"$test_dir/ctrd.log" 2>&1 &
ctrd_pid=$!
for ((i = 0; i < 200; i++)); do
	cli info >/dev/null 2>&1 && break
	pid_running "$ctrd_pid" || fail "ctrd exited during start-up; see its log below"
	sleep 0.1
done
cli info >/dev/null || fail "ctrd did not reply to 'info' on $ctrd_socket within 20 s"

# READY=1 after which the socket accepts and the pool is warm.
for ((i = 0; i < 50; i++)); do
	grep -q 'READY=1' "$notify_log" && break
	sleep 0.1
done
ready_line=$(grep -m 1 'READY=1' "$notify_log" || true)
[ -n "$ready_line" ] || fail "no READY=1 from ctrd: $(cat "$notify_log")"
assert_eq accepting "$(echo "$ready_line" | cut -d' ' -f2)" "API socket state when READY=1 arrived"
# Before READY=1 only progress may come: STATUS= lines and watchdog pings.
early=$(sed '/READY=1/,$d' "$notify_log" | grep -v -E '^[0-9.]+ [a-z]+ (STATUS=[^|]*|WATCHDOG=1)$' || true)
[ -z "$early" ] || fail "ctrd sent more than progress before READY=1: $early"
assert_file_contains "$notify_log" "STATUS=0 restoring, 0 queued, 0 restored and running; 2 of 2 workers warm" "READY=1 status line"
assert_eq 2 "$(cli --json info | json_value pool.warm)" "warm workers after READY=1"

# No child of ctrd inherits systemd's variables.
for child in $(cat /proc/"$ctrd_pid"/task/*/children); do
	if tr '\0' '\n' <"/proc/$child/environ" | grep -E '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID|LISTEN_FDS)='; then
		fail "child $child of ctrd inherited a systemd variable"
	fi
done

# STATUS follows a restore.
start_workload status 8 --seed 31
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"
run_cli restore.out restore "$test_dir/images"
assert_eq 0 "$cli_status" "exit status of ctrd-cli restore ($(cat restore.out.err))"
record_restored_pid "$pid"
for ((i = 0; i < 50; i++)); do
	grep -q 'STATUS=0 restoring, 0 queued, 1 restored and running' "$notify_log" && break
	sleep 0.1
done
assert_file_contains "$notify_log" "STATUS=1 restoring, 0 queued, 0 restored and running" "status while restoring"
assert_file_contains "$notify_log" "STATUS=0 restoring, 0 queued, 1 restored and running" "status once restored"

# WATCHDOG=1 every half second: at least 4 in 3 s, never 1 s apart.
sleep 3
python3 - "$notify_log" <<'PY' || fail "watchdog pings are off: $(grep WATCHDOG "$notify_log")"
import sys
times = [float(line.split()[0]) for line in open(sys.argv[1]) if "WATCHDOG=1" in line]
assert len(times) >= 4, times
gaps = [b - a for a, b in zip(times, times[1:])]
assert max(gaps) < 1.0, gaps
assert min(gaps) > 0.2, gaps
PY

# A reload applies a new worker count and logs it.
write_config "$ctrd_socket" '"workers": 3'
kill -HUP "$ctrd_pid"
for ((i = 0; i < 100; i++)); do
	[ "$(cli --json info | json_value pool.warm)" = 3 ] && break
	sleep 0.1
done
assert_eq 3 "$(cli --json info | json_value pool.size)" "pool size after reload"
assert_eq 3 "$(cli --json info | json_value pool.warm)" "warm workers after reload"
assert_file_contains ctrd.log "reload: 'workers' 2 -> 3" "ctrd log after reload"
reload_line=$(grep -n 'RELOADING=1' "$notify_log" | head -n 1 | cut -d: -f1)
[ -n "$reload_line" ] || fail "no RELOADING=1 after SIGHUP: $(cat "$notify_log")"
assert_file_contains "$notify_log" "MONOTONIC_USEC=" "RELOADING=1 message"
tail -n +"$reload_line" "$notify_log" | grep -q 'READY=1' ||
	fail "no READY=1 after RELOADING=1: $(cat "$notify_log")"

# Keys that need a restart are kept; an invalid file changes nothing.
write_config "$test_dir/elsewhere.sock" '"workers": 1'
kill -HUP "$ctrd_pid"
wait_until 5 file_has ctrd.log "'socket' changed" || true
assert_file_contains ctrd.log "'socket' changed from \"$ctrd_socket\" to \"$test_dir/elsewhere.sock\", which needs a restart" "ctrd log after reload of socket"
for ((i = 0; i < 50; i++)); do
	[ "$(cli --json info | json_value pool.size)" = 1 ] && break
	sleep 0.1
done
assert_eq 1 "$(cli --json info | json_value pool.size)" "pool size after shrinking reload"
write_config "$ctrd_socket" '"workers": 5, "wrokers": 1'
kill -HUP "$ctrd_pid"
wait_until 5 file_has ctrd.log "keeping the running config" || true
assert_file_contains ctrd.log "unknown key 'wrokers'; keeping the running config" "ctrd log after an invalid reload"
assert_eq 1 "$(cli --json info | json_value pool.size)" "pool size after an invalid reload"

# SIGTERM: STOPPING=1, then exit 0; the restored process runs on.
kill -KILL "$pid"
wait_pid_gone "$pid" 5 || fail "restored pid $pid was not reaped"
kill -TERM "$ctrd_pid"
status=0
wait "$ctrd_pid" || status=$?
ctrd_pid=
assert_eq 0 "$status" "exit status of ctrd after SIGTERM"
assert_file_contains "$notify_log" "STOPPING=1" "notifications after SIGTERM"
log PASS
