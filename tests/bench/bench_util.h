/* Helpers shared by the benchmark programs in tests/bench. */
#ifndef CTRD_BENCH_UTIL_H
#define CTRD_BENCH_UTIL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Set the name error messages start with. */
void bench_set_program(const char *name);

/* Print "PROGRAM: MESSAGE" to stderr and exit with status 1. */
void bench_die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* Like bench_die(), and append ": strerror(errno)". */
void bench_die_errno(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* Print "PROGRAM: MESSAGE" to stderr and go on. */
void bench_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Return CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_now_ns(void);

/* Return the milliseconds from `start_ns` to `end_ns`. */
double bench_elapsed_ms(int64_t start_ns, int64_t end_ns);

/*
 * Sort `values` in place and return the `p`-th percentile (0 to 100) by
 * the nearest-rank method, or -1 when `count` is 0.
 */
double bench_percentile(double *values, size_t count, double p);

/*
 * Open the TSV file `path` to append, and write `header` first when the
 * file is empty.  Exits on failure.
 */
FILE *bench_open_out(const char *path, const char *header);

/* Parse a decimal integer in [min, max], or exit naming `what`. */
long long bench_parse_int(const char *what, const char *text, long long min,
    long long max);

/*
 * Make this process the subreaper of its descendants, so a tree that CRIU
 * restores and leaves behind becomes its child and can be reaped.
 */
void bench_become_subreaper(void);

/*
 * Send SIGKILL to `pid`, a child of this process, and reap it.  Exits when
 * `pid` is not above 1.
 */
void bench_kill_child(pid_t pid);

/* Reap every child that has exited, without waiting. */
void bench_reap_exited(void);

/*
 * A buffered, line-oriented connection to ctrd's API socket.  Reads are
 * non-blocking; bench_conn_read_json() waits with poll().
 */
struct bench_conn {
	int fd;
	char *buf;
	size_t start;		/* offset of the first byte not yet taken */
	size_t len;		/* bytes in buf, taken ones included */
	size_t cap;
	bool eof;
};

/*
 * Connect to the Unix socket at `path`, non-blocking and close-on-exec.
 * Returns -1 with errno set on failure; the caller decides whether that
 * ends the benchmark.
 */
int bench_connect(const char *path);

/* Connect `conn` to `path`, or exit. */
void bench_conn_open(struct bench_conn *conn, const char *path);

void bench_conn_close(struct bench_conn *conn);

/* Write the whole of `line` (which ends in '\n'), or exit. */
void bench_conn_send(struct bench_conn *conn, const char *line);

/* Send `request` as one JSON line, or exit.  Takes no reference. */
void bench_conn_send_json(struct bench_conn *conn, json_t *request);

/*
 * Read what the socket has now.  Returns the number of bytes read, 0 when
 * nothing was ready, and sets conn->eof when ctrd closed the connection.
 * Exits on a socket error.
 */
size_t bench_conn_fill(struct bench_conn *conn);

/*
 * Take the next complete line out of the buffer: return its start and
 * store its length, without the newline, in *ret_len.  The line stays
 * valid until the next bench_conn_fill().  Returns NULL when no complete
 * line is buffered.
 */
const char *bench_conn_next_line(struct bench_conn *conn, size_t *ret_len);

/*
 * Take the next complete line out of the buffer and parse it.  Returns
 * NULL when no complete line is buffered; exits on invalid JSON.
 */
json_t *bench_conn_next_json(struct bench_conn *conn);

/*
 * Return the next JSON line, waiting up to `timeout_ms`.  Exits on a
 * timeout or when ctrd closes the connection.
 */
json_t *bench_conn_read_json(struct bench_conn *conn, int timeout_ms);

/* Return member `key` of `object` as a string, or "" when absent. */
const char *bench_json_string(const json_t *object, const char *key);

/*
 * Return the milliseconds from CRIU's log start to its "Restore finished
 * successfully" line in the restore log at `path` (written with log level
 * 4, whose lines start with "(SECONDS.MICROSECONDS)"), or -1 when the log
 * has no such line.  CRIU starts that clock when it sets up its log for
 * the request, so the span covers CRIU's whole work on the request.
 */
double bench_criu_log_restore_ms(const char *path);

#endif
