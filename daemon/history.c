#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "error.h"
#include "event_json.h"
#include "history.h"
#include "log.h"

#define HISTORY_TEMP_FILE HISTORY_FILE ".tmp"

struct history {
	int dir_fd;
	int fd;			/* the journal, O_APPEND */
	char path[4096];	/* for messages */
	size_t appended;	/* records since the last rewrite */
	bool dirty;		/* written since the last fdatasync */
	struct event *sync_event;
};

static int
history_open_file(struct history *history, struct error *err)
{
	history->fd = openat(history->dir_fd, HISTORY_FILE,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (history->fd == -1)
		return error_set_errno(err, "internal", "open job history '%s'",
		    history->path);
	return 0;
}

/* Flush the records of the last loop iteration to disk. */
static void
history_on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct history *history = arg;

	if (!history->dirty)
		return;
	history->dirty = false;
	if (fdatasync(history->fd) == -1)
		log_warning(NULL, "sync job history '%s': %s, continuing",
		    history->path, strerror(errno));
}

struct history *
history_open(struct event_base *base, int dir_fd, const char *dir,
    struct error *err)
{
	struct history *history;

	history = calloc(1, sizeof(*history));
	if (history == NULL)
		return error_set_errno(err, "internal",
		    "allocate job history"), NULL;
	history->dir_fd = dir_fd;
	snprintf(history->path, sizeof(history->path), "%s/%s", dir,
	    HISTORY_FILE);
	history->sync_event = event_new(base, -1, 0, history_on_sync, history);
	if (history->sync_event == NULL) {
		free(history);
		return error_set(err, "internal", "allocate job history"), NULL;
	}
	if (history_open_file(history, err) < 0) {
		event_free(history->sync_event);
		free(history);
		return NULL;
	}
	return history;
}

void
history_free(struct history *history)
{
	if (history == NULL)
		return;
	history_on_sync(-1, 0, history);
	event_free(history->sync_event);
	close(history->fd);
	free(history);
}

/* Read the whole journal into a NUL-terminated buffer. */
static char *
history_read_all(struct history *history, size_t *ret_len,
    struct error *err)
{
	size_t len = 0, size = 65536;
	char *buf = malloc(size), *grown;
	ssize_t n;
	int fd;

	fd = openat(history->dir_fd, HISTORY_FILE,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 || buf == NULL) {
		error_set_errno(err, "internal", "read job history '%s'",
		    history->path);
		free(buf);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, size - len - 1)) > 0) {
		len += (size_t)n;
		if (size - len > 1)
			continue;
		grown = realloc(buf, size * 2);
		if (grown == NULL) {
			n = -1;
			break;
		}
		buf = grown;
		size *= 2;
	}
	close(fd);
	if (n < 0) {
		error_set_errno(err, "internal", "read job history '%s'",
		    history->path);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

/*
 * Parse one line into `latest` (job id -> record) and `order` (ids in first
 * appearance).  `last` is true for a line without a final newline, which a
 * crash cut short.
 */
static void
history_parse_line(struct history *history, const char *line, size_t len,
    size_t number, bool last, json_t *latest, json_t *order)
{
	json_error_t error;
	json_t *record;
	const char *id;

	if (len == 0)
		return;
	record = json_loadb(line, len, JSON_REJECT_DUPLICATES, &error);
	id = json_string_value(json_object_get(record, "job"));
	if (record == NULL || !json_is_object(record) || id == NULL) {
		if (last)
			log_notice(NULL, "job history '%s': line %zu was cut short by a crash, skipping it",
			    history->path, number);
		else
			log_warning(NULL, "job history '%s': line %zu is not a job record, skipping it",
			    history->path, number);
		json_decref(record);
		return;
	}
	if (json_object_get(latest, id) == NULL)
		json_array_append_new(order, json_string(id));
	json_object_set_new(latest, id, record);
}

json_t *
history_load(struct history *history, struct error *err)
{
	json_t *latest = json_object(), *order = json_array(), *records;
	size_t len, number = 0, i;
	char *buf, *line, *end;

	buf = history_read_all(history, &len, err);
	if (buf == NULL || latest == NULL || order == NULL) {
		free(buf);
		json_decref(latest);
		json_decref(order);
		return NULL;
	}
	for (line = buf; line < buf + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(buf + len - line));
		number++;
		if (end == NULL) {
			history_parse_line(history, line,
			    (size_t)(buf + len - line), number, true, latest,
			    order);
			break;
		}
		history_parse_line(history, line, (size_t)(end - line),
		    number, false, latest, order);
	}
	free(buf);
	records = json_array();
	for (i = 0; i < json_array_size(order); i++)
		json_array_append(records, json_object_get(latest,
		    json_string_value(json_array_get(order, i))));
	json_decref(latest);
	json_decref(order);
	return records;
}

/* Write all of `buf` to `fd`; -1 with errno set on failure. */
static int
history_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void
history_append(struct history *history, const json_t *record)
{
	size_t len;
	char *line;

	line = event_json_encode_line(record, &len);
	if (line == NULL) {
		log_warning(NULL, "job history: out of memory, a record is missing");
		return;
	}
	/* One write on an O_APPEND file, so a crash never splits two records. */
	if (history_write_all(history->fd, line, len) == -1)
		log_warning(NULL, "append to job history '%s': %s; the record is missing until the journal is rewritten",
		    history->path, strerror(errno));
	free(line);
	history->appended++;
	history->dirty = true;
	event_active(history->sync_event, EV_TIMEOUT, 0);
}

static int
history_write_temp(struct history *history, const json_t *records,
    struct error *err)
{
	size_t i, len;
	char *line;
	int fd, ret = 0;

	fd = openat(history->dir_fd, HISTORY_TEMP_FILE,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return error_set_errno(err, "internal",
		    "create '%s.tmp'", history->path);
	for (i = 0; ret == 0 && i < json_array_size(records); i++) {
		line = event_json_encode_line(json_array_get(records, i), &len);
		if (line == NULL || history_write_all(fd, line, len) == -1)
			ret = error_set_errno(err, "internal",
			    "write '%s.tmp'", history->path);
		free(line);
	}
	if (ret == 0 && fsync(fd) == -1)
		ret = error_set_errno(err, "internal", "sync '%s.tmp'",
		    history->path);
	close(fd);
	return ret;
}

int
history_rewrite(struct history *history, const json_t *records,
    struct error *err)
{
	if (history_write_temp(history, records, err) < 0) {
		unlinkat(history->dir_fd, HISTORY_TEMP_FILE, 0);
		return -1;
	}
	if (renameat(history->dir_fd, HISTORY_TEMP_FILE, history->dir_fd,
	    HISTORY_FILE) == -1) {
		error_set_errno(err, "internal", "replace '%s'", history->path);
		unlinkat(history->dir_fd, HISTORY_TEMP_FILE, 0);
		return -1;
	}
	/* The rename is durable only once the directory is synced. */
	if (fsync(history->dir_fd) == -1)
		log_warning(NULL, "sync the directory of '%s': %s, continuing",
		    history->path, strerror(errno));
	close(history->fd);
	history->appended = 0;
	history->dirty = false;
	return history_open_file(history, err);
}

size_t
history_appended(const struct history *history)
{
	return history->appended;
}
