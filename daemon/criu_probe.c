#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "criu_probe.h"
#include "criu_rpc.h"
#include "error.h"
#include "spawn.h"

/*
 * A criu.kdat.tmp at least this old is left over.  CRIU keeps the file
 * open only while it writes its cache of about a kilobyte, then renames it.
 */
#define CRIU_PROBE_KDAT_TMP_STALE_SECONDS 60

static CriuResp *
criu_probe_call(int fd, const CriuReq *req, int timeout_ms,
    struct error *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int passed_fd, ret;
	CriuResp *resp;

	if (criu_rpc_send(fd, req, err) < 0)
		return NULL;
	do {
		ret = poll(&pfd, 1, timeout_ms);
	} while (ret == -1 && errno == EINTR);
	if (ret == 0)
		return error_set(err, "criu-version",
		    "CRIU did not answer %s within %d ms",
		    criu_rpc_type_name(req->type), timeout_ms), NULL;
	resp = criu_rpc_recv(fd, &passed_fd, err);
	if (passed_fd != -1)
		close(passed_fd);
	return resp;
}

static int
criu_probe_version(int fd, int timeout_ms, struct criu_probe_result *result,
    struct error *err)
{
	CriuResp *resp;
	CriuReq req;

	criu_rpc_init_version(&req);
	resp = criu_probe_call(fd, &req, timeout_ms, err);
	if (resp == NULL)
		return -1;
	result->version_number = criu_rpc_version_number(resp);
	criu_rpc_format_version(resp, result->version, sizeof(result->version));
	criu_resp__free_unpacked(resp, NULL);
	if (result->version_number < CRIU_PROBE_MIN_VERSION)
		return error_set(err, "criu-version",
		    "CRIU %s is too old: ctrd needs CRIU 4.0 or newer; run scripts/provision-criu.sh and pass its path with --criu",
		    result->version);
	return 0;
}

static int
criu_probe_features(int fd, int timeout_ms, struct criu_probe_result *result,
    struct error *err)
{
	CriuFeatures features = CRIU_FEATURES__INIT;
	CriuResp *resp;
	CriuReq req;

	criu_req__init(&req);
	req.type = CRIU_REQ_TYPE__FEATURE_CHECK;
	features.has_lazy_pages = true;
	features.lazy_pages = true;
	req.features = &features;
	resp = criu_probe_call(fd, &req, timeout_ms, err);
	if (resp == NULL)
		return -1;
	result->lazy_pages = resp->success && resp->features != NULL &&
	    resp->features->has_lazy_pages && resp->features->lazy_pages;
	criu_resp__free_unpacked(resp, NULL);
	return 0;
}

/* Return the usual name of a statfs(2) f_type, or NULL if unknown. */
static const char *
criu_probe_fs_name(unsigned long type)
{
	switch (type) {
	case EXT4_SUPER_MAGIC: return "ext2/ext3/ext4";
	case XFS_SUPER_MAGIC: return "xfs";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	case F2FS_SUPER_MAGIC: return "f2fs";
	case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
	case SQUASHFS_MAGIC: return "squashfs";
	case RAMFS_MAGIC: return "ramfs";
	case NFS_SUPER_MAGIC: return "nfs";
	default: return NULL;
	}
}

/*
 * CRIU's rules, from criu/kerndat.c (kerndat_save_cache) in CRIU 4.2: it
 * creates DIR/criu.kdat.tmp with O_CREAT | O_EXCL and quietly skips the
 * cache when that fails.  It keeps the file only when fstatfs() reports
 * TMPFS_MAGIC.  Otherwise it unlinks criu.kdat instead of the .tmp, so a
 * .tmp stays behind and blocks every later save.
 */
void
criu_probe_check_kdat(const char *dir, char *buf, size_t size)
{
	char tmp_path[PATH_MAX], type_name[48];
	const char *name;
	struct statfs fs;
	struct stat st;
	long long age;

	buf[0] = '\0';
	if (statfs(dir, &fs) == -1) {
		snprintf(buf, size,
		    "CRIU cannot cache its kernel probes: statfs '%s': %s, so every CRIU run probes the kernel again (tens of ms per restore); make '%s' a tmpfs",
		    dir, strerror(errno), dir);
		return;
	}
	if ((unsigned long)fs.f_type != TMPFS_MAGIC) {
		name = criu_probe_fs_name((unsigned long)fs.f_type);
		if (name == NULL) {
			snprintf(type_name, sizeof(type_name),
			    "of file system type 0x%lx",
			    (unsigned long)fs.f_type);
			name = type_name;
		}
		snprintf(buf, size,
		    "CRIU cannot cache its kernel probes: '%s' is %s, not tmpfs, so every CRIU run probes the kernel again (tens of ms per restore); mount a tmpfs on '%s' at boot, before services create their sockets there, as systemd does",
		    dir, name, dir);
		return;
	}
	snprintf(tmp_path, sizeof(tmp_path), "%s/criu.kdat.tmp", dir);
	if (lstat(tmp_path, &st) == -1)
		return;
	age = (long long)(time(NULL) - st.st_mtime);
	if (age < CRIU_PROBE_KDAT_TMP_STALE_SECONDS)
		return;
	snprintf(buf, size,
	    "CRIU cannot cache its kernel probes: '%s' is left over from a CRIU run that stopped while saving the cache (%lld s ago), and CRIU never replaces it, so every CRIU run probes the kernel again (tens of ms per restore); remove '%s'",
	    tmp_path, age, tmp_path);
}

int
criu_probe(const char *criu_path, int timeout_ms,
    struct criu_probe_result *result, struct error *err)
{
	const char *argv[] = { criu_path, "--no-default-config", "swrk", "3",
		NULL };
	struct spawn_fd child_fd;
	int pair[2], ret;
	pid_t pid;

	memset(result, 0, sizeof(*result));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == -1)
		return error_set_errno(err, "internal", "create socketpair");
	child_fd.fd = pair[1];
	child_fd.child_fd = 3;
	pid = spawn_process(argv, &child_fd, 1, STDERR_FILENO, -1, err);
	close(pair[1]);
	if (pid == -1) {
		close(pair[0]);
		return error_prefix(err,
		    "start CRIU '%s' (install it with scripts/provision-criu.sh or pass --criu)",
		    criu_path);
	}
	ret = criu_probe_version(pair[0], timeout_ms, result, err);
	if (ret == 0)
		ret = criu_probe_features(pair[0], timeout_ms, result, err);
	close(pair[0]);
	if (ret < 0 && pid > 1)
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (ret < 0)
		return error_prefix(err, "check CRIU '%s'", criu_path);
	criu_probe_check_kdat(CRIU_PROBE_KDAT_DIR, result->kdat_problem,
	    sizeof(result->kdat_problem));
	return 0;
}
