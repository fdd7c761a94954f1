/* Newline framing of a byte stream, with a bound on the line length. */
#ifndef CTRD_CLI_LINE_READER_H
#define CTRD_CLI_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>

struct cli_error;
struct line_reader;

/*
 * Read lines from `fd`, which stays owned by the caller.  A line longer
 * than `max_line` bytes, not counting its newline, is an error.
 */
struct line_reader *line_reader_new(int fd, size_t max_line);

/* Free `reader`.  Accepts NULL and returns NULL. */
struct line_reader *line_reader_free(struct line_reader *reader);

/*
 * Read the next line that is not blank.  Returns 1 and points `ret_line` at
 * the line, NUL-terminated and without its newline, until the next call.
 * Returns 0 at the end of the stream and -1 on error, including a stream
 * that ends in the middle of a line.
 */
int line_reader_next(struct line_reader *reader, char **ret_line,
    size_t *ret_len, struct cli_error *err);

/*
 * Return true if a whole line is buffered, so that line_reader_next() can
 * return it without reading from the descriptor.
 */
bool line_reader_has_line(const struct line_reader *reader);

#endif
