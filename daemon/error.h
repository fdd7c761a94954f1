/* Error values passed up the call chain: a stable code and a message. */
#ifndef CTRD_ERROR_H
#define CTRD_ERROR_H

#include <stddef.h>

#define ERROR_MESSAGE_MAX 512

/*
 * An error filled at the failure site and passed up untouched.  `code` is a
 * stable identifier from the API's error tables ("invalid-params",
 * "pid-in-use", ...) and `field` names the request member at fault, or is
 * NULL.  Both point to static strings.
 */
struct error {
	const char *code;
	const char *field;
	int sys_errno;
	char message[ERROR_MESSAGE_MAX];
};

/* Fill `err` with a formatted message; always returns -1. */
int error_set(struct error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like error_set(), and name the request member at fault. */
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
