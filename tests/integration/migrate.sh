#!/bin/bash
# Post-copy migration between two ctrds on one machine, each in a network
# namespace of its own that stands for a host.  A veth pair joins the two
# namespaces on 10.213.0.0/24, and the page server listens on the source's
# address only.  The workloads run in the source namespace, each as the
# init of a pid namespace of its own.  A restored tree keeps its pids, and
# only pid 1 of a new pid namespace can exist twice on one host, as the
# frozen source copy and the restored one do during a migration.
#
# ctrd runs through nsenter --net, which keeps the host's mount namespace:
# with a mount namespace of its own, as ip netns exec makes, CRIU would have
# to dump and restore that namespace too.
#
# Cases:
#   e. a lazy checkpoint is rejected with host-config while
#      fs.pipe-max-size is below the 4 MiB that CRIU's page server needs;
#   f. a page server address that the source namespace lacks is rejected
#      with invalid-params naming page_server;
#   a. ctrd-cli migrate moves a 256 MiB workload: it runs on at the
#      destination with every page intact, the source copy is gone, and
#      the summary gives the times;
#   b. the same by hand: checkpoint --lazy-pages, whose page server listens
#      on the named address only, a copy with cp, restore --page-server;
#   c. a restore whose page server accepts no connection fails with
#      lazy-pages-failed and leaves no process or socket behind, and the
#      tree of a canceled lazy checkpoint runs on;
#   g. a copy of the images that fails makes ctrd-cli migrate cancel the
#      checkpoint, so the tree runs on at the source;
#   d. the source's CRIU worker is killed while a 1 GiB workload's pages
#      are on their way: the restore fails with lazy-pages-failed, its tree
#      is killed, and the source tree runs on;
#   h. ctrd-cli migrate --tls moves a workload over TLS with certificates
#      from both ctrds' configs, and a restore without tls from a TLS page
#      server fails with lazy-pages-failed while the source tree runs on.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src_ns=ctrd-mig-src-$$
dst_ns=ctrd-mig-dst-$$
src_addr=10.213.0.1
dst_addr=10.213.0.2
# An address in the veth's subnet that no namespace has.
absent_addr=10.213.0.99
# What CRIU's page server sizes its pipes to (F_SETPIPE_SZ), in bytes.
page_server_pipe_size=4194304
pipe_max_path=/proc/sys/fs/pipe-max-size
pipe_max_saved=
netns_made=()

src_socket=
dst_socket=
src_ctrd=
dst_ctrd=
# Restored roots on the destination: children of its ctrd.
dst_restored=()

# Run ctrd-cli against the source's or the destination's ctrd.
src_cli() {
	"$cli_bin" --socket "$src_socket" "$@"
}

dst_cli() {
	"$cli_bin" --socket "$dst_socket" "$@"
}

# Print member $2 of job $1 of the source's or the destination's ctrd.
src_job_value() {
	src_cli --json status "$1" | json_value "$2"
}

dst_job_value() {
	dst_cli --json status "$1" | json_value "$2"
}

# Run "$@" in the network namespace $1, in the host's mount namespace.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# Print member $4 of the first event named $3 of side $2 ("source" or
# "destination") in the JSON lines file $1 that ctrd-cli migrate --json
# wrote, or nothing when there is none.
side_event_value() {
	local line
	line=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    doc = json.loads(line)
    if doc.get("side") == sys.argv[2] and doc.get("event") == sys.argv[3]:
        print(line, end="")
        break
' "$1" "$2" "$3")
	[ -z "$line" ] || json_value "$4" <<<"$line"
}

# Succeed if $1 has an event named $3 of side $2.
side_has_event() {
	[ -n "$(side_event_value "$1" "$2" "$3" event 2>/dev/null)" ]
}

check_tools() {
	local tool
	for tool in ip nsenter unshare setsid ss tc openssl; do
		command -v "$tool" >/dev/null ||
			fail "'$tool' is missing; the test makes network and pid namespaces with it"
	done
	[ -w "$pipe_max_path" ] || fail "cannot write $pipe_max_path"
}

# Make the two namespaces, each with its loopback up, and the veth pair
# between them.  The pair is made inside the source namespace, so it never
# appears in the host's.
make_namespaces() {
	ip netns add "$src_ns"
	netns_made+=("$src_ns")
	ip netns add "$dst_ns"
	netns_made+=("$dst_ns")
	ip -n "$src_ns" link set lo up
	ip -n "$dst_ns" link set lo up
	ip -n "$src_ns" link add name veth-src type veth peer name veth-dst \
		netns "$dst_ns"
	ip -n "$src_ns" addr add "$src_addr/24" dev veth-src
	ip -n "$dst_ns" addr add "$dst_addr/24" dev veth-dst
	ip -n "$src_ns" link set veth-src up
	ip -n "$dst_ns" link set veth-dst up
	log "namespaces $src_ns ($src_addr) and $dst_ns ($dst_addr)"
}

# Set fs.pipe-max-size to $1 bytes.
set_pipe_max() {
	echo "$1" >"$pipe_max_path"
}

# Make a CA and one certificate it signs for the source's address, which
# both ctrds present on page-server links with tls, and the config file
# that names them.  CRIU checks that the page server's certificate names
# the address the destination connects to.
make_certs() {
	local dir=$test_dir/tls
	mkdir -m 700 "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=ctrd test CA" \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>"$dir/openssl.log" ||
		fail "openssl could not make the CA: $(cat "$dir/openssl.log")"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$src_addr" \
		-keyout "$dir/key.pem" -out "$dir/cert.csr" 2>>"$dir/openssl.log" ||
		fail "openssl could not make the key: $(cat "$dir/openssl.log")"
	printf 'subjectAltName=IP:%s\n' "$src_addr" >"$dir/san.cnf"
	openssl x509 -req -in "$dir/cert.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 1 -extfile "$dir/san.cnf" -out "$dir/cert.pem" \
		2>>"$dir/openssl.log" ||
		fail "openssl could not sign the certificate: $(cat "$dir/openssl.log")"
	printf '{"tls_cacert": "%s", "tls_cert": "%s", "tls_key": "%s"}\n' \
		"$dir/ca.pem" "$dir/cert.pem" "$dir/key.pem" >"$test_dir/tls.json"
}

# Start a ctrd named $1 ("src" or "dst") in the network namespace $2, on
# the socket $test_dir/$1.sock, and wait until it replies to info.  Sets
# ns_ctrd_pid.  nsenter execs ctrd without forking, so ctrd is this shell's
# child and is reaped by stop_ctrd.  in_ns would put a subshell between.
ns_ctrd_pid=
start_ns_ctrd() {
	local name=$1 ns=$2 socket=$test_dir/$1.sock pid i
	nsenter --net="/run/netns/$ns" "$ctrd_bin" --config "$test_dir/tls.json" \
		--socket "$socket" --state-dir "$test_dir/$name-state" \
		--criu "$criu_bin" --workers 2 --log-level debug \
		</dev/null >"$test_dir/$name-ctrd.log" 2>&1 &
	pid=$!
	ns_ctrd_pid=$pid
	for ((i = 0; i < 200; i++)); do
		if "$cli_bin" --socket "$socket" info >/dev/null 2>&1; then
			return 0
		fi
		pid_running "$pid" ||
			fail "ctrd $name exited during start-up: $(tail -n 20 "$test_dir/$name-ctrd.log")"
		sleep 0.1
	done
	fail "ctrd $name did not reply to 'info' on $socket within 20 s"
}

# Start a workload named $1 with $2 MiB and seed $3 as the init of a new
# pid namespace inside the source's network namespace (start_pidns_workload
# in lib.sh).
start_ns_workload() {
	start_pidns_workload "$1" "$2" "$3" nsenter --net="/run/netns/$src_ns"
}

# Wait for unshare $1 to exit once its workload is gone, and reap it.
reap_unshare() {
	wait_until 10 pid_ended "$1" || fail "unshare $1 still runs 10 s after its workload ended"
	wait "$1" 2>/dev/null || true
	forget_child_pid "$1"
}

# Print the network namespace of pid $1, as /proc shows it.
net_ns_of() {
	readlink "/proc/$1/ns/net"
}

# Fail unless pid $1 is pid 1 of a pid namespace of its own.
assert_ns_init() {
	local nspid
	nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$1/status")
	assert_eq 1 "$nspid" "pid of $1 inside its pid namespace"
}

# Print the local address:port of every TCP listener on port $2 in the
# network namespace $1.
listeners_on_port() {
	in_ns "$1" ss -ltnH | awk -v port="$2" '{
		n = split($4, part, ":")
		if (part[n] == port) print $4
	}'
}

# Print the children of ctrd $1 (pid) whose command line names lazy-pages.
lazy_servers_of() {
	local child
	for child in $(ps -o pid= --ppid "$1"); do
		[[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$child/cmdline")" != *lazy-pages* ]] ||
			echo "$child"
	done
}

# Succeed if ctrd $1 has no lazy-pages server.
has_no_lazy_server() {
	[ -z "$(lazy_servers_of "$1")" ]
}

# Print the pids of ctrd $1's children that run the workload, sorted, on
# one line.
workload_children() {
	local child
	for child in $(ps -o pid= --ppid "$1"); do
		[ "$(readlink "/proc/$child/exe" 2>/dev/null)" != "$(readlink -f "$workload_bin")" ] ||
			echo "$child"
	done | sort -n | tr '\n' ' '
}

# Succeed if ctrd $1's workload children are the pids $2, as
# workload_children prints them.
workload_children_are() {
	[ "$(workload_children "$1")" = "$2" ]
}

# Stop what the test started, in an order that leaves nothing behind: the
# workloads in their pid namespaces, the restored trees, both ctrds, the
# namespaces with their veth pair, and fs.pipe-max-size as it was.
migrate_cleanup() {
	local i pid
	for ((i = 0; i < ${#ns_workload_pids[@]}; i++)); do
		pid=${ns_workload_pids[i]}
		if is_pid "$pid" && [ "$(parent_pid_of "$pid")" = "${ns_unshare_pids[i]}" ]; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done

	if is_pid "$dst_ctrd"; then
		ctrd_pid=$dst_ctrd ctrd_socket=$dst_socket
		restored_pids=("${dst_restored[@]}")
		pid_running "$ctrd_pid" && collect_job_pids
		stop_restored
		stop_ctrd
	fi
	if is_pid "$src_ctrd"; then
		ctrd_pid=$src_ctrd ctrd_socket=$src_socket
		restored_pids=()
		pid_running "$ctrd_pid" && collect_job_pids
		stop_restored
		stop_ctrd
	fi
	ctrd_pid=
	restored_pids=()

	for i in "${netns_made[@]}"; do
		ip netns del "$i" || log "could not delete network namespace $i"
	done
	if [ -n "$pipe_max_saved" ]; then
		set_pipe_max "$pipe_max_saved" ||
			log "could not restore fs.pipe-max-size to $pipe_max_saved"
	fi

	if [ "$1" -ne 0 ] && [ -n "$test_dir" ]; then
		for i in src dst; do
			[ -f "$test_dir/$i-ctrd.log" ] || continue
			log "last lines of $test_dir/$i-ctrd.log:"
			tail -n 40 "$test_dir/$i-ctrd.log" >&2
		done
	fi
}

begin_test
check_tools
# errexit is turned off first: "(exit N)" would otherwise end the trap
# before cleanup runs.
trap 'status=$?; set +e; migrate_cleanup "$status"; (exit "$status"); cleanup' EXIT

pipe_max_saved=$(cat "$pipe_max_path")
log "fs.pipe-max-size is $pipe_max_saved; the test sets it and restores it at exit"
make_namespaces
make_certs
set_pipe_max "$page_server_pipe_size"
src_socket=$test_dir/src.sock
dst_socket=$test_dir/dst.sock
start_ns_ctrd src "$src_ns"
src_ctrd=$ns_ctrd_pid
start_ns_ctrd dst "$dst_ns"
dst_ctrd=$ns_ctrd_pid
log "ctrd $src_ctrd serves the source, ctrd $dst_ctrd the destination"

# e. Without pipes of 4 MiB, CRIU would dump the tree and then fail every
# page request, so ctrd rejects a lazy checkpoint up front.
start_ns_workload rejected 16 40
rejected_pid=$workload_pid
mkdir "$test_dir/rejected-images"
set_pipe_max 1048576
run_cli_status=0
src_cli --json checkpoint --lazy-pages --page-server "$src_addr:27005" \
	"$rejected_pid" "$test_dir/rejected-images" >e.json 2>e.err || run_cli_status=$?
set_pipe_max "$page_server_pipe_size"
assert_eq 1 "$run_cli_status" "exit status of checkpoint with fs.pipe-max-size 1048576 (stderr: $(cat e.err))"
assert_eq host-config "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])' <e.json)" \
	"error code of checkpoint with fs.pipe-max-size 1048576"
assert_file_contains e.err fs.pipe-max-size "message of checkpoint with fs.pipe-max-size 1048576"
assert_eq 0 "$(src_cli --json list | json_value jobs | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
	"jobs of the source after rejected checkpoints"
log "e: rejected with host-config: $(cat e.err)"

# f. The page server may listen only on an address of the source's host.
run_cli_status=0
src_cli --json checkpoint --lazy-pages --page-server "$absent_addr:27006" \
	"$rejected_pid" "$test_dir/rejected-images" >f.json 2>f.err || run_cli_status=$?
assert_eq 1 "$run_cli_status" "exit status of checkpoint with page server $absent_addr (stderr: $(cat f.err))"
assert_eq invalid-params "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])' <f.json)" \
	"error code of checkpoint with page server $absent_addr"
assert_eq page_server "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["error"].get("field"))' <f.json)" \
	"error field of checkpoint with page server $absent_addr"
pid_running "$rejected_pid" || fail "workload $rejected_pid stopped after rejected checkpoints"
check_heartbeat "$test_dir/rejected"
[ ! -e "$test_dir/rejected-images/inventory.img" ] ||
	fail "rejected checkpoints wrote $test_dir/rejected-images/inventory.img"
log "f: rejected with invalid-params: $(cat f.err)"

# a. ctrd-cli migrate, with the destination's images dir made by ctrd-cli.
start_ns_workload move 256 41
move_pid=$workload_pid
move_unshare=${ns_unshare_pids[-1]}
mkdir "$test_dir/move-src"
run_cli_status=0
"$cli_bin" migrate --json --from "$src_socket" --to "$dst_socket" \
	--page-server "$src_addr:27001" --images-from "$test_dir/move-src" \
	--images-to "$test_dir/move-dst" "$move_pid" >a.jsonl 2>a.err ||
	run_cli_status=$?
moved_pid=$(side_event_value a.jsonl destination restored pid)
[ -z "$moved_pid" ] || dst_restored+=("$moved_pid")
assert_eq 0 "$run_cli_status" "exit status of migrate (stderr: $(cat a.err))"

python3 - a.jsonl <<'PY' || fail "output of migrate in $test_dir/a.jsonl is wrong (see above)"
import json, sys

lines = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
errors = []

def check(condition, message):
    if not condition:
        errors.append(message)

def names(side):
    return [l["event"] for l in lines if l.get("side") == side]

source, destination = names("source"), names("destination")
print("source events:", " ".join(source), file=sys.stderr)
print("destination events:", " ".join(destination), file=sys.stderr)
for line in lines:
    check(line.get("side") in ("source", "destination") or "summary" in line,
          f"line without a side: {line}")
for side, expected in (("source", ["started", "page-server-ready",
                                   "pages-served", "checkpointed"]),
                       ("destination", ["started", "lazy-pages-ready",
                                        "restored", "pages-complete"])):
    got = names(side)
    for name in expected:
        check(got.count(name) == 1, f"{side}: expected one '{name}', got {got}")
    if not errors:
        order = [got.index(name) for name in expected]
        check(order == sorted(order), f"{side}: expected {expected} in order, got {got}")
    for name in ("failed", "canceled", "exited"):
        check(name not in got, f"{side}: unexpected '{name}'")
ready = [l for l in lines if l.get("event") == "page-server-ready"]
if ready:
    check(ready[0].get("address") == "10.213.0.1" and ready[0].get("port") == 27001,
          f"page-server-ready: expected 10.213.0.1 port 27001, got {ready[0]}")
summary = [l["summary"] for l in lines if "summary" in l]
check(len(summary) == 1 and "summary" in lines[-1], "expected one summary, last")
if summary:
    s = summary[0]
    restored = [l for l in lines if l.get("event") == "restored"]
    check(restored and s.get("pid") == restored[0].get("pid"),
          f"summary pid {s.get('pid')} is not the restored pid")
    for key in ("resumed_seconds", "frozen_seconds", "pages_complete_seconds",
                "copy_seconds"):
        check(isinstance(s.get(key), (int, float)) and s[key] >= 0,
              f"summary: expected seconds in '{key}', got {s.get(key)!r}")
    if not errors:
        check(s["frozen_seconds"] <= s["resumed_seconds"] <= s["pages_complete_seconds"],
              f"summary: expected frozen <= resumed <= pages complete, got {s}")
    print("summary:", json.dumps(s), file=sys.stderr)
for message in errors:
    print("  " + message, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

is_pid "$moved_pid" || fail "no restored pid in the migrate output"
move_src_job=$(side_event_value a.jsonl source started job)
move_dst_job=$(side_event_value a.jsonl destination started job)
assert_eq checkpointed "$(src_job_value "$move_src_job" state)" "state of source job $move_src_job"
assert_eq restored "$(dst_job_value "$move_dst_job" state)" "state of destination job $move_dst_job"
assert_eq true "$(dst_job_value "$move_dst_job" pages_complete)" "pages_complete of destination job $move_dst_job"
assert_eq "$(net_ns_of "$dst_ctrd")" "$(net_ns_of "$moved_pid")" "network namespace of the moved pid $moved_pid"
assert_ns_init "$moved_pid"
[ "$(stat -c %a "$test_dir/move-dst")" = 700 ] ||
	fail "migrate made $test_dir/move-dst with mode $(stat -c %a "$test_dir/move-dst"), expected 700"
wait_until 10 pid_ended "$move_pid" || fail "source pid $move_pid still runs after the migration"
reap_unshare "$move_unshare"
check_heartbeat "$test_dir/move"
check_memory "$moved_pid" "$test_dir/move"
log "a: $(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if "summary" in line:
        s = json.loads(line)["summary"]
        print("pid %d resumed after %.3f s, frozen %.3f s, pages complete after %.3f s, copy %.3f s"
              % (s["pid"], s["resumed_seconds"], s["frozen_seconds"],
                 s["pages_complete_seconds"], s["copy_seconds"]))' a.jsonl)"

# b. The same steps by hand.  The page server listens on the source's
# address only, not on every interface.
start_ns_workload manual 64 42
manual_pid=$workload_pid
manual_unshare=${ns_unshare_pids[-1]}
mkdir "$test_dir/manual-src" "$test_dir/manual-dst"
"$cli_bin" --socket "$src_socket" --json checkpoint --lazy-pages \
	--page-server "$src_addr:27002" "$manual_pid" "$test_dir/manual-src" \
	>b-checkpoint.jsonl 2>b-checkpoint.err &
checkpoint_cli=$!
record_child_pid "$checkpoint_cli"
wait_until 30 file_has b-checkpoint.jsonl '"page-server-ready"' ||
	fail "no page-server-ready from the manual checkpoint: $(cat b-checkpoint.jsonl b-checkpoint.err)"
manual_src_job=$(json_value job <b-checkpoint.jsonl)
assert_eq serving "$(src_job_value "$manual_src_job" state)" "state of checkpoint job $manual_src_job"
listeners=$(listeners_on_port "$src_ns" 27002)
assert_eq "$src_addr:27002" "$listeners" "listeners on port 27002 in $src_ns"
assert_eq "" "$(listeners_on_port "$dst_ns" 27002)" "listeners on port 27002 in $dst_ns"
log "b: the page server listens on $listeners only"
cp "$test_dir/manual-src"/*.img "$test_dir/manual-dst/"
run_cli_status=0
dst_cli --json restore --page-server "$src_addr:27002" "$test_dir/manual-dst" \
	>b-restore.jsonl 2>b-restore.err || run_cli_status=$?
manual_moved=$(event_value b-restore.jsonl restored pid)
[ -z "$manual_moved" ] || dst_restored+=("$manual_moved")
assert_eq 0 "$run_cli_status" "exit status of restore --page-server (stderr: $(cat b-restore.err))"
manual_dst_job=$(json_value job <b-restore.jsonl)
assert_eq true "$(dst_job_value "$manual_dst_job" options.lazy_pages)" \
	"lazy_pages of restore job $manual_dst_job, set by --page-server"
checkpoint_status=0
wait_until 30 pid_ended "$checkpoint_cli" ||
	fail "checkpoint client $checkpoint_cli still runs 30 s after the restore"
wait "$checkpoint_cli" || checkpoint_status=$?
forget_child_pid "$checkpoint_cli"
assert_eq 0 "$checkpoint_status" "exit status of the manual checkpoint (stderr: $(cat b-checkpoint.err))"
assert_ne "" "$(event_value b-checkpoint.jsonl pages-served job)" "pages-served of checkpoint job $manual_src_job"
assert_eq checkpointed "$(src_job_value "$manual_src_job" state)" "state of checkpoint job $manual_src_job"
assert_eq "" "$(listeners_on_port "$src_ns" 27002)" "listeners on port 27002 after the transfer"
wait_until 10 pid_ended "$manual_pid" || fail "source pid $manual_pid still runs after the transfer"
reap_unshare "$manual_unshare"
check_memory "$manual_moved" "$test_dir/manual"
log "b: restored as pid $manual_moved with every page intact"

# c. A restore whose page server nothing serves: the images come from a
# lazy checkpoint whose page server listens on another port, and the port
# of the restore is closed in the source namespace, so each connection is
# refused at once.  Canceling that checkpoint then lets its tree run on.
start_ns_workload unreachable 16 44
unreachable_src_pid=$workload_pid
mkdir "$test_dir/unreachable-src" "$test_dir/unreachable-dst"
"$cli_bin" --socket "$src_socket" --json checkpoint --lazy-pages \
	--page-server "$src_addr:27003" "$unreachable_src_pid" \
	"$test_dir/unreachable-src" >c-checkpoint.jsonl 2>c-checkpoint.err &
checkpoint_cli=$!
record_child_pid "$checkpoint_cli"
wait_until 30 file_has c-checkpoint.jsonl '"page-server-ready"' ||
	fail "no page-server-ready from the checkpoint for case c: $(cat c-checkpoint.jsonl c-checkpoint.err)"
unreachable_src_job=$(json_value job <c-checkpoint.jsonl)
cp "$test_dir/unreachable-src"/*.img "$test_dir/unreachable-dst/"
assert_eq "" "$(listeners_on_port "$src_ns" 27007)" "listeners on port 27007 in $src_ns"
before=$(workload_children "$dst_ctrd")
run_cli_status=0
dst_cli --json restore --page-server "$src_addr:27007" "$test_dir/unreachable-dst" \
	>c.jsonl 2>c.err || run_cli_status=$?
unreachable_pid=$(event_value c.jsonl restored pid)
[ -z "$unreachable_pid" ] || dst_restored+=("$unreachable_pid")
assert_eq 1 "$run_cli_status" "exit status of restore from a closed page server (stdout: $(cat c.jsonl) stderr: $(cat c.err))"
unreachable_job=$(json_value job <c.jsonl)
assert_eq failed "$(dst_job_value "$unreachable_job" state)" "state of job $unreachable_job"
assert_eq lazy-pages-failed "$(dst_job_value "$unreachable_job" error.code)" "error code of job $unreachable_job"
if [ -n "$unreachable_pid" ]; then
	wait_until 10 pid_ended "$unreachable_pid" ||
		fail "restored pid $unreachable_pid of failed job $unreachable_job still runs"
fi
wait_until 10 workload_children_are "$dst_ctrd" "$before" ||
	fail "ctrd $dst_ctrd has workload children '$(workload_children "$dst_ctrd")', expected '$before'"
wait_until 10 has_no_lazy_server "$dst_ctrd" ||
	fail "ctrd $dst_ctrd still has lazy-pages servers: $(lazy_servers_of "$dst_ctrd" | tr '\n' ' ')"
unreachable_dir=$(dst_job_value "$unreachable_job" work_dir)
[ ! -e "$unreachable_dir/lazy-pages.socket" ] ||
	fail "failed job $unreachable_job left $unreachable_dir/lazy-pages.socket"
log "c: failed with lazy-pages-failed: $(cat c.err)"
src_cli cancel "$unreachable_src_job" >/dev/null
checkpoint_status=0
wait_until 30 pid_ended "$checkpoint_cli" ||
	fail "checkpoint client $checkpoint_cli still runs 30 s after its job was canceled"
wait "$checkpoint_cli" || checkpoint_status=$?
forget_child_pid "$checkpoint_cli"
assert_eq 1 "$checkpoint_status" "exit status of the canceled checkpoint (stderr: $(cat c-checkpoint.err))"
assert_eq canceled "$(src_job_value "$unreachable_src_job" state)" "state of checkpoint job $unreachable_src_job"
assert_eq "" "$(listeners_on_port "$src_ns" 27003)" "listeners on port 27003 after the cancel"
check_heartbeat "$test_dir/unreachable"
log "c: the canceled checkpoint's tree $unreachable_src_pid runs on"

# g. The copy of the images fails: under a file size limit of 1 KiB every
# larger image file fails to copy with EFBIG.  ctrd-cli then cancels the
# checkpoint, so the tree runs on at the source, submits no restore, and
# removes the images dir it made.  Its output goes through a pipe, which
# the limit does not cover, and SIGXFSZ is ignored, so the write fails
# instead of killing ctrd-cli.
start_ns_workload copyfail 16 45
copyfail_pid=$workload_pid
mkdir "$test_dir/copyfail-src"
set +e
(
	trap '' XFSZ
	ulimit -f 1
	exec "$cli_bin" migrate --json --from "$src_socket" --to "$dst_socket" \
		--page-server "$src_addr:27008" --images-from "$test_dir/copyfail-src" \
		--images-to "$test_dir/copyfail-dst" "$copyfail_pid"
) 2>g.err | cat >g.jsonl
copyfail_status=${PIPESTATUS[0]}
set -e
assert_eq 1 "$copyfail_status" "exit status of migrate whose copy failed (stdout: $(cat g.jsonl) stderr: $(cat g.err))"
assert_file_contains g.err "copy the images" "message of migrate whose copy failed"
assert_file_contains g.err "File too large" "message of migrate whose copy failed"
assert_file_contains g.err "so the tree runs on at the source" "message of migrate whose copy failed"
copyfail_job=$(side_event_value g.jsonl source started job)
assert_ne "" "$copyfail_job" "source job of migrate whose copy failed"
assert_eq canceled "$(side_event_value g.jsonl source canceled event)" "last source event of migrate whose copy failed"
assert_eq canceled "$(src_job_value "$copyfail_job" state)" "state of source job $copyfail_job"
assert_eq "" "$(side_event_value g.jsonl destination queued job)" "destination job of migrate whose copy failed"
[ ! -e "$test_dir/copyfail-dst" ] || fail "migrate left $test_dir/copyfail-dst after its copy failed"
pid_running "$copyfail_pid" || fail "source pid $copyfail_pid is gone after its checkpoint was canceled"
check_heartbeat "$test_dir/copyfail"
check_memory "$copyfail_pid" "$test_dir/copyfail"
log "g: copy failed, checkpoint canceled, pid $copyfail_pid runs on: $(cat g.err)"

# d. The source's CRIU worker is killed while the pages of 1 GiB are on
# their way.  The veth is limited to 200 Mbit/s towards the destination,
# so the transfer would take over 40 s and is still under way at the kill.
start_ns_workload killed 1024 43
killed_pid=$workload_pid
mkdir "$test_dir/killed-src"
in_ns "$src_ns" tc qdisc add dev veth-src root tbf rate 200mbit burst 256kb latency 100ms
"$cli_bin" migrate --json --from "$src_socket" --to "$dst_socket" \
	--page-server "$src_addr:27004" --images-from "$test_dir/killed-src" \
	--images-to "$test_dir/killed-dst" "$killed_pid" >d.jsonl 2>d.err &
migrate_cli=$!
record_child_pid "$migrate_cli"
wait_until 60 side_has_event d.jsonl destination restored ||
	fail "no restored event from the destination: $(cat d.jsonl d.err)"
killed_moved=$(side_event_value d.jsonl destination restored pid)
[ -z "$killed_moved" ] || dst_restored+=("$killed_moved")
side_has_event d.jsonl destination pages-complete &&
	fail "every page arrived before the kill; the transfer was not slowed down"
worker=$(side_event_value d.jsonl source started worker_pid)
is_pid "$worker" || fail "no worker pid in the source's started event: '$worker'"
assert_eq "$src_ctrd" "$(parent_pid_of "$worker")" "parent of source worker $worker"
# A busy worker has retitled itself "criu: dump ...", so match only "criu".
[[ "$(tr '\0' ' ' <"/proc/$worker/cmdline")" == *criu* ]] ||
	fail "source worker $worker is not a CRIU worker: $(tr '\0' ' ' <"/proc/$worker/cmdline")"
kill -KILL "$worker"
log "d: killed source worker $worker after 'restored' on the destination"
migrate_status=0
wait_until 60 pid_ended "$migrate_cli" ||
	fail "migrate still runs 60 s after its source worker was killed: $(cat d.err)"
wait "$migrate_cli" || migrate_status=$?
forget_child_pid "$migrate_cli"
assert_eq 1 "$migrate_status" "exit status of migrate whose source was killed (stdout: $(cat d.jsonl) stderr: $(cat d.err))"
killed_dst_job=$(side_event_value d.jsonl destination started job)
killed_src_job=$(side_event_value d.jsonl source started job)
assert_eq failed "$(dst_job_value "$killed_dst_job" state)" "state of destination job $killed_dst_job"
assert_eq lazy-pages-failed "$(dst_job_value "$killed_dst_job" error.code)" "error code of destination job $killed_dst_job"
assert_eq failed "$(src_job_value "$killed_src_job" state)" "state of source job $killed_src_job"
if [ -n "$killed_moved" ]; then
	wait_until 10 pid_ended "$killed_moved" ||
		fail "restored pid $killed_moved still runs after its pages stopped"
fi
pid_running "$killed_pid" || fail "source pid $killed_pid is gone after its CRIU worker was killed"
check_heartbeat "$test_dir/killed"
check_memory "$killed_pid" "$test_dir/killed"
in_ns "$src_ns" tc qdisc del dev veth-src root
log "d: destination failed with lazy-pages-failed, source pid $killed_pid runs on: $(cat d.err)"

# h. TLS on the page-server link.  A migration with --tls moves every page
# intact, and both CRIU sides log the handshake.
start_ns_workload secure 64 46
secure_pid=$workload_pid
secure_unshare=${ns_unshare_pids[-1]}
mkdir "$test_dir/secure-src"
run_cli_status=0
"$cli_bin" migrate --json --tls --from "$src_socket" --to "$dst_socket" \
	--page-server "$src_addr:27008" --images-from "$test_dir/secure-src" \
	--images-to "$test_dir/secure-dst" "$secure_pid" >h.jsonl 2>h.err ||
	run_cli_status=$?
secure_moved=$(side_event_value h.jsonl destination restored pid)
[ -z "$secure_moved" ] || dst_restored+=("$secure_moved")
assert_eq 0 "$run_cli_status" "exit status of migrate --tls (stderr: $(cat h.err))"
secure_src_job=$(side_event_value h.jsonl source started job)
secure_dst_job=$(side_event_value h.jsonl destination started job)
assert_eq true "$(src_job_value "$secure_src_job" options.tls)" "tls of source job $secure_src_job"
assert_eq true "$(dst_job_value "$secure_dst_job" options.tls)" "tls of destination job $secure_dst_job"
assert_file_contains "$(src_job_value "$secure_src_job" work_dir)/dump.log" \
	"TLS handshake completed" "the source's CRIU log"
assert_file_contains "$(dst_job_value "$secure_dst_job" work_dir)/lazy-pages.log" \
	"TLS handshake completed" "the destination's lazy-pages log"
wait_until 10 pid_ended "$secure_pid" || fail "source pid $secure_pid still runs after the migration"
reap_unshare "$secure_unshare"
check_memory "$secure_moved" "$test_dir/secure"
log "h: moved over TLS as pid $secure_moved with every page intact"

# A destination that does not speak TLS gets no page from a TLS page
# server: its job fails, and the source's dump fails, which lets the tree
# run on there.
start_ns_workload plain 16 47
plain_pid=$workload_pid
mkdir "$test_dir/plain-src" "$test_dir/plain-dst"
"$cli_bin" --socket "$src_socket" --json checkpoint --lazy-pages --tls \
	--page-server "$src_addr:27009" "$plain_pid" "$test_dir/plain-src" \
	>h-checkpoint.jsonl 2>h-checkpoint.err &
checkpoint_cli=$!
record_child_pid "$checkpoint_cli"
wait_until 30 file_has h-checkpoint.jsonl '"page-server-ready"' ||
	fail "no page-server-ready from the TLS checkpoint: $(cat h-checkpoint.jsonl h-checkpoint.err)"
plain_src_job=$(json_value job <h-checkpoint.jsonl)
cp "$test_dir/plain-src"/*.img "$test_dir/plain-dst/"
run_cli_status=0
dst_cli --json restore --page-server "$src_addr:27009" "$test_dir/plain-dst" \
	>h-restore.jsonl 2>h-restore.err || run_cli_status=$?
plain_moved=$(event_value h-restore.jsonl restored pid)
[ -z "$plain_moved" ] || dst_restored+=("$plain_moved")
assert_eq 1 "$run_cli_status" "exit status of a restore without tls from a TLS page server (stderr: $(cat h-restore.err))"
plain_dst_job=$(json_value job <h-restore.jsonl)
assert_eq lazy-pages-failed "$(dst_job_value "$plain_dst_job" error.code)" "error code of job $plain_dst_job"
if [ -n "$plain_moved" ]; then
	wait_until 10 pid_ended "$plain_moved" ||
		fail "restored pid $plain_moved of failed job $plain_dst_job still runs"
fi
checkpoint_status=0
wait_until 30 pid_ended "$checkpoint_cli" ||
	fail "TLS checkpoint client $checkpoint_cli still runs 30 s after the restore failed"
wait "$checkpoint_cli" || checkpoint_status=$?
forget_child_pid "$checkpoint_cli"
assert_eq 1 "$checkpoint_status" "exit status of the TLS checkpoint (stderr: $(cat h-checkpoint.err))"
assert_eq failed "$(src_job_value "$plain_src_job" state)" "state of checkpoint job $plain_src_job"
check_heartbeat "$test_dir/plain"
log "h: a restore without tls failed ($(dst_job_value "$plain_dst_job" error.message)), and the source tree runs on"

# Nothing is left over on either side: the allowed pids are the workloads
# still running, their unshare processes and the other side's ctrd.
ctrd_pid=$src_ctrd ctrd_socket=$src_socket \
	assert_no_strays "$dst_ctrd" "${ns_unshare_pids[@]}" "${ns_workload_pids[@]}" \
	"${dst_restored[@]}"
ctrd_pid=$dst_ctrd ctrd_socket=$dst_socket \
	assert_no_strays "$src_ctrd" "${ns_unshare_pids[@]}" "${ns_workload_pids[@]}" \
	"${dst_restored[@]}"
ctrd_pid=
log PASS
