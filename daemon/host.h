/* Checks of the host that a restore will run on, made before CRIU runs. */
#ifndef CTRD_HOST_H
#define CTRD_HOST_H

#include <stddef.h>
#include <sys/types.h>

struct error;

/*
 * Check that no process, thread or zombie on the host uses any of the
 * `count` ids in `pids`.  CRIU gives every restored process and thread its
 * dumped id, so one id in use fails the whole restore.  An id is in use
 * when kill(id, 0) succeeds or fails with EPERM.  A zombie keeps its id
 * until its parent reaps it.  Ids <= 1 are skipped and never signalled.
 * Fails with code pid-in-use, naming the first id in use, the command name
 * of the process holding it, and how many more ids are in use.
 */
int host_check_pids_free(const pid_t *pids, size_t count, struct error *err);

#endif
