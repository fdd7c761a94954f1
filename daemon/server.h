/* The listening Unix socket and the set of client connections. */
#ifndef CTRD_SERVER_H
#define CTRD_SERVER_H

#include <stddef.h>

struct api;
struct error;
struct event_base;
struct server;

/*
 * Bind and listen on `path` (mode 0660, parent dir created 0755).  A stale
 * socket file that refuses connections is replaced, and a live one is an
 * error.
 */
struct server *server_new(struct event_base *base, const char *path,
    struct api *api, size_t max_line, int max_connections,
    struct error *err);

/* Stop accepting and remove the socket file; open connections stay. */
void server_free(struct server *server);

#endif
