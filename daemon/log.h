/*
 * Leveled logging, one record per message, tagged with a job id.
 *
 * Records go to stderr as "ctrd[LEVEL] job=ID: message" lines, or to the
 * systemd journal with structured fields (CTRD_JOB, CTRD_PHASE,
 * CTRD_PEER_UID) when the target is the journal.  Errors and warnings are
 * rate limited per call site, so a fault that repeats on every request
 * cannot flood the log.
 */
#ifndef CTRD_LOG_H
#define CTRD_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_target {
	LOG_TARGET_AUTO,	/* the journal if stderr is connected to it */
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
};

/* Subject of a record.  NULL strings and a negative uid are left out. */
struct log_context {
	const char *job;
	const char *phase;
	long long peer_uid;
};

/*
 * Per-call-site limiter state.  Zero-initialised means "no messages yet".
 * Times are CLOCK_MONOTONIC milliseconds.
 */
struct log_ratelimit {
	uint64_t window_start_ms;
	unsigned int shown;
	unsigned int suppressed;
};

/* Parse "err", "warning", "notice", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);

/* Parse "auto", "stderr" or "journal"; -1 if unknown. */
int log_target_parse(const char *name);
const char *log_target_name(enum log_target target);

/*
 * Choose where records go.  LOG_TARGET_AUTO picks the journal when
 * JOURNAL_STREAM names the device and inode of stderr, which is how
 * systemd marks a service's stderr as a journal stream (systemd.exec(5)).
 */
void log_set_target(enum log_target target);
/* The target in use after resolving LOG_TARGET_AUTO. */
enum log_target log_get_target(void);

/*
 * Set the rate limit for errors and warnings: at most `burst` records per
 * call site in each `interval_ms` window.  The default is 10 per 10 s.
 */
void log_set_ratelimit(unsigned int burst, unsigned int interval_ms);

/* Write one record at `level`; `job` is a job id or NULL. */
void log_write(enum log_level level, const char *job, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write one record with structured context; `ctx` may be NULL. */
void log_write_context(enum log_level level, const struct log_context *ctx,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Write one record unless its call site, tracked by `limit`, is over the
 * rate limit.  The first record of a new window first reports how many
 * records the site dropped in the previous one.
 */
void log_write_limited(struct log_ratelimit *limit, enum log_level level,
    const char *job, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_limited(level, job, ...) do {				\
	static struct log_ratelimit log_site_limit_;			\
	log_write_limited(&log_site_limit_, level, job, __VA_ARGS__);	\
} while (0)

#define log_err(job, ...) log_limited(LOG_LEVEL_ERR, job, __VA_ARGS__)
#define log_warning(job, ...) log_limited(LOG_LEVEL_WARNING, job, __VA_ARGS__)
#define log_notice(job, ...) log_write(LOG_LEVEL_NOTICE, job, __VA_ARGS__)
#define log_info(job, ...) log_write(LOG_LEVEL_INFO, job, __VA_ARGS__)
#define log_debug(job, ...) log_write(LOG_LEVEL_DEBUG, job, __VA_ARGS__)

#endif
