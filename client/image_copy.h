/*
 * The copy of a lazy checkpoint's images dir to the destination's, which
 * migrate makes between the source's 'page-server-ready' and the restore.
 */
#ifndef CTRD_CLI_IMAGE_COPY_H
#define CTRD_CLI_IMAGE_COPY_H

#include <signal.h>
#include <stdbool.h>

struct cli_error;

/* The two images dirs of a migration, checked before anything is frozen. */
struct image_copy {
	char *from;	/* absolute path without symlinks, owned */
	char *to;	/* absolute path without symlinks, owned */
	bool shared;	/* both paths name one directory: nothing to copy */
	bool created;	/* image_copy_prepare() made `to` */
};

/*
 * Resolve `from`, which must be a directory, and `to`, which is created
 * with mode 0700 when it is missing (its parent must exist).  Fails when
 * `to` is another directory that already contains an inventory.img,
 * because the restore would then take that image set.  On failure `copy`
 * needs no release, and a directory made here is removed again.
 */
int image_copy_prepare(struct image_copy *copy, const char *from,
    const char *to, struct cli_error *err);

/*
 * Copy every regular file directly in `from` into `to`, with mode 0600 and
 * inventory.img last, and never overwrite a file.  Subdirectories,
 * symbolic links and other special files are skipped.  Does nothing when
 * `shared`.  Unless `stop` is NULL, the copy fails once a signal handler
 * makes `*stop` non-zero.  It checks before each MiB and once more at the
 * end.  On failure the files copied so far are removed,
 * and `to` too when image_copy_prepare() made it.  Returns the number of
 * bytes copied, or -1 with `err` set.
 */
long long image_copy_run(const struct image_copy *copy,
    const volatile sig_atomic_t *stop, struct cli_error *err);

/* Free the paths of `copy`.  Removes no file. */
void image_copy_release(struct image_copy *copy);

#endif
