/* Checks of the host that a restore will run on, made before CRIU runs. */
#ifndef CTRD_HOST_H
#define CTRD_HOST_H

#include <stddef.h>
#include <sys/types.h>

struct error;
struct page_server;

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

/*
 * Check that `pid` names a live process (not a zombie) that a client of uid
 * `uid` may dump: root may dump any, others only processes whose real uid is
 * theirs.  Fails with not-found or permission-denied, naming the pid.
 */
int host_check_dumpable(pid_t pid, uid_t uid, struct error *err);

/*
 * Check that CRIU's lazy page server will be able to size its pipes, which
 * it enlarges to HOST_PAGE_PIPE_BYTES.  That needs CAP_SYS_RESOURCE or a
 * fs.pipe-max-size at least that large.  Without either, CRIU dumps the
 * tree, then fails every page transfer with a misleading splice error.
 * Fails with host-config, naming the setting and the fix.
 */
int host_check_pipe_size(struct error *err);

/*
 * Check that a TCP socket can listen on the page server's address and
 * port, by binding one and closing it: an address this host does not have,
 * or a port in use, is found before CRIU dumps anything.  Fails with
 * invalid-params on the page_server field.
 */
int host_check_bind(const struct page_server *server, struct error *err);

/*
 * The pipe size CRIU's page server asks for: PIPE_MAX_SIZE pages in CRIU
 * 4.2 (criu/include/page-pipe.h, 32 KiB of pipe_buffer entries of 40 bytes,
 * so 819 pages), which the kernel rounds up to a power of two pages
 * (round_pipe_size() in fs/pipe.c) and compares with fs.pipe-max-size.
 */
#define HOST_PAGE_PIPE_BYTES (1024L * 4096L)

#endif
