#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "criu-stats.pb-c.h"
#include "criu_stats.h"
#include "error.h"

/*
 * stats-restore is CRIU's service magic, its stats magic, then one entry:
 * a 32-bit size and a packed stats_entry of that size.  CRIU writes the
 * 32-bit words from memory, so they are in host byte order.  When CRIU
 * restores images of format 1, it writes no service magic.  Values from
 * criu/include/magic.h, layout from criu/image.c and criu/protobuf.c,
 * CRIU 4.2.
 */
#define CRIU_STATS_SERVICE_MAGIC 0x55105940
#define CRIU_STATS_MAGIC 0x57093306

/* The bytes of stats-restore, with a read position. */
struct criu_stats_file {
	uint8_t data[CRIU_STATS_MAX_BYTES];
	size_t size;
	size_t offset;
};

/* Fill `err` for a failed open, stat or read with errno `saved`. */
static int
criu_stats_read_error(int saved, struct error *err)
{
	if (saved == ENOENT)
		return error_set(err, "image-missing",
		    "%s is missing from CRIU's work dir",
		    CRIU_STATS_RESTORE_FILE);
	if (saved == ELOOP)
		return error_set(err, "image-corrupt",
		    "%s is a symbolic link, which ctrd does not follow",
		    CRIU_STATS_RESTORE_FILE);
	errno = saved;
	return error_set_errno(err, "internal", "read %s",
	    CRIU_STATS_RESTORE_FILE);
}

/* Read `fd` to its end, or to the end of file->data. */
static int
criu_stats_read_all(int fd, struct criu_stats_file *file, struct error *err)
{
	ssize_t len;

	while (file->size < sizeof(file->data)) {
		len = read(fd, file->data + file->size,
		    sizeof(file->data) - file->size);
		if (len == -1 && errno == EINTR)
			continue;
		if (len == -1)
			return criu_stats_read_error(errno, err);
		if (len == 0)
			break;
		file->size += (size_t)len;
	}
	return 0;
}

static int
criu_stats_read_file(int dir_fd, struct criu_stats_file *file,
    struct error *err)
{
	struct stat st;
	int fd, ret;

	/*
	 * With O_NONBLOCK, opening a FIFO planted under the name returns at
	 * once instead of blocking ctrd, and the S_ISREG check rejects it.
	 */
	fd = openat(dir_fd, CRIU_STATS_RESTORE_FILE,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return criu_stats_read_error(errno, err);
	if (fstat(fd, &st) == -1)
		ret = criu_stats_read_error(errno, err);
	else if (!S_ISREG(st.st_mode))
		ret = error_set(err, "image-corrupt",
		    "%s is not a regular file", CRIU_STATS_RESTORE_FILE);
	else if (st.st_size > CRIU_STATS_MAX_BYTES)
		ret = error_set(err, "image-corrupt",
		    "%s is %lld bytes, more than the %d bytes ctrd reads of it",
		    CRIU_STATS_RESTORE_FILE, (long long)st.st_size,
		    CRIU_STATS_MAX_BYTES);
	else
		ret = criu_stats_read_all(fd, file, err);
	close(fd);
	return ret;
}

/* Take the next 32-bit word of `file`, or return false if none is left. */
static bool
criu_stats_next_u32(struct criu_stats_file *file, uint32_t *ret_value)
{
	if (file->size - file->offset < sizeof(*ret_value))
		return false;
	memcpy(ret_value, file->data + file->offset, sizeof(*ret_value));
	file->offset += sizeof(*ret_value);
	return true;
}

static int
criu_stats_check_magic(struct criu_stats_file *file, struct error *err)
{
	uint32_t magic;

	if (!criu_stats_next_u32(file, &magic) ||
	    (magic == CRIU_STATS_SERVICE_MAGIC &&
	    !criu_stats_next_u32(file, &magic)))
		return error_set(err, "image-corrupt", "%s is %s",
		    CRIU_STATS_RESTORE_FILE, file->size == 0 ? "empty" :
		    "cut short inside its magic numbers");
	if (magic != CRIU_STATS_MAGIC)
		return error_set(err, "image-corrupt",
		    "%s has 0x%08x where CRIU's stats magic 0x%08x belongs, so it is damaged or not CRIU's statistics",
		    CRIU_STATS_RESTORE_FILE, magic, CRIU_STATS_MAGIC);
	return 0;
}

/* Point `ret_data` and `ret_size` at the entry after the magic numbers. */
static int
criu_stats_find_entry(struct criu_stats_file *file,
    const uint8_t **ret_data, size_t *ret_size, struct error *err)
{
	uint32_t size;

	if (file->offset == file->size)
		return error_set(err, "image-corrupt",
		    "%s contains no entry after its magic numbers",
		    CRIU_STATS_RESTORE_FILE);
	if (!criu_stats_next_u32(file, &size) ||
	    size > file->size - file->offset)
		return error_set(err, "image-corrupt",
		    "%s is cut short: its entry runs past the end of the file, %zu bytes",
		    CRIU_STATS_RESTORE_FILE, file->size);
	*ret_data = file->data + file->offset;
	*ret_size = size;
	return 0;
}

static void
criu_stats_copy(const RestoreStatsEntry *entry, struct criu_stats *stats)
{
	stats->forking_us = entry->forking_time;
	stats->restore_us = entry->restore_time;
	stats->has_pages_restored = entry->has_pages_restored;
	stats->pages_restored = entry->has_pages_restored ?
	    entry->pages_restored : 0;
	stats->pages_compared = entry->pages_compared;
	stats->pages_skipped_cow = entry->pages_skipped_cow;
}

/*
 * Unpack the entry.  protobuf-c rejects an entry without one of the
 * fields CRIU declares required, which are all but pages_restored.
 */
static int
criu_stats_decode(const uint8_t *data, size_t size,
    struct criu_stats *ret_stats, struct error *err)
{
	StatsEntry *entry;

	entry = stats_entry__unpack(NULL, size, data);
	if (entry == NULL)
		return error_set(err, "image-corrupt",
		    "%s contains no valid stats entry",
		    CRIU_STATS_RESTORE_FILE);
	if (entry->restore == NULL) {
		stats_entry__free_unpacked(entry, NULL);
		return error_set(err, "image-corrupt",
		    "%s contains no restore statistics",
		    CRIU_STATS_RESTORE_FILE);
	}
	criu_stats_copy(entry->restore, ret_stats);
	stats_entry__free_unpacked(entry, NULL);
	return 0;
}

int
criu_stats_read(int dir_fd, struct criu_stats *ret_stats, struct error *err)
{
	struct criu_stats_file file;
	const uint8_t *data = NULL;
	size_t size = 0;

	file.size = 0;
	file.offset = 0;
	if (criu_stats_read_file(dir_fd, &file, err) < 0 ||
	    criu_stats_check_magic(&file, err) < 0 ||
	    criu_stats_find_entry(&file, &data, &size, err) < 0)
		return -1;
	return criu_stats_decode(data, size, ret_stats, err);
}
