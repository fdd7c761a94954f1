/* The listening Unix socket and the set of client connections. */
#ifndef CTRD_SERVER_H
#define CTRD_SERVER_H

#include <stddef.h>

struct api;
struct error;
struct event_base;
struct server;

/* Limits on clients; see max_connections and friends in ctrd.json(5). */
struct server_limits {
	size_t max_line;		/* request line, newline included */
	int max_connections;		/* for clients other than root */
	int max_connections_per_uid;	/* for each uid other than root */
	int idle_timeout;		/* seconds; 0 keeps idle clients */
};

/*
 * Connections root may open beyond max_connections, so root can still
 * list and cancel jobs while other users hold every other slot.
 */
#define SERVER_ROOT_RESERVE 16

/*
 * Bind and listen on `path` (mode 0660, parent dir created 0755).  A stale
 * socket file that refuses connections is replaced, and a live one is an
 * error.
 */
struct server *server_new(struct event_base *base, const char *path,
    struct api *api, const struct server_limits *limits, struct error *err);

/*
 * Serve on `fd`, a listening Unix stream socket passed by systemd (taken
 * over, also on failure).  Its file belongs to systemd and is never
 * removed.
 */
struct server *server_adopt(struct event_base *base, int fd,
    struct api *api, const struct server_limits *limits, struct error *err);

/*
 * Change the limits for connections accepted from now on.  Open
 * connections keep their request-size limit and idle timeout.
 */
void server_set_limits(struct server *server,
    const struct server_limits *limits);

/* The socket path, as bound or as the passed socket reports it. */
const char *server_path(const struct server *server);

/*
 * Stop accepting and remove the socket file if ctrd bound it.  Open
 * connections stay, and the server must outlive them: free it only with
 * server_free().  Accepts NULL and a server already stopped.
 */
void server_stop(struct server *server);

/* Stop, close every open connection and free the server. */
void server_free(struct server *server);

#endif
