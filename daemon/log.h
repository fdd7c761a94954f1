/* Leveled logging to stderr, one line per message, tagged with a job id. */
#ifndef CTRD_LOG_H
#define CTRD_LOG_H

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Parse "err", "warning", "notice", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *name);
void log_set_level(enum log_level level);

/* Write one line at `level`; `job` is a job id or NULL. */
void log_write(enum log_level level, const char *job, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(job, ...) log_write(LOG_LEVEL_ERR, job, __VA_ARGS__)
#define log_warning(job, ...) log_write(LOG_LEVEL_WARNING, job, __VA_ARGS__)
#define log_notice(job, ...) log_write(LOG_LEVEL_NOTICE, job, __VA_ARGS__)
#define log_info(job, ...) log_write(LOG_LEVEL_INFO, job, __VA_ARGS__)
#define log_debug(job, ...) log_write(LOG_LEVEL_DEBUG, job, __VA_ARGS__)

#endif
