#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_error.h"
#include "value.h"

int
cli_error_set(struct cli_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int
cli_error_set_errno(struct cli_error *err, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	len = strlen(err->message);
	snprintf(err->message + len, sizeof(err->message) - len, ": %s",
	    strerror(saved));
	errno = saved;
	return -1;
}

int
cli_error_report(const struct cli_error *err)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", CLI_PROGRAM);
	value_print_text(stderr, err->message);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}
