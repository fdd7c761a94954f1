#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* CODE_FILE and friends would name log.c, not the caller. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

#define LOG_MESSAGE_MAX 4096
/* journald's socket for the native protocol (systemd-journald(8)). */
#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Room for "CTRD_JOB=" and friends around the value. */
#define LOG_FIELD_MAX 128

static enum log_level log_level = LOG_LEVEL_INFO;
static enum log_target log_target = LOG_TARGET_STDERR;
static unsigned int log_burst = 10;
static unsigned int log_interval_ms = 10000;

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERR] = "err",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* syslog(3) priorities, which journald stores in PRIORITY=. */
static const int log_level_priorities[] = {
	[LOG_LEVEL_ERR] = 3,
	[LOG_LEVEL_WARNING] = 4,
	[LOG_LEVEL_NOTICE] = 5,
	[LOG_LEVEL_INFO] = 6,
	[LOG_LEVEL_DEBUG] = 7,
};

static const char *const log_target_names[] = {
	[LOG_TARGET_AUTO] = "auto",
	[LOG_TARGET_STDERR] = "stderr",
	[LOG_TARGET_JOURNAL] = "journal",
};

#define NELEM(a) (sizeof(a) / sizeof(*(a)))

static int
log_lookup(const char *const *names, size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int
log_level_parse(const char *name)
{
	return log_lookup(log_level_names, NELEM(log_level_names), name);
}

const char *
log_level_name(enum log_level level)
{
	return log_level_names[level];
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_target_parse(const char *name)
{
	return log_lookup(log_target_names, NELEM(log_target_names), name);
}

const char *
log_target_name(enum log_target target)
{
	return log_target_names[target];
}

/* Whether JOURNAL_STREAM ("DEV:INODE") names the file stderr is open on. */
static bool
log_stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (stream == NULL || sscanf(stream, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(2, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/*
 * Return whether journald's native socket exists.  sd_journal_sendv()
 * reports success and drops the record when it does not, so a missing
 * journal must be found before records are sent to it.
 */
static bool
log_journal_present(void)
{
	return access(LOG_JOURNAL_SOCKET, F_OK) == 0;
}

void
log_set_target(enum log_target target)
{
	if (target == LOG_TARGET_AUTO)
		target = log_stderr_is_journal() ? LOG_TARGET_JOURNAL :
		    LOG_TARGET_STDERR;
	if (target == LOG_TARGET_JOURNAL && !log_journal_present()) {
		log_target = LOG_TARGET_STDERR;
		log_write(LOG_LEVEL_WARNING, NULL,
		    "no journald socket at '%s', logging to stderr instead",
		    LOG_JOURNAL_SOCKET);
		return;
	}
	log_target = target;
}

enum log_target
log_get_target(void)
{
	return log_target;
}

void
log_set_ratelimit(unsigned int burst, unsigned int interval_ms)
{
	log_burst = burst;
	log_interval_ms = interval_ms;
}

static void
log_emit_stderr(enum log_level level, const struct log_context *ctx,
    const char *message)
{
	const char *job = ctx != NULL ? ctx->job : NULL;

	/* One write per line so lines from children never interleave. */
	fprintf(stderr, "ctrd[%s]%s%s: %s\n", log_level_names[level],
	    job != NULL ? " job=" : "", job != NULL ? job : "", message);
}

/* Append "NAME=value" to `iov` using `buf` for storage. */
static void
log_field(struct iovec *iov, size_t *n, char *buf, const char *name,
    const char *value)
{
	int len = snprintf(buf, LOG_FIELD_MAX, "%s=%s", name, value);

	iov[*n].iov_base = buf;
	iov[*n].iov_len = (size_t)len < LOG_FIELD_MAX ? (size_t)len :
	    LOG_FIELD_MAX - 1;
	(*n)++;
}

/*
 * Send one record to journald's native socket.  Returns a negative errno
 * when the send fails, so the caller can fall back to stderr.
 */
static int
log_emit_journal(enum log_level level, const struct log_context *ctx,
    const char *message)
{
	char message_field[LOG_MESSAGE_MAX + 16];
	char fields[5][LOG_FIELD_MAX];
	char number[32];
	struct iovec iov[7];
	size_t n = 0;

	snprintf(message_field, sizeof(message_field), "MESSAGE=%s", message);
	iov[n].iov_base = message_field;
	iov[n++].iov_len = strlen(message_field);
	snprintf(number, sizeof(number), "%d", log_level_priorities[level]);
	log_field(iov, &n, fields[0], "PRIORITY", number);
	log_field(iov, &n, fields[1], "SYSLOG_IDENTIFIER", "ctrd");
	if (ctx != NULL && ctx->job != NULL)
		log_field(iov, &n, fields[2], "CTRD_JOB", ctx->job);
	if (ctx != NULL && ctx->phase != NULL)
		log_field(iov, &n, fields[3], "CTRD_PHASE", ctx->phase);
	if (ctx != NULL && ctx->peer_uid >= 0) {
		snprintf(number, sizeof(number), "%lld", ctx->peer_uid);
		log_field(iov, &n, fields[4], "CTRD_PEER_UID", number);
	}
	return sd_journal_sendv(iov, (int)n);
}

/*
 * Replace control characters, such as a newline in a job id a client
 * sent, with '?', so no message can forge a second log line.
 *
 * NOTE: only ASCII controls are replaced.  C1 controls and U+2028, which
 * some log viewers also break lines at, pass through as UTF-8.
 */
static void
log_escape_controls(char *message)
{
	unsigned char *p;

	for (p = (unsigned char *)message; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static void __attribute__((format(printf, 3, 0)))
log_vwrite(enum log_level level, const struct log_context *ctx,
    const char *fmt, va_list ap)
{
	char message[LOG_MESSAGE_MAX];

	if (level > log_level)
		return;
	vsnprintf(message, sizeof(message), fmt, ap);
	log_escape_controls(message);
	if (log_target == LOG_TARGET_JOURNAL &&
	    log_emit_journal(level, ctx, message) >= 0)
		return;
	log_emit_stderr(level, ctx, message);
}

void
log_write(enum log_level level, const char *job, const char *fmt, ...)
{
	struct log_context ctx = { .job = job, .peer_uid = -1 };
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, &ctx, fmt, ap);
	va_end(ap);
}

void
log_write_context(enum log_level level, const struct log_context *ctx,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, ctx, fmt, ap);
	va_end(ap);
}

static uint64_t
log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Count one record against `limit`; return whether to write it.  A new
 * window starts once the current one is `log_interval_ms` old.
 */
static bool
log_ratelimit_pass(struct log_ratelimit *limit, enum log_level level,
    const char *job, const char *fmt)
{
	uint64_t now = log_now_ms();

	if (limit->shown == 0 || now - limit->window_start_ms >= log_interval_ms) {
		if (limit->suppressed > 0)
			log_write(level, job, "suppressed %u messages like "
			    "\"%s\" in the last %u ms", limit->suppressed, fmt,
			    log_interval_ms);
		limit->window_start_ms = now;
		limit->shown = 0;
		limit->suppressed = 0;
	}
	if (limit->shown >= log_burst) {
		limit->suppressed++;
		return false;
	}
	limit->shown++;
	return true;
}

void
log_write_limited(struct log_ratelimit *limit, enum log_level level,
    const char *job, const char *fmt, ...)
{
	struct log_context ctx = { .job = job, .peer_uid = -1 };
	va_list ap;

	if (level > log_level || !log_ratelimit_pass(limit, level, job, fmt))
		return;
	va_start(ap, fmt);
	log_vwrite(level, &ctx, fmt, ap);
	va_end(ap);
}
