#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "error.h"
#include "event_json.h"
#include "history.h"
#include "log.h"

#define HISTORY_TEMP_FILE HISTORY_FILE ".tmp"

/*
 * fdatasync(2) runs on a thread of its own, so appending a record does not
 * wait for the disk.  In the loop, a sync took 0.3 ms and at times several
 * ms (measured with strace), and it delayed the replies to CRIU's
 * notifications of a restore running meanwhile.  Only a rewrite of the
 * journal waits for a sync in progress.  The thread does not allocate or
 * log, so a fork() from the loop cannot inherit a malloc or stdio lock.
 */
struct history {
	int dir_fd;
	int fd;			/* the journal, O_APPEND; loop thread only */
	char path[4096];	/* for messages */
	size_t appended;	/* records since the last rewrite */
	pthread_t sync_thread;
	bool sync_started;
	pthread_mutex_t lock;	/* guards the fields below */
	pthread_cond_t wake;	/* records to sync, or stop */
	pthread_cond_t idle;	/* the thread finished a sync */
	bool syncing;		/* the thread syncs sync_fd now */
	int sync_fd;		/* a dup of fd for the thread, -1 when none */
	bool dirty;		/* written since the thread last synced */
	bool stop;
	int sync_errno;		/* the last failure, for the loop to log */
};

/*
 * Open the journal for appending.  O_NONBLOCK keeps a FIFO planted under
 * its name from blocking ctrd; only a regular file is accepted.
 */
static int
history_open_file(struct history *history, struct error *err)
{
	struct stat st;

	history->fd = openat(history->dir_fd, HISTORY_FILE,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0600);
	if (history->fd == -1 && errno == ELOOP)
		return error_set(err, "internal",
		    "job history '%s' is a symbolic link; remove it", history->path);
	if (history->fd == -1)
		return error_set_errno(err, "internal", "open job history '%s'",
		    history->path);
	if (fstat(history->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(history->fd);
		history->fd = -1;
		return error_set(err, "internal",
		    "job history '%s' is not a regular file; remove it",
		    history->path);
	}
	return 0;
}

/* Sync the journal whenever records were written, until stopped. */
static void *
history_sync_main(void *arg)
{
	struct history *history = arg;
	int fd, ret, saved;
	sigset_t all;

	/* Signals go to the loop's thread, where libevent handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&history->lock);
	for (;;) {
		while (!history->dirty && !history->stop)
			pthread_cond_wait(&history->wake, &history->lock);
		if (!history->dirty)
			break;
		history->dirty = false;
		history->syncing = true;
		fd = history->sync_fd;
		pthread_mutex_unlock(&history->lock);
		ret = fd != -1 ? fdatasync(fd) : 0;
		saved = errno;
		pthread_mutex_lock(&history->lock);
		history->syncing = false;
		if (ret == -1)
			history->sync_errno = saved;
		pthread_cond_broadcast(&history->idle);
	}
	pthread_mutex_unlock(&history->lock);
	return NULL;
}

/*
 * Give the sync thread a descriptor of the current journal file.  The old
 * one is closed only after a sync of it in progress has finished.
 */
static void
history_set_sync_fd(struct history *history)
{
	int fd = history->fd != -1 ? fcntl(history->fd, F_DUPFD_CLOEXEC, 3) :
	    -1;
	int old;

	pthread_mutex_lock(&history->lock);
	while (history->syncing)
		pthread_cond_wait(&history->idle, &history->lock);
	old = history->sync_fd;
	history->sync_fd = fd;
	pthread_mutex_unlock(&history->lock);
	if (old != -1)
		close(old);
}

/* Log a sync failure the thread reported, from the loop. */
static void
history_report_sync_error(struct history *history)
{
	int saved;

	pthread_mutex_lock(&history->lock);
	saved = history->sync_errno;
	history->sync_errno = 0;
	pthread_mutex_unlock(&history->lock);
	if (saved != 0)
		log_warning(NULL, "sync job history '%s': %s, continuing",
		    history->path, strerror(saved));
}

struct history *
history_open(int dir_fd, const char *dir, struct error *err)
{
	struct history *history;

	history = calloc(1, sizeof(*history));
	if (history == NULL)
		return error_set_errno(err, "internal",
		    "allocate job history"), NULL;
	history->dir_fd = dir_fd;
	history->fd = -1;
	history->sync_fd = -1;
	snprintf(history->path, sizeof(history->path), "%s/%s", dir,
	    HISTORY_FILE);
	pthread_mutex_init(&history->lock, NULL);
	pthread_cond_init(&history->wake, NULL);
	pthread_cond_init(&history->idle, NULL);
	if (history_open_file(history, err) < 0) {
		history_free(history);
		return NULL;
	}
	history_set_sync_fd(history);
	errno = pthread_create(&history->sync_thread, NULL, history_sync_main,
	    history);
	if (errno != 0) {
		error_set_errno(err, "internal", "start the job history's sync thread");
		history_free(history);
		return NULL;
	}
	history->sync_started = true;
	return history;
}

void
history_free(struct history *history)
{
	if (history == NULL)
		return;
	if (history->sync_started) {
		pthread_mutex_lock(&history->lock);
		history->stop = true;
		pthread_cond_signal(&history->wake);
		pthread_mutex_unlock(&history->lock);
		pthread_join(history->sync_thread, NULL);
	}
	history_report_sync_error(history);
	if (history->sync_fd != -1)
		close(history->sync_fd);
	if (history->fd != -1)
		close(history->fd);
	pthread_cond_destroy(&history->idle);
	pthread_cond_destroy(&history->wake);
	pthread_mutex_destroy(&history->lock);
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
	struct stat st;
	bool wake;
	size_t len;
	char *line;

	line = event_json_encode_line(record, &len);
	if (line == NULL) {
		log_warning(NULL, "job history: out of memory, a record is missing");
		return;
	}
	/* One write on an O_APPEND file, so a crash never splits two records. */
	if (fstat(history->fd, &st) == -1)
		st.st_size = -1;
	if (history_write_all(history->fd, line, len) == -1) {
		log_warning(NULL, "append to job history '%s': %s; the record is missing",
		    history->path, strerror(errno));
		/* A cut record would swallow the next one: drop its part. */
		if (st.st_size >= 0 && ftruncate(history->fd, st.st_size) == -1)
			log_warning(NULL, "cut job history '%s' back to %lld bytes: %s",
			    history->path, (long long)st.st_size,
			    strerror(errno));
	}
	free(line);
	history->appended++;
	/*
	 * Wake the sync thread only when it waits: one that is syncing, or
	 * already woken, syncs again on its own once it finds dirty set.  The
	 * signal goes after the unlock, so the woken thread does not block on
	 * the lock this thread still holds.
	 */
	pthread_mutex_lock(&history->lock);
	wake = !history->dirty && !history->syncing;
	history->dirty = true;
	pthread_mutex_unlock(&history->lock);
	if (wake)
		pthread_cond_signal(&history->wake);
	history_report_sync_error(history);
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
	history->fd = -1;
	history->appended = 0;
	if (history_open_file(history, err) < 0)
		return -1;
	history_set_sync_fd(history);
	return 0;
}

size_t
history_appended(const struct history *history)
{
	return history->appended;
}
