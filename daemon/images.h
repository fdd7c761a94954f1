/* Reading and checking a CRIU image set before CRIU restores it. */
#ifndef CTRD_IMAGES_H
#define CTRD_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct error;

/* Largest pstree.img ctrd reads: about 600,000 single-threaded processes. */
#define IMAGES_MAX_PSTREE_BYTES (16 * 1024 * 1024)

/* The facts about an image set that ctrd needs before restoring it. */
struct images_set {
	unsigned int version;	/* image format of inventory.img: 1 or 2 */
	bool tcp_close;		/* dumped with --tcp-close */
	bool allow_uprobes;	/* dumped with --allow-uprobes */
	pid_t root_pid;		/* pid of the first pstree.img entry */
	/*
	 * The pids and thread ids the restore takes in ctrd's pid namespace,
	 * root first, owned by the set.  Empty when the root is pid 1, the
	 * init of a pid namespace of its own, because CRIU then restores the
	 * whole tree in a new pid namespace.
	 */
	pid_t *pids;
	size_t pid_count;
};

/*
 * Check the image set open as directory `images_fd`: inventory.img and
 * pstree.img must be regular files with CRIU's magic numbers and whole
 * entries, and the image format one that CRIU 4.x reads.  Fills `ret_set`,
 * which the caller releases with images_set_clear().  Each failure names
 * the file and the fix, with field images_dir.  Its code is image-missing
 * for an absent file, image-corrupt for a wrong magic, a file cut short or
 * an entry that cannot be decoded, and criu-version for an image format
 * CRIU 4.x cannot read.  A file ctrd may not read fails with permission.
 * A pstree.img over IMAGES_MAX_PSTREE_BYTES fails with image-corrupt.
 */
int images_check(int images_fd, struct images_set *ret_set,
    struct error *err);

void images_set_clear(struct images_set *set);

#endif
