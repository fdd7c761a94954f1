#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static enum log_level log_level = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERR] = "err",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(log_level_names) / sizeof(*log_level_names); i++)
		if (strcmp(name, log_level_names[i]) == 0)
			return (int)i;
	return -1;
}


void
log_set_level(enum log_level level)
{
	log_level = level;
}


void
log_write(enum log_level level, const char *job, const char *fmt, ...)
{
	char line[4096];
	int len;
	va_list ap;

	if (level > log_level)
		return;
	len = snprintf(line, sizeof(line), "ctrd[%s]%s%s: ",
	    log_level_names[level], job ? " job=" : "", job ? job : "");
	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
	va_end(ap);
	/* One write per line so lines from children never interleave mid-line. */
	fprintf(stderr, "%s\n", line);
}
