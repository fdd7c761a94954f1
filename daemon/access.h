/*
 * Authorization of API clients and confinement of the image directories
 * they name, both against the live config.
 */
#ifndef CTRD_ACCESS_H
#define CTRD_ACCESS_H

struct config;
struct error;
struct ucred;

/*
 * Check that the client with credentials `peer` (SO_PEERCRED) may run
 * `action`, a method name used in the message.  uid 0 is always allowed.
 * Any other client is allowed when its uid is in allowed_uids or its gid
 * is in allowed_gids.  That gid is the one SO_PEERCRED reports, the
 * effective gid of the process that connected.  Supplementary groups are
 * not checked: the kernel reports them only through SO_PEERGROUPS, and the
 * group database (getgrouplist) would list groups the process may have
 * dropped, at the cost of a possibly blocking NSS lookup per request.
 * A client whose uid the kernel did not report (-1) is denied.  Denial
 * fails with code permission-denied, naming the uid, gid and action.
 */
int access_check_peer(const struct config *config, const struct ucred *peer,
    const char *action, struct error *err);

/*
 * Open the directory at absolute `path` if it lies in one of the
 * allowed_image_roots, and return the descriptor (O_RDONLY | O_DIRECTORY |
 * O_CLOEXEC, owned by the caller).
 *
 * The root used is the longest entry that is a prefix of `path` ending at
 * a '/' or at the end of `path`.  The rest of `path` is resolved beneath
 * that root by openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so ".."
 * and symbolic links may move around inside the root but never out of it.
 * That also rejects absolute symbolic links, even ones pointing inside the
 * root.  The root "/" is resolved without RESOLVE_BENEATH, because
 * nothing lies outside it.  A path outside every root, or one that leads
 * out of its root, fails with code permission-denied.  A missing or
 * non-directory path fails with image-missing, and one ctrd may not search
 * or read fails with permission.  A kernel without openat2
 * (before Linux 5.6) fails with internal, because ctrd cannot confine the
 * path there.
 */
int access_open_images(const struct config *config, const char *path,
    struct error *err);

#endif
