#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* Marking `fmt` as a format lets clang accept passing it to vsnprintf(). */
static void error_vset(struct error *err, const char *code, const char *field,
    int sys_errno, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/* Fill every member of `err`; `field` is copied, as its JSON may be freed. */
static void
error_vset(struct error *err, const char *code, const char *field,
    int sys_errno, const char *fmt, va_list ap)
{
	err->code = code;
	err->field = NULL;
	if (field != NULL) {
		snprintf(err->field_name, sizeof(err->field_name), "%s", field);
		err->field = err->field_name;
	}
	err->sys_errno = sys_errno;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int
error_set(struct error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, code, NULL, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
error_set_field(struct error *err, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, code, field, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
error_set_errno(struct error *err, const char *code, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, code, NULL, saved, fmt, ap);
	va_end(ap);
	len = strlen(err->message);
	snprintf(err->message + len, sizeof(err->message) - len, ": %s",
	    strerror(saved));
	errno = saved;
	return -1;
}

int
error_prefix(struct error *err, const char *fmt, ...)
{
	char prefix[ERROR_MESSAGE_MAX];
	char joined[ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(joined, sizeof(joined), "%s: %s", prefix, err->message);
	memcpy(err->message, joined, sizeof(err->message));
	return -1;
}

void
error_clear(struct error *err)
{
	memset(err, 0, sizeof(*err));
}
