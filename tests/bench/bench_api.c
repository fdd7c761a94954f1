/*
 * ctrd-bench-api: load ctrd's JSON API from many concurrent clients and
 * time the fan-out of one job event to many watchers.
 *
 * `load` keeps N connections busy, each with one request outstanding at a
 * time (a closed loop), and records the latency of every reply that
 * arrives in the measuring window.  `fanout` restores one image through
 * ctrd, has N connections `watch` the job, kills the restored root and
 * times the `exited` event at every watcher.  Both run in one thread, on
 * the same machine as ctrd, so the client's own CPU use is part of what
 * they measure.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_util.h"

#define API_PROGRAM "ctrd-bench-api"

/* Maximum wait for a reply or an event before the run is abandoned. */
#define API_TIMEOUT_MS 60000

#define API_EPOLL_BATCH 256

struct api_options {
	const char *socket_path;
	const char *method;
	const char *job;
	const char *images_dir;
	const char *out_path;
	const char *label;
	pid_t pid;
	int clients;
	int rounds;
	double seconds;
	double warmup;
};

struct api_client {
	struct bench_conn conn;
	int64_t sent_at;	/* 0 when no request is outstanding */
	bool done;
};

/* Latencies in microseconds, grown as replies arrive. */
struct api_samples {
	double *values;
	size_t count;
	size_t cap;
};

static void __attribute__((noreturn))
api_usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: " API_PROGRAM " load --socket PATH --clients N --method status|info [--job ID]\n"
	    "                     [--seconds S] [--warmup S] --label TEXT --out FILE\n"
	    "       " API_PROGRAM " fanout --socket PATH --clients N --images DIR --pid PID\n"
	    "                     [--rounds N] --out FILE\n"
	    "\n"
	    "load    N clients send requests in a closed loop for S seconds (default 3)\n"
	    "        after S seconds of warm-up (default 0.5); one TSV line per run\n"
	    "fanout  N clients watch one restored job; the root is killed and each\n"
	    "        client's `exited` event is timed; one TSV line per round\n");
	exit(status);
}

static double
api_parse_seconds(const char *what, const char *text)
{
	char *end;
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (text[0] == '\0' || *end != '\0' || errno != 0 || value < 0 ||
	    value > 3600)
		bench_die("invalid %s '%s'; expected seconds from 0 to 3600",
		    what, text);
	return value;
}

static void
api_parse_options(int argc, char **argv, struct api_options *options)
{
	static const struct option long_options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "clients", required_argument, NULL, 'n' },
		{ "method", required_argument, NULL, 'm' },
		{ "job", required_argument, NULL, 'j' },
		{ "images", required_argument, NULL, 'i' },
		{ "pid", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "label", required_argument, NULL, 'L' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(options, 0, sizeof(*options));
	options->clients = 1;
	options->rounds = 5;
	options->seconds = 3;
	options->warmup = 0.5;
	options->label = "";
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case 's': options->socket_path = optarg; break;
		case 'm': options->method = optarg; break;
		case 'j': options->job = optarg; break;
		case 'i': options->images_dir = optarg; break;
		case 'L': options->label = optarg; break;
		case 'o': options->out_path = optarg; break;
		case 'n':
			options->clients = (int)bench_parse_int("--clients",
			    optarg, 1, 100000);
			break;
		case 'p':
			options->pid = (pid_t)bench_parse_int("--pid", optarg, 2,
			    INT_MAX);
			break;
		case 'r':
			options->rounds = (int)bench_parse_int("--rounds",
			    optarg, 1, 1000);
			break;
		case 'S':
			options->seconds = api_parse_seconds("--seconds",
			    optarg);
			break;
		case 'W':
			options->warmup = api_parse_seconds("--warmup", optarg);
			break;
		case 'h': api_usage(stdout, EXIT_SUCCESS);
		default: api_usage(stderr, EXIT_FAILURE);
		}
	}
	if (options->socket_path == NULL || options->out_path == NULL)
		bench_die("missing --socket or --out; run with --help for usage");
}

/* Raise the open-file limit so `clients` connections fit, or exit. */
static void
api_reserve_fds(int clients)
{
	struct rlimit limit;
	rlim_t needed = (rlim_t)clients + 64;

	if (getrlimit(RLIMIT_NOFILE, &limit) == -1)
		bench_die_errno("read RLIMIT_NOFILE");
	if (limit.rlim_cur >= needed)
		return;
	if (limit.rlim_max < needed)
		bench_die("%d clients need %llu descriptors, but RLIMIT_NOFILE allows %llu; raise it with ulimit -n",
		    clients, (unsigned long long)needed,
		    (unsigned long long)limit.rlim_max);
	limit.rlim_cur = needed;
	if (setrlimit(RLIMIT_NOFILE, &limit) == -1)
		bench_die_errno("raise RLIMIT_NOFILE to %llu",
		    (unsigned long long)needed);
}

static struct api_client *
api_connect_clients(const struct api_options *options, int epoll_fd)
{
	struct epoll_event event = { .events = EPOLLIN };
	struct api_client *clients;
	int i;

	api_reserve_fds(options->clients);
	clients = calloc((size_t)options->clients, sizeof(*clients));
	if (clients == NULL)
		bench_die("allocate %d clients: out of memory",
		    options->clients);
	for (i = 0; i < options->clients; i++) {
		bench_conn_open(&clients[i].conn, options->socket_path);
		event.data.ptr = &clients[i];
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, clients[i].conn.fd,
		    &event) == -1)
			bench_die_errno("watch client %d", i);
	}
	return clients;
}

static void
api_close_clients(struct api_client *clients, int count)
{
	int i;

	for (i = 0; i < count; i++)
		bench_conn_close(&clients[i].conn);
	free(clients);
}

static void
api_samples_add(struct api_samples *samples, double value)
{
	if (samples->count == samples->cap) {
		samples->cap = samples->cap == 0 ? 65536 : samples->cap * 2;
		samples->values = realloc(samples->values,
		    samples->cap * sizeof(*samples->values));
		if (samples->values == NULL)
			bench_die("store latencies: out of memory");
	}
	samples->values[samples->count++] = value;
}

/* Build the request line `load` repeats, ending in a newline. */
static char *
api_load_line(const struct api_options *options)
{
	json_t *request;
	char *text, *line;

	if (options->method == NULL || (strcmp(options->method, "status") != 0 &&
	    strcmp(options->method, "info") != 0))
		bench_die("--method must be 'status' or 'info'");
	if (strcmp(options->method, "status") == 0 && options->job == NULL)
		bench_die("--method status needs --job ID");
	if (strcmp(options->method, "status") == 0)
		request = json_pack("{s:i, s:s, s:{s:s}}", "id", 1, "method",
		    "status", "params", "job", options->job);
	else
		request = json_pack("{s:i, s:s}", "id", 1, "method", "info");
	text = request != NULL ? json_dumps(request, JSON_COMPACT) : NULL;
	json_decref(request);
	if (text == NULL || asprintf(&line, "%s\n", text) == -1)
		bench_die("build the request: out of memory");
	free(text);
	return line;
}

/*
 * Take the replies `client` has buffered; record the latency of each one
 * that arrives in [measure_start, measure_end) and send the next request
 * until measure_end.  A reply is only checked to start as ctrd starts a
 * successful reply, so parsing it does not slow the load down.
 */
static void
api_load_on_readable(struct api_client *client, const char *request,
    int64_t measure_start, int64_t measure_end,
    struct api_samples *samples)
{
	static const char ok_prefix[] = "{\"id\":1,\"result\":";
	const char *line;
	int64_t now;
	size_t len;

	bench_conn_fill(&client->conn);
	if (client->conn.eof)
		bench_die("ctrd closed a client connection during the load");
	while ((line = bench_conn_next_line(&client->conn, &len)) != NULL) {
		now = bench_now_ns();
		if (len < sizeof(ok_prefix) - 1 ||
		    memcmp(line, ok_prefix, sizeof(ok_prefix) - 1) != 0)
			bench_die("ctrd sent an unexpected reply during the load: %.*s",
			    (int)(len < 200 ? len : 200), line);
		if (now >= measure_start && now < measure_end)
			api_samples_add(samples,
			    (double)(now - client->sent_at) / 1000.0);
		client->sent_at = 0;
		if (now >= measure_end) {
			client->done = true;
			continue;
		}
		client->sent_at = bench_now_ns();
		bench_conn_send(&client->conn, request);
	}
}

static void
api_load(const struct api_options *options)
{
	struct epoll_event events[API_EPOLL_BATCH];
	struct api_samples samples = { 0 };
	struct api_client *clients;
	int64_t start, measure_start, measure_end;
	int epoll_fd, ready, i, done = 0;
	double p50, p99, max, rate;
	char *line;
	FILE *out;

	line = api_load_line(options);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd == -1)
		bench_die_errno("create an epoll instance");
	clients = api_connect_clients(options, epoll_fd);

	start = bench_now_ns();
	measure_start = start + (int64_t)(options->warmup * 1e9);
	measure_end = measure_start + (int64_t)(options->seconds * 1e9);
	for (i = 0; i < options->clients; i++) {
		clients[i].sent_at = bench_now_ns();
		bench_conn_send(&clients[i].conn, line);
	}
	while (done < options->clients) {
		ready = epoll_wait(epoll_fd, events, API_EPOLL_BATCH,
		    API_TIMEOUT_MS);
		if (ready == -1 && errno == EINTR)
			continue;
		if (ready <= 0)
			bench_die("no reply from ctrd within %d ms",
			    API_TIMEOUT_MS);
		for (i = 0; i < ready; i++) {
			struct api_client *client = events[i].data.ptr;

			if (client->done)
				continue;
			api_load_on_readable(client, line, measure_start,
			    measure_end, &samples);
			if (client->done)
				done++;
		}
	}

	rate = (double)samples.count / options->seconds;
	max = bench_percentile(samples.values, samples.count, 100);
	p99 = bench_percentile(samples.values, samples.count, 99);
	p50 = bench_percentile(samples.values, samples.count, 50);
	out = bench_open_out(options->out_path,
	    "label\tmethod\tclients\tseconds\trequests\trequests_per_s\tp50_us\tp99_us\tmax_us");
	fprintf(out, "%s\t%s\t%d\t%.1f\t%zu\t%.0f\t%.1f\t%.1f\t%.1f\n",
	    options->label, options->method, options->clients,
	    options->seconds, samples.count, rate, p50, p99, max);
	fclose(out);
	printf("%s %s clients=%d: %.0f requests/s, p50 %.1f us, p99 %.1f us\n",
	    options->label, options->method, options->clients, rate, p50, p99);
	api_close_clients(clients, options->clients);
	close(epoll_fd);
	free(samples.values);
	free(line);
}

/* ---- fanout ---- */

/*
 * Restore `images_dir` through `conn` and wait for `restored`.  Writes the
 * job id to `job`.
 */
static void
api_fanout_restore(struct bench_conn *conn, const char *images_dir,
    pid_t expected_pid, char *job, size_t job_size)
{
	json_t *request, *line;
	pid_t pid = 0;

	request = json_pack("{s:i, s:s, s:{s:s, s:b}}", "id", 1, "method",
	    "restore", "params", "images_dir", images_dir, "follow", 1);
	bench_conn_send_json(conn, request);
	json_decref(request);
	line = bench_conn_read_json(conn, API_TIMEOUT_MS);
	if (json_object_get(line, "result") == NULL)
		bench_die("ctrd rejected the restore of '%s'", images_dir);
	snprintf(job, job_size, "%s",
	    bench_json_string(json_object_get(line, "result"), "job"));
	json_decref(line);
	while (pid == 0) {
		line = bench_conn_read_json(conn, API_TIMEOUT_MS);
		if (strcmp(bench_json_string(line, "event"), "failed") == 0)
			bench_die("job %s failed", job);
		if (strcmp(bench_json_string(line, "event"), "restored") == 0)
			pid = (pid_t)json_integer_value(
			    json_object_get(line, "pid"));
		json_decref(line);
	}
	if (pid != expected_pid)
		bench_die("job %s restored pid %d, expected %d", job, (int)pid,
		    (int)expected_pid);
}

/*
 * Wait until each client has received a reply (`event_name` NULL) or the
 * event `event_name`, and store each client's wait since `start` in
 * `ret_ms`, in order of arrival.
 */
static void
api_fanout_wait(struct api_client *clients, int count, int epoll_fd,
    const char *event_name, int64_t start, double *ret_ms, int *ret_count)
{
	struct epoll_event events[API_EPOLL_BATCH];
	int64_t deadline = start + (int64_t)API_TIMEOUT_MS * 1000000;
	int ready, i, got = 0;
	json_t *line;
	bool match;

	for (i = 0; i < count; i++)
		clients[i].done = false;
	while (got < count && bench_now_ns() < deadline) {
		ready = epoll_wait(epoll_fd, events, API_EPOLL_BATCH, 1000);
		for (i = 0; i < ready; i++) {
			struct api_client *client = events[i].data.ptr;

			bench_conn_fill(&client->conn);
			while ((line = bench_conn_next_json(&client->conn)) !=
			    NULL) {
				match = event_name == NULL ?
				    json_object_get(line, "result") != NULL :
				    strcmp(bench_json_string(line, "event"),
				    event_name) == 0;
				if (match && !client->done) {
					client->done = true;
					ret_ms[got++] = bench_elapsed_ms(start,
					    bench_now_ns());
				}
				json_decref(line);
			}
		}
	}
	*ret_count = got;
}

static void
api_fanout_round(const struct api_options *options, struct bench_conn *conn,
    struct api_client *clients, int epoll_fd, int round, FILE *out)
{
	double *ms, attach_ms;
	char job[64], *text, *line;
	int64_t start;
	json_t *request, *event;
	int delivered, attached, i;
	bool exited = false;

	ms = calloc((size_t)options->clients, sizeof(*ms));
	if (ms == NULL)
		bench_die("allocate %d latencies: out of memory",
		    options->clients);
	api_fanout_restore(conn, options->images_dir, options->pid, job,
	    sizeof(job));

	request = json_pack("{s:i, s:s, s:{s:s}}", "id", 1, "method", "watch",
	    "params", "job", job);
	text = json_dumps(request, JSON_COMPACT);
	json_decref(request);
	if (text == NULL || asprintf(&line, "%s\n", text) == -1)
		bench_die("build the watch request: out of memory");
	free(text);
	start = bench_now_ns();
	for (i = 0; i < options->clients; i++)
		bench_conn_send(&clients[i].conn, line);
	api_fanout_wait(clients, options->clients, epoll_fd, NULL, start, ms,
	    &attached);
	attach_ms = bench_elapsed_ms(start, bench_now_ns());
	if (attached != options->clients)
		bench_die("only %d of %d watch requests got a reply", attached,
		    options->clients);

	/* The root is ctrd's child: ctrd reaps it and reports `exited`. */
	start = bench_now_ns();
	if (kill(options->pid, SIGKILL) == -1)
		bench_die_errno("kill restored pid %d", (int)options->pid);
	api_fanout_wait(clients, options->clients, epoll_fd, "exited", start,
	    ms, &delivered);
	fprintf(out, "%d\t%d\t%.3f\t%d\t%.3f\t%.3f\t%.3f\n", round,
	    options->clients, attach_ms, delivered,
	    bench_percentile(ms, (size_t)delivered, 50),
	    bench_percentile(ms, (size_t)delivered, 99),
	    bench_percentile(ms, (size_t)delivered, 100));
	fflush(out);
	/* The submitting connection follows the job too; drain it. */
	while (!exited) {
		event = bench_conn_read_json(conn, API_TIMEOUT_MS);
		exited = strcmp(bench_json_string(event, "event"),
		    "exited") == 0;
		json_decref(event);
	}
	free(line);
	free(ms);
}

static void
api_fanout(const struct api_options *options)
{
	struct api_client *clients;
	struct bench_conn conn;
	int epoll_fd, round;
	FILE *out;

	if (options->images_dir == NULL || options->pid == 0)
		bench_die("fanout needs --images and --pid");
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd == -1)
		bench_die_errno("create an epoll instance");
	clients = api_connect_clients(options, epoll_fd);
	bench_conn_open(&conn, options->socket_path);
	out = bench_open_out(options->out_path,
	    "round\twatchers\tattach_ms\tdelivered\tp50_ms\tp99_ms\tmax_ms");
	for (round = 0; round < options->rounds; round++)
		api_fanout_round(options, &conn, clients, epoll_fd, round, out);
	fclose(out);
	bench_conn_close(&conn);
	api_close_clients(clients, options->clients);
	close(epoll_fd);
}

int
main(int argc, char **argv)
{
	struct api_options options;
	const char *command;

	bench_set_program(API_PROGRAM);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		api_usage(stderr, EXIT_FAILURE);
	command = argv[1];
	if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0)
		api_usage(stdout, EXIT_SUCCESS);
	api_parse_options(argc - 1, argv + 1, &options);
	if (strcmp(command, "load") == 0)
		api_load(&options);
	else if (strcmp(command, "fanout") == 0)
		api_fanout(&options);
	else
		bench_die("unknown command '%s'; run with --help for usage",
		    command);
	return 0;
}
