#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "spawn.h"

/* Variables systemd sets for ctrd itself; children must not see them. */
static const char *const spawn_unset_env[] = {
	"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
	"WATCHDOG_PID", "WATCHDOG_USEC", "JOURNAL_STREAM",
};

#define SPAWN_MAX_FDS 8

static void
spawn_reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Move the inherited descriptors to their numbers.  They are first dup'ed
 * above every target so that a dup2() never clobbers a source not yet moved.
 */
static int
spawn_place_fds(const struct spawn_fd *fds, size_t count, int stderr_fd,
    int report_fd)
{
	int high[SPAWN_MAX_FDS + 1];
	int null_fd, max_fd = 2;
	size_t i;

	for (i = 0; i < count; i++)
		if (fds[i].child_fd > max_fd)
			max_fd = fds[i].child_fd;
	for (i = 0; i < count; i++) {
		high[i] = fcntl(fds[i].fd, F_DUPFD, max_fd + 1);
		if (high[i] == -1)
			return -1;
	}
	high[count] = stderr_fd == -1 ? -1 :
	    fcntl(stderr_fd, F_DUPFD, max_fd + 1);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd == -1 || dup2(null_fd, 0) == -1 || dup2(null_fd, 1) == -1)
		return -1;
	if (dup2(high[count] != -1 ? high[count] : null_fd, 2) == -1)
		return -1;
	for (i = 0; i < count; i++)
		if (dup2(high[i], fds[i].child_fd) == -1)
			return -1;
	/* Close everything else but the close-on-exec report pipe. */
	if (close_range((unsigned)max_fd + 1, (unsigned)report_fd - 1, 0) == -1)
		return -1;
	return close_range((unsigned)report_fd + 1, ~0U, 0);
}

static void
spawn_child(const char *const argv[], const struct spawn_fd *fds,
    size_t count, int stderr_fd, int dir_fd, int report_fd)
{
	int saved, high_fd, max_child_fd = 2;
	size_t i;

	spawn_reset_signals();
	setsid();
	for (i = 0; i < sizeof(spawn_unset_env) / sizeof(*spawn_unset_env);
	    i++)
		unsetenv(spawn_unset_env[i]);
	if (dir_fd != -1 && fchdir(dir_fd) == -1)
		goto fail;
	/*
	 * Keep the report pipe above the child's descriptor numbers, so no
	 * dup2() below replaces it.  Any number above them will do: a fixed
	 * high number fails under a low RLIMIT_NOFILE.
	 */
	for (i = 0; i < count; i++)
		if (fds[i].child_fd > max_child_fd)
			max_child_fd = fds[i].child_fd;
	high_fd = fcntl(report_fd, F_DUPFD_CLOEXEC, max_child_fd + 1);
	if (high_fd == -1)
		goto fail;
	report_fd = high_fd;
	if (spawn_place_fds(fds, count, stderr_fd, report_fd) == -1)
		goto fail;
	execvp(argv[0], (char *const *)argv);
fail:
	saved = errno;
	(void)!write(report_fd, &saved, sizeof(saved));
	_exit(127);
}

pid_t
spawn_process(const char *const argv[], const struct spawn_fd *fds,
    size_t fd_count, int stderr_fd, int dir_fd, struct error *err)
{
	int report[2], child_errno;
	ssize_t len;
	pid_t pid;

	if (fd_count > SPAWN_MAX_FDS)
		return error_set(err, "internal", "spawn '%s': too many descriptors",
		    argv[0]);
	if (pipe2(report, O_CLOEXEC) == -1)
		return error_set_errno(err, "internal", "spawn '%s': pipe",
		    argv[0]);
	pid = fork();
	if (pid == -1) {
		close(report[0]);
		close(report[1]);
		return error_set_errno(err, "internal", "fork for '%s'",
		    argv[0]);
	}
	if (pid == 0)
		spawn_child(argv, fds, fd_count, stderr_fd, dir_fd, report[1]);
	close(report[1]);
	/* The pipe closes on a successful exec; otherwise it carries errno. */
	do {
		len = read(report[0], &child_errno, sizeof(child_errno));
	} while (len == -1 && errno == EINTR);
	close(report[0]);
	if (len == sizeof(child_errno)) {
		errno = child_errno;
		waitpid(pid, NULL, 0);
		return error_set_errno(err, "internal", "execute '%s'",
		    argv[0]);
	}
	return pid;
}
