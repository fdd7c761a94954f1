#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu-inventory.pb-c.h"
#include "criu-pstree.pb-c.h"
#include "error.h"
#include "images.h"

/*
 * A CRIU image file is a 32-bit little-endian magic number followed by
 * entries, each a 32-bit little-endian size and a packed protobuf message
 * of that size.  In image format 2 every file but inventory.img has a
 * second magic, the common one, in front of its own.  Format 1 has none.
 * Values and layout from criu/include/magic.h and criu/image.c, CRIU 4.2.
 */
#define IMAGES_COMMON_MAGIC 0x54564319
#define IMAGES_INVENTORY_MAGIC 0x58313116
#define IMAGES_PSTREE_MAGIC 0x50273030

/* The image formats CRIU 4.x reads, the two criu/include/magic.h defines. */
#define IMAGES_FORMAT_1 1
#define IMAGES_FORMAT_2 2

/* inventory.img contains one entry of a few hundred bytes. */
#define IMAGES_MAX_INVENTORY_BYTES (1024 * 1024)

/* The kernel's upper bound for kernel.pid_max (PID_MAX_LIMIT, 64-bit). */
#define IMAGES_PID_MAX_LIMIT 4194304

/* A whole image file in memory, with a read position. */
struct images_file {
	const char *name;
	uint8_t *data;
	size_t size;
	size_t offset;
};

/* Fill `err` for a failed open or read of `name` with errno `saved`. */
static int
images_read_error(const char *name, int saved, struct error *err)
{
	switch (saved) {
	case ENOENT:
		return error_set_field(err, "image-missing", "images_dir",
		    "%s is missing; pass the directory that 'criu dump -D' wrote, with every file in it",
		    name);
	case EACCES:
	case EPERM:
		return error_set_field(err, "permission", "images_dir",
		    "ctrd may not read %s: %s; make the image set readable by ctrd's user",
		    name, strerror(saved));
	case ELOOP:
		return error_set_field(err, "image-corrupt", "images_dir",
		    "%s is a symbolic link, which ctrd does not follow; replace it with the file it points to",
		    name);
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return error_set(err, "internal", "read %s: %s; retry later",
		    name, strerror(saved));
	default:
		return error_set_field(err, "image-corrupt", "images_dir",
		    "read %s: %s", name, strerror(saved));
	}
}

/* Read all of `fd`, a regular file of `size` bytes, into `file`. */
static int
images_read_all(int fd, size_t size, struct images_file *file,
    struct error *err)
{
	ssize_t len;

	file->data = malloc(size > 0 ? size : 1);
	if (file->data == NULL)
		return images_read_error(file->name, ENOMEM, err);
	while (file->size < size) {
		len = pread(fd, file->data + file->size, size - file->size,
		    (off_t)file->size);
		if (len == -1 && errno == EINTR)
			continue;
		if (len == -1)
			return images_read_error(file->name, errno, err);
		if (len == 0)
			break;	/* the file shrank since fstat() */
		file->size += (size_t)len;
	}
	return 0;
}

/*
 * Read the regular file `name` of the image set into `file`; the caller
 * frees file->data, also on failure.
 */
static int
images_read_file(int images_fd, const char *name, size_t max_size,
    struct images_file *file, struct error *err)
{
	struct stat st;
	int fd, ret;

	memset(file, 0, sizeof(*file));
	file->name = name;
	/*
	 * With O_NONBLOCK, opening a FIFO planted under the name returns at
	 * once instead of blocking ctrd, and the S_ISREG check rejects it.
	 */
	fd = openat(images_fd, name,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return images_read_error(name, errno, err);
	if (fstat(fd, &st) == -1) {
		ret = images_read_error(name, errno, err);
	} else if (!S_ISREG(st.st_mode)) {
		ret = error_set_field(err, "image-corrupt", "images_dir",
		    "%s is not a regular file; copy the image set again from the dump",
		    name);
	} else if ((unsigned long long)st.st_size > max_size) {
		ret = error_set_field(err, "image-corrupt", "images_dir",
		    "%s is %lld bytes, more than the %zu bytes ctrd reads of it",
		    name, (long long)st.st_size, max_size);
	} else {
		ret = images_read_all(fd, (size_t)st.st_size, file, err);
	}
	close(fd);
	return ret;
}

/* Read the next little-endian 32-bit word; false if fewer bytes remain. */
static bool
images_next_u32(struct images_file *file, uint32_t *ret_value)
{
	const uint8_t *p = file->data + file->offset;

	if (file->size - file->offset < 4)
		return false;
	*ret_value = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	file->offset += 4;
	return true;
}

/* Check that the next word of `file` is `magic`, the magic of `kind`. */
static int
images_check_magic(struct images_file *file, uint32_t magic,
    const char *kind, struct error *err)
{
	uint32_t value;

	if (!images_next_u32(file, &value))
		return error_set_field(err, "image-corrupt", "images_dir",
		    "%s is %s; copy it again from the dump, or dump again",
		    file->name, file->size == 0 ? "empty" :
		    "cut short inside its magic number");
	if (value != magic)
		return error_set_field(err, "image-corrupt", "images_dir",
		    "%s has 0x%08x where CRIU's %s magic 0x%08x belongs, so it is damaged or not a CRIU image; copy it again from the dump, or dump again",
		    file->name, value, kind, magic);
	return 0;
}

/*
 * Point `ret_data` and `ret_size` at the next entry of `file`.  Returns 1
 * for an entry, 0 at the end of the file and -1 for an entry cut short.
 */
static int
images_next_entry(struct images_file *file, const uint8_t **ret_data,
    size_t *ret_size, struct error *err)
{
	size_t start = file->offset;
	uint32_t size;

	if (file->offset == file->size)
		return 0;
	if (!images_next_u32(file, &size) ||
	    size > file->size - file->offset)
		return error_set_field(err, "image-corrupt", "images_dir",
		    "%s is cut short: its entry at byte %zu runs past the end of the file, %zu bytes; copy it again from the dump",
		    file->name, start, file->size);
	*ret_data = file->data + file->offset;
	*ret_size = size;
	file->offset += size;
	return 1;
}

/* Check what CRIU 4.x requires of an inventory entry, and record it. */
static int
images_use_inventory(const InventoryEntry *entry, struct images_set *set,
    struct error *err)
{
	if (entry->img_version != IMAGES_FORMAT_1 &&
	    entry->img_version != IMAGES_FORMAT_2)
		return error_set_field(err, "criu-version", "images_dir",
		    "inventory.img declares image format %u, and CRIU 4.x reads only formats %d and %d; restore it with the CRIU that dumped it",
		    entry->img_version, IMAGES_FORMAT_1, IMAGES_FORMAT_2);
	/* CRIU 4.x rejects such images as "Too old image". */
	if (!entry->has_fdinfo_per_id || !entry->fdinfo_per_id)
		return error_set_field(err, "criu-version", "images_dir",
		    "inventory.img was written by a CRIU too old for CRIU 4.x to restore (it lacks fdinfo_per_id); dump again with CRIU 4.x");
	set->version = entry->img_version;
	set->tcp_close = entry->has_tcp_close && entry->tcp_close;
	set->allow_uprobes = entry->has_allow_uprobes &&
	    entry->allow_uprobes;
	return 0;
}

static int
images_check_inventory(int images_fd, struct images_set *set,
    struct error *err)
{
	struct images_file file;
	InventoryEntry *entry;
	const uint8_t *data;
	size_t size;
	int ret;

	ret = images_read_file(images_fd, "inventory.img",
	    IMAGES_MAX_INVENTORY_BYTES, &file, err);
	if (ret == 0)
		ret = images_check_magic(&file, IMAGES_INVENTORY_MAGIC,
		    "inventory", err);
	if (ret == 0) {
		ret = images_next_entry(&file, &data, &size, err);
		if (ret == 0)
			ret = error_set_field(err, "image-corrupt", "images_dir",
			    "inventory.img contains no entry after its magic number; copy it again from the dump");
	}
	if (ret < 0) {
		free(file.data);
		return -1;
	}
	entry = inventory_entry__unpack(NULL, size, data);
	free(file.data);
	if (entry == NULL)
		return error_set_field(err, "image-corrupt", "images_dir",
		    "inventory.img contains no valid inventory entry; copy it again from the dump");
	ret = images_use_inventory(entry, set, err);
	inventory_entry__free_unpacked(entry, NULL);
	return ret;
}

/* Append `id` to set->pids, which has room for `*capacity` pids. */
static int
images_add_pid(struct images_set *set, size_t *capacity, uint32_t id,
    struct error *err)
{
	pid_t *pids;

	if (id == 0 || id > IMAGES_PID_MAX_LIMIT)
		return error_set_field(err, "image-corrupt", "images_dir",
		    "pstree.img names pid %u, which no process can have (valid pids are 1 to %d); copy it again from the dump",
		    id, IMAGES_PID_MAX_LIMIT);
	if (set->pid_count == *capacity) {
		*capacity = *capacity > 0 ? *capacity * 2 : 16;
		pids = realloc(set->pids, *capacity * sizeof(*pids));
		if (pids == NULL)
			return error_set(err, "internal",
			    "read pstree.img: out of memory; retry later");
		set->pids = pids;
	}
	set->pids[set->pid_count++] = (pid_t)id;
	return 0;
}

/* Add the pid and the thread ids of one pstree.img entry. */
static int
images_add_entry(const PstreeEntry *entry, struct images_set *set,
    size_t *capacity, struct error *err)
{
	size_t i;

	if (images_add_pid(set, capacity, entry->pid, err) < 0)
		return -1;
	/* The thread list repeats the pid as its first id. */
	for (i = 0; i < entry->n_threads; i++)
		if (entry->threads[i] != entry->pid &&
		    images_add_pid(set, capacity, entry->threads[i], err) < 0)
			return -1;
	return 0;
}

static int
images_read_entries(struct images_file *file, struct images_set *set,
    struct error *err)
{
	size_t capacity = 0, count = 0, size;
	const uint8_t *data;
	PstreeEntry *entry;
	int ret;

	while ((ret = images_next_entry(file, &data, &size, err)) == 1) {
		entry = pstree_entry__unpack(NULL, size, data);
		if (entry == NULL)
			return error_set_field(err, "image-corrupt",
			    "images_dir",
			    "pstree.img entry %zu is not a valid process entry; copy the file again from the dump",
			    count + 1);
		ret = images_add_entry(entry, set, &capacity, err);
		pstree_entry__free_unpacked(entry, NULL);
		if (ret < 0)
			return -1;
		count++;
	}
	if (ret < 0)
		return -1;
	if (count == 0)
		return error_set_field(err, "image-corrupt", "images_dir",
		    "pstree.img contains no process entry; copy it again from the dump");
	return 0;
}

static int
images_check_pstree(int images_fd, struct images_set *set,
    struct error *err)
{
	struct images_file file;
	int ret;

	ret = images_read_file(images_fd, "pstree.img",
	    IMAGES_MAX_PSTREE_BYTES, &file, err);
	if (ret == 0 && set->version == IMAGES_FORMAT_2)
		ret = images_check_magic(&file, IMAGES_COMMON_MAGIC, "image",
		    err);
	if (ret == 0)
		ret = images_check_magic(&file, IMAGES_PSTREE_MAGIC, "pstree",
		    err);
	if (ret == 0)
		ret = images_read_entries(&file, set, err);
	free(file.data);
	if (ret < 0)
		return -1;
	set->root_pid = set->pids[0];
	if (set->root_pid == 1)
		set->pid_count = 0;
	return 0;
}

int
images_check(int images_fd, struct images_set *ret_set, struct error *err)
{
	memset(ret_set, 0, sizeof(*ret_set));
	/* The inventory comes first: its format decides pstree.img's head. */
	if (images_check_inventory(images_fd, ret_set, err) < 0 ||
	    images_check_pstree(images_fd, ret_set, err) < 0) {
		images_set_clear(ret_set);
		return -1;
	}
	return 0;
}

void
images_set_clear(struct images_set *set)
{
	free(set->pids);
	set->pids = NULL;
	set->pid_count = 0;
}
