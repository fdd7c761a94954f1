/* Finding the cause of a failed CRIU run in its log. */
#ifndef CTRD_CRIU_LOG_H
#define CTRD_CRIU_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* How much of the end of a log is read: causes sit near its end. */
#define CRIU_LOG_TAIL_BYTES (256 * 1024)

/* Maximum number of log lines attached to a failure. */
#define CRIU_LOG_MAX_LINES 20

struct criu_log_cause {
	const char *code;	/* stable error code, e.g. "pid-in-use" */
	bool found;		/* a log line names the cause */
	char message[512];	/* one sentence naming the cause */
	json_t *lines;		/* owned array of the log lines that show it */
};

/*
 * Explain a failed CRIU run from the text of its log.  CRIU's own error
 * message is the first "Error" line, which is often a harmless one (such
 * as failing to raise RLIMIT_NOFILE without CAP_SYS_RESOURCE), so known
 * causes are matched first and harmless errors skipped.  Always fills
 * `cause`; release it with criu_log_cause_clear().
 */
void criu_log_explain(const char *text, size_t len,
    struct criu_log_cause *cause);

/* Read the tail of the log file at `path` and explain it. */
void criu_log_explain_file(int dir_fd, const char *name,
    struct criu_log_cause *cause);

void criu_log_cause_clear(struct criu_log_cause *cause);

/* Running totals of a lazy-pages server's log, read as it grows. */
struct criu_log_lazy_progress {
	long total_pages;	/* sum of "Found N pages to be handled" */
	long copied_bytes;	/* sum of "uffd_copy: ADDR/LEN" lengths */
};

/*
 * Add the complete lines of `text` to `progress` and return how many bytes
 * they span; a partial last line is left for the next call.  The lines are
 * CRIU 4.x debug output from criu/uffd.c, written at log level 4 only.
 */
size_t criu_log_scan_lazy_progress(const char *text, size_t len,
    struct criu_log_lazy_progress *progress);

/*
 * Sum the "UFFD transferred pages: (copied/total)" lines a lazy-pages
 * server logs per restored task when it finishes (CRIU 4.x, criu/uffd.c,
 * log level 4 only).  Returns the number of tasks found, 0 when the log
 * has no such line, or -1 when it cannot be read.
 */
int criu_log_count_lazy_pages(int dir_fd, const char *name,
    long *ret_copied, long *ret_total);

#endif
