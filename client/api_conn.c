#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api_conn.h"
#include "cli_error.h"
#include "line_reader.h"

struct api_conn {
	int fd;
	struct line_reader *reader;
};

static int
api_conn_connect(const char *path, struct cli_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, rc, saved;

	if (path[0] == '\0')
		return cli_error_set(err, "socket path is empty");
	if (strlen(path) >= sizeof(addr.sun_path))
		return cli_error_set(err,
		    "socket path '%s' is longer than the maximum of %zu bytes",
		    path, sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return cli_error_set_errno(err, "create a Unix socket");

	/*
	 * A connect() interrupted by a signal goes on in the background, and
	 * repeating it then reports EISCONN once it has finished.
	 */
	rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	while (rc == -1 && (errno == EINTR || errno == EALREADY))
		rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (rc == -1 && errno != EISCONN) {
		saved = errno;
		close(fd);
		return cli_error_set(err,
		    "connect to '%s': %s; is ctrd running?", path,
		    strerror(saved));
	}
	return fd;
}

struct api_conn *
api_conn_open(const char *path, struct cli_error *err)
{
	struct api_conn *conn;
	int fd;

	fd = api_conn_connect(path, err);
	if (fd < 0)
		return NULL;
	conn = calloc(1, sizeof(*conn));
	if (conn != NULL)
		conn->reader = line_reader_new(fd, API_CONN_MAX_LINE);
	if (conn == NULL || conn->reader == NULL) {
		cli_error_set_errno(err, "allocate the connection to ctrd");
		free(conn);
		close(fd);
		return NULL;
	}
	conn->fd = fd;
	return conn;
}

struct api_conn *
api_conn_free(struct api_conn *conn)
{
	if (conn == NULL)
		return NULL;
	line_reader_free(conn->reader);
	close(conn->fd);
	free(conn);
	return NULL;
}

static int
api_conn_write_all(int fd, const char *buf, size_t len, struct cli_error *err)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return cli_error_set_errno(err, "send request to ctrd");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
api_conn_send(struct api_conn *conn, const json_t *object,
    struct cli_error *err)
{
	char *text;
	size_t len;
	int rc;

	/*
	 * Compact output escapes newlines inside strings, so it is one line.
	 * Its NUL becomes the newline, and the line goes out in one write.
	 */
	text = json_dumps(object, JSON_COMPACT);
	if (text == NULL)
		return cli_error_set(err, "encode request as JSON");
	len = strlen(text);
	text[len] = '\n';
	rc = api_conn_write_all(conn->fd, text, len + 1, err);
	free(text);
	return rc;
}

int
api_conn_recv(struct api_conn *conn, struct api_conn_message *ret_message,
    struct cli_error *err)
{
	json_error_t jerr;
	json_t *json;
	char *line;
	size_t len;
	int rc;

	rc = line_reader_next(conn->reader, &line, &len, err);
	if (rc <= 0)
		return rc;
	json = json_loadb(line, len, 0, &jerr);
	if (json == NULL)
		return cli_error_set(err, "parse line from ctrd: %s",
		    jerr.text);
	if (!json_is_object(json)) {
		json_decref(json);
		return cli_error_set(err,
		    "line from ctrd is not a JSON object");
	}
	ret_message->json = json;
	ret_message->line = line;
	ret_message->len = len;
	return 1;
}

int
api_conn_fd(const struct api_conn *conn)
{
	return conn->fd;
}

bool
api_conn_has_line(const struct api_conn *conn)
{
	return line_reader_has_line(conn->reader);
}
