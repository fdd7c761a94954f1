#!/bin/bash
# Only root and the users in allowed_uids may restore or cancel, any client
# that can connect may read, and a reload changes who may at once.  An
# images_dir outside allowed_image_roots, or one that leads out of its root
# through '..' or a symbolic link, is denied even to root.  The client runs
# as uid 65534 (the user nobody) on a socket made world-writable for the
# test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

nobody_uid=65534

begin_test
images_root=$test_dir/images
mkdir "$images_root" "$test_dir/outside"

# Write the config with allowed_uids [$1] and the test's image root.
write_config() {
	printf '{"allowed_uids": [%s], "allowed_image_roots": ["%s"]}\n' \
		"$1" "$images_root" >"$test_dir/ctrd.json"
}

# Send SIGHUP and wait until ctrd logs the change of allowed_uids to [$1].
reload_uids() {
	write_config "$1"
	kill -HUP "$ctrd_pid"
	wait_until 5 file_has "$test_dir/ctrd.log" "reload: 'allowed_uids' .* -> \[$1\]" ||
		fail "ctrd logged no reload of allowed_uids to [$1] within 5 s"
}

# Run ctrd-cli as uid 65534 with stdout to $1 and stderr to $1.err, and set
# cli_status.  It runs the copy in $test_dir, which uid 65534 can execute.
run_cli_unprivileged() {
	local out=$1
	shift
	cli_status=0
	setpriv --reuid="$nobody_uid" --regid="$nobody_uid" --clear-groups \
		"$test_dir/ctrd-cli" --socket "$ctrd_socket" "$@" \
		>"$out" 2>"$out.err" || cli_status=$?
}

# Send a restore request for images_dir $2 as root, without ctrd-cli, and
# write the reply line to $1.  cli_status becomes 1 for an error reply.
send_restore() {
	cli_status=0
	python3 - "$ctrd_socket" "$2" >"$1" <<'PY' || cli_status=$?
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(10)
sock.connect(sys.argv[1])
request = {"method": "restore", "params": {"images_dir": sys.argv[2]}}
sock.sendall((json.dumps(request) + "\n").encode())
reply = sock.makefile("rb").readline().decode()
sys.stdout.write(reply)
sys.exit(1 if "error" in json.loads(reply) else 0)
PY
}

# Fail unless the --json output in $1 is an error reply with code $2 whose
# message contains $3.
assert_error_reply() {
	local out=$1 code=$2 needle=$3 what=$4 actual
	[ "$cli_status" -ne 0 ] || fail "$what: expected an error reply, got success"
	actual=$(python3 -c '
import json, sys
print(json.loads(sys.stdin.readline()).get("error", {}).get("code"))
' <"$out")
	assert_eq "$code" "$actual" "$what: error code"
	assert_file_contains "$out" "$needle" "$what: error message"
}

write_config ""
start_ctrd 1 "$criu_bin" --config "$test_dir/ctrd.json"
# uid 65534 must reach the socket in the test directory (made 0700) and
# run a ctrd-cli outside the build tree, which other users may not read.
chmod 0755 "$test_dir"
chmod 0666 "$ctrd_socket"
install -m 0755 "$cli_bin" "$test_dir/ctrd-cli"

start_workload access 8 --seed 21
pid=$workload_pid
dump_workload "$pid" "$images_root/app"

# uid 65534 may read but not restore.
run_cli_unprivileged info.out --json info
assert_eq 0 "$cli_status" "exit status of info as uid $nobody_uid (stderr: $(cat info.out.err))"
run_cli_unprivileged denied.out --json restore "$images_root/app"
assert_error_reply denied.out permission-denied "uid $nobody_uid may not restore" \
	"restore as uid $nobody_uid before the reload"
wait_until 5 file_has "$test_dir/ctrd.log" "uid $nobody_uid pid [0-9]*: restore request denied" ||
	fail "ctrd logged no denial of the restore by uid $nobody_uid"
run_cli_unprivileged list.out --json list
assert_eq 0 "$cli_status" "exit status of list as uid $nobody_uid (stderr: $(cat list.out.err))"
assert_eq "[]" "$(json_value jobs <list.out)" "jobs after the denied restore"

# Once allowed, uid 65534 restores a real workload and is the job's peer.
reload_uids "$nobody_uid"
run_cli_unprivileged restore.out restore "$images_root/app"
assert_eq 0 "$cli_status" "exit status of restore as uid $nobody_uid (stderr: $(cat restore.out.err))"
assert_file_contains restore.out restored "ctrd-cli restore output as uid $nobody_uid"
job=$(newest_job)
restored_pid=$(job_value "$job" pid)
record_restored_pid "$restored_pid"
assert_eq "$pid" "$restored_pid" "pid of restored job $job"
assert_eq restored "$(job_value "$job" state)" "state of job $job"
assert_eq "$nobody_uid" "$(job_value "$job" peer.uid)" "peer.uid of job $job"
check_heartbeat "$test_dir/access"

# Paths that leave the root are denied to root too, before any CRIU work.
cp -a "$images_root/app" "$test_dir/outside/app"
ln -s ../outside/app "$images_root/escape"
run_cli denied-outside.out --json restore "$test_dir/outside/app"
assert_error_reply denied-outside.out permission-denied "is outside allowed_image_roots" \
	"restore of an images_dir outside the root"
# ctrd-cli sends realpath(images_dir), so these two go to the socket raw.
send_restore denied-symlink.out "$images_root/escape"
assert_error_reply denied-symlink.out permission-denied "leads out of allowed image root" \
	"restore through a symbolic link out of the root"
send_restore denied-dotdot.out "$images_root/../outside/app"
assert_error_reply denied-dotdot.out permission-denied "leads out of allowed image root" \
	"restore through '..' out of the root"
assert_eq "$job" "$(newest_job)" "newest job after the denied restores"

# Removed from allowed_uids again, uid 65534 may not cancel, and the job
# runs on.
reload_uids ""
run_cli_unprivileged cancel.out --json cancel "$job"
assert_error_reply cancel.out permission-denied "uid $nobody_uid may not cancel" \
	"cancel as uid $nobody_uid after the reload"
assert_eq restored "$(job_value "$job" state)" "state of job $job after the denied cancel"
check_heartbeat "$test_dir/access"
pid_running "$ctrd_pid" || fail "ctrd died"
log PASS
