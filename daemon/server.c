#define _GNU_SOURCE
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "conn.h"
#include "error.h"
#include "log.h"
#include "server.h"

/* Delay before accepting again after running out of descriptors. */
#define SERVER_ACCEPT_RETRY_SECONDS 1

/* An open connection, kept so that server_free() can close it. */
struct server_conn {
	struct server *server;
	struct conn *conn;
	LIST_ENTRY(server_conn) link;
};

struct server {
	struct event_base *base;
	struct evconnlistener *listener;	/* NULL once stopped */
	struct event *retry_timer;
	struct api *api;
	char *path;
	bool owns_path;			/* bound by ctrd, so removed at free */
	struct server_limits limits;
	int connections;
	LIST_HEAD(, server_conn) conns;
	time_t last_reject_log;		/* rate-limits the rejection warning */
};

static void
server_on_conn_closed(struct conn *conn, void *arg)
{
	struct server_conn *entry = arg;

	entry->server->connections--;
	LIST_REMOVE(entry, link);
	free(entry);
}

/*
 * Tell a client over a connection limit why it is turned away, best effort
 * on the fresh socket, and log the first rejection of each burst.
 */
static void
server_reject(struct server *server, int fd, const char *message)
{
	char reply[256];
	time_t now = time(NULL);
	int len;

	len = snprintf(reply, sizeof(reply),
	    "{\"id\":null,\"error\":{\"code\":\"too-many-connections\",\"message\":\"%s; retry later\"}}\n",
	    message);
	(void)!send(fd, reply, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	if (now != server->last_reject_log) {
		log_warning(NULL, "%s, rejecting clients", message);
		server->last_reject_log = now;
	}
}

/* Count the open connections of `uid`. */
static int
server_count_uid(const struct server *server, uid_t uid)
{
	const struct server_conn *entry;
	int count = 0;

	LIST_FOREACH(entry, &server->conns, link)
		if (conn_peer_uid(entry->conn) == uid)
			count++;
	return count;
}

/*
 * Apply the connection limits to a new client with uid `uid`; return
 * whether it may stay.  root is never limited per uid and has a reserve
 * beyond max_connections.
 */
static bool
server_admit(struct server *server, int fd, uid_t uid)
{
	const struct server_limits *limits = &server->limits;
	char message[128];

	if (server->connections >= limits->max_connections +
	    (uid == 0 ? SERVER_ROOT_RESERVE : 0)) {
		snprintf(message, sizeof(message),
		    "ctrd serves its maximum of %d connections",
		    limits->max_connections);
		server_reject(server, fd, message);
		return false;
	}
	if (uid != 0 &&
	    server_count_uid(server, uid) >= limits->max_connections_per_uid) {
		snprintf(message, sizeof(message),
		    "uid %d has its maximum of %d connections open",
		    (int)uid, limits->max_connections_per_uid);
		server_reject(server, fd, message);
		return false;
	}
	return true;
}

static void
server_on_accept(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *addr, int len, void *arg)
{
	struct server *server = arg;
	socklen_t cred_len = sizeof(struct ucred);
	struct server_conn *entry;
	struct ucred peer;

	/* A client without credentials counts as uid -1, never as root. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &cred_len) == -1)
		peer.uid = (uid_t)-1;
	if (!server_admit(server, fd, peer.uid))
		return;
	entry = calloc(1, sizeof(*entry));
	if (entry == NULL) {
		close(fd);
		log_err(NULL, "set up a client connection: out of memory");
		return;
	}
	entry->server = server;
	entry->conn = conn_new(server->base, fd, server->api,
	    server->limits.max_line, server->limits.idle_timeout,
	    server_on_conn_closed, entry);
	if (entry->conn == NULL) {
		free(entry);
		log_err(NULL, "set up a client connection: out of memory");
		return;
	}
	LIST_INSERT_HEAD(&server->conns, entry, link);
	server->connections++;
}

static void
server_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct server *server = arg;

	evconnlistener_enable(server->listener);
}

/* Pause accepting on EMFILE/ENFILE instead of spinning on the error. */
static void
server_on_accept_error(struct evconnlistener *listener, void *arg)
{
	struct server *server = arg;
	struct timeval delay = { SERVER_ACCEPT_RETRY_SECONDS, 0 };
	int saved = errno;

	log_warning(NULL, "accept: %s, pausing for %d s", strerror(saved),
	    SERVER_ACCEPT_RETRY_SECONDS);
	evconnlistener_disable(listener);
	evtimer_add(server->retry_timer, &delay);
}

/* Remove a socket file left by a previous ctrd that no longer accepts. */
static int
server_remove_stale(const struct sockaddr_un *addr, struct error *err)
{
	struct stat st;
	int fd, ret;

	/* connect() to a file that is no socket fails as for a stale one. */
	if (lstat(addr->sun_path, &st) == -1 && errno == ENOENT)
		return 0;
	if (lstat(addr->sun_path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return error_set(err, "internal",
		    "'%s' exists and is not a socket; remove it or choose another --socket",
		    addr->sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return error_set_errno(err, "internal", "create socket");
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (ret == 0)
		return error_set(err, "internal",
		    "another ctrd already serves '%s'; stop it or choose another --socket",
		    addr->sun_path);
	if (errno == ENOENT)
		return 0;
	if (errno != ECONNREFUSED)
		return error_set_errno(err, "internal", "check socket '%s'",
		    addr->sun_path);
	if (unlink(addr->sun_path) == -1)
		return error_set_errno(err, "internal",
		    "remove stale socket '%s'", addr->sun_path);
	log_notice(NULL, "removed stale socket '%s'", addr->sun_path);
	return 0;
}

static int
server_make_parent(const char *path, struct error *err)
{
	char copy[PATH_MAX];
	char *parent;

	snprintf(copy, sizeof(copy), "%s", path);
	parent = dirname(copy);
	if (mkdir(parent, 0755) == -1 && errno != EEXIST)
		return error_set_errno(err, "internal",
		    "create socket directory '%s'", parent);
	return 0;
}

static int
server_bind(const char *path, struct error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return error_set(err, "internal",
		    "socket path '%s' is longer than %zu bytes", path,
		    sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (server_make_parent(path, err) < 0 ||
	    server_remove_stale(&addr, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return error_set_errno(err, "internal", "create socket");
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
	    chmod(path, 0660) == -1) {
		error_set_errno(err, "internal", "bind '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Serve on the listening socket `fd` (taken over, also on failure). */
static struct server *
server_listen(struct event_base *base, int fd, const char *path,
    struct api *api, const struct server_limits *limits, struct error *err)
{
	struct server *server;

	server = calloc(1, sizeof(*server));
	if (server == NULL || (server->path = strdup(path)) == NULL) {
		free(server);
		close(fd);
		return error_set_errno(err, "internal", "allocate server"),
		    NULL;
	}
	server->base = base;
	server->api = api;
	LIST_INIT(&server->conns);
	server->limits = *limits;
	server->retry_timer = evtimer_new(base, server_on_retry, server);
	server->listener = evconnlistener_new(base, server_on_accept, server,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (server->listener == NULL || server->retry_timer == NULL) {
		if (server->listener == NULL)
			close(fd);
		server_free(server);
		return error_set_errno(err, "internal", "listen on '%s'", path),
		    NULL;
	}
	evconnlistener_set_error_cb(server->listener, server_on_accept_error);
	return server;
}

struct server *
server_new(struct event_base *base, const char *path, struct api *api,
    const struct server_limits *limits, struct error *err)
{
	struct server *server;
	int fd;

	fd = server_bind(path, err);
	if (fd < 0)
		return NULL;
	server = server_listen(base, fd, path, api, limits, err);
	if (server == NULL) {
		unlink(path);
		return NULL;
	}
	server->owns_path = true;
	return server;
}

struct server *
server_adopt(struct event_base *base, int fd, struct api *api,
    const struct server_limits *limits, struct error *err)
{
	struct sockaddr_un addr = { 0 };
	socklen_t len = sizeof(addr);
	char path[sizeof(addr.sun_path) + 1] = "";

	if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0 &&
	    addr.sun_family == AF_UNIX)
		snprintf(path, sizeof(path), "%.*s",
		    (int)(len - offsetof(struct sockaddr_un, sun_path)),
		    addr.sun_path);
	/* Accepting must never block the loop. */
	if (evutil_make_socket_nonblocking(fd) == -1) {
		close(fd);
		return error_set_errno(err, "internal",
		    "make the passed socket non-blocking"), NULL;
	}
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "(passed socket)");
	return server_listen(base, fd, path, api, limits, err);
}

void
server_set_limits(struct server *server, const struct server_limits *limits)
{
	server->limits = *limits;
}

const char *
server_path(const struct server *server)
{
	return server->path;
}

void
server_stop(struct server *server)
{
	if (server == NULL || server->listener == NULL)
		return;
	evconnlistener_free(server->listener);
	server->listener = NULL;
	if (server->retry_timer != NULL)
		evtimer_del(server->retry_timer);
	if (server->owns_path)
		unlink(server->path);
}

void
server_free(struct server *server)
{
	if (server == NULL)
		return;
	server_stop(server);
	/* conn_free() calls server_on_conn_closed(), which unlinks the entry. */
	while (!LIST_EMPTY(&server->conns))
		conn_free(LIST_FIRST(&server->conns)->conn);
	if (server->retry_timer != NULL)
		event_free(server->retry_timer);
	free(server->path);
	free(server);
}

