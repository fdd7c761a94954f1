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
 * is part of a message of CRIU 4.2: criu/cr-restore.c (fork), criu/uffd.c
 * (lazy pages), criu/image.c (image format, magic, plugins),
 * criu/protobuf.c (entries, and an empty image in place of a missing file),
 * criu/pie/restorer.c (pages), criu/sk-inet.c (TCP), criu/files.c (fd=),
 * criu/files-reg.c (build-ID, size, open) and criu/include/util-caps.h
 * (capabilities).  A needle with `any_line` also matches lines that are not
 * errors, for causes CRIU logs only at debug level.  CRIU logs "No NAME
 * image" at info level (log_level 3) when it opens an image file that is
 * not there.  So for a pattern with `missing` set, such a line before the
 * cause, with NAME starting with `missing`, names the absent file.
 */
static const struct criu_log_pattern {
	const char *needle;
	const char *also;	/* a second part the line must contain, or NULL */
	const char *code;
	const char *explanation;
	bool any_line;
	const char *missing;
} criu_log_patterns[] = {
	/*
	 * clone3() with set_tid fails with EEXIST for a pid in use, and with
	 * EINVAL for one above the host's kernel.pid_max (Linux 6.18).
	 */
	{ .needle = "Can't fork for", .also = ": File exists",
	  .code = "pid-in-use",
	  .explanation = "a pid of the image is in use by another process; stop that process or restore into a new pid namespace" },
	{ .needle = "lazy-pages.socket", .code = "lazy-pages-failed",
	  .explanation = "CRIU could not reach the job's lazy-pages server" },
	{ .needle = "userfaultfd", .code = "lazy-pages-failed",
	  .explanation = "CRIU could not set up userfaultfd for lazy pages; restore without lazy_pages" },
	{ .needle = "restore finished indication", .code = "lazy-pages-failed",
	  .explanation = "the job's lazy-pages server went away before the restore finished" },
	{ .needle = "Not supported images version", .code = "criu-version",
	  .explanation = "the image set is in an image format this CRIU cannot read; restore it with the CRIU that dumped it" },
	{ .needle = "Too old image", .code = "criu-version",
	  .explanation = "the image set was written by a CRIU too old for this CRIU to read; dump again with this CRIU" },
	{ .needle = "Missing required plugin", .code = "criu-version",
	  .explanation = "the image set needs a CRIU plugin that this CRIU lacks; install the plugin, or restore with the CRIU that dumped it" },
	/*
	 * CRIU reads a required image right after opening it, so the nearest
	 * "No NAME image" line before this error names the missing file, as
	 * CRIU 4.2.1 logs it for a missing core-PID.img.
	 */
	{ .needle = "Unexpected EOF on (empty-image)", .code = "image-missing",
	  .explanation = "an image file is missing from the image set, and CRIU names it only at log_level 3 or more; copy every file that 'criu dump -D' wrote",
	  .missing = "" },
	{ .needle = "Can't read pages data", .code = "image-corrupt",
	  .explanation = "the restorer could not read a task's memory pages; copy the image set again from the dump",
	  .missing = "pages-" },
	{ .needle = "agic doesn't match", .code = "image-corrupt",
	  .explanation = "an image file has the wrong magic number; copy it again from the dump, or dump again" },
	{ .needle = "Unexpected EOF on", .code = "image-corrupt",
	  .explanation = "an image file ends inside an entry; copy it again from the dump" },
	{ .needle = "bytes while", .code = "image-corrupt",
	  .explanation = "an image file is shorter than its entries say; copy it again from the dump" },
	{ .needle = "Failed unpacking object", .code = "image-corrupt",
	  .explanation = "an image file holds an entry that CRIU cannot decode; copy it again from the dump" },
	{ .needle = "Connected TCP socket in image", .code = "options-mismatch",
	  .explanation = "the tree had established TCP connections; restore it with tcp_established" },
	{ .needle = "Unable to open fd=0", .code = "options-mismatch",
	  .explanation = "the tree was dumped as a shell job; restore it with shell_job" },
	/* restore_task_with_children() in CRIU 4.2's criu/cr-restore.c. */
	{ .needle = "doesn't match inherited", .code = "options-mismatch",
	  .explanation = "the tree's session leader is outside the tree, as in a dump with --shell-job; restore it with shell_job" },
	{ .needle = "Operation not permitted", .code = "permission",
	  .explanation = "CRIU lacks a privilege it needs: a capability, or a security policy (LSM, seccomp) denies the operation; run ctrd as root with its full capability set" },
	{ .needle = "Permission denied", .code = "permission",
	  .explanation = "CRIU was denied access to a file or resource; check its mode and owner, and any LSM policy that applies to ctrd and CRIU" },
	{ .needle = "has bad build-ID", .code = "image-mismatch",
	  .explanation = "an executable or library changed since the dump; restore needs the same files as at dump time" },
	{ .needle = "bad size", .code = "image-mismatch",
	  .explanation = "a file changed size since the dump; restore needs the same files as at dump time" },
	{ .needle = "Can't open file", .code = "image-mismatch",
	  .explanation = "a file open at dump time is missing now" },
	{ .needle = "Can't read", .code = "image-corrupt",
	  .explanation = "an image file is missing or truncated" },
	/* Printed only when CAP_CHECKPOINT_RESTORE (40) is missing too. */
	{ .needle = "Effective capability 21 missing", .code = "permission",
	  .explanation = "CRIU has neither CAP_CHECKPOINT_RESTORE nor CAP_SYS_ADMIN; run ctrd with both capabilities, for example not limited by CapabilityBoundingSet= in its unit",
	  .any_line = true },
	/* The restorer's read loop when pages-*.img ends before its pages. */
	{ .needle = "`- returned 0", .code = "image-corrupt",
	  .explanation = "the restorer reads 0 bytes from a pages image again and again, so a pages-*.img file is shorter than its pagemap says; copy the image set again from the dump",
	  .any_line = true },
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
		const struct criu_log_pattern *pattern = &criu_log_patterns[p];

		for (i = 0; i < count; i++) {
			const char *line = json_string_value(
			    json_array_get(lines, i));

			if ((pattern->any_line || (criu_log_is_error(line) &&
			    !criu_log_is_harmless(line))) &&
			    strstr(line, pattern->needle) != NULL &&
			    (pattern->also == NULL ||
			    strstr(line, pattern->also) != NULL)) {
				*ret = pattern;
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

/*
 * Return the text after CRIU's "(time) pid: Error (file:line): " prefix,
 * or after the "(time) " of a line that is not an error.
 */
static const char *
criu_log_strip_prefix(const char *line)
{
	const char *p = strstr(line, "): ");

	if (strstr(line, "Error (") != NULL && p != NULL)
		return p + 3;
	p = strstr(line, "Error: ");
	if (p != NULL)
		return p + 7;
	p = line[0] == '(' ? strstr(line, ") ") : NULL;
	return p != NULL ? p + 2 + strspn(p + 2, " ") : line;
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

/*
 * Copy to `name` the NAME of the nearest "No NAME image" line before line
 * `before` whose NAME starts with `prefix`.  Returns false if there is none.
 */
static bool
criu_log_find_missing(const json_t *lines, size_t before, const char *prefix,
    char *name, size_t size)
{
	static const char head[] = " No ", tail[] = " image";
	const char *line, *start;
	size_t i, len, name_len;

	for (i = before; i-- > 0;) {
		line = json_string_value(json_array_get(lines, i));
		start = strstr(line, head);
		len = strlen(line);
		if (start == NULL || len < sizeof(tail) - 1 ||
		    strcmp(line + len - (sizeof(tail) - 1), tail) != 0)
			continue;
		start += sizeof(head) - 1;
		if (start > line + len - (sizeof(tail) - 1))
			continue;
		name_len = (size_t)(line + len - (sizeof(tail) - 1) - start);
		if (name_len == 0 || memchr(start, ' ', name_len) != NULL ||
		    strncmp(start, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(name, size, "%.*s", (int)name_len, start);
		return true;
	}
	return false;
}

/* Fill `cause` for the cause line `index`, matched by `pattern` or none. */
static void
criu_log_explain_line(const json_t *lines, size_t index,
    const struct criu_log_pattern *pattern, struct criu_log_cause *cause)
{
	const char *detail = criu_log_strip_prefix(json_string_value(
	    json_array_get(lines, index)));
	char name[128];

	if (pattern == NULL) {
		cause->code = "restore-failed";
		snprintf(cause->message, sizeof(cause->message), "CRIU: %s",
		    detail);
		return;
	}
	if (pattern->missing != NULL && criu_log_find_missing(lines, index,
	    pattern->missing, name, sizeof(name))) {
		cause->code = "image-missing";
		snprintf(cause->message, sizeof(cause->message),
		    "image file '%s' is missing from the image set; copy every file that 'criu dump -D' wrote (CRIU: %s)",
		    name, detail);
		return;
	}
	cause->code = pattern->code;
	snprintf(cause->message, sizeof(cause->message), "%s (CRIU: %s)",
	    pattern->explanation, detail);
}

static void
criu_log_explain_lines(json_t *lines, struct criu_log_cause *cause)
{
	const struct criu_log_pattern *pattern;
	ssize_t index = criu_log_find_cause(lines, &pattern);

	cause->lines = criu_log_excerpt(lines, index);
	cause->found = index >= 0;
	if (index < 0) {
		cause->code = "restore-failed";
		snprintf(cause->message, sizeof(cause->message),
		    "CRIU failed and its log names no cause; see the last log lines");
		return;
	}
	criu_log_explain_line(lines, (size_t)index, pattern, cause);
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
