#define _GNU_SOURCE
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "criu-pstree.pb-c.h"
#include "error.h"
#include "images.h"

/*
 * A CRIU image starts with two little-endian 32-bit magics, the common one
 * and the image's own.  Entries follow, each a 32-bit size and a packed
 * message (criu/include/magic.h and criu/image.c in CRIU 4.x).
 */
#define IMAGES_COMMON_MAGIC 0x54564319
#define IMAGES_PSTREE_MAGIC 0x50273030

/* An entry is a few varints plus the thread ids, so 64 KiB is ample. */
#define IMAGES_MAX_ENTRY (64 * 1024)

static uint32_t
images_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int
images_read_head(int fd, uint8_t *buf, size_t size, size_t *ret_len,
    struct error *err)
{
	ssize_t len;

	do {
		len = pread(fd, buf, size, 0);
	} while (len == -1 && errno == EINTR);
	if (len == -1)
		return error_set_field(err, "invalid-images", "images_dir",
		    "read pstree.img: %s", strerror(errno));
	*ret_len = (size_t)len;
	return 0;
}

int
images_read_root_pid(int images_fd, pid_t *ret_pid, struct error *err)
{
	static uint8_t buf[12 + IMAGES_MAX_ENTRY];
	PstreeEntry *entry;
	uint32_t size;
	size_t len = 0;
	int fd, ret;

	fd = openat(images_fd, "pstree.img", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return error_set_field(err, "invalid-images", "images_dir",
		    "open pstree.img of the image set: %s", strerror(errno));
	ret = images_read_head(fd, buf, sizeof(buf), &len, err);
	close(fd);
	if (ret < 0)
		return -1;
	if (len < 12 || images_le32(buf) != IMAGES_COMMON_MAGIC ||
	    images_le32(buf + 4) != IMAGES_PSTREE_MAGIC)
		return error_set_field(err, "invalid-images", "images_dir",
		    "pstree.img is not a CRIU pstree image (wrong magic or empty); dump again");
	size = images_le32(buf + 8);
	if (size > IMAGES_MAX_ENTRY || size > len - 12)
		return error_set_field(err, "invalid-images", "images_dir",
		    "pstree.img is truncated: its first entry claims %u bytes",
		    size);
	entry = pstree_entry__unpack(NULL, size, buf + 12);
	if (entry == NULL)
		return error_set_field(err, "invalid-images", "images_dir",
		    "pstree.img contains no valid process entry; dump again");
	*ret_pid = (pid_t)entry->pid;
	pstree_entry__free_unpacked(entry, NULL);
	return 0;
}
