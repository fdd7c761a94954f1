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

/*
 * Sum the "UFFD transferred pages: (copied/total)" lines a lazy-pages
 * server logs per restored task when it finishes (CRIU 4.x, criu/uffd.c,
 * log level 4 only).  Returns the number of tasks found, 0 when the log
 * has no such line, or -1 when it cannot be read.
 */
int criu_log_count_lazy_pages(int dir_fd, const char *name,
    long *ret_copied, long *ret_total);

#endif
