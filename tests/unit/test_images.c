/*
 * Unit tests for checking a CRIU image set before a restore, on image
 * files written in a directory in /tmp.  The files are built the way CRIU
 * 4.x writes them: magic numbers, then entries of a 32-bit size and a
 * packed protobuf message.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu-inventory.pb-c.h"
#include "criu-pstree.pb-c.h"
#include "error.h"
#include "images.h"
#include "unit.h"

#define COMMON_MAGIC 0x54564319
#define INVENTORY_MAGIC 0x58313116
#define PSTREE_MAGIC 0x50273030

/* A temporary images dir, and the bytes of the file being built. */
struct images_dir {
	char path[UNIT_TEMP_DIR_SIZE];
	int fd;
	uint8_t buf[4096];
	size_t len;
};

static int
images_dir_setup(void **state)
{
	struct images_dir *dir = calloc(1, sizeof(*dir));

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
images_dir_teardown(void **state)
{
	static const char *const names[] = { "inventory.img", "pstree.img" };
	struct images_dir *dir = *state;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (unlinkat(dir->fd, names[i], 0) == -1)
			unlinkat(dir->fd, names[i], AT_REMOVEDIR);
	close(dir->fd);
	rmdir(dir->path);
	free(dir);
	return 0;
}

static void
put_u32(struct images_dir *dir, uint32_t value)
{
	assert_true(dir->len + 4 <= sizeof(dir->buf));
	dir->buf[dir->len++] = value & 0xff;
	dir->buf[dir->len++] = (value >> 8) & 0xff;
	dir->buf[dir->len++] = (value >> 16) & 0xff;
	dir->buf[dir->len++] = (value >> 24) & 0xff;
}

/* Append an entry: its size, then `size` bytes packed by the caller. */
static uint8_t *
put_entry(struct images_dir *dir, size_t size)
{
	uint8_t *data;

	put_u32(dir, (uint32_t)size);
	assert_true(dir->len + size <= sizeof(dir->buf));
	data = dir->buf + dir->len;
	dir->len += size;
	return data;
}

/* Write the bytes built so far to `name` in the dir and start anew. */
static void
write_file(struct images_dir *dir, const char *name)
{
	int fd;

	fd = openat(dir->fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, dir->buf, dir->len), dir->len);
	close(fd);
	dir->len = 0;
}

static void
write_inventory_entry(struct images_dir *dir, const InventoryEntry *entry)
{
	size_t size = inventory_entry__get_packed_size(entry);

	put_u32(dir, INVENTORY_MAGIC);
	inventory_entry__pack(entry, put_entry(dir, size));
	write_file(dir, "inventory.img");
}

/* Write an inventory.img of image format `version`, as CRIU 4.x does. */
static void
write_inventory(struct images_dir *dir, unsigned int version)
{
	InventoryEntry entry = INVENTORY_ENTRY__INIT;

	entry.img_version = version;
	entry.has_fdinfo_per_id = true;
	entry.fdinfo_per_id = true;
	write_inventory_entry(dir, &entry);
}

static void
put_pstree_entry(struct images_dir *dir, uint32_t pid, uint32_t *threads,
    size_t n_threads)
{
	PstreeEntry entry = PSTREE_ENTRY__INIT;
	size_t size;

	entry.pid = pid;
	entry.ppid = 1;
	entry.pgid = pid;
	entry.sid = pid;
	entry.threads = threads;
	entry.n_threads = n_threads;
	size = pstree_entry__get_packed_size(&entry);
	pstree_entry__pack(&entry, put_entry(dir, size));
}

/* Start a pstree.img with the magic numbers of image format 2. */
static void
put_pstree_head(struct images_dir *dir)
{
	put_u32(dir, COMMON_MAGIC);
	put_u32(dir, PSTREE_MAGIC);
}

/* A two-process tree: 7171 with threads 7172 and 7173, and child 7180. */
static void
write_pstree(struct images_dir *dir)
{
	uint32_t root_threads[] = { 7171, 7172, 7173 };
	uint32_t child_threads[] = { 7180 };

	put_pstree_head(dir);
	put_pstree_entry(dir, 7171, root_threads, ARRAY_SIZE(root_threads));
	put_pstree_entry(dir, 7180, child_threads, ARRAY_SIZE(child_threads));
	write_file(dir, "pstree.img");
}

/* Check that images_check() fails with `code` and a message with `part`. */
static void
assert_check_fails(struct images_dir *dir, const char *code,
    const char *part)
{
	struct images_set set;
	struct error err;

	error_clear(&err);
	assert_int_equal(images_check(dir->fd, &set, &err), -1);
	assert_string_equal(err.code, code);
	assert_string_or_null(err.field, "images_dir");
	if (strstr(err.message, part) == NULL)
		fail_msg("message '%s' lacks '%s'", err.message, part);
	assert_null(set.pids);
	assert_int_equal(set.pid_count, 0);
}

static void
test_every_pid(void **state)
{
	struct images_dir *dir = *state;
	struct images_set set;
	struct error err;

	write_inventory(dir, 2);
	write_pstree(dir);
	assert_int_equal(images_check(dir->fd, &set, &err), 0);
	assert_int_equal(set.version, 2);
	assert_int_equal(set.root_pid, 7171);
	assert_false(set.tcp_close);
	assert_int_equal(set.pid_count, 4);
	assert_int_equal(set.pids[0], 7171);
	assert_int_equal(set.pids[1], 7172);
	assert_int_equal(set.pids[2], 7173);
	assert_int_equal(set.pids[3], 7180);
	images_set_clear(&set);
	assert_null(set.pids);
}

/* Format 1 has no common magic in front of pstree.img's own. */
static void
test_format_1(void **state)
{
	struct images_dir *dir = *state;
	struct images_set set;
	struct error err;

	write_inventory(dir, 1);
	put_u32(dir, PSTREE_MAGIC);
	put_pstree_entry(dir, 4242, NULL, 0);
	write_file(dir, "pstree.img");
	assert_int_equal(images_check(dir->fd, &set, &err), 0);
	assert_int_equal(set.version, 1);
	assert_int_equal(set.root_pid, 4242);
	assert_int_equal(set.pid_count, 1);
	images_set_clear(&set);
}

/* A root with pid 1 gets a new pid namespace: no host pid to check. */
static void
test_own_pid_namespace(void **state)
{
	struct images_dir *dir = *state;
	uint32_t threads[] = { 1 };
	struct images_set set;
	struct error err;

	write_inventory(dir, 2);
	put_pstree_head(dir);
	put_pstree_entry(dir, 1, threads, 1);
	put_pstree_entry(dir, 2, NULL, 0);
	write_file(dir, "pstree.img");
	assert_int_equal(images_check(dir->fd, &set, &err), 0);
	assert_int_equal(set.root_pid, 1);
	assert_int_equal(set.pid_count, 0);
	images_set_clear(&set);
}

static void
test_inventory_flags(void **state)
{
	struct images_dir *dir = *state;
	InventoryEntry entry = INVENTORY_ENTRY__INIT;
	struct images_set set;
	struct error err;

	entry.img_version = 2;
	entry.has_fdinfo_per_id = true;
	entry.fdinfo_per_id = true;
	entry.has_tcp_close = true;
	entry.tcp_close = true;
	write_inventory_entry(dir, &entry);
	write_pstree(dir);
	assert_int_equal(images_check(dir->fd, &set, &err), 0);
	assert_true(set.tcp_close);
	assert_false(set.allow_uprobes);
	images_set_clear(&set);
}

static void
test_empty_dir(void **state)
{
	assert_check_fails(*state, "image-missing", "inventory.img is missing");
}

static void
test_missing_pstree(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	assert_check_fails(dir, "image-missing", "pstree.img is missing");
}

static void
test_inventory_magic(void **state)
{
	struct images_dir *dir = *state;

	put_u32(dir, PSTREE_MAGIC);
	put_u32(dir, 0);
	write_file(dir, "inventory.img");
	write_pstree(dir);
	assert_check_fails(dir, "image-corrupt",
	    "inventory.img has 0x50273030 where CRIU's inventory magic 0x58313116 belongs");
}

static void
test_pstree_magic(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	put_u32(dir, COMMON_MAGIC);
	put_u32(dir, 0);
	put_pstree_entry(dir, 7171, NULL, 0);
	write_file(dir, "pstree.img");
	assert_check_fails(dir, "image-corrupt",
	    "pstree.img has 0x00000000 where CRIU's pstree magic 0x50273030 belongs");
}

/* In format 2, pstree.img needs the common magic first. */
static void
test_pstree_common_magic(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	put_u32(dir, PSTREE_MAGIC);
	put_pstree_entry(dir, 7171, NULL, 0);
	write_file(dir, "pstree.img");
	assert_check_fails(dir, "image-corrupt",
	    "where CRIU's image magic 0x54564319 belongs");
}

static void
test_empty_pstree(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	write_file(dir, "pstree.img");
	assert_check_fails(dir, "image-corrupt", "pstree.img is empty");
}

static void
test_pstree_without_entries(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	put_pstree_head(dir);
	write_file(dir, "pstree.img");
	assert_check_fails(dir, "image-corrupt",
	    "pstree.img contains no process entry");
}

/* The second entry claims more bytes than the file has left. */
static void
test_truncated_pstree(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	put_pstree_head(dir);
	put_pstree_entry(dir, 7171, NULL, 0);
	put_pstree_entry(dir, 7180, NULL, 0);
	dir->len -= 2;
	write_file(dir, "pstree.img");
	assert_check_fails(dir, "image-corrupt", "pstree.img is cut short");
}

/* Fewer than four bytes where an entry's size belongs. */
static void
test_truncated_size(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	put_pstree_head(dir);
	put_pstree_entry(dir, 7171, NULL, 0);
	put_u32(dir, 10);
	dir->len -= 2;
	write_file(dir, "pstree.img");
	assert_check_fails(dir, "image-corrupt", "pstree.img is cut short");
}

/* Bytes that are no valid entry: a varint that never ends. */
static void
test_garbage_entry(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	put_pstree_head(dir);
	memset(put_entry(dir, 6), 0xff, 6);
	write_file(dir, "pstree.img");
	assert_check_fails(dir, "image-corrupt",
	    "pstree.img entry 1 is not a valid process entry");
}

static void
test_pid_zero(void **state)
{
	struct images_dir *dir = *state;
	uint32_t threads[] = { 7171, 0 };

	write_inventory(dir, 2);
	put_pstree_head(dir);
	put_pstree_entry(dir, 7171, threads, ARRAY_SIZE(threads));
	write_file(dir, "pstree.img");
	assert_check_fails(dir, "image-corrupt", "pstree.img names pid 0");
}

static void
test_unknown_format(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 3);
	write_pstree(dir);
	assert_check_fails(dir, "criu-version",
	    "inventory.img declares image format 3");
}

/* CRIU 4.x rejects an inventory without fdinfo_per_id as too old. */
static void
test_too_old(void **state)
{
	struct images_dir *dir = *state;
	InventoryEntry entry = INVENTORY_ENTRY__INIT;

	entry.img_version = 2;
	write_inventory_entry(dir, &entry);
	write_pstree(dir);
	assert_check_fails(dir, "criu-version", "lacks fdinfo_per_id");
}

static void
test_empty_inventory(void **state)
{
	struct images_dir *dir = *state;

	write_file(dir, "inventory.img");
	write_pstree(dir);
	assert_check_fails(dir, "image-corrupt", "inventory.img is empty");
}

static void
test_pstree_is_dir(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	assert_int_equal(mkdirat(dir->fd, "pstree.img", 0700), 0);
	assert_check_fails(dir, "image-corrupt",
	    "pstree.img is not a regular file");
}

/* A FIFO must fail at once, not block the daemon in open(). */
static void
test_pstree_is_fifo(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	assert_int_equal(mkfifoat(dir->fd, "pstree.img", 0600), 0);
	assert_check_fails(dir, "image-corrupt",
	    "pstree.img is not a regular file");
}

static void
test_pstree_is_symlink(void **state)
{
	struct images_dir *dir = *state;

	write_inventory(dir, 2);
	assert_int_equal(symlinkat("inventory.img", dir->fd, "pstree.img"),
	    0);
	assert_check_fails(dir, "image-corrupt",
	    "pstree.img is a symbolic link");
}

#define DIR_TEST(test_name, func) \
	{ .name = (test_name), .test_func = (func), \
	    .setup_func = images_dir_setup, \
	    .teardown_func = images_dir_teardown }

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		DIR_TEST("every pid and thread", test_every_pid),
		DIR_TEST("image format 1", test_format_1),
		DIR_TEST("own pid namespace", test_own_pid_namespace),
		DIR_TEST("inventory flags", test_inventory_flags),
		DIR_TEST("empty dir", test_empty_dir),
		DIR_TEST("missing pstree.img", test_missing_pstree),
		DIR_TEST("inventory magic", test_inventory_magic),
		DIR_TEST("pstree magic", test_pstree_magic),
		DIR_TEST("pstree common magic", test_pstree_common_magic),
		DIR_TEST("empty pstree.img", test_empty_pstree),
		DIR_TEST("pstree without entries", test_pstree_without_entries),
		DIR_TEST("truncated pstree entry", test_truncated_pstree),
		DIR_TEST("truncated entry size", test_truncated_size),
		DIR_TEST("garbage pstree entry", test_garbage_entry),
		DIR_TEST("pid zero", test_pid_zero),
		DIR_TEST("unknown image format", test_unknown_format),
		DIR_TEST("inventory too old", test_too_old),
		DIR_TEST("empty inventory.img", test_empty_inventory),
		DIR_TEST("pstree.img a directory", test_pstree_is_dir),
		DIR_TEST("pstree.img a FIFO", test_pstree_is_fifo),
		DIR_TEST("pstree.img a symlink", test_pstree_is_symlink),
	};

	return cmocka_run_group_tests_name("images", tests, NULL, NULL);
}
