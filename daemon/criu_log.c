#define _GNU_SOURCE
#include <sys/stat.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "criu_log.h"

/*
 * Log lines that point at a known cause, most specific first.  Each needle
 * is part of a CRIU 4.2 error message, from criu/cr-restore.c (fork),
 * criu/uffd.c (connect), criu/files-reg.c (build-ID, size, open),
 * criu/files.c (fd=), criu/image.c and criu/protobuf.c (magic, read).
 */
static const struct criu_log_pattern {
	const char *needle;
	const char *code;
	const char *explanation;
} criu_log_patterns[] = {
	{ "Can't fork for", "pid-in-use",
	  "a pid of the image is in use by another process; stop that process or restore into a new pid namespace" },
	{ "lazy-pages.socket", "lazy-pages-failed",
	  "CRIU could not reach the job's lazy-pages server" },
	{ "has bad build-ID", "image-mismatch",
	  "an executable or library changed since the dump; restore needs the same files as at dump time" },
	{ "bad size", "image-mismatch",
	  "a file changed size since the dump; restore needs the same files as at dump time" },
	{ "Can't open file", "image-mismatch",
	  "a file open at dump time is missing now" },
	{ "Unable to open fd=0", "options-mismatch",
	  "the tree was dumped as a shell job; restore it with shell_job" },
	{ "Can't read", "image-corrupt",
	  "an image file is missing or truncated" },
	{ "agic doesn't match", "image-corrupt",
	  "an image file has the wrong magic number" },
};

/* Error lines CRIU prints on healthy runs too. */
static const char *const criu_log_harmless[] = {
	"RLIMIT_NOFILE",
	"Pre-resume script ret code",
};

static bool
criu_log_is_error(const char *line)
{
	return strstr(line, "Error (") != NULL ||
	    strstr(line, ": Error") != NULL;
}

static bool
criu_log_is_harmless(const char *line)
{
	size_t i;

	for (i = 0; i < sizeof(criu_log_harmless) / sizeof(*criu_log_harmless);
	    i++)
		if (strstr(line, criu_log_harmless[i]) != NULL)
			return true;
	return false;
}

static void
criu_log_append_line(json_t *lines, const char *line, size_t len)
{
	json_t *value = json_stringn(line, len);

	if (value == NULL)
		value = json_string("(log line is not valid UTF-8)");
	json_array_append_new(lines, value);
}

/* Split `text` into a JSON array of lines, dropping a partial first one. */
static json_t *
criu_log_split(const char *text, size_t len, bool partial_head)
{
	json_t *lines = json_array();
	const char *end = text + len;
	const char *start = text;
	const char *nl;

	if (partial_head) {
		nl = memchr(start, '\n', len);
		start = nl != NULL ? nl + 1 : end;
	}
	while (start < end) {
		nl = memchr(start, '\n', (size_t)(end - start));
		if (nl == NULL)
			nl = end;
		if (nl > start)
			criu_log_append_line(lines, start, (size_t)(nl - start));
		start = nl + 1;
	}
	return lines;
}

/* Return the index of the line that best explains the failure, or -1. */
static ssize_t
criu_log_find_cause(const json_t *lines, const struct criu_log_pattern **ret)
{
	ssize_t first_error = -1;
	size_t i, p, count = json_array_size(lines);

	*ret = NULL;
	for (p = 0; p < sizeof(criu_log_patterns) / sizeof(*criu_log_patterns);
	    p++) {
		for (i = 0; i < count; i++) {
			const char *line = json_string_value(
			    json_array_get(lines, i));

			if (criu_log_is_error(line) &&
			    strstr(line, criu_log_patterns[p].needle)) {
				*ret = &criu_log_patterns[p];
				return (ssize_t)i;
			}
		}
	}
	for (i = 0; i < count; i++) {
		const char *line = json_string_value(json_array_get(lines, i));

		if (criu_log_is_error(line) && !criu_log_is_harmless(line)) {
			first_error = (ssize_t)i;
			break;
		}
	}
	return first_error;
}

/* Return the text after CRIU's "(time) pid: Error (file:line): " prefix. */
static const char *
criu_log_strip_prefix(const char *line)
{
	const char *p = strstr(line, "): ");

	if (strstr(line, "Error (") != NULL && p != NULL)
		return p + 3;
	p = strstr(line, "Error: ");
	return p != NULL ? p + 7 : line;
}

/*
 * Keep the cause line with the four lines before it, then the
 * non-harmless error lines after it, up to CRIU_LOG_MAX_LINES in log order.
 */
static json_t *
criu_log_excerpt(const json_t *lines, ssize_t cause)
{
	json_t *excerpt = json_array();
	size_t count = json_array_size(lines);
	size_t from, i;

	if (cause < 0) {
		from = count > CRIU_LOG_MAX_LINES ?
		    count - CRIU_LOG_MAX_LINES : 0;
		for (i = from; i < count; i++)
			json_array_append(excerpt, json_array_get(lines, i));
		return excerpt;
	}
	from = cause >= 4 ? (size_t)cause - 4 : 0;
	for (i = from; i < count && json_array_size(excerpt) <
	    CRIU_LOG_MAX_LINES; i++) {
		const char *line = json_string_value(json_array_get(lines, i));

		if (i <= (size_t)cause || (criu_log_is_error(line) &&
		    !criu_log_is_harmless(line)))
			json_array_append(excerpt, json_array_get(lines, i));
	}
	return excerpt;
}

static void
criu_log_explain_lines(json_t *lines, struct criu_log_cause *cause)
{
	const struct criu_log_pattern *pattern;
	ssize_t index = criu_log_find_cause(lines, &pattern);
	const char *detail;

	cause->lines = criu_log_excerpt(lines, index);
	cause->found = index >= 0;
	if (index < 0) {
		cause->code = "restore-failed";
		snprintf(cause->message, sizeof(cause->message),
		    "CRIU failed and its log names no cause; see the last log lines");
		return;
	}
	detail = criu_log_strip_prefix(json_string_value(
	    json_array_get(lines, (size_t)index)));
	cause->code = pattern != NULL ? pattern->code : "restore-failed";
	if (pattern != NULL)
		snprintf(cause->message, sizeof(cause->message), "%s (CRIU: %s)",
		    pattern->explanation, detail);
	else
		snprintf(cause->message, sizeof(cause->message), "CRIU: %s",
		    detail);
}

void
criu_log_explain(const char *text, size_t len, struct criu_log_cause *cause)
{
	json_t *lines = criu_log_split(text, len, false);

	criu_log_explain_lines(lines, cause);
	json_decref(lines);
}

/* Read up to CRIU_LOG_TAIL_BYTES from the end of a log; caller frees. */
static char *
criu_log_read_tail(int dir_fd, const char *name, size_t *ret_len,
    bool *ret_partial)
{
	struct stat st;
	off_t offset;
	ssize_t len;
	char *buf;
	int fd;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return NULL;
	buf = malloc(CRIU_LOG_TAIL_BYTES);
	if (buf == NULL || fstat(fd, &st) == -1) {
		free(buf);
		close(fd);
		return NULL;
	}
	offset = st.st_size > CRIU_LOG_TAIL_BYTES ?
	    st.st_size - CRIU_LOG_TAIL_BYTES : 0;
	len = pread(fd, buf, CRIU_LOG_TAIL_BYTES, offset);
	close(fd);
	*ret_len = len > 0 ? (size_t)len : 0;
	*ret_partial = offset > 0;
	return buf;
}

void
criu_log_explain_file(int dir_fd, const char *name,
    struct criu_log_cause *cause)
{
	json_t *lines;
	bool partial;
	size_t len;
	char *buf;

	buf = criu_log_read_tail(dir_fd, name, &len, &partial);
	if (buf == NULL) {
		cause->code = "restore-failed";
		cause->found = false;
		snprintf(cause->message, sizeof(cause->message),
		    "CRIU failed and its log '%s' could not be read", name);
		cause->lines = json_array();
		return;
	}
	lines = criu_log_split(buf, len, partial);
	free(buf);
	criu_log_explain_lines(lines, cause);
	json_decref(lines);
}

int
criu_log_count_lazy_pages(int dir_fd, const char *name, long *ret_copied,
    long *ret_total)
{
	static const char needle[] = "UFFD transferred pages: (";
	const char *p, *end;
	long copied, total;
	bool partial;
	size_t len;
	char *buf;
	int tasks = 0;

	buf = criu_log_read_tail(dir_fd, name, &len, &partial);
	if (buf == NULL)
		return -1;
	*ret_copied = 0;
	*ret_total = 0;
	end = buf + len;
	for (p = buf; (p = memmem(p, (size_t)(end - p), needle,
	    sizeof(needle) - 1)) != NULL; p += sizeof(needle) - 1) {
		if (sscanf(p + sizeof(needle) - 1, "%ld/%ld", &copied,
		    &total) != 2)
			continue;
		*ret_copied += copied;
		*ret_total += total;
		tasks++;
	}
	free(buf);
	return tasks;
}

size_t
criu_log_scan_lazy_progress(const char *text, size_t len,
    struct criu_log_lazy_progress *progress)
{
	static const char found[] = "Found ";
	static const char copy[] = "uffd_copy: ";
	const char *start = text, *end = text + len, *nl, *p;
	size_t line_len;
	long value;

	if (text == NULL || len == 0)
		return 0;
	for (; start < end; start = nl + 1) {
		nl = memchr(start, '\n', (size_t)(end - start));
		if (nl == NULL)
			break;
		line_len = (size_t)(nl - start);

		p = memmem(start, line_len, copy, sizeof(copy) - 1);
		if (p != NULL && (p = memchr(p, '/', (size_t)(nl - p))) != NULL &&
		    sscanf(p + 1, "%ld", &value) == 1)
			progress->copied_bytes += value;
		p = memmem(start, line_len, found, sizeof(found) - 1);
		if (p != NULL && memmem(start, line_len, "handled by UFFD",
		    15) != NULL && sscanf(p + sizeof(found) - 1, "%ld",
		    &value) == 1)
			progress->total_pages += value;
	}
	return (size_t)(start - text);
}

void
criu_log_cause_clear(struct criu_log_cause *cause)
{
	json_decref(cause->lines);
	cause->lines = NULL;
}
