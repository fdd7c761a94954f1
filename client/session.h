/* One command's conversation with ctrd: requests, their replies and events. */
#ifndef CTRD_CLI_SESSION_H
#define CTRD_CLI_SESSION_H

#include <stdbool.h>

#include <jansson.h>

struct cli_error;
struct session;

/*
 * Connect to ctrd at `socket_path`.  With `print_raw`, every line received
 * is printed to stdout as it arrived, before it is handled.
 */
struct session *session_open(const char *socket_path, bool print_raw,
    struct cli_error *err);

/* Close and free `session`.  Accepts NULL and returns NULL. */
struct session *session_free(struct session *session);

/*
 * Send a request for `method` with `params`, which is consumed and may be
 * NULL for none, and wait for its reply.  Returns the reply's result, owned
 * by the caller, or NULL with `err` set.  An error reply sets `err` to its
 * message, followed by " (field: X)" when the reply names a field.
 */
json_t *session_call(struct session *session, const char *method,
    json_t *params, struct cli_error *err);

/*
 * Wait for the next event.  Returns 1 with `ret_event` owned by the caller,
 * 0 once ctrd has closed the connection, or -1 on error.  Lines that are
 * not events are skipped.
 */
int session_next_event(struct session *session, json_t **ret_event,
    struct cli_error *err);

/*
 * Return the session's socket, for a caller that waits on several sessions
 * with poll(2).  Check session_has_line() first: a line already buffered
 * does not make the socket readable.
 */
int session_fd(const struct session *session);

/* Return true if the next session_next_event() can start without waiting. */
bool session_has_line(const struct session *session);

#endif
