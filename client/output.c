#include <stdio.h>

#include "cli_error.h"
#include "output.h"

int
output_flush(struct cli_error *err)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		return cli_error_set_errno(err, "write to stdout");
	return 0;
}

int
output_print_raw(const char *line, size_t len, struct cli_error *err)
{
	fwrite(line, 1, len, stdout);
	putchar('\n');
	return output_flush(err);
}
