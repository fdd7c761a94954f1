#!/bin/bash
# Run ctrd's benchmark suite and write BENCHMARKS.md and its plots.
#
# usage: tests/bench/run.sh [--build-dir DIR] [--criu PATH] [--quick]
#                           [--sizes "MIB..."] [--results DIR] [--keep]
#
#   --build-dir DIR  where ctrd, ctrd-cli, ctrd-workload and the bench
#                    programs were built (default: build/ in the source tree)
#   --criu PATH      the CRIU binary (default /opt/ctrd/criu/bin/criu)
#   --quick          few runs, small sizes and short windows, for trying
#                    the suite out; BENCHMARKS.md is not rewritten
#   --sizes "MIB..." the workload sizes of the memory sweep (default
#                    16 64 256 1024 2048, or 16 64 with --quick)
#   --results DIR    where the TSV results and plots go (default
#                    tests/bench/results, or a temporary dir with --quick)
#   --keep           keep the images and logs in /tmp afterwards
#
# Needs root, CRIU and gnuplot.  `make bench` and scripts/bench.sh call it.
#
# The suite runs as PID 1 of a private pid namespace.  Every restore must
# get back the pids the images were dumped with.  With pid_max at 32768,
# the default on hosts without systemd's larger setting, other processes of
# the machine would otherwise soon take those pids.  In the namespace the workloads are given pids below 300 by
# writing ns_last_pid, and the kernel hands out pids below 300 only until
# the counter first passes 300, so no later process takes them.  When the
# suite ends, the kernel kills whatever is left in the namespace.
#
# It runs every benchmark twice: "plain", with the host's /run, where CRIU
# cannot cache its kernel probes unless /run is a tmpfs, and "cached", in a
# private mount namespace with a tmpfs on /run, where CRIU keeps them in
# /run/criu.kdat.
set -euo pipefail

source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_src=$source_dir/tests/bench
build_dir=$source_dir/build
criu_bin=/opt/ctrd/criu/bin/criu
results_dir=
quick=0
keep=0
stage=outer
sizes=
variant=
work_dir=

while [ $# -gt 0 ]; do
	case "$1" in
	--build-dir) build_dir=$2; shift 2 ;;
	--criu) criu_bin=$2; shift 2 ;;
	--results) results_dir=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	--sizes) sizes=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	# Internal: the stages below re-run this script.
	--stage) stage=$2; shift 2 ;;
	--variant) variant=$2; shift 2 ;;
	--work) work_dir=$2; shift 2 ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
	esac
done

ctrd_bin=$build_dir/daemon/ctrd
cli_bin=$build_dir/client/ctrd-cli
workload_bin=$build_dir/tests/ctrd-workload
restore_bench=$build_dir/tests/bench/ctrd-bench-restore
api_bench=$build_dir/tests/bench/ctrd-bench-api

# Sizes and counts.  The full run took 6 minutes on a shared 2-core VM.
small_mib=4
throughput_jobs=200
if [ "$quick" = 1 ]; then
	small_runs=4
	sweep_sizes=(16 64)
	sweep_runs_small=2
	sweep_runs_large=2
	throughput_jobs=20
	throughput_reps=1
	api_clients=(1 100)
	api_seconds=1
	fanout_watchers=100
	fanout_rounds=2
	idle_seconds=5
else
	small_runs=30
	sweep_sizes=(16 64 256 1024 2048)
	sweep_runs_small=5
	sweep_runs_large=4
	throughput_reps=3
	api_clients=(1 100 1000)
	api_seconds=3
	fanout_watchers=1000
	fanout_rounds=5
	idle_seconds=60
fi
if [ -n "$sizes" ]; then
	read -r -a sweep_sizes <<<"$sizes"
fi
# Passed on to the stages below.
quick_flag=()
[ "$quick" = 0 ] || quick_flag=(--quick)
# The sweep's workloads get the pids from 65 up, below the throughput ones.
[ "${#sweep_sizes[@]}" -le 15 ] || { echo "run.sh: at most 15 sweep sizes" >&2; exit 2; }

# Pids the workloads are dumped with, all below 300 (see the top).
small_pid=60
sweep_first_pid=65
throughput_first_pid=80

log() {
	echo "bench${variant:+ [$variant]}: $*" >&2
}

die() {
	log "FAIL: $*"
	exit 1
}

is_pid() {
	[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt 1 ]
}

# ---- outer stage: checks, the namespace, the report ----

check_prerequisites() {
	local path
	[ "$(id -u)" -eq 0 ] || die "needs root to checkpoint and restore processes"
	"$criu_bin" --version >/dev/null 2>&1 ||
		die "no working CRIU at '$criu_bin'; run scripts/provision-criu.sh or pass --criu"
	for path in "$ctrd_bin" "$cli_bin" "$workload_bin" "$restore_bench" "$api_bench"; do
		[ -x "$path" ] || die "no executable at '$path'; run 'make bench-tools' in the build dir first"
	done
	command -v gnuplot >/dev/null ||
		die "gnuplot is missing; install gnuplot-nox or run scripts/bench.sh, which does"
	command -v unshare >/dev/null || die "unshare (util-linux) is missing"
}

# Record what the report states about the machine and the run.
write_host_facts() {
	local out=$1
	{
		printf 'kernel\t%s\n' "$(uname -srm)"
		printf 'cpus\t%s\n' "$(nproc)"
		printf 'memory_mib\t%s\n' "$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
		printf 'criu\t%s\n' "$("$criu_bin" --version | sed -n 's/^Version: *//p')"
		printf 'run_fs\t%s\n' "$(stat -f -c %T /run)"
		printf 'kdat_tmp_present\t%s\n' "$([ -e /run/criu.kdat.tmp ] && echo yes || echo no)"
		printf 'commit\t%s\n' "$(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)"
		# Count changes to the code, leaving out the files this suite rewrites.
		printf 'dirty\t%s\n' "$(git -C "$source_dir" status --porcelain -- . \
			':!tests/bench/results' ':!BENCHMARKS.md' 2>/dev/null | grep -c . || true)"
		printf 'started\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		printf 'loadavg_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
		printf 'quick\t%s\n' "$quick"
		printf 'small_mib\t%s\n' "$small_mib"
	} >"$out"
}

run_outer() {
	local status=0
	check_prerequisites
	if [ -z "$results_dir" ]; then
		if [ "$quick" = 1 ]; then
			results_dir=$(mktemp -d /tmp/ctrd-bench-results.XXXXXX)
		else
			results_dir=$bench_src/results
		fi
	fi
	mkdir -p "$results_dir"
	rm -f "$results_dir"/*.tsv
	# Short, so socket paths stay under 108 bytes.
	work_dir=$(mktemp -d /tmp/ctrd-bench.XXXXXX)
	log "work dir $work_dir, results in $results_dir"
	write_host_facts "$results_dir/host.tsv"

	# Run copies: others may rebuild the build dir meanwhile, and CRIU
	# refuses to restore a workload whose executable changed since the
	# dump.
	mkdir -p "$work_dir/bin/daemon" "$work_dir/bin/client" "$work_dir/bin/tests/bench"
	cp "$ctrd_bin" "$work_dir/bin/daemon/"
	cp "$cli_bin" "$work_dir/bin/client/"
	cp "$workload_bin" "$work_dir/bin/tests/"
	cp "$restore_bench" "$api_bench" "$work_dir/bin/tests/bench/"
	build_dir=$work_dir/bin

	unshare --pid --fork --mount-proc --kill-child -- \
		bash "$0" --stage namespace --build-dir "$build_dir" \
		--criu "$criu_bin" --results "$results_dir" --work "$work_dir" \
		--sizes "${sweep_sizes[*]}" \
		"${quick_flag[@]}" || status=$?
	printf 'finished\t%s\nloadavg_end\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results_dir/host.tsv"
	if [ "$status" -ne 0 ]; then
		log "the suite failed (status $status); logs kept in $work_dir"
		exit "$status"
	fi

	local report_args=(--results "$results_dir" --command "${BENCH_COMMAND:-bash scripts/bench.sh}")
	if [ "$quick" = 1 ]; then
		python3 "$bench_src/report.py" "${report_args[@]}" --output "$results_dir/BENCHMARKS.md"
		log "quick run: report in $results_dir/BENCHMARKS.md"
	else
		python3 "$bench_src/report.py" "${report_args[@]}" --output "$source_dir/BENCHMARKS.md"
		log "wrote $source_dir/BENCHMARKS.md and the plots in $results_dir"
	fi
	if [ "$keep" = 1 ]; then
		log "kept $work_dir"
	else
		rm -rf "$work_dir"
	fi
}

# ---- namespace stage: images, then both variants ----

# Start the workload NAME with MIB MiB as pid PID, a child of this shell,
# and wait for its first heartbeat.  Nothing else forks in this namespace
# between the write to ns_last_pid and the fork below.
start_workload_at() {
	local pid=$1 name=$2 mib=$3 dir=$work_dir/workloads/$2 i
	[ ! -e "/proc/$pid" ] || die "pid $pid is taken before workload $name starts"
	mkdir -p "$dir"
	echo $((pid - 1)) >/proc/sys/kernel/ns_last_pid
	setsid "$workload_bin" --dir "$dir" --memory "$mib" --seed "$pid" \
		</dev/null >"$dir.log" 2>&1 &
	[ "$!" = "$pid" ] || die "workload $name got pid $!, not $pid"
	# This shell, PID 1 here, still reaps it, without a "Killed" notice.
	disown "$pid"
	for ((i = 0; i < 600; i++)); do
		[ -s "$dir/heartbeat" ] && break
		sleep 0.05
	done
	[ -s "$dir/heartbeat" ] || die "workload $name wrote no heartbeat within 30 s"
	[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$workload_bin")" ] ||
		die "pid $pid is not the workload: did setsid fork?"
}

# Dump pid PID into directory DIR with the CRIU CLI, which kills it.
dump_workload() {
	local pid=$1 images=$2 i
	mkdir -p "$images"
	"$criu_bin" --no-default-config dump -t "$pid" -D "$images" -o dump.log -v4 ||
		die "criu dump of pid $pid failed; see $images/dump.log"
	for ((i = 0; i < 100; i++)); do
		[ -e "/proc/$pid" ] || return 0
		sleep 0.02
	done
	die "pid $pid still exists 2 s after its dump"
}

prepare_images() {
	local i pid size
	mkdir -p "$work_dir/images" "$work_dir/workloads"
	log "dumping the small workload ($small_mib MiB) as pid $small_pid"
	start_workload_at "$small_pid" small "$small_mib"
	dump_workload "$small_pid" "$work_dir/images/small"

	for i in "${!sweep_sizes[@]}"; do
		size=${sweep_sizes[$i]}
		pid=$((sweep_first_pid + i))
		log "dumping the $size MiB workload as pid $pid"
		start_workload_at "$pid" "sweep-$size" "$size"
		dump_workload "$pid" "$work_dir/images/sweep-$size"
	done

	log "dumping $throughput_jobs workloads of $small_mib MiB for the throughput runs"
	: >"$work_dir/throughput.list"
	for ((i = 0; i < throughput_jobs; i++)); do
		pid=$((throughput_first_pid + i))
		start_workload_at "$pid" "tp-$i" "$small_mib"
		dump_workload "$pid" "$work_dir/images/tp-$i"
		echo "$work_dir/images/tp-$i $pid" >>"$work_dir/throughput.list"
	done
	# From here on the kernel hands out pids from 300 up and never again
	# below 300, so the pids above stay free for the restores.
	echo 299 >/proc/sys/kernel/ns_last_pid
	# Write the images out now: writeback of several GiB of dirty pages
	# would otherwise slow down the first restores.
	log "syncing the images to disk"
	sync
}

run_namespace() {
	[ "$$" = 1 ] || die "the namespace stage must run as PID 1"
	prepare_images
	bash "$0" --stage variant --variant plain --build-dir "$build_dir" \
		--criu "$criu_bin" --results "$results_dir" --work "$work_dir" \
		--sizes "${sweep_sizes[*]}" "${quick_flag[@]}"
	# The restored trees inherit this mount namespace, which differs from
	# the host's only by the tmpfs on /run.
	unshare --mount --propagation private -- bash -c '
		mount -t tmpfs -o mode=0755,size=16m ctrd-bench-run /run &&
		exec bash "$@"' bash "$0" --stage variant --variant cached \
		--build-dir "$build_dir" --criu "$criu_bin" \
		--results "$results_dir" --work "$work_dir" \
		--sizes "${sweep_sizes[*]}" "${quick_flag[@]}"
}

# ---- variant stage: every benchmark against one ctrd set-up ----

ctrd_pid=
ctrd_socket=
sampler_pid=
# Every ctrd this stage started and has not stopped yet.
ctrd_pids=()

cleanup_variant() {
	local status=$? pid
	set +e
	stop_rss_sampler
	for pid in "${ctrd_pids[@]}"; do
		stop_ctrd "$pid"
	done
	exit "$status"
}

# Start ctrd NAME with the config keys $2 (a JSON object without braces)
# and its state dir in $3, by default in the work dir.  Sets ctrd_pid and
# ctrd_socket.
start_ctrd() {
	local name=$1 keys=$2 dir=$work_dir/$variant/$1 i
	local state=${3:-$work_dir/$variant/$1/state}
	mkdir -p "$dir"
	ctrd_socket=$dir/ctrd.sock
	printf '{%s}\n' "$keys" >"$dir/ctrd.json"
	"$ctrd_bin" --socket "$ctrd_socket" --state-dir "$state" \
		--criu "$criu_bin" --config "$dir/ctrd.json" \
		</dev/null >"$dir/ctrd.log" 2>&1 &
	ctrd_pid=$!
	ctrd_pids+=("$ctrd_pid")
	for ((i = 0; i < 400; i++)); do
		"$cli_bin" --socket "$ctrd_socket" info >/dev/null 2>&1 && return 0
		kill -0 "$ctrd_pid" 2>/dev/null || die "ctrd exited at start; see $dir/ctrd.log"
		sleep 0.05
	done
	die "ctrd did not reply to 'info' within 20 s; see $dir/ctrd.log"
}

# Stop ctrd $1 (default: the last one started) with SIGTERM.
stop_ctrd() {
	local pid=${1:-$ctrd_pid} i kept=()
	is_pid "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "ctrd $pid still runs 10 s after SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	for i in "${ctrd_pids[@]}"; do
		[ "$i" = "$pid" ] || kept+=("$i")
	done
	ctrd_pids=("${kept[@]}")
	[ "$pid" != "$ctrd_pid" ] || ctrd_pid=
}

# Print field $2 (in kB) of /proc/PID/status for pid $1.
status_kb() {
	awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"
}

# Sample ctrd's VmRSS every 100 ms until stopped, then write the peak to $1.
start_rss_sampler() {
	local out=$1 pid=$ctrd_pid
	(
		peak=0
		trap 'echo "$peak" >"$out"; exit 0' TERM
		while :; do
			rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
			[ "${rss:-0}" -gt "$peak" ] && peak=$rss
			sleep 0.1
		done
	) &
	sampler_pid=$!
}

# Stop the sampler, which writes its peak to the file start_rss_sampler named.
stop_rss_sampler() {
	is_pid "$sampler_pid" || return 0
	kill -TERM "$sampler_pid" 2>/dev/null || true
	wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=
}

# Append "KEY<TAB>VALUE" to the variant's footprint results.
footprint() {
	printf '%s\t%s\n' "$1" "$2" >>"$results_dir/$variant-footprint.tsv"
}

# Record ctrd's memory as it is now, under keys starting with $1.
record_rss() {
	footprint "$1_rss_kb" "$(status_kb "$ctrd_pid" VmRSS)"
	footprint "$1_rss_anon_kb" "$(status_kb "$ctrd_pid" RssAnon)"
	footprint "$1_rss_file_kb" "$(status_kb "$ctrd_pid" RssFile)"
}

# Count how often the idle ctrd runs.  The third field of
# /proc/PID/schedstat counts the times the task was put on a CPU, and each
# wake-up from epoll_wait is one.  The context-switch counters of
# /proc/PID/status count the same from the other side.
measure_idle() {
	local runs0 runs1 vol0 vol1 invol0 invol1 threads
	threads=$(status_kb "$ctrd_pid" Threads)
	sleep 2
	runs0=$(cut -d' ' -f3 "/proc/$ctrd_pid/schedstat")
	vol0=$(status_kb "$ctrd_pid" voluntary_ctxt_switches)
	invol0=$(status_kb "$ctrd_pid" nonvoluntary_ctxt_switches)
	sleep "$idle_seconds"
	runs1=$(cut -d' ' -f3 "/proc/$ctrd_pid/schedstat")
	vol1=$(status_kb "$ctrd_pid" voluntary_ctxt_switches)
	invol1=$(status_kb "$ctrd_pid" nonvoluntary_ctxt_switches)
	footprint idle_seconds "$idle_seconds"
	footprint threads "$threads"
	footprint idle_runs "$((runs1 - runs0))"
	footprint idle_voluntary_switches "$((vol1 - vol0))"
	footprint idle_involuntary_switches "$((invol1 - invol0))"
}

bench_idle() {
	log "idle footprint ($idle_seconds s)"
	start_ctrd idle '"workers": 2'
	sleep 1
	record_rss idle
	measure_idle
	stop_ctrd
}

# The second ctrd keeps its state dir on a tmpfs, where fdatasync(2) of its
# job history returns at once.  CRIU's work dirs, and so its logs, are in
# the state dir too, but CRIU 4.2 never syncs a file.  The difference to the
# first ctrd is what syncing the history costs a restore.
bench_small() {
	local socket tmpfs_pid tmpfs_state
	log "small restore: ctrd vs CLI vs swrk ($small_runs runs each)"
	[ "$(stat -f -c %T /dev/shm)" = tmpfs ] || die "/dev/shm is not a tmpfs"
	tmpfs_state=$(mktemp -d /dev/shm/ctrd-bench-state.XXXXXX)
	start_ctrd small-tmpfs '"workers": 2' "$tmpfs_state"
	tmpfs_pid=$ctrd_pid
	socket=$ctrd_socket
	start_ctrd small '"workers": 2'
	mkdir -p "$work_dir/$variant/small-work"
	"$restore_bench" small --socket "$ctrd_socket" --socket-tmpfs "$socket" \
		--criu "$criu_bin" --images "$work_dir/images/small" \
		--pid "$small_pid" --work "$work_dir/$variant/small-work" \
		--runs "$small_runs" --out "$results_dir/$variant-small.tsv"
	stop_ctrd
	stop_ctrd "$tmpfs_pid"
	rm -rf "$tmpfs_state"
}

bench_sweep() {
	local i size pid runs
	start_ctrd sweep '"workers": 2'
	for i in "${!sweep_sizes[@]}"; do
		size=${sweep_sizes[$i]}
		pid=$((sweep_first_pid + i))
		runs=$sweep_runs_small
		[ "$size" -lt 1024 ] || runs=$sweep_runs_large
		log "size sweep: $size MiB, full and lazy, $runs runs each"
		"$restore_bench" sweep --socket "$ctrd_socket" \
			--images "$work_dir/images/sweep-$size" --pid "$pid" \
			--size "$size" --runs "$runs" \
			--out "$results_dir/$variant-sweep.tsv"
	done
	stop_ctrd
}

# One throughput round: $1 is "cli" or a max_running value.
throughput_round() {
	local round=$1 rep=$2 label peak cpu
	if [ "$round" = cli ]; then
		label=cli-$rep
		log "throughput: $throughput_jobs restores with the CLI, back to back"
		mkdir -p "$work_dir/$variant/cli-work-$rep"
		cpu=$("$restore_bench" cli-seq --criu "$criu_bin" \
			--list "$work_dir/throughput.list" \
			--work "$work_dir/$variant/cli-work-$rep" --label "$label" \
			--out "$results_dir/$variant-throughput.tsv")
		footprint "throughput_cpu_ms_$label" "${cpu#cpu_ms$'\t'}"
		return
	fi
	label=ctrd-$round-$rep
	log "throughput: $throughput_jobs jobs at once through ctrd, max_running $round"
	start_ctrd "tp-$round-$rep" "\"workers\": $round, \"max_running\": $round, \"max_queue\": 1000, \"max_connections\": 1000"
	start_rss_sampler "$work_dir/$variant/rss-peak"
	"$restore_bench" throughput --socket "$ctrd_socket" \
		--list "$work_dir/throughput.list" --label "$label" \
		--out "$results_dir/$variant-throughput.tsv"
	stop_rss_sampler
	peak=$(cat "$work_dir/$variant/rss-peak")
	footprint "throughput_peak_rss_kb_$label" "$peak"
	footprint "throughput_cpu_ms_$label" "$(ctrd_cpu_ms)"
	stop_ctrd
}

# Print the CPU time ctrd and its reaped children (CRIU workers, lazy-pages
# servers, restored trees) used so far, in ms, from /proc/PID/stat.
ctrd_cpu_ms() {
	local stat fields
	stat=$(cat "/proc/$ctrd_pid/stat")
	read -r -a fields <<<"${stat##*) }"
	# utime, stime, cutime and cstime are fields 14 to 17 of the line,
	# 12 to 15 after the command name.
	echo $(((fields[11] + fields[12] + fields[13] + fields[14]) * 1000 / $(getconf CLK_TCK)))
}

bench_throughput() {
	local rep i rounds=(1 2 4 cli) n=4
	for ((rep = 0; rep < throughput_reps; rep++)); do
		for ((i = 0; i < n; i++)); do
			throughput_round "${rounds[$(((rep + i) % n))]}" "$rep"
		done
	done
}

bench_api() {
	local job clients method peak
	start_ctrd api '"workers": 2, "max_connections": 2100'
	# A job to ask `status` about: restore the small image and end it.
	job=$("$cli_bin" --socket "$ctrd_socket" --json restore --detach \
		"$work_dir/images/small" | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["result"]["job"])')
	wait_restored_then_kill "$job"
	start_rss_sampler "$work_dir/$variant/rss-peak"
	for clients in "${api_clients[@]}"; do
		for method in status info; do
			log "API: $method with $clients clients for $api_seconds s"
			"$api_bench" load --socket "$ctrd_socket" --clients "$clients" \
				--method "$method" --job "$job" --seconds "$api_seconds" \
				--label "$variant" --out "$results_dir/$variant-api.tsv" >&2
		done
	done
	log "API: fan-out of one job's events to $fanout_watchers watchers"
	"$api_bench" fanout --socket "$ctrd_socket" --clients "$fanout_watchers" \
		--images "$work_dir/images/small" --pid "$small_pid" \
		--rounds "$fanout_rounds" --out "$results_dir/$variant-fanout.tsv"
	stop_rss_sampler
	peak=$(cat "$work_dir/$variant/rss-peak")
	footprint api_peak_rss_kb "$peak"
	sleep 2
	record_rss after_load
	stop_ctrd
}

# Wait until job $1 is restored, kill its root and wait until it exited.
wait_restored_then_kill() {
	local job=$1 state pid i
	for ((i = 0; i < 400; i++)); do
		state=$("$cli_bin" --socket "$ctrd_socket" --json status "$job" |
			python3 -c 'import json, sys; r = json.loads(sys.stdin.readline())["result"]; print(r["state"], r["pid"])')
		[ "${state%% *}" = restored ] && break
		sleep 0.05
	done
	pid=${state##* }
	is_pid "$pid" || die "job $job is '$state', not restored"
	kill -KILL "$pid"
	for ((i = 0; i < 400; i++)); do
		[ -e "/proc/$pid" ] || return 0
		sleep 0.05
	done
	die "restored pid $pid was not reaped"
}

run_variant() {
	trap cleanup_variant EXIT
	mkdir -p "$work_dir/$variant"
	rm -f "$results_dir/$variant"-*.tsv
	log "/run is $(stat -f -c %T /run); /run/criu.kdat.tmp $([ -e /run/criu.kdat.tmp ] && echo exists || echo is absent)"
	footprint loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
	bench_idle
	bench_small
	bench_sweep
	bench_throughput
	bench_api
	footprint kdat_cache "$([ -s /run/criu.kdat ] && echo present || echo absent)"
	footprint loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
}

case "$stage" in
outer) run_outer ;;
namespace) run_namespace ;;
variant) run_variant ;;
*) die "unknown stage '$stage'" ;;
esac
