/*
 * Unit tests for the copy of an images dir that ctrd-cli migrate makes,
 * against directories in /tmp.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_error.h"
#include "image_copy.h"
#include "unit.h"

/* A source and a destination directory inside one temporary directory. */
struct dirs {
	char root[UNIT_TEMP_DIR_SIZE];
	char from[UNIT_TEMP_DIR_SIZE + 16];
	char to[UNIT_TEMP_DIR_SIZE + 16];
	int root_fd;
};

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	file = fopen(path, "we");
	assert_non_null(file);
	assert_int_equal(fputs(text, file) >= 0, 1);
	assert_int_equal(fclose(file), 0);
}

/* Return the contents of `dir`/`name` in `buf`, or NULL if it is absent. */
static const char *
read_file(const char *dir, const char *name, char *buf, size_t size)
{
	char path[256];
	FILE *file;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	file = fopen(path, "re");
	if (file == NULL)
		return NULL;
	len = fread(buf, 1, size - 1, file);
	buf[len] = '\0';
	fclose(file);
	return buf;
}

static bool
path_exists(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

/* Remove `path` and everything beneath it, as deep as the tests go. */
static void
remove_tree(const char *path)
{
	char child[512];
	struct dirent *entry;
	struct stat st;
	DIR *dir;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	dir = opendir(path);
	while (dir != NULL && (entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
		remove_tree(child);
	}
	if (dir != NULL)
		closedir(dir);
	rmdir(path);
}

static int
setup_dirs(void **state)
{
	static struct dirs dirs;

	dirs.root_fd = unit_make_temp_dir(dirs.root);
	if (dirs.root_fd == -1)
		return -1;
	snprintf(dirs.from, sizeof(dirs.from), "%s/from", dirs.root);
	snprintf(dirs.to, sizeof(dirs.to), "%s/to", dirs.root);
	if (mkdir(dirs.from, 0700) == -1)
		return -1;
	*state = &dirs;
	return 0;
}

static int
teardown_dirs(void **state)
{
	struct dirs *dirs = *state;

	close(dirs->root_fd);
	remove_tree(dirs->root);
	return 0;
}

/* A missing destination is made with mode 0700, then filled. */
static void
test_copy_into_new_dir(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;
	char buf[64];
	struct stat st;

	write_file(dirs->from, "inventory.img", "inventory");
	write_file(dirs->from, "core-1.img", "core");
	write_file(dirs->from, "empty.img", "");

	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), 0);
	assert_true(copy.created);
	assert_false(copy.shared);
	assert_string_equal(copy.to, dirs->to);
	assert_int_equal(stat(dirs->to, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	assert_int_equal(image_copy_run(&copy, NULL, &err), 13);
	assert_string_equal(read_file(dirs->to, "inventory.img", buf,
	    sizeof(buf)), "inventory");
	assert_string_equal(read_file(dirs->to, "core-1.img", buf,
	    sizeof(buf)), "core");
	assert_string_equal(read_file(dirs->to, "empty.img", buf,
	    sizeof(buf)), "");
	image_copy_release(&copy);
}

/* The copies are 0600 whatever the source's mode: images contain memory. */
static void
test_copy_mode(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;
	char path[256];
	struct stat st;

	write_file(dirs->from, "pstree.img", "tree");
	snprintf(path, sizeof(path), "%s/pstree.img", dirs->from);
	assert_int_equal(chmod(path, 0644), 0);

	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), 0);
	assert_int_equal(image_copy_run(&copy, NULL, &err), 4);
	snprintf(path, sizeof(path), "%s/pstree.img", dirs->to);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	image_copy_release(&copy);
}

/* Only regular files are copied: no directory, link or FIFO. */
static void
test_copy_skips_special_files(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;
	char path[256];

	write_file(dirs->from, "mm-1.img", "mm");
	snprintf(path, sizeof(path), "%s/sub", dirs->from);
	assert_int_equal(mkdir(path, 0700), 0);
	write_file(path, "inner.img", "inner");
	snprintf(path, sizeof(path), "%s/link.img", dirs->from);
	assert_int_equal(symlink("mm-1.img", path), 0);
	snprintf(path, sizeof(path), "%s/fifo.img", dirs->from);
	assert_int_equal(mkfifo(path, 0600), 0);

	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), 0);
	assert_int_equal(image_copy_run(&copy, NULL, &err), 2);
	assert_true(path_exists(dirs->to, "mm-1.img"));
	assert_false(path_exists(dirs->to, "sub"));
	assert_false(path_exists(dirs->to, "link.img"));
	assert_false(path_exists(dirs->to, "fifo.img"));
	image_copy_release(&copy);
}

/* An existing empty destination is used as it is. */
static void
test_existing_empty_dir(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;

	write_file(dirs->from, "inventory.img", "inventory");
	assert_int_equal(mkdir(dirs->to, 0755), 0);
	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), 0);
	assert_false(copy.created);
	assert_int_equal(image_copy_run(&copy, NULL, &err), 9);
	assert_true(path_exists(dirs->to, "inventory.img"));
	image_copy_release(&copy);
}

/* A destination with an image set is rejected before any copy. */
static void
test_destination_holds_images(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;

	assert_int_equal(mkdir(dirs->to, 0700), 0);
	write_file(dirs->to, "inventory.img", "old");
	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), -1);
	assert_non_null(strstr(err.message, "already contains an image set"));
	assert_non_null(strstr(err.message, dirs->to));
	assert_null(copy.from);
	assert_null(copy.to);
}

/* One directory under two names is shared storage: nothing is copied. */
static void
test_same_dir_is_shared(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;
	char link[256];

	write_file(dirs->from, "inventory.img", "inventory");
	snprintf(link, sizeof(link), "%s/alias", dirs->root);
	assert_int_equal(symlink("from", link), 0);

	assert_int_equal(image_copy_prepare(&copy, dirs->from, link, &err),
	    0);
	assert_true(copy.shared);
	assert_false(copy.created);
	assert_string_equal(copy.to, dirs->from);
	assert_int_equal(image_copy_run(&copy, NULL, &err), 0);
	image_copy_release(&copy);
}

static void
test_missing_source(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;
	char path[256];

	snprintf(path, sizeof(path), "%s/absent", dirs->root);
	assert_int_equal(image_copy_prepare(&copy, path, dirs->to, &err), -1);
	assert_non_null(strstr(err.message, "No such file or directory"));
	assert_false(path_exists(dirs->root, "to"));
}

static void
test_source_not_a_dir(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;
	char path[256];

	write_file(dirs->root, "file", "x");
	snprintf(path, sizeof(path), "%s/file", dirs->root);
	assert_int_equal(image_copy_prepare(&copy, path, dirs->to, &err), -1);
	assert_non_null(strstr(err.message, "is not a directory"));
	assert_false(path_exists(dirs->root, "to"));
}

/* The parent of the destination must exist: only the last part is made. */
static void
test_missing_parent(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;
	char path[256];

	snprintf(path, sizeof(path), "%s/a/b", dirs->root);
	assert_int_equal(image_copy_prepare(&copy, dirs->from, path, &err),
	    -1);
	assert_non_null(strstr(err.message, "create images dir"));
	assert_false(path_exists(dirs->root, "a"));
}

/*
 * A file already at the destination stops the copy: the files copied
 * before it are removed again, the one that was there stays, and so does
 * the directory, which the copy did not make.
 */
static void
test_conflict_undoes_copy(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;
	char buf[64];
	int i;

	for (i = 0; i < 8; i++) {
		snprintf(buf, sizeof(buf), "pages-%d.img", i);
		write_file(dirs->from, buf, "pages");
	}
	write_file(dirs->from, "inventory.img", "inventory");
	assert_int_equal(mkdir(dirs->to, 0700), 0);
	write_file(dirs->to, "pages-5.img", "theirs");

	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), 0);
	assert_int_equal(image_copy_run(&copy, NULL, &err), -1);
	assert_non_null(strstr(err.message, "pages-5.img"));
	assert_non_null(strstr(err.message, "File exists"));
	for (i = 0; i < 8; i++) {
		snprintf(buf, sizeof(buf), "pages-%d.img", i);
		assert_int_equal(path_exists(dirs->to, buf), i == 5);
	}
	assert_false(path_exists(dirs->to, "inventory.img"));
	assert_string_equal(read_file(dirs->to, "pages-5.img", buf,
	    sizeof(buf)), "theirs");
	image_copy_release(&copy);
}

/*
 * A failed write into a directory the copy made removes that directory
 * too.  RLIMIT_FSIZE makes the write fail with EFBIG, for root as well.
 */
static void
test_failure_removes_new_dir(void **state)
{
	struct dirs *dirs = *state;
	struct rlimit saved, limit;
	struct image_copy copy;
	struct cli_error err;
	char big[4097];
	void (*saved_handler)(int);

	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(dirs->from, "core-1.img", "core");
	write_file(dirs->from, "pages-1.img", big);
	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), 0);
	assert_true(copy.created);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	limit = saved;
	limit.rlim_cur = 1024;
	saved_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
	assert_int_equal(image_copy_run(&copy, NULL, &err), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, saved_handler);

	assert_non_null(strstr(err.message, "write"));
	assert_non_null(strstr(err.message, "pages-1.img"));
	assert_false(path_exists(dirs->root, "to"));
	image_copy_release(&copy);
}

/* The flag a signal handler sets to stop a copy, as ctrd-cli migrate's. */
static volatile sig_atomic_t copy_stop;

static void
on_alarm(int signo)
{
	copy_stop = signo;
}

/* A stop requested before the copy copies nothing and removes `to`. */
static void
test_stop_before_copy(void **state)
{
	struct dirs *dirs = *state;
	struct image_copy copy;
	struct cli_error err;

	write_file(dirs->from, "inventory.img", "inventory");
	write_file(dirs->from, "core-1.img", "core");
	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), 0);
	copy_stop = 1;
	assert_int_equal(image_copy_run(&copy, &copy_stop, &err), -1);
	copy_stop = 0;
	assert_non_null(strstr(err.message, "interrupted"));
	assert_false(path_exists(dirs->root, "to"));
	image_copy_release(&copy);
}

/*
 * A signal during the copy of a large file stops it within a MiB, and the
 * files copied so far and the new `to` are removed.  The source is a
 * sparse file of 1 GiB, which takes far longer to copy than the 20 ms
 * before the signal.
 */
static void
test_stop_during_copy(void **state)
{
	struct itimerval timer = { .it_value = { 0, 20000 } };
	struct dirs *dirs = *state;
	struct sigaction action, saved;
	struct image_copy copy;
	struct cli_error err;
	char path[256];
	int fd;

	write_file(dirs->from, "core-1.img", "core");
	snprintf(path, sizeof(path), "%s/pages-1.img", dirs->from);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1L << 30), 0);
	close(fd);
	assert_int_equal(image_copy_prepare(&copy, dirs->from, dirs->to,
	    &err), 0);

	memset(&action, 0, sizeof(action));
	action.sa_handler = on_alarm;
	action.sa_flags = SA_RESTART;
	sigemptyset(&action.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &action, &saved), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &timer, NULL), 0);
	assert_int_equal(image_copy_run(&copy, &copy_stop, &err), -1);
	sigaction(SIGALRM, &saved, NULL);
	assert_int_equal(copy_stop, SIGALRM);
	copy_stop = 0;

	assert_non_null(strstr(err.message, "interrupted"));
	assert_false(path_exists(dirs->root, "to"));
	image_copy_release(&copy);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_copy_into_new_dir, setup_dirs,
	    teardown_dirs),
	cmocka_unit_test_setup_teardown(test_copy_mode, setup_dirs,
	    teardown_dirs),
	cmocka_unit_test_setup_teardown(test_copy_skips_special_files,
	    setup_dirs, teardown_dirs),
	cmocka_unit_test_setup_teardown(test_existing_empty_dir, setup_dirs,
	    teardown_dirs),
	cmocka_unit_test_setup_teardown(test_destination_holds_images,
	    setup_dirs, teardown_dirs),
	cmocka_unit_test_setup_teardown(test_same_dir_is_shared, setup_dirs,
	    teardown_dirs),
	cmocka_unit_test_setup_teardown(test_missing_source, setup_dirs,
	    teardown_dirs),
	cmocka_unit_test_setup_teardown(test_source_not_a_dir, setup_dirs,
	    teardown_dirs),
	cmocka_unit_test_setup_teardown(test_missing_parent, setup_dirs,
	    teardown_dirs),
	cmocka_unit_test_setup_teardown(test_conflict_undoes_copy,
	    setup_dirs, teardown_dirs),
	cmocka_unit_test_setup_teardown(test_failure_removes_new_dir,
	    setup_dirs, teardown_dirs),
	cmocka_unit_test_setup_teardown(test_stop_before_copy, setup_dirs,
	    teardown_dirs),
	cmocka_unit_test_setup_teardown(test_stop_during_copy, setup_dirs,
	    teardown_dirs),
};

int
main(void)
{
	return cmocka_run_group_tests_name("image_copy", tests, NULL, NULL);
}
