#!/bin/bash
# Checkpoint jobs that clash with each other, outlive their pid, or
# outlive ctrd, and migrations that are interrupted or lose their
# lazy-pages server.  ctrd starts with max_running 1, so a lazy checkpoint
# that serves its pages keeps the jobs after it queued as long as the test
# needs.
#
# Cases:
#   a. a checkpoint into the images dir of a queued checkpoint, or with a
#      page server on the port of one, is rejected with invalid-params.
#      The two dumps would mix their image sets, and the second page
#      server would fail only after CRIU froze and dumped its tree;
#   b. a queued checkpoint whose root exits, and whose pid another
#      process takes before the job starts, fails with not-found and
#      leaves that process running;
#   c. ctrd is killed with SIGKILL while a checkpoint serves its pages.
#      The restarted ctrd ends the job interrupted and kills the CRIU
#      worker left serving.  The frozen tree then runs on, and the port is
#      free;
#   d. work dirs that ctrd makes but cannot open, here because strace
#      fails each openat(2) in the jobs dir with EMFILE, are removed
#      again, ahead of time for the next job or for a request, so none
#      accumulate;
#   e. ctrd-cli migrate interrupted with SIGINT while it copies the
#      images stops the copy, removes the --images-to it made and cancels
#      the checkpoint, so the tree runs on and the same command can run
#      again;
#   f. ctrd-cli migrate interrupted once the tree resumed on the
#      destination cancels the checkpoint before the restore.  CRIU's page
#      server takes the close of its connection by a canceled destination
#      for the end of the transfer and kills the frozen tree, so the other
#      order could lose the process on both sides;
#   g. the lazy-pages server of a restore from a remote page server, killed
#      mid-transfer, fails the job with lazy-pages-failed, and the message
#      does not blame the page server.
#
# Cases f and g migrate within the one ctrd: a workload that is the init of
# a pid namespace can be restored while its source copy still exists.
#
# ctrd runs under subreaper.py, which becomes the parent of the CRIU
# worker that outlives the killed ctrd.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# What CRIU's page server sizes its pipes to (F_SETPIPE_SZ), in bytes.
page_server_pipe_size=4194304
pipe_max_path=/proc/sys/fs/pipe-max-size
pipe_max_saved=
old_reaper=
serving_port=27201
queued_port=27202

# Print the pids of the CRIU workers that are children of pid $1.
workers_of() {
	local pid
	for pid in $(ps -o pid= --ppid "$1"); do
		[[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" != *criu* ]] ||
			echo "$pid"
	done
}

# Print the local address:port of every TCP listener on port $1.
listeners_on_port() {
	ss -ltnH | awk -v port="$1" '{
		n = split($4, part, ":")
		if (part[n] == port) print $4
	}'
}

# Print the time job $1 ended, as milliseconds since the epoch.
job_ended_ms() {
	job_value "$1" ended | python3 -c '
import datetime, sys
text = sys.stdin.read().strip().replace("Z", "+00:00")
print(int(datetime.datetime.fromisoformat(text).timestamp() * 1000))
'
}

# Print the number of work dirs in the state dir that no job of ctrd names.
count_unnamed_work_dirs() {
	cli --json list | python3 -c '
import json, os, sys
jobs = {job["job"] for job in json.loads(sys.stdin.readline())["result"]["jobs"]}
print(sum(1 for name in os.listdir(sys.argv[1]) if name not in jobs))
' "$state_dir/jobs"
}

# Succeed if exactly $1 work dirs in the state dir are named by no job.
has_unnamed_work_dirs() {
	[ "$(count_unnamed_work_dirs)" = "$1" ]
}

# Succeed once pid $1 is traced.
is_traced() {
	[ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$1/status")" != 0 ]
}

# Print the error code of the reply in file $1, or "none".
reply_code() {
	python3 -c '
import json, sys
reply = json.loads(open(sys.argv[1]).readline())
print(reply.get("error", {}).get("code", "none"))
' "$1"
}

# Print the error field of the reply in file $1, or "none".
reply_field() {
	python3 -c '
import json, sys
reply = json.loads(open(sys.argv[1]).readline())
print(reply.get("error", {}).get("field", "none"))
' "$1"
}

# Submit a checkpoint without following it: ctrd-cli --json checkpoint
# --detach with the arguments $2..., its reply to file $1.
submit_checkpoint() {
	local out=$1
	shift
	cli_status=0
	cli --json checkpoint --detach "$@" >"$out" 2>"$out.err" || cli_status=$?
}

# Stop what the test left running before cleanup kills the subreapers,
# and put fs.pipe-max-size back.
checkpoint_edges_cleanup() {
	local worker i pid
	for ((i = 0; i < ${#ns_workload_pids[@]}; i++)); do
		pid=${ns_workload_pids[i]}
		if is_pid "$pid" && [ "$(parent_pid_of "$pid")" = "${ns_unshare_pids[i]}" ]; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	if is_pid "$old_reaper"; then
		for worker in $(workers_of "$old_reaper"); do
			is_pid "$worker" && kill -KILL "$worker" 2>/dev/null
		done
	fi
	if is_pid "$ctrd_pid" && pid_running "$ctrd_pid"; then
		kill -TERM "$ctrd_pid" 2>/dev/null
		wait_until 10 test -s "$test_dir/ctrd.status"
	fi
	if [ -n "$pipe_max_saved" ]; then
		echo "$pipe_max_saved" >"$pipe_max_path" ||
			log "could not restore fs.pipe-max-size to $pipe_max_saved"
	fi
}

begin_test
command -v ss >/dev/null || fail "'ss' is missing; the test looks for the page server's listener with it"
[ -w "$pipe_max_path" ] || fail "cannot write $pipe_max_path"
# errexit is turned off first: "(exit N)" would otherwise end the trap
# before cleanup runs.
trap 'status=$?; set +e; checkpoint_edges_cleanup; (exit "$status"); cleanup' EXIT

pipe_max_saved=$(cat "$pipe_max_path")
if [ "$pipe_max_saved" -lt "$page_server_pipe_size" ]; then
	log "fs.pipe-max-size is $pipe_max_saved; the test sets it to $page_server_pipe_size and restores it at exit"
	echo "$page_server_pipe_size" >"$pipe_max_path"
else
	pipe_max_saved=
fi
for port in "$serving_port" "$queued_port"; do
	assert_eq "" "$(listeners_on_port "$port")" "listeners on port $port before the test"
done

echo '{"max_running": 1}' >"$test_dir/ctrd.json"
start_reaped_ctrd "$test_dir/ctrd.json"

# The serving checkpoint takes the only running slot until it ends.
start_workload frozen 16 --seed 61
frozen_pid=$workload_pid
mkdir serving-images
cli --json checkpoint --lazy-pages --page-server "127.0.0.1:$serving_port" \
	"$frozen_pid" "$test_dir/serving-images" >serving.jsonl 2>serving.err &
serving_cli=$!
record_child_pid "$serving_cli"
wait_until 30 file_has serving.jsonl '"page-server-ready"' ||
	fail "no page-server-ready from the serving checkpoint: $(cat serving.jsonl serving.err)"
serving_job=$(json_value job <serving.jsonl)
serving_worker=$(event_value serving.jsonl started worker_pid)
is_pid "$serving_worker" || fail "no worker pid in the started event of job $serving_job"
log "job $serving_job serves the pages of pid $frozen_pid from worker $serving_worker"

# a. A queued lazy checkpoint owns its images dir and its port.
start_workload other 16 --seed 62
other_pid=$workload_pid
mkdir queued-images clash-images
submit_checkpoint a-queued.json --leave-running --lazy-pages \
	--page-server "127.0.0.1:$queued_port" "$other_pid" "$test_dir/queued-images"
assert_eq 0 "$cli_status" "exit status of the queued checkpoint (stderr: $(cat a-queued.json.err))"
queued_job=$(json_value job <a-queued.json)
assert_eq queued "$(job_value "$queued_job" state)" "state of job $queued_job"

ln -s queued-images "$test_dir/queued-alias"
submit_checkpoint a-dir.json --leave-running "$other_pid" "$test_dir/queued-alias"
assert_eq 1 "$cli_status" "exit status of a checkpoint into the dir of job $queued_job"
assert_eq invalid-params "$(reply_code a-dir.json)" "error code of a checkpoint into the dir of job $queued_job"
assert_eq images_dir "$(reply_field a-dir.json)" "error field of a checkpoint into the dir of job $queued_job"
assert_file_contains a-dir.json "$queued_job" "error of a checkpoint into the dir of job $queued_job"

submit_checkpoint a-port.json --leave-running --lazy-pages \
	--page-server "127.0.0.1:$queued_port" "$other_pid" "$test_dir/clash-images"
assert_eq 1 "$cli_status" "exit status of a checkpoint on the port of job $queued_job"
assert_eq invalid-params "$(reply_code a-port.json)" "error code of a checkpoint on the port of job $queued_job"
assert_eq page_server "$(reply_field a-port.json)" "error field of a checkpoint on the port of job $queued_job"
assert_file_contains a-port.json "$queued_job" "error of a checkpoint on the port of job $queued_job"

# The wildcard address listens on every address, 127.0.0.1 among them.
submit_checkpoint a-any.json --leave-running --lazy-pages \
	--page-server "0.0.0.0:$queued_port" "$other_pid" "$test_dir/clash-images"
assert_eq page_server "$(reply_field a-any.json)" "error field of a checkpoint on 0.0.0.0 and the port of job $queued_job"
cli cancel "$queued_job" >/dev/null
assert_eq 2 "$(cli --json list | json_value jobs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
	"jobs after the rejected checkpoints"
[ ! -e clash-images/inventory.img ] || fail "a rejected checkpoint wrote clash-images/inventory.img"
check_heartbeat "$test_dir/other"
log "a: checkpoints into the dir or onto the port of job $queued_job were rejected"

# b. The pid of a queued checkpoint goes to another process.  The next
# pid the kernel hands out is set through ns_last_pid, so a new process
# takes the pid of the one that exited.
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
victim_pid=$!
record_child_pid "$victim_pid"
mkdir reused-images
submit_checkpoint b.json "$victim_pid" "$test_dir/reused-images"
assert_eq 0 "$cli_status" "exit status of the checkpoint of pid $victim_pid (stderr: $(cat b.json.err))"
reused_job=$(json_value job <b.json)
assert_eq queued "$(job_value "$reused_job" state)" "state of job $reused_job"
kill -KILL "$victim_pid"
wait "$victim_pid" 2>/dev/null || true
forget_child_pid "$victim_pid"
taker_pid=
for ((i = 0; i < 50; i++)); do
	echo $((victim_pid - 1)) >/proc/sys/kernel/ns_last_pid
	setsid sleep 1000 </dev/null >/dev/null 2>&1 &
	pid=$!
	record_child_pid "$pid"
	if [ "$pid" = "$victim_pid" ]; then
		taker_pid=$pid
		break
	fi
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	forget_child_pid "$pid"
done
is_pid "$taker_pid" || fail "no new process got pid $victim_pid in 50 tries"
log "b: pid $victim_pid of queued job $reused_job now names a new sleep"

# Canceling the serving checkpoint lets the queued one start.
cli cancel "$serving_job" >/dev/null
wait "$serving_cli" 2>/dev/null || true
forget_child_pid "$serving_cli"
wait_job_state "$reused_job" failed
assert_eq not-found "$(job_value "$reused_job" error.code)" "error code of job $reused_job"
pid_running "$taker_pid" || fail "pid $taker_pid, which took the pid of job $reused_job, was killed"
[ "$(readlink "/proc/$taker_pid/exe")" = "$(readlink -f "$(command -v sleep)")" ] ||
	fail "pid $taker_pid no longer runs sleep"
[ ! -e reused-images/inventory.img ] || fail "job $reused_job dumped pid $taker_pid into reused-images"
check_heartbeat "$test_dir/frozen"
log "b: job $reused_job failed: $(job_value "$reused_job" error.message)"

# c. ctrd dies while a checkpoint serves.  Its worker keeps the tree
# frozen until a restarted ctrd kills it.
mkdir killed-images
cli --json checkpoint --lazy-pages --leave-running --page-server "127.0.0.1:$serving_port" \
	"$frozen_pid" "$test_dir/killed-images" >killed.jsonl 2>killed.err &
killed_cli=$!
record_child_pid "$killed_cli"
wait_until 30 file_has killed.jsonl '"page-server-ready"' ||
	fail "no page-server-ready from the checkpoint for case c: $(cat killed.jsonl killed.err)"
killed_job=$(json_value job <killed.jsonl)
killed_worker=$(event_value killed.jsonl started worker_pid)
is_pid "$killed_worker" || fail "no worker pid in the started event of job $killed_job"
kill -KILL "$ctrd_pid"
assert_eq "signal 9" "$(wait_ctrd_exit 10)" "wait status of the killed ctrd"
wait "$killed_cli" 2>/dev/null || true
forget_child_pid "$killed_cli"
pid_running "$killed_worker" || fail "worker $killed_worker of job $killed_job died with ctrd; the test needs it left serving"
before=$(read_heartbeat "$test_dir/frozen")
sleep 0.5
assert_eq "$before" "$(read_heartbeat "$test_dir/frozen")" "heartbeat of pid $frozen_pid frozen by the orphaned worker"

old_reaper=$reaper_pid
start_reaped_ctrd "$test_dir/ctrd.json"
assert_eq interrupted "$(job_value "$killed_job" state)" "state of job $killed_job after the restart"
wait_pid_gone "$killed_worker" 10 || fail "worker $killed_worker of job $killed_job still runs after the restart"
assert_file_contains ctrd.log "killed CRIU worker $killed_worker" "log of the second ctrd"
check_heartbeat "$test_dir/frozen"
check_memory "$frozen_pid" "$test_dir/frozen"
wait_until 10 test -z "$(listeners_on_port "$serving_port")" ||
	fail "port $serving_port still has a listener: $(listeners_on_port "$serving_port")"
log "c: the restarted ctrd killed worker $killed_worker, and pid $frozen_pid runs on"

kill -TERM "$old_reaper"
wait "$old_reaper" 2>/dev/null || true
forget_child_pid "$old_reaper"
old_reaper=

# d. The first request takes the work dir made ahead of time, and every
# later work dir fails to open.
command -v strace >/dev/null || fail "'strace' is missing; case d fails openat(2) in ctrd with it"
wait_until 5 has_unnamed_work_dirs 1 ||
	fail "expected 1 work dir made ahead of time, found $(count_unnamed_work_dirs)"
strace -p "$ctrd_pid" -P "$state_dir/jobs" -e trace=openat \
	-e inject=openat:error=EMFILE -o "$test_dir/strace.log" &
strace_pid=$!
record_child_pid "$strace_pid"
wait_until 10 is_traced "$ctrd_pid" || fail "strace did not attach to ctrd $ctrd_pid"
for i in 1 2 3; do
	mkdir "emfile-images-$i"
	submit_checkpoint "d-$i.json" --leave-running "$other_pid" "$test_dir/emfile-images-$i"
done
assert_eq none "$(reply_code d-1.json)" "error code of the checkpoint that took the prepared work dir"
assert_eq internal "$(reply_code d-2.json)" "error code of a checkpoint whose work dir failed to open"
assert_file_contains d-3.json "Too many open files" "error of a checkpoint whose work dir failed to open"
wait_job_state "$(json_value job <d-1.json)" checkpointed
kill -TERM "$strace_pid"
wait "$strace_pid" 2>/dev/null || true
forget_child_pid "$strace_pid"
# The next work dir is made ahead of time only when the loop next starts
# jobs, so it may not exist yet.
unnamed=$(count_unnamed_work_dirs)
[ "$unnamed" -le 1 ] ||
	fail "expected at most the work dir made ahead of time without a job, found $unnamed in $state_dir/jobs"
assert_file_contains strace.log "(INJECTED)" "strace's log"
log "d: $(grep -c INJECTED strace.log) failed opens left no work dir behind"

# e. A sparse file of 2 GiB in --images-from, which ctrd-cli copies with
# the images, keeps the copy going for seconds.
mkdir migrate-from
truncate -s 2G migrate-from/padding.bin
"$cli_bin" migrate --json --leave-running --from "$ctrd_socket" --to "$ctrd_socket" \
	--page-server "127.0.0.1:$queued_port" --images-from "$test_dir/migrate-from" \
	--images-to "$test_dir/migrate-to" "$other_pid" >e.jsonl 2>e.err &
migrate_cli=$!
record_child_pid "$migrate_cli"
wait_until 30 file_has e.jsonl '"page-server-ready"' ||
	fail "no page-server-ready from migrate: $(cat e.jsonl e.err)"
sleep 0.2
pid_running "$migrate_cli" || fail "migrate ended before the interrupt: $(cat e.err)"
kill -INT "$migrate_cli"
wait_until 10 pid_ended "$migrate_cli" || fail "migrate still runs 10 s after SIGINT"
migrate_status=0
wait "$migrate_cli" || migrate_status=$?
forget_child_pid "$migrate_cli"
assert_eq 1 "$migrate_status" "exit status of the interrupted migrate (stderr: $(cat e.err))"
assert_file_contains e.err "interrupted" "message of the interrupted migrate"
assert_file_contains e.err "so the tree runs on at the source" "message of the interrupted migrate"
[ ! -e migrate-to ] || fail "the interrupted migrate left migrate-to: $(ls migrate-to)"
migrate_job=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["job"])
    break
' e.jsonl)
wait_job_state "$migrate_job" canceled
check_heartbeat "$test_dir/other"
log "e: $(cat e.err)"

# f. The interrupt comes while the pages of 512 MiB are on their way.  The
# checkpoint that serves them and the restore that pulls them run at once.
echo '{"max_running": 2}' >"$test_dir/ctrd.json"
kill -HUP "$ctrd_pid"
wait_until 10 file_has ctrd.log "'max_running' 1 -> 2" ||
	fail "ctrd $ctrd_pid did not reload max_running 2"
start_pidns_workload moving 512 63
moving_pid=$workload_pid
mkdir moving-from
"$cli_bin" migrate --json --from "$ctrd_socket" --to "$ctrd_socket" \
	--page-server "127.0.0.1:$queued_port" --images-from "$test_dir/moving-from" \
	--images-to "$test_dir/moving-to" "$moving_pid" >f.jsonl 2>f.err &
migrate_cli=$!
record_child_pid "$migrate_cli"
wait_until 30 file_has f.jsonl '"event":"restored"' ||
	fail "no restored event from migrate: $(cat f.jsonl f.err)"
record_restored_pid "$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    event = json.loads(line)
    if event.get("event") == "restored":
        print(event["pid"])
' f.jsonl)"
file_has f.jsonl '"pages-complete"' && fail "every page arrived before the interrupt"
kill -INT "$migrate_cli"
wait_until 10 pid_ended "$migrate_cli" || fail "migrate still runs 10 s after SIGINT"
migrate_status=0
wait "$migrate_cli" || migrate_status=$?
forget_child_pid "$migrate_cli"
assert_eq 1 "$migrate_status" "exit status of the migrate interrupted after restored (stderr: $(cat f.err))"
source_job=$(python3 -c '
import json, sys
for side in ("source", "destination"):
    for line in open(sys.argv[1]):
        event = json.loads(line)
        if event.get("side") == side:
            print(event["job"])
            break
' f.jsonl)
destination_job=${source_job#*$'\n'}
source_job=${source_job%%$'\n'*}
assert_eq canceled "$(job_value "$source_job" state)" "state of source job $source_job"
source_ended=$(job_ended_ms "$source_job")
destination_ended=$(job_ended_ms "$destination_job")
[ "$source_ended" -le "$destination_ended" ] ||
	fail "destination job $destination_job ended at $destination_ended ms, before source job $source_job at $source_ended ms"
pid_running "$moving_pid" || fail "source pid $moving_pid is gone after the interrupted migrate"
check_heartbeat "$test_dir/moving"
check_memory "$moving_pid" "$test_dir/moving"
log "f: source job $source_job ended before destination job $destination_job ($(job_value "$destination_job" state)), and pid $moving_pid runs on"

# g. A restore from a remote page server whose lazy-pages server is killed.
# leave_running lets CRIU resume the source once its page server is done.
start_pidns_workload pulled 512 64
pulled_pid=$workload_pid
mkdir pulled-from pulled-to
cli --json checkpoint --lazy-pages --leave-running --page-server "127.0.0.1:$queued_port" \
	"$pulled_pid" "$test_dir/pulled-from" >g-checkpoint.jsonl 2>g-checkpoint.err &
checkpoint_cli=$!
record_child_pid "$checkpoint_cli"
wait_until 30 file_has g-checkpoint.jsonl '"page-server-ready"' ||
	fail "no page-server-ready from the checkpoint for case g: $(cat g-checkpoint.jsonl g-checkpoint.err)"
cp pulled-from/*.img pulled-to/
cli --json restore --page-server "127.0.0.1:$queued_port" "$test_dir/pulled-to" \
	>g-restore.jsonl 2>g-restore.err &
restore_cli=$!
record_child_pid "$restore_cli"
wait_until 30 file_has g-restore.jsonl '"event":"restored"' ||
	fail "no restored event from the restore for case g: $(cat g-restore.jsonl g-restore.err)"
pulled_job=$(json_value job <g-restore.jsonl)
record_restored_pid "$(event_value g-restore.jsonl restored pid)"
lazy_server=$(event_value g-restore.jsonl lazy-pages-ready server_pid)
is_pid "$lazy_server" || fail "no server pid in the lazy-pages-ready event of job $pulled_job"
file_has g-restore.jsonl '"pages-complete"' && fail "every page arrived before the kill"
kill -KILL "$lazy_server"
wait_job_state "$pulled_job" failed
assert_eq lazy-pages-failed "$(job_value "$pulled_job" error.code)" "error code of job $pulled_job"
message=$(job_value "$pulled_job" error.message)
[[ "$message" == *"was killed"* ]] || fail "message of job $pulled_job does not say the server was killed: $message"
[[ "$message" == *"127.0.0.1 port $queued_port"* ]] || fail "message of job $pulled_job does not name the page server: $message"
[[ "$message" != *"could not be reached"* ]] || fail "message of job $pulled_job blames the page server: $message"
wait "$restore_cli" 2>/dev/null || true
forget_child_pid "$restore_cli"
wait_until 30 pid_ended "$checkpoint_cli" || fail "checkpoint client $checkpoint_cli still runs after the restore failed"
wait "$checkpoint_cli" 2>/dev/null || true
forget_child_pid "$checkpoint_cli"
log "g: $message"

assert_no_strays "$frozen_pid" "$other_pid" "$taker_pid" "${ns_unshare_pids[@]}" \
	"${ns_workload_pids[@]}"
log PASS
