/* Errors passed up to a command, which prints each one once. */
#ifndef CTRD_CLI_ERROR_H
#define CTRD_CLI_ERROR_H

#define CLI_PROGRAM "ctrd-cli"

/* Long enough for a daemon message quoted inside a line of context. */
#define CLI_ERROR_MESSAGE_MAX 1024

/* A message filled at the failure site, without the program name. */
struct cli_error {
	char message[CLI_ERROR_MESSAGE_MAX];
};

/* Fill `err` with a formatted message.  Always returns -1. */
int cli_error_set(struct cli_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like cli_error_set(), and append ": strerror(errno)" to the message. */
int cli_error_set_errno(struct cli_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "ctrd-cli: MESSAGE" to stderr.  Returns EXIT_FAILURE. */
int cli_error_report(const struct cli_error *err);

#endif
