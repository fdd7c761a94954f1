/* Checks of the host that a restore will run on, made before CRIU runs. */
#ifndef CTRD_HOST_H
#define CTRD_HOST_H

#include <stdbool.h>
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
 * Check that `pid` names a live process (not a zombie) whose tree a client
 * of uid `uid` may dump.  Root may dump any tree.  Another uid may dump a
 * tree only if each of its processes is dumpable and has `uid` as its
 * real, effective, saved and filesystem uid, as ptrace(2) requires.  Fails
 * with not-found or permission-denied, naming the pid.
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
 * Return whether page servers `a` and `b` would listen on the same port of
 * one address: the same port, and the same address or the address of
 * every interface (0.0.0.0 or ::) on either side.
 */
bool host_page_servers_overlap(const struct page_server *a,
    const struct page_server *b);

/*
 * The pipe size CRIU's page server requests: PIPE_MAX_SIZE pages in CRIU
 * 4.2 (criu/include/page-pipe.h, 32 KiB of pipe_buffer entries of 40 bytes,
 * so 819 pages), which the kernel rounds up to a power of two pages
 * (round_pipe_size() in fs/pipe.c) and compares with fs.pipe-max-size.
 */
#define HOST_PAGE_PIPE_BYTES (1024L * 4096L)

#endif
