#!/bin/bash
# ctrd-cli metrics prints valid Prometheus text: after a lazy restore whose
# root is then killed, the counters, the gauges and each phase histogram
# count exactly that job.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_ctrd 2

start_workload lazy 16 --seed 71
pid=$workload_pid
dump_workload "$pid" "$test_dir/images"
run_cli restore.out restore --lazy-pages "$test_dir/images"
assert_eq 0 "$cli_status" "exit status of the lazy restore ($(cat restore.out.err))"
record_restored_pid "$pid"
job=$(newest_job)
kill -KILL "$pid"
wait_job_state "$job" exited

run_cli metrics.txt metrics
assert_eq 0 "$cli_status" "exit status of ctrd-cli metrics ($(cat metrics.txt.err))"
python3 - metrics.txt <<'PY' || fail "metrics are wrong: $(cat metrics.txt)"
import re, sys
sample = re.compile(r'^([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+|\+Inf)$')
values = {}
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        continue
    match = sample.match(line)
    assert match, f"not a sample line: {line!r}"
    name, _, value = line.rpartition(" ")
    values[name] = float(value)

def value(name):
    assert name in values, f"missing {name}"
    return values[name]

assert value("ctrd_jobs_restored_total") == 1, values
assert value('ctrd_jobs_ended_total{state="exited"}') == 1, values
assert value('ctrd_jobs_ended_total{state="failed"}') == 0, values
assert value('ctrd_jobs{state="restored"}') == 0, values
assert value("ctrd_workers_target") == 2, values
for phase in ("lazy_pages_ready", "restore", "pages_complete"):
    count = value(f'ctrd_phase_duration_seconds_count{{phase="{phase}"}}')
    assert count == 1, (phase, count)
    assert value(f'ctrd_phase_duration_seconds_bucket{{phase="{phase}",le="+Inf"}}') == 1
    assert value(f'ctrd_phase_duration_seconds_sum{{phase="{phase}"}}') > 0, phase
assert value('ctrd_phase_duration_seconds_count{phase="queue_wait"}') == 1
assert value('ctrd_jobs_ended_total{state="canceled"}') == 0, values
PY
log PASS
