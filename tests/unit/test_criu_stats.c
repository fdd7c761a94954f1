/*
 * Unit tests for reading CRIU's stats-restore file, on files written in a
 * directory in /tmp the way CRIU 4.x writes them: the service magic, the
 * stats magic, then a 32-bit size and a packed stats_entry.
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

#include "criu-stats.pb-c.h"
#include "criu_stats.h"
#include "error.h"
#include "unit.h"

#define SERVICE_MAGIC 0x55105940
#define STATS_MAGIC 0x57093306
#define COMMON_MAGIC 0x54564319

/* A temporary work dir, and the bytes of the file being built. */
struct stats_dir {
	char path[UNIT_TEMP_DIR_SIZE];
	int fd;
	uint8_t buf[2 * CRIU_STATS_MAX_BYTES];
	size_t len;
};

static int
stats_dir_setup(void **state)
{
	struct stats_dir *dir = calloc(1, sizeof(*dir));

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
stats_dir_teardown(void **state)
{
	struct stats_dir *dir = *state;

	if (unlinkat(dir->fd, CRIU_STATS_RESTORE_FILE, 0) == -1)
		unlinkat(dir->fd, CRIU_STATS_RESTORE_FILE, AT_REMOVEDIR);
	close(dir->fd);
	rmdir(dir->path);
	free(dir);
	return 0;
}

/* Append a 32-bit word in host byte order, as CRIU writes it. */
static void
put_u32(struct stats_dir *dir, uint32_t value)
{
	assert_true(dir->len + sizeof(value) <= sizeof(dir->buf));
	memcpy(dir->buf + dir->len, &value, sizeof(value));
	dir->len += sizeof(value);
}

/* Append an entry: its size, then the `size` bytes of `data`. */
static void
put_entry(struct stats_dir *dir, const void *data, size_t size)
{
	put_u32(dir, (uint32_t)size);
	assert_true(dir->len + size <= sizeof(dir->buf));
	memcpy(dir->buf + dir->len, data, size);
	dir->len += size;
}

/* Append `entry` packed, as CRIU's pb_write_one() does. */
static void
put_stats_entry(struct stats_dir *dir, const StatsEntry *entry)
{
	uint8_t packed[256];
	size_t size = stats_entry__get_packed_size(entry);

	assert_true(size <= sizeof(packed));
	assert_int_equal(stats_entry__pack(entry, packed), size);
	put_entry(dir, packed, size);
}

/* The restore statistics of a small tree, with pages_restored set. */
static void
put_restore_entry(struct stats_dir *dir, bool with_pages_restored)
{
	RestoreStatsEntry restore = RESTORE_STATS_ENTRY__INIT;
	StatsEntry entry = STATS_ENTRY__INIT;

	restore.pages_compared = 12;
	restore.pages_skipped_cow = 5;
	restore.forking_time = 812;
	restore.restore_time = 48123;
	restore.has_pages_restored = with_pages_restored;
	restore.pages_restored = 4099;
	entry.restore = &restore;
	put_stats_entry(dir, &entry);
}

/* Write the bytes built so far to stats-restore and start anew. */
static void
write_stats(struct stats_dir *dir)
{
	int fd;

	fd = openat(dir->fd, CRIU_STATS_RESTORE_FILE,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, dir->buf, dir->len), dir->len);
	close(fd);
	dir->len = 0;
}

/* Check that criu_stats_read() fails with `code` and a message with `part`. */
static void
assert_read_fails(struct stats_dir *dir, const char *code, const char *part)
{
	struct criu_stats stats;
	struct error err;

	memset(&stats, 0xa5, sizeof(stats));
	error_clear(&err);
	assert_int_equal(criu_stats_read(dir->fd, &stats, &err), -1);
	assert_string_equal(err.code, code);
	if (strstr(err.message, part) == NULL)
		fail_msg("message '%s' lacks '%s'", err.message, part);
	if (strstr(err.message, CRIU_STATS_RESTORE_FILE) == NULL)
		fail_msg("message '%s' does not name the file", err.message);
	/* The statistics are written only on success. */
	assert_int_equal(stats.restore_us, 0xa5a5a5a5);
}

static void
test_every_field(void **state)
{
	struct stats_dir *dir = *state;
	struct criu_stats stats;
	struct error err;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	put_restore_entry(dir, true);
	write_stats(dir);
	assert_int_equal(criu_stats_read(dir->fd, &stats, &err), 0);
	assert_int_equal(stats.forking_us, 812);
	assert_int_equal(stats.restore_us, 48123);
	assert_true(stats.has_pages_restored);
	assert_int_equal(stats.pages_restored, 4099);
	assert_int_equal(stats.pages_compared, 12);
	assert_int_equal(stats.pages_skipped_cow, 5);
}

/* Restoring images of format 1, CRIU writes no service magic. */
static void
test_format_1(void **state)
{
	struct stats_dir *dir = *state;
	struct criu_stats stats;
	struct error err;

	put_u32(dir, STATS_MAGIC);
	put_restore_entry(dir, true);
	write_stats(dir);
	assert_int_equal(criu_stats_read(dir->fd, &stats, &err), 0);
	assert_int_equal(stats.restore_us, 48123);
}

/* pages_restored is the one optional field of CRIU's restore entry. */
static void
test_without_pages_restored(void **state)
{
	struct stats_dir *dir = *state;
	struct criu_stats stats;
	struct error err;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	put_restore_entry(dir, false);
	write_stats(dir);
	assert_int_equal(criu_stats_read(dir->fd, &stats, &err), 0);
	assert_false(stats.has_pages_restored);
	assert_int_equal(stats.pages_restored, 0);
	assert_int_equal(stats.forking_us, 812);
}

static void
test_missing_file(void **state)
{
	assert_read_fails(*state, "image-missing", "is missing");
}

static void
test_empty_file(void **state)
{
	struct stats_dir *dir = *state;

	write_stats(dir);
	assert_read_fails(dir, "image-corrupt", "stats-restore is empty");
}

static void
test_bad_magic(void **state)
{
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, COMMON_MAGIC);
	put_restore_entry(dir, true);
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt",
	    "has 0x54564319 where CRIU's stats magic 0x57093306 belongs");
}

static void
test_truncated_magic(void **state)
{
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	dir->len -= 1;
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt",
	    "cut short inside its magic numbers");
}

static void
test_no_entry(void **state)
{
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt",
	    "contains no entry after its magic numbers");
}

/* The entry claims more bytes than the file has left. */
static void
test_truncated_entry(void **state)
{
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	put_restore_entry(dir, true);
	dir->len -= 2;
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt", "is cut short");
}

/* Fewer than four bytes where the entry's size belongs. */
static void
test_truncated_size(void **state)
{
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	put_u32(dir, 20);
	dir->len -= 2;
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt", "is cut short");
}

/* Bytes that are no valid entry: a varint that never ends. */
static void
test_garbage_entry(void **state)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	put_entry(dir, garbage, sizeof(garbage));
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt",
	    "contains no valid stats entry");
}

/* A restore entry with only pages_restored (field 5), set to 7. */
static void
test_required_field_missing(void **state)
{
	static const uint8_t entry[] = { 0x12, 0x02, 0x28, 0x07 };
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	put_entry(dir, entry, sizeof(entry));
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt",
	    "contains no valid stats entry");
}

/* An entry with only field 1, the dump statistics of stats-dump. */
static void
test_dump_entry(void **state)
{
	static const uint8_t entry[] = { 0x0a, 0x00 };
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	put_entry(dir, entry, sizeof(entry));
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt",
	    "contains no restore statistics");
}

static void
test_too_large(void **state)
{
	struct stats_dir *dir = *state;

	put_u32(dir, SERVICE_MAGIC);
	put_u32(dir, STATS_MAGIC);
	put_restore_entry(dir, true);
	dir->len = CRIU_STATS_MAX_BYTES + 1;
	write_stats(dir);
	assert_read_fails(dir, "image-corrupt",
	    "is 4097 bytes, more than the 4096 bytes ctrd reads of it");
}

static void
test_directory(void **state)
{
	struct stats_dir *dir = *state;

	assert_int_equal(mkdirat(dir->fd, CRIU_STATS_RESTORE_FILE, 0700), 0);
	assert_read_fails(dir, "image-corrupt", "is not a regular file");
}

/* A FIFO must fail at once, not block the daemon in open(). */
static void
test_fifo(void **state)
{
	struct stats_dir *dir = *state;

	assert_int_equal(mkfifoat(dir->fd, CRIU_STATS_RESTORE_FILE, 0600), 0);
	assert_read_fails(dir, "image-corrupt", "is not a regular file");
}

static void
test_symlink(void **state)
{
	struct stats_dir *dir = *state;

	assert_int_equal(symlinkat("/etc/passwd", dir->fd,
	    CRIU_STATS_RESTORE_FILE), 0);
	assert_read_fails(dir, "image-corrupt", "is a symbolic link");
}

#define DIR_TEST(test_name, func) \
	{ .name = (test_name), .test_func = (func), \
	    .setup_func = stats_dir_setup, \
	    .teardown_func = stats_dir_teardown }

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		DIR_TEST("every field", test_every_field),
		DIR_TEST("image format 1", test_format_1),
		DIR_TEST("without pages_restored", test_without_pages_restored),
		DIR_TEST("missing file", test_missing_file),
		DIR_TEST("empty file", test_empty_file),
		DIR_TEST("bad magic", test_bad_magic),
		DIR_TEST("truncated magic", test_truncated_magic),
		DIR_TEST("no entry", test_no_entry),
		DIR_TEST("truncated entry", test_truncated_entry),
		DIR_TEST("truncated entry size", test_truncated_size),
		DIR_TEST("garbage entry", test_garbage_entry),
		DIR_TEST("required field missing", test_required_field_missing),
		DIR_TEST("dump entry only", test_dump_entry),
		DIR_TEST("file too large", test_too_large),
		DIR_TEST("directory", test_directory),
		DIR_TEST("FIFO", test_fifo),
		DIR_TEST("symbolic link", test_symlink),
	};

	return cmocka_run_group_tests_name("criu_stats", tests, NULL, NULL);
}
