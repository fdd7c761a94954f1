#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_error.h"
#include "line_reader.h"

/* The buffer starts at this size and doubles up to the maximum line. */
#define LINE_READER_INITIAL_SIZE (64 * 1024)

struct line_reader {
	int fd;
	size_t max_line;
	char *buf;
	size_t size;
	size_t start;	/* first byte not yet returned */
	size_t scanned;	/* bytes before this offset hold no newline */
	size_t end;	/* first free byte */
};

struct line_reader *
line_reader_new(int fd, size_t max_line)
{
	struct line_reader *reader = calloc(1, sizeof(*reader));

	if (reader == NULL)
		return NULL;
	reader->fd = fd;
	reader->max_line = max_line;
	return reader;
}

struct line_reader *
line_reader_free(struct line_reader *reader)
{
	if (reader == NULL)
		return NULL;
	free(reader->buf);
	free(reader);
	return NULL;
}

static int
line_reader_is_blank(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (strchr(" \t\r", line[i]) == NULL)
			return 0;
	}
	return 1;
}

/* Move the unread bytes to the front, then grow the buffer if it is full. */
static int
line_reader_make_room(struct line_reader *reader, struct cli_error *err)
{
	size_t pending = reader->end - reader->start;
	size_t size;
	char *grown;

	if (reader->start > 0) {
		memmove(reader->buf, reader->buf + reader->start, pending);
		reader->scanned -= reader->start;
		reader->end = pending;
		reader->start = 0;
	}
	if (reader->end < reader->size)
		return 0;

	/* Room for the longest line plus its newline is all that is needed. */
	size = reader->size == 0 ? LINE_READER_INITIAL_SIZE : reader->size * 2;
	if (size > reader->max_line + 1)
		size = reader->max_line + 1;
	grown = realloc(reader->buf, size);
	if (grown == NULL)
		return cli_error_set_errno(err,
		    "allocate a %zu-byte line buffer", size);
	reader->buf = grown;
	reader->size = size;
	return 0;
}

/* Read more bytes.  Returns the count read, 0 at the end, or -1. */
static ssize_t
line_reader_fill(struct line_reader *reader, struct cli_error *err)
{
	ssize_t n;

	if (line_reader_make_room(reader, err) < 0)
		return -1;
	do {
		n = read(reader->fd, reader->buf + reader->end,
		    reader->size - reader->end);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return cli_error_set_errno(err, "read from ctrd");
	reader->end += (size_t)n;
	return n;
}

/* Cut the next complete line out of the buffer.  Returns 1, or 0 if none. */
static int
line_reader_take(struct line_reader *reader, char **ret_line, size_t *ret_len)
{
	char *newline;

	newline = memchr(reader->buf + reader->scanned, '\n',
	    reader->end - reader->scanned);
	if (newline == NULL) {
		reader->scanned = reader->end;
		return 0;
	}
	*newline = '\0';
	*ret_line = reader->buf + reader->start;
	*ret_len = (size_t)(newline - *ret_line);
	reader->start = (size_t)(newline - reader->buf) + 1;
	reader->scanned = reader->start;
	return 1;
}

int
line_reader_next(struct line_reader *reader, char **ret_line,
    size_t *ret_len, struct cli_error *err)
{
	ssize_t n;

	for (;;) {
		while (reader->buf != NULL &&
		    line_reader_take(reader, ret_line, ret_len) == 1) {
			if (!line_reader_is_blank(*ret_line, *ret_len))
				return 1;
		}
		if (reader->end - reader->start > reader->max_line)
			return cli_error_set(err,
			    "line from ctrd exceeds %zu bytes",
			    reader->max_line);

		n = line_reader_fill(reader, err);
		if (n < 0)
			return -1;
		if (n == 0 && reader->end > reader->start)
			return cli_error_set(err,
			    "ctrd closed the connection in the middle of a line");
		if (n == 0)
			return 0;
	}
}

bool
line_reader_has_line(const struct line_reader *reader)
{
	if (reader->buf == NULL)
		return false;
	return memchr(reader->buf + reader->scanned, '\n',
	    reader->end - reader->scanned) != NULL;
}
