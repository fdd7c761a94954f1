/* One client connection: line framing, replies and followed jobs. */
#ifndef CTRD_CONN_H
#define CTRD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <jansson.h>

/* At most this many jobs followed at once by one connection. */
#define CONN_MAX_FOLLOWED 64

struct api;
struct conn;
struct event_base;
struct job;

/* Called once when the connection is gone, before it is freed. */
typedef void conn_closed_fn(struct conn *conn, void *arg);

/*
 * Serve the accepted socket `fd` (taken over): each line is handed to
 * api_handle_line().  Lines longer than `max_line` bytes get a
 * request-too-large error and end the connection.  A connection that sends
 * nothing for `idle_timeout` seconds (0: no limit) while it follows no job
 * is closed.
 */
struct conn *conn_new(struct event_base *base, int fd, struct api *api,
    size_t max_line, int idle_timeout, conn_closed_fn *closed, void *arg);

/* Queue `object` as one line of output. */
void conn_send(struct conn *conn, const json_t *object);

/*
 * Stream `job`'s events on this connection until the job ends.  Following
 * an ended job does nothing.  Returns -1 when the connection already
 * follows CONN_MAX_FOLLOWED jobs or memory ran out.
 */
int conn_follow(struct conn *conn, struct job *job);

/* Return whether the connection can follow one more job. */
bool conn_can_follow(const struct conn *conn);

/* Flush pending output, then close. */
void conn_close_after_flush(struct conn *conn);

/* Close at once, dropping pending output. */
void conn_free(struct conn *conn);

/*
 * The peer's credentials from SO_PEERCRED at accept time; uid and gid are
 * -1 and pid 0 if the kernel gave none.
 */
const struct ucred *conn_peer(const struct conn *conn);
uid_t conn_peer_uid(const struct conn *conn);

#endif
