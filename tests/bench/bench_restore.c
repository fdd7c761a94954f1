/*
 * ctrd-bench-restore: time restores of checkpoint images through ctrd, the
 * CRIU CLI and CRIU's swrk RPC, and write one TSV line per restore.
 *
 * Every restore recreates the dumped pids, so each restored tree is killed
 * and reaped before the next restore of the same image.  This program is a
 * child subreaper: trees that `criu restore -d` leaves behind, and the roots
 * that a swrk RESTORE with rst_sibling makes its children, are reaped here.
 * Trees restored through ctrd are ctrd's children; ctrd reaps them and
 * reports `exited`, which is what each run waits for.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_util.h"
#include "criu_rpc.h"
#include "criu_stats.h"
#include "error.h"
#include "spawn.h"

#define RESTORE_PROGRAM "ctrd-bench-restore"

/* Maximum wait for one ctrd reply or event, or one swrk reply. */
#define RESTORE_EVENT_TIMEOUT_MS 120000

/* Pause after a swrk worker's VERSION reply before its RESTORE is timed. */
#define RESTORE_WARM_SETTLE_US 20000

/* The number CRIU's end of the socketpair gets in a swrk worker. */
#define RESTORE_SWRK_FD 3

struct restore_options {
	const char *socket_path;
	const char *socket_tmpfs;	/* a second ctrd, state dir on tmpfs */
	const char *criu_path;
	const char *images_dir;
	const char *work_dir;
	const char *list_path;
	const char *out_path;
	const char *label;
	const char *only;	/* run only this method in `small` */
	pid_t pid;		/* the root pid the images hold */
	int runs;
	int size_mib;
};

/* One restore through ctrd, as the client sees it. */
struct restore_ctrd_result {
	double restored_ms;		/* request sent -> `restored` */
	double pages_complete_ms;	/* request sent -> `pages-complete` */
	char work_dir[PATH_MAX];
};

static void __attribute__((noreturn))
restore_usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: " RESTORE_PROGRAM " small --socket PATH [--socket-tmpfs PATH] --criu PATH --images DIR --pid PID\n"
	    "                          --work DIR --runs N [--only METHOD] --out FILE\n"
	    "       " RESTORE_PROGRAM " sweep --socket PATH --images DIR --pid PID --size MIB --runs N --out FILE\n"
	    "       " RESTORE_PROGRAM " throughput --socket PATH --list FILE --label TEXT --out FILE\n"
	    "       " RESTORE_PROGRAM " cli-seq --criu PATH --list FILE --work DIR --label TEXT --out FILE\n"
	    "\n"
	    "small       interleave restores of one image through ctrd, `criu restore -d`,\n"
	    "            a fresh `criu swrk` per restore and a pre-warmed `criu swrk`;\n"
	    "            with --socket-tmpfs also through a ctrd whose state dir is on\n"
	    "            a tmpfs, and always a pre-warmed `criu swrk` while a second\n"
	    "            one starts (swrk-refill); --only runs one method: ctrd,\n"
	    "            ctrd-tmpfs, cli, swrk-fresh, swrk-warm or swrk-refill\n"
	    "sweep       interleave full and lazy restores of one image through ctrd\n"
	    "throughput  submit one restore per line of FILE (\"IMAGES_DIR PID\") to\n"
	    "            ctrd at once and time each job\n"
	    "cli-seq     restore each image of FILE with `criu restore -d`, back to back\n"
	    "\n"
	    "Each run appends TSV lines to --out; times are in milliseconds.\n");
	exit(status);
}

static void
restore_parse_options(int argc, char **argv, struct restore_options *options)
{
	static const struct option long_options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "socket-tmpfs", required_argument, NULL, 'T' },
		{ "criu", required_argument, NULL, 'c' },
		{ "images", required_argument, NULL, 'i' },
		{ "work", required_argument, NULL, 'w' },
		{ "list", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "label", required_argument, NULL, 'L' },
		{ "pid", required_argument, NULL, 'p' },
		{ "runs", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 'm' },
		{ "only", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(options, 0, sizeof(*options));
	options->runs = 1;
	options->label = "";
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case 's': options->socket_path = optarg; break;
		case 'T': options->socket_tmpfs = optarg; break;
		case 'c': options->criu_path = optarg; break;
		case 'i': options->images_dir = optarg; break;
		case 'w': options->work_dir = optarg; break;
		case 'l': options->list_path = optarg; break;
		case 'o': options->out_path = optarg; break;
		case 'L': options->label = optarg; break;
		case 'O': options->only = optarg; break;
		case 'p':
			options->pid = (pid_t)bench_parse_int("--pid", optarg, 2,
			    INT_MAX);
			break;
		case 'r':
			options->runs = (int)bench_parse_int("--runs", optarg, 1,
			    100000);
			break;
		case 'm':
			options->size_mib = (int)bench_parse_int("--size",
			    optarg, 1, 1 << 20);
			break;
		case 'h': restore_usage(stdout, EXIT_SUCCESS);
		default: restore_usage(stderr, EXIT_FAILURE);
		}
	}
}

static void
restore_require(const char *value, const char *option)
{
	if (value == NULL)
		bench_die("missing %s; run with --help for usage", option);
}

static int
restore_open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		bench_die_errno("open directory '%s'", path);
	return fd;
}

/* Make the fresh directory WORK/NAME-RUN for one restore's CRIU files. */
static void
restore_make_work_dir(const char *work, const char *name, int run,
    char *path, size_t size)
{
	snprintf(path, size, "%s/%s-%d", work, name, run);
	if (mkdir(path, 0700) == -1)
		bench_die_errno("create work dir '%s'", path);
}

/*
 * Read CRIU's own times from the restore log and stats in `dir`.  Either
 * is -1 when CRIU left no such file or it cannot be read.
 */
static void
restore_read_criu_times(const char *dir, double *ret_log_ms,
    double *ret_stats_ms)
{
	struct criu_stats stats;
	char path[PATH_MAX];
	struct error err;
	int dir_fd;

	snprintf(path, sizeof(path), "%s/restore.log", dir);
	*ret_log_ms = bench_criu_log_restore_ms(path);
	*ret_stats_ms = -1;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd == -1)
		return;
	if (criu_stats_read(dir_fd, &stats, &err) == 0)
		*ret_stats_ms = stats.restore_us / 1000.0;
	close(dir_fd);
}

/* ---- ctrd ---- */

static json_t *
restore_ctrd_request(const char *images_dir, bool lazy)
{
	json_t *request;

	request = json_pack("{s:i, s:s, s:{s:s, s:b, s:b}}", "id", 1,
	    "method", "restore", "params", "images_dir", images_dir,
	    "lazy_pages", lazy, "follow", 1);
	if (request == NULL)
		bench_die("build a restore request: out of memory");
	return request;
}

/* Read the reply to a restore request, and exit on an error reply. */
static void
restore_ctrd_read_reply(struct bench_conn *conn, char *job, size_t job_size,
    char *work_dir, size_t work_size)
{
	json_t *reply, *result;

	reply = bench_conn_read_json(conn, RESTORE_EVENT_TIMEOUT_MS);
	result = json_object_get(reply, "result");
	if (result == NULL) {
		char *text = json_dumps(reply, JSON_COMPACT);

		bench_die("ctrd rejected the restore: %s", text);
	}
	snprintf(job, job_size, "%s", bench_json_string(result, "job"));
	snprintf(work_dir, work_size, "%s",
	    bench_json_string(result, "work_dir"));
	json_decref(reply);
}

/*
 * Read events of `job` until one named `name`.  Returns its time of
 * arrival and stores its `pid` member in *ret_pid.  Exits on `failed` or
 * `canceled`.
 */
static int64_t
restore_ctrd_wait_event(struct bench_conn *conn, const char *job,
    const char *name, pid_t *ret_pid)
{
	const char *event_name;
	json_t *event;
	int64_t now;

	for (;;) {
		event = bench_conn_read_json(conn, RESTORE_EVENT_TIMEOUT_MS);
		now = bench_now_ns();
		event_name = bench_json_string(event, "event");
		if (strcmp(bench_json_string(event, "job"), job) != 0) {
			json_decref(event);
			continue;
		}
		if (strcmp(event_name, "failed") == 0 ||
		    strcmp(event_name, "canceled") == 0) {
			char *text = json_dumps(event, JSON_COMPACT);

			bench_die("job %s ended before '%s': %s", job, name,
			    text);
		}
		if (strcmp(event_name, name) == 0) {
			if (ret_pid != NULL)
				*ret_pid = (pid_t)json_integer_value(
				    json_object_get(event, "pid"));
			json_decref(event);
			return now;
		}
		json_decref(event);
	}
}

/*
 * Restore `images_dir` through ctrd, kill the restored root once the
 * restore (and for lazy restores the page transfer) is done, and wait for
 * `exited`, so the pid is free again when this returns.
 */
static void
restore_ctrd_run(struct bench_conn *conn, const char *images_dir,
    pid_t expected_pid, bool lazy, struct restore_ctrd_result *result)
{
	char job[64];
	json_t *request;
	int64_t start;
	pid_t pid = 0;

	request = restore_ctrd_request(images_dir, lazy);
	start = bench_now_ns();
	bench_conn_send_json(conn, request);
	json_decref(request);
	restore_ctrd_read_reply(conn, job, sizeof(job), result->work_dir,
	    sizeof(result->work_dir));
	result->restored_ms = bench_elapsed_ms(start,
	    restore_ctrd_wait_event(conn, job, "restored", &pid));
	result->pages_complete_ms = -1;
	if (lazy)
		result->pages_complete_ms = bench_elapsed_ms(start,
		    restore_ctrd_wait_event(conn, job, "pages-complete", NULL));
	if (pid != expected_pid)
		bench_die("job %s restored pid %d, expected %d", job, (int)pid,
		    (int)expected_pid);
	/* The root is ctrd's child: ctrd reaps it and reports `exited`. */
	if (pid <= 1 || kill(pid, SIGKILL) == -1)
		bench_die_errno("kill restored pid %d", (int)pid);
	restore_ctrd_wait_event(conn, job, "exited", NULL);
}

/* ---- CRIU CLI ---- */

/*
 * Run `criu restore -d` on `images_dir` with its files in `work_dir`, and
 * return its pid once exec succeeded.
 */
static pid_t
restore_cli_start(const char *criu, const char *images_dir,
    const char *work_dir)
{
	const char *argv[] = { criu, "--no-default-config", "restore", "-d",
		"-D", images_dir, "-W", work_dir, "-o", "restore.log", "-v4",
		NULL };
	struct error err;
	pid_t pid;

	pid = spawn_process(argv, NULL, 0, -1, -1, &err);
	if (pid == -1)
		bench_die("%s", err.message);
	return pid;
}

static void
restore_cli_wait(pid_t pid, const char *work_dir)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			bench_die_errno("wait for criu restore");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("criu restore failed (wait status 0x%x); see %s/restore.log",
		    status, work_dir);
}

/* ---- CRIU swrk ---- */

struct restore_swrk {
	pid_t pid;
	int fd;
};

static void
restore_swrk_start(struct restore_swrk *swrk, const char *criu)
{
	const char *argv[] = { criu, "--no-default-config", "swrk", "3",
		NULL };
	struct spawn_fd child_fd;
	struct error err;
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == -1)
		bench_die_errno("create a socketpair");
	child_fd.fd = pair[1];
	child_fd.child_fd = RESTORE_SWRK_FD;
	swrk->pid = spawn_process(argv, &child_fd, 1, -1, -1, &err);
	close(pair[1]);
	if (swrk->pid == -1)
		bench_die("%s", err.message);
	swrk->fd = pair[0];
}

static CriuResp *
restore_swrk_recv(const struct restore_swrk *swrk)
{
	struct pollfd pfd = { .fd = swrk->fd, .events = POLLIN };
	struct error err;
	CriuResp *resp;
	int passed_fd;

	if (poll(&pfd, 1, RESTORE_EVENT_TIMEOUT_MS) == 0)
		bench_die("criu swrk %d sent nothing within %d ms",
		    (int)swrk->pid, RESTORE_EVENT_TIMEOUT_MS);
	resp = criu_rpc_recv(swrk->fd, &passed_fd, &err);
	if (resp == NULL)
		bench_die("criu swrk %d: %s", (int)swrk->pid, err.message);
	if (passed_fd != -1)
		close(passed_fd);
	return resp;
}

static void
restore_swrk_send(const struct restore_swrk *swrk, const CriuReq *req)
{
	struct error err;

	if (criu_rpc_send(swrk->fd, req, &err) < 0)
		bench_die("criu swrk %d: %s", (int)swrk->pid, err.message);
}

/* Ask VERSION with keep_open, as ctrd warms its pool workers. */
static void
restore_swrk_warm(const struct restore_swrk *swrk)
{
	CriuResp *resp;
	CriuReq req;

	criu_rpc_init_version(&req);
	restore_swrk_send(swrk, &req);
	resp = restore_swrk_recv(swrk);
	if (resp->type != CRIU_REQ_TYPE__VERSION || !resp->success)
		bench_die("criu swrk %d: VERSION failed", (int)swrk->pid);
	criu_resp__free_unpacked(resp, NULL);
}

/* The RESTORE options ctrd sends for a full restore (daemon/job.c). */
static void
restore_swrk_fill_opts(CriuOpts *opts, int images_fd, int work_fd)
{
	criu_opts__init(opts);
	opts->images_dir_fd = images_fd;
	opts->has_work_dir_fd = true;
	opts->work_dir_fd = work_fd;
	opts->log_file = "restore.log";
	opts->has_log_level = true;
	opts->log_level = 4;
	opts->has_rst_sibling = true;
	opts->rst_sibling = true;
	opts->has_notify_scripts = true;
	opts->notify_scripts = true;
	opts->has_lazy_pages = true;
	opts->has_tcp_established = true;
	opts->has_ext_unix_sk = true;
	opts->has_shell_job = true;
	opts->has_file_locks = true;
}

/*
 * Send RESTORE, acknowledge each NOTIFY, and return the restored root's pid
 * from the reply.  The worker exits after the reply, so the caller reaps
 * it with restore_swrk_finish().
 */
static pid_t
restore_swrk_restore(struct restore_swrk *swrk, int images_fd, int work_fd,
    const char *work_dir)
{
	CriuResp *resp;
	CriuOpts opts;
	CriuReq req;
	pid_t pid;

	restore_swrk_fill_opts(&opts, images_fd, work_fd);
	criu_req__init(&req);
	req.type = CRIU_REQ_TYPE__RESTORE;
	req.opts = &opts;
	restore_swrk_send(swrk, &req);
	for (;;) {
		resp = restore_swrk_recv(swrk);
		if (resp->type != CRIU_REQ_TYPE__NOTIFY)
			break;
		criu_resp__free_unpacked(resp, NULL);
		criu_rpc_init_notify_ack(&req, true);
		restore_swrk_send(swrk, &req);
	}
	if (resp->type != CRIU_REQ_TYPE__RESTORE || !resp->success ||
	    resp->restore == NULL)
		bench_die("criu swrk %d: RESTORE failed; see %s/restore.log",
		    (int)swrk->pid, work_dir);
	pid = resp->restore->pid;
	criu_resp__free_unpacked(resp, NULL);
	return pid;
}

static void
restore_swrk_finish(struct restore_swrk *swrk)
{
	close(swrk->fd);
	while (waitpid(swrk->pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/* ---- small: one image, several ways, interleaved ---- */

enum restore_method {
	RESTORE_CTRD,
	RESTORE_CTRD_TMPFS,
	RESTORE_CLI,
	RESTORE_SWRK_FRESH,
	RESTORE_SWRK_WARM,
	RESTORE_SWRK_REFILL,
	RESTORE_METHOD_COUNT,
};

static const char *const restore_method_names[] = {
	[RESTORE_CTRD] = "ctrd",
	[RESTORE_CTRD_TMPFS] = "ctrd-tmpfs",
	[RESTORE_CLI] = "cli",
	[RESTORE_SWRK_FRESH] = "swrk-fresh",
	[RESTORE_SWRK_WARM] = "swrk-warm",
	[RESTORE_SWRK_REFILL] = "swrk-refill",
};

/* The options, method and CRIU work dir of one restore in `small`. */
struct restore_small_run {
	const struct restore_options *options;
	struct bench_conn *conn;	/* NULL for the CRIU methods */
	enum restore_method method;
	char dir[PATH_MAX];		/* CRIU's work dir for this restore */
};

static double
restore_small_ctrd(struct restore_small_run *run)
{
	struct restore_ctrd_result result;

	restore_ctrd_run(run->conn, run->options->images_dir,
	    run->options->pid, false, &result);
	snprintf(run->dir, sizeof(run->dir), "%s", result.work_dir);
	return result.restored_ms;
}

static double
restore_small_cli(struct restore_small_run *run)
{
	int64_t start, end;

	start = bench_now_ns();
	restore_cli_wait(restore_cli_start(run->options->criu_path,
	    run->options->images_dir, run->dir), run->dir);
	end = bench_now_ns();
	bench_kill_child(run->options->pid);
	return bench_elapsed_ms(start, end);
}

/*
 * Restore through a `criu swrk` of this process's own.  swrk-fresh times
 * from the fork of the worker, as runc does it.  swrk-warm times from the
 * RESTORE request to a worker that replied to VERSION before, as ctrd's
 * pool keeps them.  swrk-refill is swrk-warm plus what ctrd does at the same
 * moment: it starts the replacement worker and sends it VERSION.
 */
static double
restore_small_swrk(struct restore_small_run *run)
{
	const char *criu = run->options->criu_path;
	struct restore_swrk swrk, refill = { .pid = -1, .fd = -1 };
	int images_fd, work_fd;
	int64_t start, end;
	CriuReq version;
	pid_t pid;

	images_fd = restore_open_dir(run->options->images_dir);
	work_fd = restore_open_dir(run->dir);
	if (run->method == RESTORE_SWRK_FRESH) {
		start = bench_now_ns();
		restore_swrk_start(&swrk, criu);
	} else {
		restore_swrk_start(&swrk, criu);
		restore_swrk_warm(&swrk);
		usleep(RESTORE_WARM_SETTLE_US);
		start = bench_now_ns();
	}
	if (run->method == RESTORE_SWRK_REFILL) {
		restore_swrk_start(&refill, criu);
		criu_rpc_init_version(&version);
		restore_swrk_send(&refill, &version);
	}
	pid = restore_swrk_restore(&swrk, images_fd, work_fd, run->dir);
	end = bench_now_ns();
	restore_swrk_finish(&swrk);
	if (refill.pid > 1)
		restore_swrk_finish(&refill);
	close(images_fd);
	close(work_fd);
	if (pid != run->options->pid)
		bench_die("criu swrk restored pid %d, expected %d", (int)pid,
		    (int)run->options->pid);
	bench_kill_child(pid);
	return bench_elapsed_ms(start, end);
}

/* Run one restore by run->method and return its wall time in ms. */
static double
restore_small_once(struct restore_small_run *run, int index)
{
	switch (run->method) {
	case RESTORE_CTRD:
	case RESTORE_CTRD_TMPFS:
		return restore_small_ctrd(run);
	case RESTORE_CLI:
		restore_make_work_dir(run->options->work_dir, "cli", index,
		    run->dir, sizeof(run->dir));
		return restore_small_cli(run);
	default:
		restore_make_work_dir(run->options->work_dir,
		    restore_method_names[run->method], index, run->dir,
		    sizeof(run->dir));
		return restore_small_swrk(run);
	}
}

/* Return whether `small` runs `method` with these options. */
static bool
restore_small_selected(const struct restore_options *options,
    enum restore_method method)
{
	if (method == RESTORE_CTRD_TMPFS && options->socket_tmpfs == NULL)
		return false;
	return options->only == NULL ||
	    strcmp(options->only, restore_method_names[method]) == 0;
}

/*
 * Interleave the methods: run r starts with method r mod the method count,
 * so no method always follows the same one.
 */
static void
restore_small(const struct restore_options *options)
{
	struct bench_conn conn, conn_tmpfs;
	struct restore_small_run run;
	double wall, log_ms, stats_ms;
	int index, i;
	FILE *out;

	restore_require(options->socket_path, "--socket");
	restore_require(options->criu_path, "--criu");
	restore_require(options->images_dir, "--images");
	restore_require(options->work_dir, "--work");
	restore_require(options->out_path, "--out");
	if (options->pid == 0)
		bench_die("missing --pid; run with --help for usage");
	out = bench_open_out(options->out_path,
	    "method\trun\twall_ms\tcriu_log_ms\tcriu_stats_ms");
	bench_conn_open(&conn, options->socket_path);
	if (options->socket_tmpfs != NULL)
		bench_conn_open(&conn_tmpfs, options->socket_tmpfs);
	run.options = options;
	for (index = 0; index < options->runs; index++) {
		for (i = 0; i < RESTORE_METHOD_COUNT; i++) {
			run.method = (enum restore_method)((index + i) %
			    RESTORE_METHOD_COUNT);
			if (!restore_small_selected(options, run.method))
				continue;
			run.conn = run.method == RESTORE_CTRD_TMPFS ?
			    &conn_tmpfs : &conn;
			wall = restore_small_once(&run, index);
			restore_read_criu_times(run.dir, &log_ms, &stats_ms);
			fprintf(out, "%s\t%d\t%.3f\t%.3f\t%.3f\n",
			    restore_method_names[run.method], index, wall,
			    log_ms, stats_ms);
		}
		fflush(out);
	}
	bench_conn_close(&conn);
	if (options->socket_tmpfs != NULL)
		bench_conn_close(&conn_tmpfs);
	fclose(out);
}

/* ---- sweep: full against lazy through ctrd ---- */

static void
restore_sweep(const struct restore_options *options)
{
	struct restore_ctrd_result result;
	double log_ms, stats_ms;
	struct bench_conn conn;
	int run, i;
	bool lazy;
	FILE *out;

	restore_require(options->socket_path, "--socket");
	restore_require(options->images_dir, "--images");
	restore_require(options->out_path, "--out");
	if (options->pid == 0 || options->size_mib == 0)
		bench_die("missing --pid or --size; run with --help for usage");
	out = bench_open_out(options->out_path,
	    "size_mib\tmode\trun\trestored_ms\tpages_complete_ms\tcriu_log_ms\tcriu_stats_ms");
	bench_conn_open(&conn, options->socket_path);
	for (run = 0; run < options->runs; run++) {
		for (i = 0; i < 2; i++) {
			lazy = (run + i) % 2 == 1;
			restore_ctrd_run(&conn, options->images_dir,
			    options->pid, lazy, &result);
			restore_read_criu_times(result.work_dir, &log_ms,
			    &stats_ms);
			fprintf(out, "%d\t%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n",
			    options->size_mib, lazy ? "lazy" : "full", run,
			    result.restored_ms, result.pages_complete_ms,
			    log_ms, stats_ms);
			fflush(out);
		}
	}
	bench_conn_close(&conn);
	fclose(out);
}

/* ---- throughput: many jobs at once through ctrd, or the CLI in turn ---- */

struct restore_image {
	char dir[PATH_MAX];
	pid_t pid;
};

/* Read "IMAGES_DIR PID" lines into *ret_images and return their count. */
static size_t
restore_read_list(const char *path, struct restore_image **ret_images)
{
	struct restore_image *images = NULL;
	size_t count = 0, cap = 0;
	char line[PATH_MAX + 32];
	int pid;
	FILE *list;

	list = fopen(path, "re");
	if (list == NULL)
		bench_die_errno("open '%s'", path);
	while (fgets(line, sizeof(line), list) != NULL) {
		if (count == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			images = realloc(images, cap * sizeof(*images));
			if (images == NULL)
				bench_die("read '%s': out of memory", path);
		}
		if (sscanf(line, "%4095s %d", images[count].dir, &pid) != 2 ||
		    pid <= 1)
			bench_die("'%s': expected 'IMAGES_DIR PID', got '%s'",
			    path, line);
		images[count++].pid = (pid_t)pid;
	}
	fclose(list);
	if (count == 0)
		bench_die("'%s' lists no images", path);
	*ret_images = images;
	return count;
}

/* The client's view of one job; times are CLOCK_MONOTONIC in ns. */
struct restore_job {
	struct bench_conn conn;
	char id[64];
	int64_t submitted;
	int64_t started;
	int64_t restored;
	const char *end;	/* exited, failed, canceled, rejected; NULL: lost */
};

/* Handle one line on `job`'s connection: the reply or an event. */
static void
restore_job_handle(struct restore_job *job, const struct restore_image *image,
    json_t *line, int64_t now, int *ended)
{
	const char *name = bench_json_string(line, "event");
	pid_t pid;

	if (json_object_get(line, "error") != NULL) {
		job->end = "rejected";
		(*ended)++;
		return;
	}
	if (json_object_get(line, "result") != NULL) {
		snprintf(job->id, sizeof(job->id), "%s", bench_json_string(
		    json_object_get(line, "result"), "job"));
		return;
	}
	if (strcmp(name, "started") == 0) {
		job->started = now;
	} else if (strcmp(name, "restored") == 0) {
		job->restored = now;
		pid = (pid_t)json_integer_value(json_object_get(line, "pid"));
		if (pid != image->pid)
			bench_die("job %s restored pid %d, expected %d",
			    job->id, (int)pid, (int)image->pid);
		/* ctrd reaps the root and then reports `exited`. */
		if (kill(pid, SIGKILL) == -1)
			bench_die_errno("kill restored pid %d", (int)pid);
	} else if (strcmp(name, "exited") == 0 ||
	    strcmp(name, "failed") == 0 || strcmp(name, "canceled") == 0) {
		job->end = strcmp(name, "exited") == 0 ? "exited" :
		    strcmp(name, "failed") == 0 ? "failed" : "canceled";
		(*ended)++;
	}
}

static void
restore_throughput_write(FILE *out, const char *label,
    const struct restore_job *jobs, size_t count, int64_t base)
{
	const struct restore_job *job;
	size_t i;

	for (i = 0; i < count; i++) {
		job = &jobs[i];
		fprintf(out, "%s\t%zu\t%.3f\t%.3f\t%.3f\t%s\n", label, i,
		    bench_elapsed_ms(base, job->submitted),
		    job->started != 0 ? bench_elapsed_ms(base, job->started) : -1,
		    job->restored != 0 ? bench_elapsed_ms(base, job->restored) : -1,
		    job->end != NULL ? job->end : "lost");
	}
}

/*
 * Open one connection per job first, then send every request back to
 * back, so the jobs reach ctrd at once as from that many clients.
 */
static void
restore_throughput(const struct restore_options *options)
{
	struct restore_image *images;
	struct restore_job *jobs;
	struct pollfd *pfds;
	json_t *request, *line;
	int64_t base, deadline, now;
	size_t count, i;
	int ended = 0;
	FILE *out;

	restore_require(options->socket_path, "--socket");
	restore_require(options->list_path, "--list");
	restore_require(options->out_path, "--out");
	count = restore_read_list(options->list_path, &images);
	jobs = calloc(count, sizeof(*jobs));
	pfds = calloc(count, sizeof(*pfds));
	if (jobs == NULL || pfds == NULL)
		bench_die("allocate %zu jobs: out of memory", count);
	for (i = 0; i < count; i++) {
		bench_conn_open(&jobs[i].conn, options->socket_path);
		pfds[i].fd = jobs[i].conn.fd;
		pfds[i].events = POLLIN;
	}

	base = bench_now_ns();
	for (i = 0; i < count; i++) {
		request = restore_ctrd_request(images[i].dir, false);
		jobs[i].submitted = bench_now_ns();
		bench_conn_send_json(&jobs[i].conn, request);
		json_decref(request);
	}
	deadline = base + (int64_t)RESTORE_EVENT_TIMEOUT_MS * 1000000 * 5;
	while ((size_t)ended < count && bench_now_ns() < deadline) {
		if (poll(pfds, count, 1000) == -1 && errno != EINTR)
			bench_die_errno("wait for ctrd");
		now = bench_now_ns();
		for (i = 0; i < count; i++) {
			if (!(pfds[i].revents & (POLLIN | POLLHUP)))
				continue;
			bench_conn_fill(&jobs[i].conn);
			while ((line = bench_conn_next_json(&jobs[i].conn)) !=
			    NULL) {
				restore_job_handle(&jobs[i], &images[i], line,
				    now, &ended);
				json_decref(line);
			}
			if (jobs[i].conn.eof)
				pfds[i].fd = -1;
		}
	}

	out = bench_open_out(options->out_path,
	    "label\tjob\tsubmitted_ms\tstarted_ms\trestored_ms\tend");
	restore_throughput_write(out, options->label, jobs, count, base);
	fclose(out);
	for (i = 0; i < count; i++)
		bench_conn_close(&jobs[i].conn);
	free(pfds);
	free(jobs);
	free(images);
}

/* Return the CPU time this process and its reaped children used, in ms. */
static double
restore_cpu_ms(void)
{
	struct rusage self, children;
	double ms = 0;

	if (getrusage(RUSAGE_SELF, &self) == 0 &&
	    getrusage(RUSAGE_CHILDREN, &children) == 0)
		ms = (self.ru_utime.tv_sec + self.ru_stime.tv_sec +
		    children.ru_utime.tv_sec + children.ru_stime.tv_sec) * 1e3 +
		    (self.ru_utime.tv_usec + self.ru_stime.tv_usec +
		    children.ru_utime.tv_usec + children.ru_stime.tv_usec) / 1e3;
	return ms;
}

/*
 * Restore each image with the CLI in turn.  Each restored root is killed
 * right away and reaped later, as ctrd's client does in `throughput`.
 * Prints "cpu_ms N": the CPU time of this program, the CRIU runs and the
 * restored trees together.
 */
static void
restore_cli_seq(const struct restore_options *options)
{
	struct restore_image *images;
	char dir[PATH_MAX];
	int64_t base, start, end;
	size_t count, i;
	FILE *out;

	restore_require(options->criu_path, "--criu");
	restore_require(options->list_path, "--list");
	restore_require(options->work_dir, "--work");
	restore_require(options->out_path, "--out");
	count = restore_read_list(options->list_path, &images);
	out = bench_open_out(options->out_path,
	    "label\tjob\tsubmitted_ms\tstarted_ms\trestored_ms\tend");
	base = bench_now_ns();
	for (i = 0; i < count; i++) {
		restore_make_work_dir(options->work_dir, options->label,
		    (int)i, dir, sizeof(dir));
		start = bench_now_ns();
		restore_cli_wait(restore_cli_start(options->criu_path,
		    images[i].dir, dir), dir);
		end = bench_now_ns();
		if (kill(images[i].pid, SIGKILL) == -1)
			bench_die_errno("kill restored pid %d",
			    (int)images[i].pid);
		bench_reap_exited();
		fprintf(out, "%s\t%zu\t%.3f\t%.3f\t%.3f\texited\n",
		    options->label, i, bench_elapsed_ms(base, start),
		    bench_elapsed_ms(base, start), bench_elapsed_ms(base, end));
	}
	for (i = 0; i < count; i++)
		while (waitpid(images[i].pid, NULL, 0) == -1 && errno == EINTR)
			;
	printf("cpu_ms\t%.1f\n", restore_cpu_ms());
	fclose(out);
	free(images);
}

int
main(int argc, char **argv)
{
	struct restore_options options;
	const char *command;

	bench_set_program(RESTORE_PROGRAM);
	if (argc < 2)
		restore_usage(stderr, EXIT_FAILURE);
	command = argv[1];
	if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0)
		restore_usage(stdout, EXIT_SUCCESS);
	restore_parse_options(argc - 1, argv + 1, &options);
	bench_become_subreaper();
	if (strcmp(command, "small") == 0)
		restore_small(&options);
	else if (strcmp(command, "sweep") == 0)
		restore_sweep(&options);
	else if (strcmp(command, "throughput") == 0)
		restore_throughput(&options);
	else if (strcmp(command, "cli-seq") == 0)
		restore_cli_seq(&options);
	else
		bench_die("unknown command '%s'; run with --help for usage",
		    command);
	return 0;
}
