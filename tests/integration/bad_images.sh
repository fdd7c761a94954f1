#!/bin/bash
# Damaged image sets fail with the error code of their damage and a message
# that names the file at fault.  Damage that ctrd detects in the files it
# reads (inventory.img, pstree.img, the directory itself) is a request
# error, and no job is created.  Damage only CRIU finds fails the job, and
# leaves neither the job's CRIU worker nor a half-restored process behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
# A restore stuck on a truncated pages image logs tens of MB/s until
# max_log_bytes stops it.  restore_timeout catches one that logs less.
cat >"$test_dir/ctrd.json" <<'EOF'
{"max_log_bytes": 4194304, "restore_timeout": 30}
EOF
start_ctrd 1 "$criu_bin" --config "$test_dir/ctrd.json"

start_workload bad 16 --seed 11
pid=$workload_pid
# Every thread id of the tree is in pstree.img and must be free again later.
image_pids=$(ls "/proc/$pid/task")
dump_workload "$pid" "$test_dir/images"

# Make a copy of the image set named $1 and run the rest of the command
# line in it, to damage it.
damaged_copy() {
	local name=$1
	shift
	cp -a "$test_dir/images" "$test_dir/$name"
	(cd "$test_dir/$name" && "$@")
}

# Print member $2 of the first line of file $1 that has event $3, or of
# the reply line when $3 is "reply".
event_value() {
	python3 - "$@" <<'PY'
import json, sys

path, key, event = sys.argv[1], sys.argv[2], sys.argv[3]
for line in open(path):
    if not line.strip():
        continue
    doc = json.loads(line)
    if (event == "reply" and "id" in doc) or doc.get("event") == event:
        for part in key.split("."):
            doc = doc.get(part) if isinstance(doc, dict) else None
        print("null" if doc is None else doc)
        sys.exit(0)
print("null")
PY
}

job_count() {
	cli --json list | python3 -c '
import json, sys
print(len(json.loads(sys.stdin.readline())["result"]["jobs"]))'
}

# Fail unless every pid and thread id of the image is free.
assert_image_pids_free() {
	local id
	for id in $image_pids; do
		wait_pid_gone "$id" 5 ||
			fail "$1: pid $id of the image is still in use: $(cat "/proc/$id/comm" 2>/dev/null)"
	done
}

# Restore directory $2 and expect a request error with code $3 whose
# message contains $4; $1 names the case.
expect_request_error() {
	local name=$1 dir=$2 code=$3 part=$4 jobs_before message
	jobs_before=$(job_count)
	run_cli "$name.jsonl" --json restore "$dir"
	assert_ne 0 "$cli_status" "$name: exit status of ctrd-cli restore"
	assert_eq "$code" "$(event_value "$name.jsonl" error.code reply)" \
		"$name: error code"
	assert_eq images_dir "$(event_value "$name.jsonl" error.field reply)" \
		"$name: error field"
	message=$(event_value "$name.jsonl" error.message reply)
	[[ "$message" == *"$part"* ]] ||
		fail "$name: expected a message naming '$part', got '$message'"
	assert_eq "$jobs_before" "$(job_count)" "$name: number of jobs"
	assert_image_pids_free "$name"
	log "$name: $code: $message"
}

# Restore directory $2 and expect its job to fail with code $3 and a
# message containing $4; $1 names the case.  The job's worker must be gone
# afterwards, and so must every process of the image.
expect_job_error() {
	local name=$1 dir=$2 code=$3 part=$4 job worker message
	run_cli "$name.jsonl" --json restore "$dir"
	assert_ne 0 "$cli_status" "$name: exit status of ctrd-cli restore"
	job=$(event_value "$name.jsonl" result.job reply)
	assert_eq failed "$(job_value "$job" state)" "$name: state of job $job"
	assert_eq "$code" "$(job_value "$job" error.code)" "$name: error code of job $job"
	assert_eq "$code" "$(event_value "$name.jsonl" code failed)" \
		"$name: code of the failed event"
	message=$(job_value "$job" error.message)
	[[ "$message" == *"$part"* ]] ||
		fail "$name: expected a message naming '$part', got '$message'"
	[ "$(job_value "$job" error.log)" != "[]" ] ||
		fail "$name: expected CRIU log lines in the error of job $job"
	worker=$(event_value "$name.jsonl" worker_pid started)
	is_pid "$worker" || fail "$name: no worker pid in the started event, got '$worker'"
	wait_pid_gone "$worker" 10 ||
		fail "$name: CRIU worker $worker of job $job still runs: $(cat "/proc/$worker/cmdline" 2>/dev/null | tr '\0' ' ')"
	assert_image_pids_free "$name"
	log "$name: $code: $message"
}

# Request errors: ctrd reads these files itself before it accepts a job.
damaged_copy no-pstree rm pstree.img
expect_request_error missing-pstree "$test_dir/no-pstree" image-missing \
	"pstree.img is missing"

damaged_copy no-inventory rm inventory.img
expect_request_error missing-inventory "$test_dir/no-inventory" \
	image-missing "inventory.img is missing"

mkdir "$test_dir/empty"
expect_request_error empty-dir "$test_dir/empty" image-missing \
	"inventory.img is missing"

expect_request_error regular-file "$test_dir/images/pstree.img" \
	image-missing "'$test_dir/images/pstree.img' is not a directory"

# pstree.img's own magic follows the common one, at byte 4.
damaged_copy pstree-magic dd of=pstree.img bs=1 seek=4 count=4 \
	conv=notrunc if=/dev/zero status=none
expect_request_error wrong-pstree-magic "$test_dir/pstree-magic" \
	image-corrupt "pstree.img has 0x00000000 where CRIU's pstree magic"

# Job errors: only CRIU reads these files.
damaged_copy core-magic dd of="core-$pid.img" bs=1 seek=4 count=4 \
	conv=notrunc if=/dev/zero status=none
expect_job_error wrong-core-magic "$test_dir/core-magic" image-corrupt \
	"Magic doesn't match for core-$pid.img"

damaged_copy no-core rm "core-$pid.img"
expect_job_error missing-core "$test_dir/no-core" image-missing \
	"image file 'core-$pid.img' is missing"

# The restorer reads 0 bytes past the cut again and again, logging each
# read, so the job ends at max_log_bytes.
damaged_copy truncated-pages sh -c 'truncate -s 4096 pages-*.img'
expect_job_error truncated-pages "$test_dir/truncated-pages" log-limit \
	"a pages-*.img file is shorter than its pagemap says"

# After all that, ctrd still restores the undamaged image set.
run_cli good.out restore "$test_dir/images"
assert_eq 0 "$cli_status" "exit status of the restore of the undamaged images (stderr: $(cat good.out.err))"
job=$(newest_job)
record_restored_pid "$(job_value "$job" pid)"
assert_eq "$pid" "$(job_value "$job" pid)" "pid of restored job $job"
check_heartbeat "$test_dir/bad"
log PASS
