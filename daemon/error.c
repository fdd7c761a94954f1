#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* Marking `fmt` as a format lets clang accept passing it to vsnprintf(). */
static void error_vset(struct error *err, const char *code, const char *field,
    int sys_errno, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/*
 * Return the length of the UTF-8 sequence at `s`, or 0 when it is invalid.
 * Overlong forms, surrogates and code points above U+10FFFF are invalid,
 * as they are to jansson's utf8_check_full().  The NUL terminator fails
 * every continuation test, so no byte past it is read.
 */
static size_t
error_utf8_length(const unsigned char *s)
{
	unsigned char low = 0x80, high = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		low = 0xa0;
	else if (s[0] == 0xed)
		high = 0x9f;
	else if (s[0] == 0xf0)
		low = 0x90;
	else if (s[0] == 0xf4)
		high = 0x8f;
	if (s[1] < low || s[1] > high)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Replace each byte of `text` that is not part of a valid UTF-8 sequence
 * with '?'.  Messages quote client input, paths and jansson's parse errors.
 * These may contain any bytes, and a precision or a full buffer may cut
 * them inside a character.  jansson rejects a string that is not valid
 * UTF-8, so without this the API could not encode the error reply at all.
 */
static void
error_repair_utf8(char *text)
{
	unsigned char *s = (unsigned char *)text;
	size_t len;

	while (*s != '\0') {
		len = error_utf8_length(s);
		if (len == 0) {
			*s++ = '?';
			continue;
		}
		s += len;
	}
}

/* Fill every member of `err`; `field` is copied, as its JSON may be freed. */
static void
error_vset(struct error *err, const char *code, const char *field,
    int sys_errno, const char *fmt, va_list ap)
{
	err->code = code;
	err->field = NULL;
	if (field != NULL) {
		snprintf(err->field_name, sizeof(err->field_name), "%s", field);
		error_repair_utf8(err->field_name);
		err->field = err->field_name;
	}
	err->sys_errno = sys_errno;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	error_repair_utf8(err->message);
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
	error_repair_utf8(err->message + len);
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
	error_repair_utf8(err->message);
	return -1;
}

void
error_clear(struct error *err)
{
	memset(err, 0, sizeof(*err));
}
