#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

/* The first read buffer of a connection; it doubles as lines grow. */
#define BENCH_CONN_BUF_START 4096

static const char *bench_program = "ctrd-bench";

void
bench_set_program(const char *name)
{
	bench_program = name;
}

static void __attribute__((format(printf, 2, 0)))
bench_vlog(int errnum, const char *fmt, va_list args)
{
	fprintf(stderr, "%s: ", bench_program);
	vfprintf(stderr, fmt, args);
	if (errnum != 0)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void
bench_die(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	bench_vlog(0, fmt, args);
	va_end(args);
	exit(EXIT_FAILURE);
}

void
bench_die_errno(const char *fmt, ...)
{
	int errnum = errno;
	va_list args;

	va_start(args, fmt);
	bench_vlog(errnum, fmt, args);
	va_end(args);
	exit(EXIT_FAILURE);
}

void
bench_warn(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	bench_vlog(0, fmt, args);
	va_end(args);
}

int64_t
bench_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

double
bench_elapsed_ms(int64_t start_ns, int64_t end_ns)
{
	return (double)(end_ns - start_ns) / 1e6;
}

static int
bench_compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
bench_percentile(double *values, size_t count, double p)
{
	size_t rank;

	if (count == 0)
		return -1;
	qsort(values, count, sizeof(values[0]), bench_compare_doubles);
	rank = (size_t)ceil(p / 100.0 * (double)count);
	if (rank == 0)
		rank = 1;
	return values[rank - 1];
}

FILE *
bench_open_out(const char *path, const char *header)
{
	struct stat st;
	FILE *out;

	out = fopen(path, "ae");
	if (out == NULL)
		bench_die_errno("open '%s'", path);
	if (fstat(fileno(out), &st) == 0 && st.st_size == 0)
		fprintf(out, "%s\n", header);
	return out;
}

long long
bench_parse_int(const char *what, const char *text, long long min,
    long long max)
{
	long long value;
	char *end;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (text[0] == '\0' || *end != '\0' || errno != 0 || value < min ||
	    value > max)
		bench_die("invalid %s '%s'; expected an integer from %lld to %lld",
		    what, text, min, max);
	return value;
}

void
bench_become_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		bench_die_errno("become a child subreaper");
}

void
bench_kill_child(pid_t pid)
{
	pid_t reaped;

	if (pid <= 1)
		bench_die("refusing to kill pid %d", (int)pid);
	if (kill(pid, SIGKILL) == -1 && errno != ESRCH)
		bench_die_errno("kill pid %d", (int)pid);
	do {
		reaped = waitpid(pid, NULL, 0);
	} while (reaped == -1 && errno == EINTR);
	if (reaped == -1)
		bench_die_errno("reap pid %d", (int)pid);
}

void
bench_reap_exited(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int
bench_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, saved;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* Connect blocking, so a full backlog waits instead of failing. */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void
bench_conn_open(struct bench_conn *conn, const char *path)
{
	memset(conn, 0, sizeof(*conn));
	conn->fd = bench_connect(path);
	if (conn->fd == -1)
		bench_die_errno("connect to ctrd at '%s'", path);
	conn->cap = BENCH_CONN_BUF_START;
	conn->buf = malloc(conn->cap);
	if (conn->buf == NULL)
		bench_die_errno("allocate a connection buffer");
}

void
bench_conn_close(struct bench_conn *conn)
{
	if (conn->fd != -1)
		close(conn->fd);
	free(conn->buf);
	memset(conn, 0, sizeof(*conn));
	conn->fd = -1;
}

void
bench_conn_send(struct bench_conn *conn, const char *line)
{
	size_t len = strlen(line), done = 0;
	struct pollfd pfd = { .fd = conn->fd, .events = POLLOUT };
	ssize_t n;

	while (done < len) {
		n = send(conn->fd, line + done, len - done, MSG_NOSIGNAL);
		if (n == -1 && errno == EAGAIN) {
			poll(&pfd, 1, 1000);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			bench_die_errno("send a request to ctrd");
		done += (size_t)n;
	}
}

void
bench_conn_send_json(struct bench_conn *conn, json_t *request)
{
	char *text;
	size_t len;

	text = json_dumps(request, JSON_COMPACT);
	if (text == NULL)
		bench_die("encode a request: out of memory");
	len = strlen(text);
	text = realloc(text, len + 2);
	if (text == NULL)
		bench_die("encode a request: out of memory");
	text[len] = '\n';
	text[len + 1] = '\0';
	bench_conn_send(conn, text);
	free(text);
}

size_t
bench_conn_fill(struct bench_conn *conn)
{
	size_t total = 0;
	ssize_t n;

	/* Drop the lines already taken. */
	if (conn->start > 0) {
		conn->len -= conn->start;
		memmove(conn->buf, conn->buf + conn->start, conn->len);
		conn->start = 0;
	}
	for (;;) {
		if (conn->cap - conn->len < BENCH_CONN_BUF_START / 2) {
			conn->cap *= 2;
			conn->buf = realloc(conn->buf, conn->cap);
			if (conn->buf == NULL)
				bench_die("grow a connection buffer: out of memory");
		}
		n = recv(conn->fd, conn->buf + conn->len,
		    conn->cap - conn->len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return total;
		if (n == -1)
			bench_die_errno("read from ctrd");
		if (n == 0) {
			conn->eof = true;
			return total;
		}
		conn->len += (size_t)n;
		total += (size_t)n;
	}
}

const char *
bench_conn_next_line(struct bench_conn *conn, size_t *ret_len)
{
	char *line = conn->buf + conn->start, *newline;

	newline = memchr(line, '\n', conn->len - conn->start);
	if (newline == NULL)
		return NULL;
	*ret_len = (size_t)(newline - line);
	conn->start += *ret_len + 1;
	return line;
}

json_t *
bench_conn_next_json(struct bench_conn *conn)
{
	json_error_t error;
	const char *line;
	json_t *value;
	size_t len;

	line = bench_conn_next_line(conn, &len);
	if (line == NULL)
		return NULL;
	value = json_loadb(line, len, 0, &error);
	if (value == NULL)
		bench_die("ctrd sent a line that is not JSON: %s", error.text);
	return value;
}

json_t *
bench_conn_read_json(struct bench_conn *conn, int timeout_ms)
{
	struct pollfd pfd = { .fd = conn->fd, .events = POLLIN };
	int64_t deadline = bench_now_ns() + (int64_t)timeout_ms * 1000000;
	json_t *value;
	int64_t left_ms;

	for (;;) {
		value = bench_conn_next_json(conn);
		if (value != NULL)
			return value;
		if (conn->eof)
			bench_die("ctrd closed the connection");
		left_ms = (deadline - bench_now_ns()) / 1000000;
		if (left_ms <= 0)
			bench_die("no reply or event from ctrd within %d ms",
			    timeout_ms);
		if (poll(&pfd, 1, (int)left_ms) == -1 && errno != EINTR)
			bench_die_errno("wait for ctrd");
		bench_conn_fill(conn);
	}
}

const char *
bench_json_string(const json_t *object, const char *key)
{
	const char *value = json_string_value(json_object_get(object, key));

	return value != NULL ? value : "";
}

double
bench_criu_log_restore_ms(const char *path)
{
	double seconds, found = -1;
	char line[4096];
	FILE *log;

	log = fopen(path, "re");
	if (log == NULL)
		return -1;
	while (fgets(line, sizeof(line), log) != NULL) {
		if (strstr(line, "Restore finished successfully") == NULL)
			continue;
		if (sscanf(line, "(%lf)", &seconds) == 1)
			found = seconds * 1000;
	}
	fclose(log);
	return found;
}
