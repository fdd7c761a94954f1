/*
 * Unit tests for finding the cause of a failed restore in a CRIU log.  The
 * fixtures follow CRIU 4.x's log format and messages: "(seconds) pid: Error
 * (file:line): text", with the pid column only in forked tasks.  CRIU
 * 4.2.1 logged the lines of the missing, truncated and foreign-format
 * images and of the missing capabilities, restoring damaged copies of a
 * dumped ctrd-workload.  The other lines follow messages in CRIU 4.2's
 * source.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "criu_log.h"
#include "unit.h"

/* Printed when CRIU lacks CAP_SYS_RESOURCE to raise its fd limit. */
#define RLIMIT_LINE \
	"(00.000031) Error (criu/util.c:1534): rlimit: Can't setup " \
	"RLIMIT_NOFILE for self: Operation not permitted"
#define FORK_LINE \
	"(00.002411)      1: Error (criu/cr-restore.c:1230): Can't fork for " \
	"7171: File exists"
#define LAZY_LINE \
	"(00.003210) Error (criu/uffd.c:349): uffd: connect to " \
	"lazy-pages.socket failed: Connection refused"
#define BUILD_ID_LINE \
	"(00.004500)   7171: Error (criu/files-reg.c:2153): File " \
	"/usr/lib/x86_64-linux-gnu/libc.so.6 has bad build-ID"
#define SIZE_LINE \
	"(00.004510)   7171: Error (criu/files-reg.c:2175): File " \
	"/srv/app/data.db has bad size 8192 (expect 4096)"
#define MAGIC_LINE \
	"(00.000820) Error (criu/image.c:554): Head magic doesn't match for " \
	"pstree.img"
#define MOUNT_LINE \
	"(00.030001)      1: Error (criu/mount-v2.c:265): mnt-v2: Can't " \
	"mount at /mnt/data: Permission denied"
#define PRE_RESUME_LINE \
	"(00.051400) Error (criu/cr-restore.c:2271): Pre-resume script ret " \
	"code 1"
#define FAILED_LINE \
	"(00.012345) Error (criu/cr-restore.c:2324): Restoring FAILED."

/* A missing core-PID.img reads as an empty image (criu/protobuf.c). */
#define NO_CORE_LINE "(00.023915) No core-10121.img image"
#define EMPTY_EOF_LINE \
	"(00.023916) Error (criu/protobuf.c:72): Unexpected EOF on " \
	"(empty-image)"
/* A missing pages-1.img: the restorer's read fails with EBADF. */
#define NO_PAGES_LINE "(00.024097)  10121: No pages-1.img image"
#define NO_TTY_LINE "(00.023904)  10121: No tty-info.img image"
#define PAGES_READ_LINE \
	"(00.024636) pie: 10121: Error (criu/pie/restorer.c:1907): Can't " \
	"read pages data (-9)"
/* A truncated pages-1.img: the restorer reads 0 bytes, forever. */
#define PREADV_LINE \
	"(02.068125) pie: 10121: Preadv 0x55ff73426000:8192... (10 iovs)"
#define RETURNED_0_LINE "(02.068126) pie: 10121: `- returned 0"
#define CORE_MAGIC_LINE \
	"(00.018845) Error (criu/image.c:563): Magic doesn't match for " \
	"core-10121.img"
#define IMAGE_FORMAT_LINE \
	"(00.024805) Error (criu/image.c:89): Not supported images version 3"
#define PLUGIN_LINE \
	"(00.024810) Error (criu/image.c:198): Missing required plugin: " \
	"amdgpu_plugin"
/* ctrd run with CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE dropped. */
#define CAP_40_LINE "(00.000066) Effective capability 40 missing"
#define CAP_21_LINE "(00.000070) Effective capability 21 missing"
#define OPEN_DENIED_LINE \
	"(00.040100)   7171: Error (criu/files-reg.c:2353): Can't open file " \
	"srv/app/data.db on restore: Permission denied"
#define SID_LINE \
	"(00.021003)      1: Error (criu/cr-restore.c:1375): Requested sid 32288 doesn't match inherited 17726"
#define TCP_LINE \
	"(00.041000)   7171: Error (criu/sk-inet.c:912): Connected TCP " \
	"socket in image"
#define UFFD_LINE \
	"(00.003100) Error (criu/uffd.c:314): uffd: Unable to open an " \
	"userfaultfd descriptor: Operation not permitted"
/* A pid above kernel.pid_max, which clone3() rejects with EINVAL. */
#define FORK_EINVAL_LINE \
	"(00.002411)      1: Error (criu/cr-restore.c:1230): Can't fork for " \
	"4000000: Invalid argument"
#define MAPPING_LINE \
	"(00.026000) pie: 7171: Error (criu/pie/restorer.c:1883): Can't " \
	"restore 7f3a1c000000 mapping with 7f3a1c001000"

#define VERSION_LINE "(00.000000) Version: 4.2 (gitid 0)"
#define KDAT_LINE "(00.000210) Loaded kdat cache from /run/criu.kdat"

/* One log text, the cause it must produce and the excerpt's size. */
struct explain_case {
	const char *name;
	const char *log;
	const char *code;
	const char *message_part;	/* a substring of the message */
	const char *cause_line;		/* in the excerpt, or NULL */
	size_t excerpt_lines;
};

static const struct explain_case explain_cases[] = {
	{
		"pid in use after rlimit",
		VERSION_LINE "\n"
		RLIMIT_LINE "\n"
		KDAT_LINE "\n"
		"(00.001940) Restoring processes (step 1)\n"
		"(00.002107) Forking task with 7171 pid (flags 0x0)\n"
		"(00.002300) Creating process using clone3()\n"
		FORK_LINE "\n"
		FAILED_LINE "\n",
		"pid-in-use", "Can't fork for 7171: File exists", FORK_LINE,
		/* Four lines of context, the cause and the FAILED line. */
		6,
	},
	{
		"lazy-pages socket refused",
		VERSION_LINE "\n"
		RLIMIT_LINE "\n"
		"(00.001203) Running pre-restore scripts\n"
		LAZY_LINE "\n"
		FAILED_LINE "\n",
		"lazy-pages-failed",
		"connect to lazy-pages.socket failed: Connection refused",
		LAZY_LINE, 5,
	},
	{
		"bad build-ID",
		VERSION_LINE "\n"
		"(00.004400)   7171: Opening fdinfo-s\n"
		BUILD_ID_LINE "\n"
		FAILED_LINE "\n",
		"image-mismatch", "libc.so.6 has bad build-ID", BUILD_ID_LINE,
		4,
	},
	{
		"bad file size",
		VERSION_LINE "\n"
		SIZE_LINE "\n"
		FAILED_LINE "\n",
		"image-mismatch", "has bad size 8192 (expect 4096)", SIZE_LINE,
		3,
	},
	{
		"bad image magic",
		VERSION_LINE "\n"
		MAGIC_LINE "\n"
		FAILED_LINE "\n",
		"image-corrupt", "Head magic doesn't match for pstree.img",
		MAGIC_LINE, 3,
	},
	{
		"denied mount",
		VERSION_LINE "\n"
		RLIMIT_LINE "\n"
		MOUNT_LINE "\n"
		FAILED_LINE "\n",
		"permission", "CRIU: mnt-v2: Can't mount at /mnt/data", MOUNT_LINE,
		4,
	},
	{
		"denied file open",
		VERSION_LINE "\n"
		OPEN_DENIED_LINE "\n"
		FAILED_LINE "\n",
		"permission", "srv/app/data.db on restore: Permission denied",
		OPEN_DENIED_LINE, 3,
	},
	{
		"missing capabilities",
		VERSION_LINE "\n"
		CAP_40_LINE "\n"
		CAP_21_LINE "\n",
		"permission", "neither CAP_CHECKPOINT_RESTORE nor CAP_SYS_ADMIN",
		CAP_21_LINE, 3,
	},
	{
		"missing core image",
		VERSION_LINE "\n"
		RLIMIT_LINE "\n"
		"(00.023889) No apparmor.img image\n"
		NO_CORE_LINE "\n"
		EMPTY_EOF_LINE "\n"
		FAILED_LINE "\n",
		"image-missing", "image file 'core-10121.img' is missing",
		EMPTY_EOF_LINE, 6,
	},
	{
		"missing image unnamed",
		VERSION_LINE "\n"
		EMPTY_EOF_LINE "\n"
		FAILED_LINE "\n",
		"image-missing", "names it only at log_level 3", EMPTY_EOF_LINE,
		3,
	},
	{
		"missing pages image",
		VERSION_LINE "\n"
		NO_PAGES_LINE "\n"
		"(00.024113)  10121: nr_restored_pages: 2078\n"
		NO_TTY_LINE "\n"
		PAGES_READ_LINE "\n"
		FAILED_LINE "\n",
		"image-missing", "image file 'pages-1.img' is missing",
		PAGES_READ_LINE, 6,
	},
	{
		"unreadable pages",
		VERSION_LINE "\n"
		NO_TTY_LINE "\n"
		PAGES_READ_LINE "\n"
		FAILED_LINE "\n",
		"image-corrupt", "Can't read pages data (-9)", PAGES_READ_LINE, 4,
	},
	{
		"truncated pages loop",
		VERSION_LINE "\n"
		RLIMIT_LINE "\n"
		PREADV_LINE "\n"
		RETURNED_0_LINE "\n"
		PREADV_LINE "\n"
		RETURNED_0_LINE "\n",
		"image-corrupt", "a pages-*.img file is shorter", RETURNED_0_LINE,
		4,
	},
	{
		"wrong magic",
		VERSION_LINE "\n"
		NO_TTY_LINE "\n"
		CORE_MAGIC_LINE "\n"
		FAILED_LINE "\n",
		"image-corrupt", "Magic doesn't match for core-10121.img",
		CORE_MAGIC_LINE, 4,
	},
	{
		"foreign image format",
		VERSION_LINE "\n"
		RLIMIT_LINE "\n"
		IMAGE_FORMAT_LINE "\n",
		"criu-version", "Not supported images version 3",
		IMAGE_FORMAT_LINE, 3,
	},
	{
		"missing plugin",
		VERSION_LINE "\n"
		PLUGIN_LINE "\n"
		FAILED_LINE "\n",
		"criu-version", "Missing required plugin: amdgpu_plugin",
		PLUGIN_LINE, 3,
	},
	{
		"established TCP",
		VERSION_LINE "\n"
		TCP_LINE "\n"
		FAILED_LINE "\n",
		"options-mismatch", "restore it with tcp_established", TCP_LINE,
		3,
	},
	{
		"shell job without shell_job",
		VERSION_LINE "\n"
		SID_LINE "\n"
		FAILED_LINE "\n",
		"options-mismatch", "restore it with shell_job", SID_LINE, 3,
	},
	{
		"userfaultfd denied",
		VERSION_LINE "\n"
		UFFD_LINE "\n"
		FAILED_LINE "\n",
		"lazy-pages-failed", "Unable to open an userfaultfd descriptor",
		UFFD_LINE, 3,
	},
	{
		"pid above pid_max",
		VERSION_LINE "\n"
		FORK_EINVAL_LINE "\n"
		FAILED_LINE "\n",
		"restore-failed", "CRIU: Can't fork for 4000000: Invalid argument",
		FORK_EINVAL_LINE, 3,
	},
	{
		"unknown error",
		VERSION_LINE "\n"
		RLIMIT_LINE "\n"
		MAPPING_LINE "\n"
		FAILED_LINE "\n",
		"restore-failed",
		"CRIU: Can't restore 7f3a1c000000 mapping with 7f3a1c001000",
		MAPPING_LINE, 4,
	},
	{
		"cause without newline",
		VERSION_LINE "\n"
		FORK_LINE,
		"pid-in-use", "Can't fork for 7171", FORK_LINE, 2,
	},
	{
		"only harmless errors",
		VERSION_LINE "\n"
		RLIMIT_LINE "\n"
		"(00.051000) Running pre-resume scripts\n"
		PRE_RESUME_LINE "\n"
		"(00.052000) Restore finished successfully. Tasks resumed.\n",
		"restore-failed", "names no cause", RLIMIT_LINE, 5,
	},
	{
		"empty log", "", "restore-failed", "names no cause",
		NULL, 0,
	},
};

static bool
lines_contain(const json_t *lines, const char *line)
{
	size_t i;

	for (i = 0; i < json_array_size(lines); i++)
		if (strcmp(json_string_value(json_array_get(lines, i)),
		    line) == 0)
			return true;
	return false;
}

static void
test_explain(void **state)
{
	const struct explain_case *c = *state;
	struct criu_log_cause cause;

	memset(&cause, 0, sizeof(cause));
	criu_log_explain(c->log, strlen(c->log), &cause);
	assert_string_equal(cause.code, c->code);
	assert_non_null(strstr(cause.message, c->message_part));
	assert_true(json_is_array(cause.lines));
	assert_int_equal(json_array_size(cause.lines), c->excerpt_lines);
	if (c->cause_line != NULL)
		assert_true(lines_contain(cause.lines, c->cause_line));
	criu_log_cause_clear(&cause);
	assert_null(cause.lines);
}

/* A cause with no known pattern is reported without CRIU's line prefix. */
static void
test_explain_strips_prefix(void **state)
{
	static const char log[] = MAPPING_LINE "\n";
	struct criu_log_cause cause;

	criu_log_explain(log, strlen(log), &cause);
	assert_string_equal(cause.message,
	    "CRIU: Can't restore 7f3a1c000000 mapping with 7f3a1c001000");
	criu_log_cause_clear(&cause);
}

/* A debug line matched as the cause loses its "(seconds) " prefix too. */
static void
test_explain_strips_debug_prefix(void **state)
{
	static const char log[] = CAP_40_LINE "\n" CAP_21_LINE "\n";
	struct criu_log_cause cause;

	criu_log_explain(log, strlen(log), &cause);
	assert_string_equal(cause.code, "permission");
	assert_non_null(strstr(cause.message,
	    "(CRIU: Effective capability 21 missing)"));
	criu_log_cause_clear(&cause);
}

/* Only "No NAME image" lines whose NAME the pattern expects name the file. */
static void
test_missing_needs_pages_name(void **state)
{
	static const char log[] =
	    "(00.023231) No remap-fpath.img image\n"
	    NO_TTY_LINE "\n"
	    PAGES_READ_LINE "\n";
	struct criu_log_cause cause;

	criu_log_explain(log, strlen(log), &cause);
	assert_string_equal(cause.code, "image-corrupt");
	assert_null(strstr(cause.message, "tty-info.img"));
	assert_null(strstr(cause.message, "remap-fpath.img"));
	criu_log_cause_clear(&cause);
}

/* Append `line` and a newline at *used in `buf`, a buffer of `size` bytes. */
static void
append_line(char *buf, size_t size, size_t *used, const char *line)
{
	size_t len = strlen(line);

	assert_true(*used + len + 1 <= size);
	memcpy(buf + *used, line, len);
	buf[*used + len] = '\n';
	*used += len + 1;
}

/* A log whose cause line is followed by more errors than the excerpt fits. */
static void
test_excerpt_bounded(void **state)
{
	size_t size = 64 * 1024, used = 0, i;
	char *log = malloc(size);
	char line[128], first[128];
	struct criu_log_cause cause;

	assert_non_null(log);
	append_line(log, size, &used, RLIMIT_LINE);
	for (i = 1; i < 10; i++) {
		snprintf(line, sizeof(line),
		    "(00.%06zu)      1: Restoring fd %zu", i, i + 2);
		append_line(log, size, &used, line);
		if (i == 6)
			memcpy(first, line, sizeof(line));
	}
	append_line(log, size, &used, FORK_LINE);
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line),
		    "(00.1%05zu)      1: Error (criu/files.c:1221): "
		    "Unable to open fd=%zu id=%#zx", i, i + 3, i + 16);
		append_line(log, size, &used, line);
	}

	criu_log_explain(log, used, &cause);
	assert_string_equal(cause.code, "pid-in-use");
	assert_int_equal(json_array_size(cause.lines), CRIU_LOG_MAX_LINES);
	assert_true(lines_contain(cause.lines, FORK_LINE));
	/* The excerpt opens with the 4 lines before the cause. */
	assert_string_equal(json_string_value(json_array_get(cause.lines, 0)),
	    first);
	assert_string_equal(json_string_value(json_array_get(cause.lines, 4)),
	    FORK_LINE);
	criu_log_cause_clear(&cause);
	free(log);
}

/* With no error line to point at, the excerpt is the end of the log. */
static void
test_excerpt_tail(void **state)
{
	size_t size = 8 * 1024, used = 0, i;
	char *log = malloc(size);
	char line[128];
	struct criu_log_cause cause;

	assert_non_null(log);
	for (i = 0; i < 50; i++) {
		snprintf(line, sizeof(line),
		    "(00.%06zu)      1: Restoring fd %zu", i, i);
		append_line(log, size, &used, line);
	}

	criu_log_explain(log, used, &cause);
	assert_string_equal(cause.code, "restore-failed");
	assert_int_equal(json_array_size(cause.lines), CRIU_LOG_MAX_LINES);
	assert_string_equal(json_string_value(json_array_get(cause.lines, 0)),
	    "(00.000030)      1: Restoring fd 30");
	assert_string_equal(json_string_value(json_array_get(cause.lines,
	    CRIU_LOG_MAX_LINES - 1)), "(00.000049)      1: Restoring fd 49");
	criu_log_cause_clear(&cause);
	free(log);
}

/* A temporary directory for the log file of one test. */
struct log_dir {
	char path[UNIT_TEMP_DIR_SIZE];
	int fd;
};

static int
log_dir_setup(void **state)
{
	struct log_dir *dir = calloc(1, sizeof(*dir));

	if (dir == NULL)
		return -1;
	dir->fd = unit_make_temp_dir(dir->path);
	if (dir->fd == -1) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int
log_dir_teardown(void **state)
{
	struct log_dir *dir = *state;

	unlinkat(dir->fd, "restore.log", 0);
	close(dir->fd);
	rmdir(dir->path);
	free(dir);
	return 0;
}

static void
write_log(int dir_fd, const char *head, size_t head_len, const char *tail,
    size_t tail_len)
{
	struct stat st;
	int fd;

	fd = openat(dir_fd, "restore.log",
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, head, head_len), head_len);
	assert_int_equal(write(fd, tail, tail_len), tail_len);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, head_len + tail_len);
	close(fd);
}

/*
 * The read starts DECOY_CUT bytes into this line, so its remainder looks
 * like an error line of a pid in use.  Only dropping the partial first line
 * keeps it from being taken as the cause.
 */
static const char decoy_line[] = FORK_LINE "\n";
#define DECOY_CUT 20

/* A log larger than CRIU_LOG_TAIL_BYTES whose cause sits near its end. */
static void
test_explain_file_large(void **state)
{
	static const char ending[] = BUILD_ID_LINE "\n" FAILED_LINE "\n";
	struct log_dir *dir = *state;
	size_t tail_size = CRIU_LOG_TAIL_BYTES, used = 0, i;
	char head[4096], line[256];
	size_t head_len = 0;
	char *tail = malloc(tail_size);
	struct criu_log_cause cause;

	assert_non_null(tail);
	assert_string_equal(decoy_line + DECOY_CUT,
	    "Error (criu/cr-restore.c:1230): Can't fork for 7171: "
	    "File exists\n");

	/* Head: whole lines and the start of the decoy, cut off by the read. */
	for (i = 0; i < 50; i++)
		head_len += (size_t)snprintf(head + head_len,
		    sizeof(head) - head_len,
		    "(00.%06zu) Collected fd %zu\n", i, i);
	memcpy(head + head_len, decoy_line, DECOY_CUT);
	head_len += DECOY_CUT;

	/* Tail: exactly the bytes the read covers, ending with the cause. */
	used = strlen(decoy_line) - DECOY_CUT;
	memcpy(tail, decoy_line + DECOY_CUT, used);
	for (i = 0; tail_size - used - strlen(ending) > 200; i++) {
		snprintf(line, sizeof(line),
		    "(00.%06zu)   7171: Restoring fd %zu", i % 1000000, i);
		append_line(tail, tail_size, &used, line);
	}
	memset(line, 0, sizeof(line));
	snprintf(line, sizeof(line), "(00.900000)   7171: ");
	memset(line + strlen(line), '.',
	    tail_size - used - strlen(ending) - strlen(line) - 1);
	append_line(tail, tail_size, &used, line);
	memcpy(tail + used, ending, strlen(ending));
	used += strlen(ending);
	assert_int_equal(used, tail_size);
	write_log(dir->fd, head, head_len, tail, tail_size);
	free(tail);

	criu_log_explain_file(dir->fd, "restore.log", &cause);
	assert_string_equal(cause.code, "image-mismatch");
	assert_non_null(strstr(cause.message, "libc.so.6 has bad build-ID"));
	assert_true(lines_contain(cause.lines, BUILD_ID_LINE));
	assert_true(lines_contain(cause.lines, FAILED_LINE));
	assert_true(json_array_size(cause.lines) <= CRIU_LOG_MAX_LINES);
	criu_log_cause_clear(&cause);
}

/* Below CRIU_LOG_TAIL_BYTES the whole file is read, first line included. */
static void
test_explain_file_small(void **state)
{
	static const char log[] = FORK_LINE "\n" FAILED_LINE "\n";
	struct log_dir *dir = *state;
	struct criu_log_cause cause;

	write_log(dir->fd, log, strlen(log), "", 0);
	criu_log_explain_file(dir->fd, "restore.log", &cause);
	assert_string_equal(cause.code, "pid-in-use");
	assert_int_equal(json_array_size(cause.lines), 2);
	assert_string_equal(json_string_value(json_array_get(cause.lines, 0)),
	    FORK_LINE);
	criu_log_cause_clear(&cause);
}

static void
test_explain_file_missing(void **state)
{
	struct log_dir *dir = *state;
	struct criu_log_cause cause;

	criu_log_explain_file(dir->fd, "restore.log", &cause);
	assert_string_equal(cause.code, "restore-failed");
	assert_non_null(strstr(cause.message, "'restore.log'"));
	assert_true(json_is_array(cause.lines));
	assert_int_equal(json_array_size(cause.lines), 0);
	criu_log_cause_clear(&cause);
}

#define DIR_TEST(test_name, func) \
	{ .name = (test_name), .test_func = (func), \
	    .setup_func = log_dir_setup, .teardown_func = log_dir_teardown }

/* Both tasks' "UFFD transferred pages" lines are summed. */
static void
test_count_lazy_pages(void **state)
{
	static const char log[] =
	    "(00.068455) \tpr7299-1 Read page from self 7fff05e65000/401d000\n"
	    "(00.068458) uffd: 7299-12: UFFD transferred pages: (16399/16399)\n"
	    "(00.070000) uffd: 7300-13: UFFD transferred pages: (10/12)\n";
	struct log_dir *dir = *state;
	long copied = -1, total = -1;

	write_log(dir->fd, log, sizeof(log) - 1, "", 0);
	assert_int_equal(criu_log_count_lazy_pages(dir->fd, "restore.log",
	    &copied, &total), 2);
	assert_int_equal(copied, 16409);
	assert_int_equal(total, 16411);
}

/* A log below level 4 has no counts: zero tasks, and -1 for no log. */
static void
test_count_lazy_pages_absent(void **state)
{
	static const char log[] = "(00.000001) Version: 4.2.1\n";
	struct log_dir *dir = *state;
	long copied, total;

	write_log(dir->fd, log, sizeof(log) - 1, "", 0);
	assert_int_equal(criu_log_count_lazy_pages(dir->fd, "restore.log",
	    &copied, &total), 0);
	assert_int_equal(criu_log_count_lazy_pages(dir->fd, "missing.log",
	    &copied, &total), -1);
}

/* Counts come from complete lines only; a partial line waits. */
static void
test_scan_lazy_progress(void **state)
{
	static const char log[] =
	    "(00.001) uffd: 7299-12: Found 16399 pages to be handled by UFFD\n"
	    "(00.002) uffd: 7299-12: #PF at 0x7fc40cbae000\n"
	    "(00.003) uffd: 7299-12: uffd_copy: 0x7fc40cbae000/4096\n"
	    "(00.004) uffd: 7299-12: uffd_copy: 0x7fc40c8cf000/1048576\n"
	    "(00.005) uffd: 7299-12: uffd_copy: 0x7fc40c9cf000/81";
	struct criu_log_lazy_progress progress = { 0, 0 };
	size_t scanned;

	scanned = criu_log_scan_lazy_progress(log, sizeof(log) - 1, &progress);
	assert_int_equal(progress.total_pages, 16399);
	assert_int_equal(progress.copied_bytes, 4096 + 1048576);
	assert_int_equal(scanned, strrchr(log, '\n') - log + 1);
}

static const struct CMUnitTest single_tests[] = {
	UNIT_TEST("explain strips prefix", test_explain_strips_prefix, NULL),
	UNIT_TEST("explain strips debug prefix",
	    test_explain_strips_debug_prefix, NULL),
	UNIT_TEST("missing file needs its kind", test_missing_needs_pages_name,
	    NULL),
	UNIT_TEST("excerpt bounded", test_excerpt_bounded, NULL),
	UNIT_TEST("excerpt of a log without errors", test_excerpt_tail, NULL),
	DIR_TEST("explain_file large log", test_explain_file_large),
	DIR_TEST("explain_file small log", test_explain_file_small),
	DIR_TEST("explain_file missing log", test_explain_file_missing),
	DIR_TEST("lazy page counts two tasks", test_count_lazy_pages),
	DIR_TEST("lazy page counts absent", test_count_lazy_pages_absent),
	UNIT_TEST("lazy progress partial line", test_scan_lazy_progress, NULL),
};

int
main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(explain_cases) +
	    ARRAY_SIZE(single_tests)];
	size_t n = 0, i;

	for (i = 0; i < ARRAY_SIZE(explain_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(
		    explain_cases[i].name, test_explain, &explain_cases[i]);
	for (i = 0; i < ARRAY_SIZE(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("criu_log", tests, NULL, NULL);
}
