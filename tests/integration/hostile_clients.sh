#!/bin/bash
# ctrd stays up and keeps serving while hundreds of clients misbehave at
# once.  Through a storm of 320 connections that send malformed, oversized,
# truncated, invalid UTF-8, deeply nested, NUL-laden and byte-by-byte
# requests, or watch jobs and never read, five restores run, some lazy and
# one after another's end.  Each restore must keep its memory intact, each
# bad request must get the error code the API gives it, and fresh clients
# must get their replies throughout.  ctrd's RSS must stay bounded, and it
# must close every connection it accepted.  At max_connections it must turn
# away extra clients with too-many-connections, and serve again once one
# leaves.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# ctrd counts a closed connection until its loop has seen the close, which
# lags behind the storm's clients, so the limit leaves room above them.
max_connections=800
max_request_bytes=262144
storm_clients=320
# Peak RSS growth that fails the test.  The storm's unread replies and
# input buffers account for a few tens of MiB.
max_rss_growth_kib=$((200 * 1024))
# ASan keeps up to 256 MiB of freed memory in quarantine (GCC 12's libasan,
# as ASAN_OPTIONS=verbosity=1 prints) and adds redzones and shadow memory.
# A sanitized run grew by about 570 MiB.
[ "${CTRD_TEST_SANITIZED:-}" != 1 ] || max_rss_growth_kib=$((1024 * 1024))

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$ctrd_pid/status"
}

# Print how many sockets ctrd has open.
socket_count() {
	find "/proc/$ctrd_pid/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# Succeed if ctrd has as many sockets open as before the storm.
sockets_as_before() {
	[ "$(socket_count)" -eq "$sockets_before" ]
}

# Start ctrd-cli restore of the images of workload $1, with more flags in
# $2..., in the background, writing to $1.out.  Sets restore_client.
start_restore() {
	local name=$1
	shift
	cli --json restore "$@" "$test_dir/$name-images" >"$name.out" 2>"$name.err" &
	restore_client=$!
	record_child_pid "$restore_client"
}

# Wait for the ctrd-cli restore $2 of workload $1 to end, then check its
# job restored the dumped pid with its memory intact.
finish_restore() {
	local name=$1 client=$2 pid=$3 status=0 job
	wait "$client" || status=$?
	forget_child_pid "$client"
	assert_eq 0 "$status" "exit status of the restore of $name (stderr: $(cat "$name.err"))"
	job=$(json_value job <"$name.out")
	assert_eq restored "$(job_value "$job" state)" "state of job $job ($name)"
	assert_eq "$pid" "$(job_value "$job" pid)" "pid of job $job ($name)"
	check_memory "$pid" "$test_dir/$name"
	log "restored $name as pid $pid, memory intact"
}

begin_test
cat >"$test_dir/ctrd.json" <<EOF
{"max_connections": $max_connections, "max_request_bytes": $max_request_bytes,
 "max_running": 3, "max_queue": 16}
EOF
start_ctrd 3 "$criu_bin" --config "$test_dir/ctrd.json"

declare -A image_pids
seed=60
for spec in eager1:64 eager2:64 lazy1:256 lazy2:256; do
	name=${spec%%:*}
	seed=$((seed + 1))
	start_workload "$name" "${spec##*:}" --seed "$seed"
	image_pids[$name]=$workload_pid
	dump_workload "$workload_pid" "$test_dir/$name-images"
	# Recorded now, because at exit the storm may leave no connection free
	# for the list that would find the restored trees.
	record_restored_pid "$workload_pid"
done

rss_before=$(rss_kib)
sockets_before=$(socket_count)
log "before the storm: RSS $rss_before KiB, $sockets_before sockets"

python3 "$source_dir/tests/integration/hostile_clients.py" storm \
	"$ctrd_socket" "$ctrd_pid" "$test_dir/stop" "$test_dir/ready" \
	--clients "$storm_clients" --max-request-bytes "$max_request_bytes" \
	>storm.json 2>storm.err &
storm_pid=$!
record_child_pid "$storm_pid"
wait_until 20 test -e "$test_dir/ready" ||
	fail "the storm's clients did not connect within 20 s: $(cat storm.err)"

# Four restores at once, one more than max_running, so one waits queued.
declare -A clients
for name in eager1 lazy1 eager2 lazy2; do
	lazy=()
	[[ $name != lazy* ]] || lazy=(--lazy-pages)
	start_restore "$name" "${lazy[@]}"
	clients[$name]=$restore_client
done
for name in eager1 lazy1 eager2 lazy2; do
	finish_restore "$name" "${clients[$name]}" "${image_pids[$name]}"
done

# A client that watches eager1's job and shuts down its side still gets
# the job's events until the job ends, then ctrd closes the connection.
eager1_job=$(json_value job <eager1.out)
python3 - "$ctrd_socket" "$eager1_job" >half-closed.jsonl 2>half-closed.err <<'PY' &
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
sock.settimeout(20)
sock.sendall(json.dumps({"method": "watch", "params": {"job": sys.argv[2]}}).encode())
sock.shutdown(socket.SHUT_WR)
for line in sock.makefile("rb"):
    print(line.decode(), end="", flush=True)
PY
watcher=$!
record_child_pid "$watcher"
wait_until 10 test -s half-closed.jsonl || fail "no reply to the half-closed watch"

kill -KILL "${image_pids[eager1]}"
wait_pid_gone "${image_pids[eager1]}" 5 ||
	fail "ctrd did not reap its killed child ${image_pids[eager1]}"
watcher_status=0
wait "$watcher" || watcher_status=$?
forget_child_pid "$watcher"
assert_eq 0 "$watcher_status" "exit status of the half-closed watcher ($(cat half-closed.err))"
assert_eq 9 "$(event_value half-closed.jsonl exited signal)" "signal in the exited event the half-closed watcher got"

# A fifth restore, of the image whose first restore just ended.
start_restore eager1
finish_restore eager1 "$restore_client" "${image_pids[eager1]}"

touch "$test_dir/stop"
storm_status=0
wait "$storm_pid" || storm_status=$?
forget_child_pid "$storm_pid"
log "storm: $(cat storm.json)"
[ "$storm_status" -eq 0 ] || fail "storm checks failed:
$(cat storm.err)"
pid_running "$ctrd_pid" || fail "ctrd died during the storm"

peak_sockets=$(json_value peak_sockets <storm.json)
[ "$peak_sockets" -ge 300 ] ||
	fail "the storm held at most $peak_sockets of ctrd's sockets at once, not 300"
peak=$(json_value peak_rss_kib <storm.json)
rss_after=$(rss_kib)
log "RSS: $rss_before KiB before, $peak KiB at the peak, $rss_after KiB after"
[ $((peak - rss_before)) -le "$max_rss_growth_kib" ] ||
	fail "ctrd's RSS grew from $rss_before KiB to $peak KiB during the storm"
[ $((rss_after - rss_before)) -le "$max_rss_growth_kib" ] ||
	fail "ctrd's RSS grew from $rss_before KiB to $rss_after KiB after the storm"
for behaviour in "100000 nested arrays" "byte-by-byte request" \
	"never reads while watching" "line over max_request_bytes"; do
	count=$(json_value "behaviours" <storm.json |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], 0))' "$behaviour")
	[ "$count" -gt 0 ] || fail "the storm never ran '$behaviour'"
done

# Every connection of the storm is closed, also those of clients that
# watched a job still restored, shut down their side and closed: only
# ctrd's own sockets remain.
wait_until 5 sockets_as_before ||
	fail "ctrd has $(socket_count) sockets open after the storm, $sockets_before before it"

# The test runs as root, which may open a reserve of 16 connections
# beyond max_connections.
python3 "$source_dir/tests/integration/hostile_clients.py" limit \
	"$ctrd_socket" --max-connections "$((max_connections + 16))" 2>limit.err ||
	fail "connection limit checks failed:
$(cat limit.err)"
wait_until 5 sockets_as_before ||
	fail "ctrd has $(socket_count) sockets open after the limit checks, $sockets_before before"
assert_file_contains ctrd.log "ctrd serves its maximum of $max_connections connections" "ctrd log"

cli info >/dev/null || fail "ctrd does not reply to info after the storm"
assert_eq restored "$(job_value "$(newest_job)" state)" "state of the last job after the storm"
assert_no_strays "${image_pids[@]}"
log PASS
