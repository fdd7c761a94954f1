#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "api.h"
#include "conn.h"
#include "event_json.h"
#include "job.h"
#include "log.h"

struct conn {
	struct bufferevent *bev;
	struct api *api;
	size_t max_line;
	bool closing;		/* no more output: free once flushed */
	bool read_closed;	/* client shut down its side */
	bool read_paused;	/* too much output unread, see conn_on_read */
	struct event *drop_event;	/* frees a client that stopped reading */
	struct event *peer_check;	/* polls a half-closed peer, see below */
	struct event *idle_timer;	/* closes a client that went quiet */
	int idle_timeout;		/* seconds, 0 for none */
	struct ucred peer;
	struct conn_follow {
		struct job_watch *watch;
		char job[JOB_ID_LEN + 1];
	} follows[CONN_MAX_FOLLOWED];
	conn_closed_fn *closed;
	void *arg;
};

/*
 * Output a client may leave unread before it is disconnected.  Events are
 * a few hundred bytes, so only a client that stopped reading gets here, and
 * it must not make ctrd buffer without bound.
 */
#define CONN_MAX_PENDING_BYTES (16 * 1024 * 1024)

/*
 * A client that sends requests faster than it reads the replies stops being
 * read once this much output waits for it, and is read again once the
 * output drains to half of it.  So output grows only with events of
 * followed jobs, never with requests, and the total held for all clients
 * stays near max_connections times this.
 */
#define CONN_READ_PAUSE_BYTES (256 * 1024)

/* Time a closing connection gets to read its last output, in seconds. */
#define CONN_FLUSH_SECONDS 10

/* Interval between checks that a half-closed peer still has its socket. */
#define CONN_PEER_CHECK_SECONDS 1

static void conn_on_read(struct bufferevent *bev, void *arg);
static void conn_on_idle(evutil_socket_t fd, short what, void *arg);
static void conn_arm_idle_timer(struct conn *conn);
static void conn_handle_tail(struct conn *conn);

static bool
conn_follows_any(const struct conn *conn)
{
	size_t i;

	for (i = 0; i < CONN_MAX_FOLLOWED; i++)
		if (conn->follows[i].watch != NULL)
			return true;
	return false;
}

/*
 * Queue `line` for the client.  With nothing queued before it, the line
 * goes straight to the socket, which saves the loop a round of enabling,
 * polling and disabling the write event for each reply and event.  What
 * the socket does not take is queued; a send error is left for the
 * bufferevent's own write to report.
 */
static void
conn_write_line(struct conn *conn, const char *line, size_t len)
{
	struct evbuffer *output = bufferevent_get_output(conn->bev);
	ssize_t sent = 0;

	if (evbuffer_get_length(output) == 0) {
		sent = send(bufferevent_getfd(conn->bev), line, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0)
			sent = 0;
	}
	if ((size_t)sent < len)
		bufferevent_write(conn->bev, line + sent, len - (size_t)sent);
}

void
conn_send(struct conn *conn, const json_t *object)
{
	size_t len, pending;
	char *line;

	if (conn->closing)
		return;
	/*
	 * The bound applies to what is already waiting, so one large reply,
	 * such as a list of many jobs, still goes to a client that reads.
	 */
	pending = evbuffer_get_length(bufferevent_get_output(conn->bev));
	if (pending <= CONN_MAX_PENDING_BYTES) {
		line = event_json_encode_line(object, &len);
		if (line == NULL) {
			log_err(NULL, "encode a reply: out of memory");
			return;
		}
		conn_write_line(conn, line, len);
		free(line);
		return;
	}
	/* Freed from the loop: the caller may be iterating over watchers. */
	log_warning(NULL, "pid %d: client left over %d bytes unread, disconnecting it",
	    (int)conn->peer.pid, CONN_MAX_PENDING_BYTES);
	conn->closing = true;
	bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
	event_active(conn->drop_event, EV_TIMEOUT, 0);
}

static void
conn_on_drop(evutil_socket_t fd, short what, void *arg)
{
	conn_free(arg);
}

static void
conn_on_job_event(const json_t *event, bool last, void *arg)
{
	struct conn *conn = arg;
	const char *id = json_string_value(json_object_get(event, "job"));
	size_t i;

	conn_send(conn, event);
	if (!last)
		return;
	/* The job frees the watch after this call: forget it here. */
	for (i = 0; i < CONN_MAX_FOLLOWED; i++) {
		if (conn->follows[i].watch != NULL && id != NULL &&
		    strcmp(conn->follows[i].job, id) == 0) {
			conn->follows[i].watch = NULL;
			break;
		}
	}
	/* A client that shut down its side waited only for these events. */
	if (conn->read_closed && !conn_follows_any(conn))
		conn_close_after_flush(conn);
}

bool
conn_can_follow(const struct conn *conn)
{
	size_t i;

	for (i = 0; i < CONN_MAX_FOLLOWED; i++)
		if (conn->follows[i].watch == NULL)
			return true;
	return false;
}

int
conn_follow(struct conn *conn, struct job *job)
{
	size_t i;

	if (job_is_ended(job))
		return 0;
	for (i = 0; i < CONN_MAX_FOLLOWED; i++) {
		if (conn->follows[i].watch != NULL)
			continue;
		conn->follows[i].watch = job_watch_add(job, conn_on_job_event,
		    conn);
		if (conn->follows[i].watch == NULL)
			return -1;
		memcpy(conn->follows[i].job, job_id(job), JOB_ID_LEN + 1);
		return 0;
	}
	return -1;
}

void
conn_free(struct conn *conn)
{
	size_t i;

	if (conn == NULL)
		return;
	for (i = 0; i < CONN_MAX_FOLLOWED; i++)
		job_watch_remove(conn->follows[i].watch);
	if (conn->closed != NULL)
		conn->closed(conn, conn->arg);
	event_free(conn->drop_event);
	event_free(conn->peer_check);
	event_free(conn->idle_timer);
	bufferevent_free(conn->bev);
	free(conn);
}

/* Stop reading requests until the client has read most of its replies. */
static void
conn_pause_reading(struct conn *conn)
{
	conn->read_paused = true;
	bufferevent_disable(conn->bev, EV_READ);
	bufferevent_setwatermark(conn->bev, EV_WRITE, CONN_READ_PAUSE_BYTES / 2,
	    0);
}

static void
conn_on_write(struct bufferevent *bev, void *arg)
{
	struct conn *conn = arg;
	size_t pending = evbuffer_get_length(bufferevent_get_output(bev));

	if (conn->closing) {
		if (pending == 0)
			conn_free(conn);
		return;
	}
	if (!conn->read_paused || pending > CONN_READ_PAUSE_BYTES / 2)
		return;
	conn->read_paused = false;
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	if (!conn->read_closed)
		bufferevent_enable(bev, EV_READ);
	/* Lines that arrived before the pause raise no new read event. */
	conn_on_read(bev, conn);
}

void
conn_close_after_flush(struct conn *conn)
{
	struct timeval deadline = { CONN_FLUSH_SECONDS, 0 };

	conn->closing = true;
	bufferevent_disable(conn->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
		conn_free(conn);
		return;
	}
	/* A client that never reads must not keep its slot. */
	evtimer_add(conn->drop_event, &deadline);
}

/*
 * Return whether the peer closed its socket, as opposed to only shutting
 * down its writing side.  On a Unix stream socket, closing marks the peer's
 * end shut for sending too, so an empty send fails with EPIPE (Linux
 * net/unix/af_unix.c, unix_release_sock and unix_stream_sendmsg).
 */
static bool
conn_peer_gone(struct conn *conn)
{
	int fd = bufferevent_getfd(conn->bev);

	return send(fd, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT) == -1 &&
	    errno == EPIPE;
}

static void
conn_on_peer_check(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;

	if (conn_peer_gone(conn))
		conn_free(conn);
}

/*
 * On EOF, handle the requests already received.  A client that only shut
 * down its side still gets its replies and the events of the jobs it
 * follows until they end.  A client that closed its socket is dropped.
 */
static void
conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct timeval interval = { CONN_PEER_CHECK_SECONDS, 0 };
	struct conn *conn = arg;

	if (what & BEV_EVENT_ERROR) {
		conn_free(conn);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	if (conn_peer_gone(conn)) {
		conn_free(conn);
		return;
	}
	conn_on_read(bev, conn);
	conn_handle_tail(conn);
	if (conn->closing)
		return;
	conn->read_closed = true;
	bufferevent_disable(bev, EV_READ);
	if (!conn_follows_any(conn)) {
		conn_close_after_flush(conn);
		return;
	}
	/*
	 * With reading off, the loop would see the client close its socket
	 * only at the next event of a job it follows, which for a restored
	 * tree may come days later.  Until then the connection would count
	 * against max_connections, so look for the close every second.
	 */
	evtimer_add(conn->peer_check, &interval);
}

static void
conn_reject_too_large(struct conn *conn)
{
	json_t *reply = json_pack("{s:n, s:{s:s, s:s}}", "id", "error",
	    "code", "request-too-large", "message",
	    "request line exceeds the maximum size; send one JSON object per line");

	log_info(NULL, "pid %d: request line over %zu bytes, closing",
	    (int)conn->peer.pid, conn->max_line);
	conn_send(conn, reply);
	json_decref(reply);
	conn_close_after_flush(conn);
}

static bool
conn_is_blank(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	return true;
}

/* Handle the last request of a client that ended it without a newline. */
static void
conn_handle_tail(struct conn *conn)
{
	struct evbuffer *input = bufferevent_get_input(conn->bev);
	size_t len = evbuffer_get_length(input);
	char *line;

	if (conn->closing || len == 0 || len >= conn->max_line)
		return;
	line = malloc(len);
	if (line == NULL)
		return;
	evbuffer_remove(input, line, len);
	if (!conn_is_blank(line, len))
		api_handle_line(conn->api, conn, line, len);
	free(line);
}

/* Restart the idle countdown; a request or a followed job resets it. */
static void
conn_arm_idle_timer(struct conn *conn)
{
	struct timeval timeout = { conn->idle_timeout, 0 };

	if (conn->idle_timeout > 0)
		evtimer_add(conn->idle_timer, &timeout);
}

/*
 * Close a client that sent nothing for idle_timeout seconds, so idle
 * connections cannot hold every slot.  A client that follows a job waits
 * for its events, which can take days, and stays.
 */
static void
conn_on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;

	if (conn->closing)
		return;
	if (conn_follows_any(conn)) {
		conn_arm_idle_timer(conn);
		return;
	}
	log_info(NULL, "pid %d: sent nothing for %d s (idle_timeout), closing",
	    (int)conn->peer.pid, conn->idle_timeout);
	conn_close_after_flush(conn);
}

/* Handle every complete line. */
static void
conn_on_read(struct bufferevent *bev, void *arg)
{
	struct conn *conn = arg;
	struct evbuffer *input = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	size_t len;
	char *line;

	conn_arm_idle_timer(conn);
	while (!conn->closing && !conn->read_paused) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) >
		    CONN_READ_PAUSE_BYTES) {
			conn_pause_reading(conn);
			return;
		}
		eol = evbuffer_search_eol(input, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(input) >= conn->max_line)
				conn_reject_too_large(conn);
			return;
		}
		if ((size_t)eol.pos >= conn->max_line) {
			conn_reject_too_large(conn);
			return;
		}
		line = evbuffer_readln(input, &len, EVBUFFER_EOL_LF);
		if (line == NULL)
			return;
		if (!conn_is_blank(line, len))
			api_handle_line(conn->api, conn, line, len);
		free(line);
	}
}

struct conn *
conn_new(struct event_base *base, int fd, struct api *api, size_t max_line,
    int idle_timeout, conn_closed_fn *closed, void *arg)
{
	socklen_t cred_len = sizeof(struct ucred);
	struct conn *conn;

	conn = calloc(1, sizeof(*conn));
	if (conn == NULL) {
		close(fd);
		return NULL;
	}
	/* Without credentials the peer gets uid and gid -1: never root. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &conn->peer,
	    &cred_len) == -1) {
		conn->peer.pid = 0;
		conn->peer.uid = (uid_t)-1;
		conn->peer.gid = (gid_t)-1;
	}
	conn->api = api;
	conn->max_line = max_line;
	conn->closed = closed;
	conn->arg = arg;
	conn->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	conn->drop_event = evtimer_new(base, conn_on_drop, conn);
	conn->peer_check = event_new(base, -1, EV_PERSIST, conn_on_peer_check,
	    conn);
	conn->idle_timeout = idle_timeout;
	conn->idle_timer = evtimer_new(base, conn_on_idle, conn);
	if (conn->bev == NULL || conn->drop_event == NULL ||
	    conn->peer_check == NULL || conn->idle_timer == NULL) {
		if (conn->bev != NULL)
			bufferevent_free(conn->bev);
		else
			close(fd);
		if (conn->drop_event != NULL)
			event_free(conn->drop_event);
		if (conn->peer_check != NULL)
			event_free(conn->peer_check);
		if (conn->idle_timer != NULL)
			event_free(conn->idle_timer);
		free(conn);
		return NULL;
	}
	conn_arm_idle_timer(conn);
	bufferevent_setcb(conn->bev, conn_on_read, conn_on_write,
	    conn_on_event, conn);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
	return conn;
}

const struct ucred *
conn_peer(const struct conn *conn)
{
	return &conn->peer;
}

uid_t
conn_peer_uid(const struct conn *conn)
{
	return conn->peer.uid;
}
