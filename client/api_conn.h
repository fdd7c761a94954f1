/* A connection to ctrd's API socket, carrying one JSON object per line. */
#ifndef CTRD_CLI_API_CONN_H
#define CTRD_CLI_API_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * The maximum length of a line from ctrd, not counting its newline.  Events
 * carry CRIU log lines, so lines far longer than a request are normal.
 */
#define API_CONN_MAX_LINE (4 * 1024 * 1024)

struct api_conn;
struct cli_error;

/* One received line: the decoded object and the line as sent. */
struct api_conn_message {
	json_t *json;		/* owned by the caller */
	const char *line;	/* valid until the next api_conn_recv() */
	size_t len;
};

/* Connect to the Unix socket at `path`. */
struct api_conn *api_conn_open(const char *path, struct cli_error *err);

/* Close and free `conn`.  Accepts NULL and returns NULL. */
struct api_conn *api_conn_free(struct api_conn *conn);

/* Send `object` as one compact line. */
int api_conn_send(struct api_conn *conn, const json_t *object,
    struct cli_error *err);

/*
 * Receive the next line and decode it.  Returns 1 with `ret_message`
 * filled, 0 once ctrd has closed the connection, or -1 on error, including
 * a line that is not a JSON object.
 */
int api_conn_recv(struct api_conn *conn, struct api_conn_message *ret_message,
    struct cli_error *err);

/* Return the connection's socket, for poll(2).  `conn` still owns it. */
int api_conn_fd(const struct api_conn *conn);

/*
 * Return true if a whole line is buffered, so that api_conn_recv() returns
 * without reading from the socket, which poll(2) would not report.
 */
bool api_conn_has_line(const struct api_conn *conn);

#endif
