/*
 * Unit tests for the check of CRIU's kernel-probe cache directory: which
 * directories let CRIU keep its cache, and the fix each message names.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/vfs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "criu_probe.h"
#include "unit.h"

/* A temporary directory, removed with the files the tests put in it. */
struct kdat_dir {
	char path[PATH_MAX];
	char tmp_path[PATH_MAX];
};

static bool
kdat_is_tmpfs(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 &&
	    (unsigned long)fs.f_type == TMPFS_MAGIC;
}

/*
 * Make a directory under `parent`.  Skip the test unless `parent` is a
 * tmpfs, or with `want_tmpfs` false, unless it is not one.
 */
static void
kdat_make_dir(struct kdat_dir *dir, const char *parent, bool want_tmpfs)
{
	if (kdat_is_tmpfs(parent) != want_tmpfs)
		skip();
	snprintf(dir->path, sizeof(dir->path), "%s/ctrd-unit-kdat-XXXXXX",
	    parent);
	assert_non_null(mkdtemp(dir->path));
	snprintf(dir->tmp_path, sizeof(dir->tmp_path), "%s/criu.kdat.tmp",
	    dir->path);
}

static void
kdat_remove_dir(struct kdat_dir *dir)
{
	unlink(dir->tmp_path);
	rmdir(dir->path);
}

/* Create DIR/criu.kdat.tmp, empty, last modified `age` seconds ago. */
static void
kdat_make_tmp(const struct kdat_dir *dir, time_t age)
{
	struct timespec times[2];
	int fd;

	fd = open(dir->tmp_path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
	    0600);
	assert_true(fd != -1);
	close(fd);
	times[0].tv_sec = times[1].tv_sec = time(NULL) - age;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, dir->tmp_path, times, 0), 0);
}

static void
assert_contains(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		fail_msg("expected '%s' in '%s'", part, text);
}

static void
test_kdat_tmpfs_clean(void **state)
{
	char message[CRIU_PROBE_KDAT_MESSAGE_MAX];
	struct kdat_dir dir;

	kdat_make_dir(&dir, "/dev/shm", true);
	criu_probe_check_kdat(dir.path, message, sizeof(message));
	kdat_remove_dir(&dir);
	assert_string_equal(message, "");
}

/* A young .tmp may belong to a CRIU that is writing its cache. */
static void
test_kdat_tmpfs_fresh_tmp(void **state)
{
	char message[CRIU_PROBE_KDAT_MESSAGE_MAX];
	struct kdat_dir dir;

	kdat_make_dir(&dir, "/dev/shm", true);
	kdat_make_tmp(&dir, 0);
	criu_probe_check_kdat(dir.path, message, sizeof(message));
	kdat_remove_dir(&dir);
	assert_string_equal(message, "");
}

static void
test_kdat_tmpfs_stale_tmp(void **state)
{
	char message[CRIU_PROBE_KDAT_MESSAGE_MAX], fix[PATH_MAX + 16];
	struct kdat_dir dir;

	kdat_make_dir(&dir, "/dev/shm", true);
	kdat_make_tmp(&dir, 3600);
	criu_probe_check_kdat(dir.path, message, sizeof(message));
	snprintf(fix, sizeof(fix), "remove '%s'", dir.tmp_path);
	kdat_remove_dir(&dir);
	assert_contains(message, "CRIU cannot cache its kernel probes");
	assert_contains(message, "is left over");
	assert_contains(message, fix);
}

static void
test_kdat_not_tmpfs(void **state)
{
	char message[CRIU_PROBE_KDAT_MESSAGE_MAX], fix[PATH_MAX + 32];
	struct kdat_dir dir;

	kdat_make_dir(&dir, "/tmp", false);
	criu_probe_check_kdat(dir.path, message, sizeof(message));
	snprintf(fix, sizeof(fix), "mount a tmpfs on '%s'", dir.path);
	kdat_remove_dir(&dir);
	assert_contains(message, "CRIU cannot cache its kernel probes");
	assert_contains(message, "not tmpfs");
	assert_contains(message, fix);
}

/* Off tmpfs, the fix is the tmpfs even when a .tmp is left over. */
static void
test_kdat_not_tmpfs_with_tmp(void **state)
{
	char message[CRIU_PROBE_KDAT_MESSAGE_MAX];
	struct kdat_dir dir;

	kdat_make_dir(&dir, "/tmp", false);
	kdat_make_tmp(&dir, 3600);
	criu_probe_check_kdat(dir.path, message, sizeof(message));
	kdat_remove_dir(&dir);
	assert_contains(message, "not tmpfs");
	assert_null(strstr(message, "left over"));
}

static void
test_kdat_missing_dir(void **state)
{
	char message[CRIU_PROBE_KDAT_MESSAGE_MAX];

	criu_probe_check_kdat("/nonexistent/ctrd-unit-kdat", message,
	    sizeof(message));
	assert_contains(message, "statfs '/nonexistent/ctrd-unit-kdat'");
	assert_contains(message, strerror(ENOENT));
}

static void
test_kdat_short_buffer(void **state)
{
	char message[16];

	memset(message, 'x', sizeof(message));
	criu_probe_check_kdat("/nonexistent/ctrd-unit-kdat", message,
	    sizeof(message));
	assert_int_equal(strlen(message), sizeof(message) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdat_tmpfs_clean),
		cmocka_unit_test(test_kdat_tmpfs_fresh_tmp),
		cmocka_unit_test(test_kdat_tmpfs_stale_tmp),
		cmocka_unit_test(test_kdat_not_tmpfs),
		cmocka_unit_test(test_kdat_not_tmpfs_with_tmp),
		cmocka_unit_test(test_kdat_missing_dir),
		cmocka_unit_test(test_kdat_short_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
