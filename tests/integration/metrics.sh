#!/bin/bash
# ctrd-cli metrics prints valid Prometheus text: after a lazy restore whose
# root is then killed, the counters, the gauges, each phase histogram and
# the histograms of CRIU's own statistics count exactly that job.  The job
# object shows the same statistics that the metrics count.
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
run_cli status.json --json status "$job"
assert_eq 0 "$cli_status" "exit status of ctrd-cli status ($(cat status.json.err))"
python3 - metrics.txt status.json <<'PY' || fail "metrics or criu_stats are wrong: $(cat metrics.txt status.json)"
import json, re, sys
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

# CRIU's stats-restore of the job: one restore, with pages written even
# though most of the memory arrived lazily.  The workload is one process
# without children, so its forking time may be 0.
for name in ("ctrd_criu_restore_seconds", "ctrd_criu_forking_seconds"):
    assert value(f"{name}_count") == 1, (name, values)
    assert value(f'{name}_bucket{{le="+Inf"}}') == 1, (name, values)
assert value("ctrd_criu_restore_seconds_sum") > 0, values
pages = value("ctrd_criu_pages_restored_total")
assert pages > 0, values

stats = json.loads(open(sys.argv[2]).readline())["result"].get("criu_stats")
assert stats is not None, "status has no criu_stats"
assert stats["restore_us"] > 0, stats
assert stats["forking_us"] >= 0, stats
assert stats["pages_restored"] == pages, (stats, pages)
# The metrics sum the same whole microseconds as seconds with 6 decimals.
for key, name in (("restore_us", "ctrd_criu_restore_seconds"),
                  ("forking_us", "ctrd_criu_forking_seconds")):
    total = value(f"{name}_sum")
    assert abs(stats[key] - total * 1e6) < 0.5, (key, stats, total)
PY
log PASS
