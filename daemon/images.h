/* Checks of a CRIU image set that ctrd makes before handing it to CRIU. */
#ifndef CTRD_IMAGES_H
#define CTRD_IMAGES_H

#include <sys/types.h>

struct error;

/*
 * Read the root pid of the dumped tree from pstree.img in the image set
 * opened as `images_fd`.  CRIU restores the root with this pid, unless the
 * root is the init of its own pid namespace (pid 1 here).  Fails with
 * code invalid-images, naming the file and the problem, when pstree.img is
 * missing, unreadable or not a CRIU pstree image.
 */
int images_read_root_pid(int images_fd, pid_t *ret_pid, struct error *err);

#endif
