/* Error values passed up the call chain: a stable code and a message. */
#ifndef CTRD_ERROR_H
#define CTRD_ERROR_H

#include <stddef.h>

#define ERROR_MESSAGE_MAX 512
#define ERROR_FIELD_MAX 64

/*
 * An error filled at the failure site and passed up untouched.  `code` is a
 * stable identifier from the API's error tables ("invalid-params",
 * "pid-in-use", ...) and points to a static string.  `field` names the
 * request member at fault, or is NULL.  It points to `field_name`, a copy
 * cut to ERROR_FIELD_MAX - 1 bytes, because the name may be a JSON key that
 * is freed before the error is reported.  Both `message` and `field_name`
 * are valid UTF-8, so that a JSON reply can carry them, because the setters
 * replace each byte that is not part of a valid sequence with '?'.  Never
 * copy the struct by value, because the copy's `field` would point into the
 * original.
 */
struct error {
	const char *code;
	const char *field;
	int sys_errno;
	char field_name[ERROR_FIELD_MAX];
	char message[ERROR_MESSAGE_MAX];
};

/* Fill `err` with a formatted message; always returns -1. */
int error_set(struct error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like error_set(), and name the request member at fault (copied). */
int error_set_field(struct error *err, const char *code, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Like error_set(), and append ": strerror(errno)" to the message. */
int error_set_errno(struct error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "prefix: " to the message of an error already set; returns -1. */
int error_prefix(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void error_clear(struct error *err);

#endif
