#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_error.h"
#include "image_copy.h"

/* The file whose presence makes a directory an image set to CRIU. */
#define IMAGE_COPY_INVENTORY "inventory.img"

#define IMAGE_COPY_BUFFER_SIZE (1024 * 1024)

/* The names of the files to copy, in copy order. */
struct image_copy_names {
	char **names;
	size_t count;
	size_t size;
};

/* Resolve `path` to a directory's absolute path.  The caller frees it. */
static char *
image_copy_resolve_dir(const char *path, struct stat *ret_stat,
    struct cli_error *err)
{
	char *resolved;

	resolved = realpath(path, NULL);
	if (resolved == NULL) {
		cli_error_set_errno(err, "resolve images dir '%s'", path);
		return NULL;
	}
	if (stat(resolved, ret_stat) == -1) {
		cli_error_set_errno(err, "stat images dir '%s'", resolved);
		free(resolved);
		return NULL;
	}
	if (!S_ISDIR(ret_stat->st_mode)) {
		cli_error_set(err, "images dir '%s' is not a directory",
		    resolved);
		free(resolved);
		return NULL;
	}
	return resolved;
}

/* Fail if directory `dir` contains an inventory.img, of any file type. */
static int
image_copy_check_empty(const char *dir, struct cli_error *err)
{
	struct stat st;
	int fd, rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return cli_error_set_errno(err, "open images dir '%s'", dir);
	if (fstatat(fd, IMAGE_COPY_INVENTORY, &st, AT_SYMLINK_NOFOLLOW) == 0)
		rc = cli_error_set(err,
		    "images dir '%s' already contains an image set (%s); pass an empty directory",
		    dir, IMAGE_COPY_INVENTORY);
	else if (errno != ENOENT)
		rc = cli_error_set_errno(err, "stat '%s/%s'", dir,
		    IMAGE_COPY_INVENTORY);
	else
		rc = 0;
	close(fd);
	return rc;
}

int
image_copy_prepare(struct image_copy *copy, const char *from,
    const char *to, struct cli_error *err)
{
	struct stat from_st, to_st;

	memset(copy, 0, sizeof(*copy));
	copy->from = image_copy_resolve_dir(from, &from_st, err);
	if (copy->from == NULL)
		return -1;
	if (mkdir(to, 0700) == 0)
		copy->created = true;
	else if (errno != EEXIST) {
		cli_error_set_errno(err, "create images dir '%s'", to);
		image_copy_release(copy);
		return -1;
	}

	copy->to = image_copy_resolve_dir(to, &to_st, err);
	if (copy->to != NULL) {
		copy->shared = from_st.st_dev == to_st.st_dev &&
		    from_st.st_ino == to_st.st_ino;
		if (copy->shared || image_copy_check_empty(copy->to, err) == 0)
			return 0;
	}
	if (copy->created)
		rmdir(to);
	image_copy_release(copy);
	return -1;
}

void
image_copy_release(struct image_copy *copy)
{
	free(copy->from);
	free(copy->to);
	copy->from = NULL;
	copy->to = NULL;
}

static void
image_copy_free_names(struct image_copy_names *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		free(list->names[i]);
	free(list->names);
	memset(list, 0, sizeof(*list));
}

static int
image_copy_add_name(struct image_copy_names *list, const char *name,
    struct cli_error *err)
{
	size_t size;
	char **grown;

	if (list->count == list->size) {
		size = list->size == 0 ? 32 : list->size * 2;
		grown = realloc(list->names, size * sizeof(*grown));
		if (grown == NULL)
			return cli_error_set_errno(err,
			    "allocate the list of image files");
		list->names = grown;
		list->size = size;
	}
	list->names[list->count] = strdup(name);
	if (list->names[list->count] == NULL)
		return cli_error_set_errno(err,
		    "allocate the list of image files");
	list->count++;
	return 0;
}

/* Return true if `entry` of directory `dir_fd` is a regular file. */
static bool
image_copy_is_regular(int dir_fd, const struct dirent *entry)
{
	struct stat st;

	if (entry->d_type != DT_UNKNOWN)
		return entry->d_type == DT_REG;
	return fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

/*
 * List the regular files of directory `dir_fd`, with inventory.img moved
 * last: it marks a complete image set, so it is written only after the
 * rest.
 */
static int
image_copy_list(int dir_fd, const char *dir, struct image_copy_names *list,
    struct cli_error *err)
{
	struct dirent *entry;
	bool inventory = false;
	int fd, rc = 0;
	DIR *stream;

	fd = dup(dir_fd);
	stream = fd == -1 ? NULL : fdopendir(fd);
	if (stream == NULL) {
		if (fd != -1)
			close(fd);
		return cli_error_set_errno(err, "read images dir '%s'", dir);
	}
	errno = 0;
	while (rc == 0 && (entry = readdir(stream)) != NULL) {
		if (!image_copy_is_regular(dir_fd, entry))
			continue;
		if (strcmp(entry->d_name, IMAGE_COPY_INVENTORY) == 0)
			inventory = true;
		else
			rc = image_copy_add_name(list, entry->d_name, err);
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = cli_error_set_errno(err, "read images dir '%s'", dir);
	closedir(stream);
	if (rc == 0 && inventory)
		rc = image_copy_add_name(list, IMAGE_COPY_INVENTORY, err);
	return rc;
}

static int
image_copy_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fail with `err` set if `stop` is set and points to non-zero. */
static int
image_copy_check_stop(const volatile sig_atomic_t *stop,
    struct cli_error *err)
{
	if (stop != NULL && *stop != 0)
		return cli_error_set(err, "interrupted by a signal");
	return 0;
}

/* Copy the data of `src` to `dst`.  Returns the bytes copied, or -1. */
static long long
image_copy_data(int src, int dst, const struct image_copy *copy,
    const char *name, char *buf, const volatile sig_atomic_t *stop,
    struct cli_error *err)
{
	long long total = 0;
	ssize_t n;

	for (;;) {
		if (image_copy_check_stop(stop, err) < 0)
			return -1;
		n = read(src, buf, IMAGE_COPY_BUFFER_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cli_error_set_errno(err, "read '%s/%s'", copy->from,
			    name);
			return -1;
		}
		if (n == 0)
			return total;
		if (image_copy_write_all(dst, buf, (size_t)n) == -1) {
			cli_error_set_errno(err, "write '%s/%s'", copy->to,
			    name);
			return -1;
		}
		total += n;
	}
}

/*
 * Copy file `name`.  Returns the bytes copied, or -1 after removing the
 * file it created.
 */
static long long
image_copy_file(int from_fd, int to_fd, const struct image_copy *copy,
    const char *name, char *buf, const volatile sig_atomic_t *stop,
    struct cli_error *err)
{
	long long copied = -1;
	struct stat st;
	int src, dst;

	src = openat(from_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (src == -1)
		return cli_error_set_errno(err, "open '%s/%s'", copy->from,
		    name);
	/* The file may have been swapped for another type since the listing. */
	if (fstat(src, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(src);
		return cli_error_set(err, "'%s/%s' is not a regular file",
		    copy->from, name);
	}
	dst = openat(to_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (dst == -1) {
		close(src);
		return cli_error_set_errno(err, "create '%s/%s'", copy->to,
		    name);
	}
	copied = image_copy_data(src, dst, copy, name, buf, stop, err);
	close(src);
	/* A network file system may report a failed write only at close. */
	if (close(dst) == -1 && copied >= 0)
		copied = cli_error_set_errno(err, "write '%s/%s'", copy->to,
		    name);
	if (copied < 0)
		unlinkat(to_fd, name, 0);
	return copied;
}

/* Remove the first `count` files of `list` from `to_fd`, and `to` if new. */
static void
image_copy_undo(int to_fd, const struct image_copy *copy,
    const struct image_copy_names *list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		unlinkat(to_fd, list->names[i], 0);
	if (copy->created)
		rmdir(copy->to);
}

/*
 * Copy every file of `list`.  Returns the bytes copied, or -1.  A stop
 * requested during the last file undoes the whole copy too, so that the
 * caller never finds a complete copy after a stop.
 */
static long long
image_copy_files(int from_fd, int to_fd, const struct image_copy *copy,
    const struct image_copy_names *list, const volatile sig_atomic_t *stop,
    struct cli_error *err)
{
	long long total = 0, copied;
	char *buf;
	size_t i;

	buf = malloc(IMAGE_COPY_BUFFER_SIZE);
	if (buf == NULL)
		return cli_error_set_errno(err, "allocate the copy buffer");
	for (i = 0; i < list->count; i++) {
		copied = image_copy_file(from_fd, to_fd, copy, list->names[i],
		    buf, stop, err);
		if (copied < 0) {
			image_copy_undo(to_fd, copy, list, i);
			total = -1;
			break;
		}
		total += copied;
	}
	if (total >= 0 && image_copy_check_stop(stop, err) < 0) {
		image_copy_undo(to_fd, copy, list, list->count);
		total = -1;
	}
	free(buf);
	return total;
}

long long
image_copy_run(const struct image_copy *copy,
    const volatile sig_atomic_t *stop, struct cli_error *err)
{
	struct image_copy_names list = { 0 };
	long long total = -1;
	int from_fd, to_fd = -1;

	if (copy->shared)
		return 0;
	from_fd = open(copy->from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (from_fd == -1)
		return cli_error_set_errno(err, "open images dir '%s'",
		    copy->from);
	to_fd = open(copy->to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (to_fd == -1)
		cli_error_set_errno(err, "open images dir '%s'", copy->to);
	else if (image_copy_list(from_fd, copy->from, &list, err) == 0)
		total = image_copy_files(from_fd, to_fd, copy, &list, stop,
		    err);
	image_copy_free_names(&list);
	if (to_fd != -1)
		close(to_fd);
	close(from_fd);
	return total;
}
