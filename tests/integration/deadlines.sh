#!/bin/bash
# Each phase of a job has its own deadline.  Expiry fails the job with code
# timeout and the phase named.  It leaves no CRIU process, lazy-pages
# server, restored task or lazy-pages.socket behind.  The phases tested:
#   queued      queue_timeout: no worker freed up in time
#   restoring   restore_timeout: CRIU blocked in open() on a FIFO
#   pages       pages_timeout: the lazy-pages server is slowed down to 1%
#               of a CPU (make_slow_lazy_criu), so copying 256 MiB of
#               pages takes far longer than the deadline.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_workload stuck 8 --seed 61
stuck_pid=$workload_pid
dump_workload "$stuck_pid" "$test_dir/stuck-images"
# CRIU opens files.img before it forks any task, and ctrd does not read it.
rm "$test_dir/stuck-images/files.img"
mkfifo "$test_dir/stuck-images/files.img"
start_workload waiting 8 --seed 62
dump_workload "$workload_pid" "$test_dir/waiting-images"

echo '{"max_running": 1, "queue_timeout": 2, "restore_timeout": 10}' >"$test_dir/ctrd.json"
start_ctrd 2 "$criu_bin" --config "$test_dir/ctrd.json"

cli --json restore "$test_dir/stuck-images" >stuck.jsonl 2>&1 &
record_child_pid $!
stuck_job=$(wait_new_job "")
wait_job_state "$stuck_job" restoring
worker=$(event_value stuck.jsonl started worker_pid)
is_pid "$worker" || fail "no worker pid in the started event of job $stuck_job"
cli --json restore "$test_dir/waiting-images" >waiting.jsonl 2>&1 &
record_child_pid $!
waiting_job=$(wait_new_job "$stuck_job")

wait_job_state "$waiting_job" failed
assert_eq timeout "$(job_value "$waiting_job" error.code)" "error code of the queued job"
assert_eq queued "$(job_value "$waiting_job" error.phase)" "phase of the queued job's timeout"
assert_file_contains <(job_value "$waiting_job" error.message) "queue_timeout" "error of job $waiting_job"
assert_eq restoring "$(job_value "$stuck_job" state)" "state of job $stuck_job at the queue timeout"

wait_job_state "$stuck_job" failed
assert_eq timeout "$(job_value "$stuck_job" error.code)" "error code of the stuck job"
assert_eq restoring "$(job_value "$stuck_job" error.phase)" "phase of the stuck job's timeout"
wait_pid_gone "$worker" 5 || fail "CRIU worker $worker of job $stuck_job outlived its deadline"
! pid_running "$stuck_pid" || fail "pid $stuck_pid of the stuck image runs after its job failed"
assert_no_strays
stop_ctrd
ctrd_pid=

# pages: a lazy restore whose server stops sending pages.
start_workload lazy 256 --seed 63
lazy_pid=$workload_pid
dump_workload "$lazy_pid" "$test_dir/lazy-images"
echo '{"pages_timeout": 3}' >"$test_dir/ctrd.json"
make_slow_lazy_criu
start_ctrd 2 "$slow_lazy_criu" --config "$test_dir/ctrd.json"
# The new ctrd lists the jobs of the first one from its job history.
last_job=$(newest_job)
cli --json restore --lazy-pages "$test_dir/lazy-images" >lazy.jsonl 2>&1 &
record_child_pid $!
lazy_job=$(wait_new_job "$last_job")
for ((i = 0; i < 200; i++)); do
	grep -q '"event": *"lazy-pages-ready"' lazy.jsonl && break
	sleep 0.05
done
server=$(event_value lazy.jsonl lazy-pages-ready server_pid)
is_pid "$server" || fail "no server pid in the lazy-pages-ready event of job $lazy_job"
# Slowed down, the restore itself takes a few seconds, more under ASan.
wait_job_state "$lazy_job" restored 120
record_restored_pid "$lazy_pid"
assert_eq false "$(job_value "$lazy_job" pages_complete)" "pages_complete of job $lazy_job with its server stopped"
wait_job_state "$lazy_job" failed
assert_eq timeout "$(job_value "$lazy_job" error.code)" "error code of the lazy job"
assert_eq pages "$(job_value "$lazy_job" error.phase)" "phase of the lazy job's timeout"
wait_pid_gone "$server" 5 || fail "stopped lazy-pages server $server outlived the pages deadline"
wait_pid_gone "$lazy_pid" 5 || fail "restored pid $lazy_pid runs without its pages after the deadline"
work_dir=$(job_value "$lazy_job" work_dir)
[ ! -e "$work_dir/lazy-pages.socket" ] || fail "job $lazy_job left $work_dir/lazy-pages.socket behind"
assert_no_strays
log PASS
