#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "access.h"
#include "config.h"
#include "error.h"

/*
 * openat2() with RESOLVE_BENEATH fails with EAGAIN when a rename or mount
 * anywhere on the host ran while it resolved "..", and openat2(2) lets the
 * caller retry.  ctrd retries a few times, then fails the request.
 */
#define ACCESS_OPENAT2_TRIES 8

static bool
access_has_id(const struct config_ids *ids, unsigned int id)
{
	size_t i;

	for (i = 0; i < ids->count; i++)
		if (ids->ids[i] == id)
			return true;
	return false;
}

int
access_check_peer(const struct config *config, const struct ucred *peer,
    const char *action, struct error *err)
{
	if (peer->uid == (uid_t)-1)
		return error_set(err, "permission-denied",
		    "the kernel reported no uid for this client, so it may not %s",
		    action);
	if (peer->uid == 0 || access_has_id(&config->allowed_uids, peer->uid))
		return 0;
	if (peer->gid != (gid_t)-1 &&
	    access_has_id(&config->allowed_gids, peer->gid))
		return 0;
	if (peer->gid == (gid_t)-1)
		return error_set(err, "permission-denied",
		    "uid %u may not %s: add it to allowed_uids in ctrd's config, then reload ctrd",
		    (unsigned int)peer->uid, action);
	return error_set(err, "permission-denied",
	    "uid %u may not %s: add it to allowed_uids, or its gid %u to allowed_gids, in ctrd's config, then reload ctrd",
	    (unsigned int)peer->uid, action, (unsigned int)peer->gid);
}

/* Return whether `root` (no trailing '/' unless it is "/") contains `path`. */
static bool
access_root_contains(const char *root, const char *path)
{
	size_t len = strlen(root);

	if (strcmp(root, "/") == 0)
		return path[0] == '/';
	return strncmp(path, root, len) == 0 &&
	    (path[len] == '\0' || path[len] == '/');
}

/* Return the longest of `roots` that contains `path`, or NULL. */
static const char *
access_find_root(const struct config_paths *roots, const char *path)
{
	const char *best = NULL;
	size_t i;

	for (i = 0; i < roots->count; i++) {
		if (!access_root_contains(roots->paths[i], path))
			continue;
		if (best == NULL || strlen(roots->paths[i]) > strlen(best))
			best = roots->paths[i];
	}
	return best;
}

static int
access_set_outside_error(const struct config_paths *roots, const char *path,
    struct error *err)
{
	char list[ERROR_MESSAGE_MAX];
	size_t i, len = 0;

	list[0] = '\0';
	for (i = 0; i < roots->count && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		    "%s'%s'", i > 0 ? ", " : "", roots->paths[i]);
	return error_set_field(err, "permission-denied", "images_dir",
	    "images_dir '%s' is outside allowed_image_roots [%s]; move the image set into one of them or add its directory to allowed_image_roots in ctrd's config",
	    path, list);
}

/* Fill `err` for a failed open of images_dir `path` below `root`. */
static int
access_set_open_error(const char *path, const char *root, int saved,
    struct error *err)
{
	switch (saved) {
	case ENOENT:
		return error_set_field(err, "image-missing", "images_dir",
		    "images_dir '%s' not found; pass the directory given to 'criu dump -D'",
		    path);
	case ENOTDIR:
		return error_set_field(err, "image-missing", "images_dir",
		    "images_dir '%s' is not a directory; pass the directory given to 'criu dump -D'",
		    path);
	case EACCES:
	case EPERM:
		return error_set_field(err, "permission", "images_dir",
		    "ctrd may not open images_dir '%s': %s; make it readable by ctrd's user",
		    path, strerror(saved));
	case EMFILE:
	case ENFILE:
		return error_set(err, "internal",
		    "ctrd is out of file descriptors; retry later or raise its descriptor limit");
	case EXDEV:
		return error_set_field(err, "permission-denied", "images_dir",
		    "images_dir '%s' leads out of allowed image root '%s' through '..' or a symbolic link; ctrd follows only relative symbolic links that stay inside the root",
		    path, root);
	case ELOOP:
		return error_set_field(err, "permission-denied", "images_dir",
		    "images_dir '%s' passes through a /proc magic link or too many symbolic links, which ctrd does not follow",
		    path);
	case ENOSYS:
		return error_set(err, "internal",
		    "this kernel lacks openat2() (added in Linux 5.6), which ctrd needs to keep images_dir inside allowed_image_roots");
	case EAGAIN:
		return error_set(err, "internal",
		    "renames or mounts on the host kept interrupting the lookup of images_dir '%s'; retry",
		    path);
	default:
		return error_set_field(err, "image-missing", "images_dir",
		    "open images_dir '%s': %s", path, strerror(saved));
	}
}

/* glibc 2.36 (Debian 12) declares no openat2() wrapper, hence syscall(). */
static int
access_openat2(int dir_fd, const char *path, uint64_t resolve)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = resolve,
	};
	int tries = 0;
	long fd;

	do {
		fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
	} while (fd == -1 && errno == EAGAIN && ++tries < ACCESS_OPENAT2_TRIES);
	return (int)fd;
}

int
access_open_images(const struct config *config, const char *path,
    struct error *err)
{
	uint64_t resolve = RESOLVE_NO_MAGICLINKS;
	const char *root, *rest;
	int root_fd, fd, saved;

	root = access_find_root(&config->allowed_image_roots, path);
	if (root == NULL)
		return access_set_outside_error(&config->allowed_image_roots,
		    path, err);
	if (strcmp(root, "/") != 0)
		resolve |= RESOLVE_BENEATH;
	rest = path + strlen(root);
	rest += strspn(rest, "/");
	if (rest[0] == '\0')
		rest = ".";

	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd == -1)
		return access_set_open_error(path, root, errno, err);
	fd = access_openat2(root_fd, rest, resolve);
	saved = errno;
	close(root_fd);
	if (fd == -1)
		return access_set_open_error(path, root, saved, err);
	return fd;
}
