/* Standard output, flushed line by line so events show as they arrive. */
#ifndef CTRD_CLI_OUTPUT_H
#define CTRD_CLI_OUTPUT_H

#include <stddef.h>

struct cli_error;

/* Flush stdout, and fail if any earlier write to it failed. */
int output_flush(struct cli_error *err);

/* Print `len` bytes of `line` and a newline, then flush. */
int output_print_raw(const char *line, size_t len, struct cli_error *err);

#endif
