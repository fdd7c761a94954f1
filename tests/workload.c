/*
 * ctrd-workload: a process for the integration tests to checkpoint and
 * restore.
 *
 * It fills --memory MiB of malloc'd (anonymous, private) memory with a
 * pattern derived from --seed, writes the pattern's checksum to
 * DIR/expected, then writes an increasing counter to DIR/heartbeat every
 * 100 ms.  On SIGUSR1 it recomputes the checksum over all of that memory,
 * which touches every page, and writes it to DIR/verify: after a lazy
 * restore, a matching checksum shows that every page arrived intact.  With
 * --listen PORT it also accepts TCP connections on 127.0.0.1:PORT, sends
 * each one "pong BEAT\n" and closes it.
 *
 * Every file is written under a temporary name, closed and renamed into
 * place, so between beats no file other than the standard streams is open
 * for a checkpoint to record.  After start-up the program writes to stderr
 * only with write(2), never through a stdio stream.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORKLOAD_PROGRAM "ctrd-workload"
#define WORKLOAD_BEAT_MS 100
#define WORKLOAD_DEFAULT_MEMORY_MIB 16
/* 1 TiB: a bound that keeps MiB-to-byte arithmetic far from overflow. */
#define WORKLOAD_MAX_MEMORY_MIB (1024 * 1024)
#define WORKLOAD_LISTEN_BACKLOG 16

struct workload_options {
	size_t memory_mib;
	uint64_t seed;
	const char *dir;
	int listen_port;	/* 0 when --listen is absent */
};

struct workload {
	uint64_t *words;
	size_t word_count;
	uint64_t beat;
	int listen_fd;		/* -1 when --listen is absent */
	const char *dir;
};

static volatile sig_atomic_t workload_verify_requested;

static void
workload_write_stderr(const char *text, size_t len)
{
	ssize_t written;

	while (len > 0) {
		written = write(STDERR_FILENO, text, len);
		if (written == -1 && errno == EINTR)
			continue;
		if (written <= 0)
			return;
		text += written;
		len -= (size_t)written;
	}
}

/*
 * Write "ctrd-workload: MESSAGE[: strerror(errnum)]\n" to stderr with
 * write(2).  `errnum` 0 leaves out the error text.
 */
static void __attribute__((format(printf, 2, 0)))
workload_vlog(int errnum, const char *format, va_list args)
{
	char line[1024];
	size_t len;
	int n;

	n = snprintf(line, sizeof(line), "%s: ", WORKLOAD_PROGRAM);
	len = (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len, format, args);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	if (errnum != 0) {
		n = snprintf(line + len, sizeof(line) - len, ": %s",
		    strerror(errnum));
		if (n > 0)
			len += (size_t)n;
		if (len > sizeof(line) - 2)
			len = sizeof(line) - 2;
	}
	line[len++] = '\n';
	workload_write_stderr(line, len);
}

static void __attribute__((format(printf, 1, 2)))
workload_log(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	workload_vlog(0, format, args);
	va_end(args);
}

/* Log the message with errno's text and exit with status 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
workload_die_errno(const char *format, ...)
{
	int errnum = errno;
	va_list args;

	va_start(args, format);
	workload_vlog(errnum, format, args);
	va_end(args);
	exit(EXIT_FAILURE);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
workload_die(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	workload_vlog(0, format, args);
	va_end(args);
	exit(EXIT_FAILURE);
}

static void __attribute__((noreturn))
workload_usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: %s --dir DIR [--memory MIB] [--seed N] [--listen PORT]\n"
	    "\n"
	    "Fill memory with a seeded pattern, write its checksum to\n"
	    "DIR/expected, then write a counter to DIR/heartbeat every %d ms.\n"
	    "SIGUSR1 writes the checksum of the memory as it is now to\n"
	    "DIR/verify.\n"
	    "\n"
	    "Options:\n"
	    "  --dir DIR      directory for expected, heartbeat and verify\n"
	    "  --memory MIB   memory to fill, in MiB (1 to %d); default %d\n"
	    "  --seed N       seed of the memory pattern; default 0\n"
	    "  --listen PORT  accept TCP connections on 127.0.0.1:PORT and\n"
	    "                 reply \"pong BEAT\" to each\n"
	    "  -h, --help     print this help and exit\n",
	    WORKLOAD_PROGRAM, WORKLOAD_BEAT_MS, WORKLOAD_MAX_MEMORY_MIB,
	    WORKLOAD_DEFAULT_MEMORY_MIB);
	exit(status);
}

/* Parse a decimal integer in [min, max], or exit naming the option. */
static unsigned long long
workload_parse_number(const char *option, const char *text,
    unsigned long long min, unsigned long long max)
{
	unsigned long long value;
	char *end;

	errno = 0;
	value = strtoull(text, &end, 10);
	/* Reject the blanks and minus sign that strtoull() accepts. */
	if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' ||
	    value < min || value > max)
		workload_die("invalid %s '%s'; expected an integer from %llu to %llu",
		    option, text, min, max);
	return value;
}

static void
workload_parse_options(int argc, char **argv, struct workload_options *options)
{
	static const struct option long_options[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	options->memory_mib = WORKLOAD_DEFAULT_MEMORY_MIB;
	options->seed = 0;
	options->dir = NULL;
	options->listen_port = 0;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			options->memory_mib = workload_parse_number("--memory",
			    optarg, 1, WORKLOAD_MAX_MEMORY_MIB);
			break;
		case 's':
			options->seed = workload_parse_number("--seed", optarg,
			    0, UINT64_MAX);
			break;
		case 'd':
			options->dir = optarg;
			break;
		case 'l':
			options->listen_port = (int)workload_parse_number(
			    "--listen", optarg, 1, 65535);
			break;
		case 'h':
			workload_usage(stdout, EXIT_SUCCESS);
		default:
			workload_usage(stderr, EXIT_FAILURE);
		}
	}
	if (optind < argc)
		workload_die("unexpected argument '%s'", argv[optind]);
	if (options->dir == NULL)
		workload_die("missing --dir DIR");
}

/*
 * Turn any seed, 0 included, into a non-zero xorshift64 state with the
 * splitmix64 finalizer, so nearby seeds give unrelated patterns.
 */
static uint64_t
workload_seed_state(uint64_t seed)
{
	uint64_t z = seed + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	return z != 0 ? z : 1;
}

static uint64_t
workload_xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static void
workload_fill(struct workload *workload, uint64_t seed)
{
	uint64_t state = workload_seed_state(seed);
	size_t i;

	for (i = 0; i < workload->word_count; i++)
		workload->words[i] = workload_xorshift64(&state);
}

/*
 * Return a 64-bit FNV-1a hash of the memory, fed one 64-bit word at a time
 * instead of one byte.  It reads every word, so it touches every page, and a
 * page that came back as zeros or out of place changes the result unless
 * the 64-bit hashes happen to collide.
 */
static uint64_t
workload_checksum(const struct workload *workload)
{
	const volatile uint64_t *words = workload->words;
	uint64_t hash = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < workload->word_count; i++) {
		hash ^= words[i];
		hash *= UINT64_C(0x100000001b3);
	}
	return hash;
}

static void
workload_build_path(char *path, size_t size, const char *dir,
    const char *name)
{
	int n = snprintf(path, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		workload_die("path '%s/%s' is too long", dir, name);
}

/*
 * Replace DIR/NAME with `text`: write DIR/NAME.tmp, close it, then rename
 * it over DIR/NAME, so a reader sees the old or the new text, never a mix.
 * Exits on any failure.
 */
static void
workload_write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], temp_path[PATH_MAX], temp_name[NAME_MAX + 1];
	char fd_path[64];
	size_t len = strlen(text), done = 0;
	ssize_t written;
	int fd;

	snprintf(temp_name, sizeof(temp_name), "%s.tmp", name);
	workload_build_path(path, sizeof(path), dir, name);
	workload_build_path(temp_path, sizeof(temp_path), dir, temp_name);

	/*
	 * Write into an unnamed file and name it only once written.  A dump
	 * taken during the write then saves the file as a ghost file inside
	 * the images.  A named temp file would not work, because the first
	 * restored copy renames it away before the same images are restored
	 * again.  Only the few instructions between linkat() and close() keep
	 * that risk.
	 */
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd == -1)
		workload_die_errno("open an unnamed file in '%s'", dir);
	while (done < len) {
		written = write(fd, text + done, len - done);
		if (written == -1 && errno == EINTR)
			continue;
		if (written == -1)
			workload_die_errno("write '%s'", temp_path);
		done += (size_t)written;
	}
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
	unlink(temp_path);
	if (linkat(AT_FDCWD, fd_path, AT_FDCWD, temp_path,
	    AT_SYMLINK_FOLLOW) == -1)
		workload_die_errno("link '%s'", temp_path);
	if (close(fd) == -1)
		workload_die_errno("close '%s'", temp_path);
	if (rename(temp_path, path) == -1)
		workload_die_errno("rename '%s' to '%s'", temp_path, path);
}

static void
workload_write_checksum(const struct workload *workload, const char *name)
{
	char text[32];

	snprintf(text, sizeof(text), "%016" PRIx64 "\n",
	    workload_checksum(workload));
	workload_write_file(workload->dir, name, text);
}

static void
workload_write_heartbeat(struct workload *workload)
{
	char text[32];

	workload->beat++;
	snprintf(text, sizeof(text), "%" PRIu64 "\n", workload->beat);
	workload_write_file(workload->dir, "heartbeat", text);
}

static int
workload_open_listener(int port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		workload_die_errno("create a TCP socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		workload_die_errno("set SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1)
		workload_die_errno("bind 127.0.0.1:%d", port);
	if (listen(fd, WORKLOAD_LISTEN_BACKLOG) == -1)
		workload_die_errno("listen on 127.0.0.1:%d", port);
	return fd;
}

/*
 * Accept every pending connection, send it "pong BEAT\n" and close it.  A
 * client that went away, or a lack of descriptors, only skips that
 * connection, because the listener stays readable and the next poll retries.
 */
static void
workload_serve_connections(const struct workload *workload)
{
	char reply[32];
	int n, fd;

	for (;;) {
		fd = accept4(workload->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EMFILE || errno == ENFILE)
				return;
			workload_die_errno("accept a connection");
		}
		n = snprintf(reply, sizeof(reply), "pong %" PRIu64 "\n",
		    workload->beat);
		/*
		 * The reply fits in the new socket's empty send buffer.  A
		 * failed send means the client left, so only it is dropped.
		 */
		(void)send(fd, reply, (size_t)n, MSG_NOSIGNAL);
		close(fd);
	}
}

static void
workload_on_sigusr1(int signo)
{
	(void)signo;
	workload_verify_requested = 1;
}

/*
 * Block SIGUSR1 outside ppoll() and store in `ret_wait_mask` the mask that
 * ppoll() waits with, so a signal cannot slip in between the check of the
 * flag and the wait.  If a restore leaves SIGUSR1 unblocked, the flag is
 * still checked on the next beat at the latest.
 */
static void
workload_setup_signals(sigset_t *ret_wait_mask)
{
	struct sigaction action;
	sigset_t block;

	memset(&action, 0, sizeof(action));
	action.sa_handler = workload_on_sigusr1;
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGUSR1, &action, NULL) == -1)
		workload_die_errno("install the SIGUSR1 handler");

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &block, ret_wait_mask) == -1)
		workload_die_errno("block SIGUSR1");
	sigdelset(ret_wait_mask, SIGUSR1);
}

/*
 * Close every descriptor above stderr that the parent left open, such as a
 * pipe of a test harness, so the checkpoint contains no external pipe or
 * socket that CRIU cannot restore as it was.
 */
static void
workload_close_inherited_fds(void)
{
	long max_fd;
	int fd;

	if (close_range(STDERR_FILENO + 1, ~0U, 0) == 0)
		return;
	max_fd = sysconf(_SC_OPEN_MAX);
	if (max_fd == -1 || max_fd > 65536)
		max_fd = 65536;
	for (fd = STDERR_FILENO + 1; fd < max_fd; fd++)
		close(fd);
}

static int64_t
workload_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Write heartbeats, reply to connections and serve SIGUSR1 until killed. */
static void __attribute__((noreturn))
workload_run(struct workload *workload, const sigset_t *wait_mask)
{
	struct pollfd listener = {
		.fd = workload->listen_fd,
		.events = POLLIN,
	};
	int64_t now, next_beat = workload_now_ms();
	struct timespec timeout;
	int ready;

	for (;;) {
		if (workload_verify_requested) {
			workload_verify_requested = 0;
			workload_write_checksum(workload, "verify");
		}

		now = workload_now_ms();
		if (now >= next_beat) {
			workload_write_heartbeat(workload);
			next_beat = now + WORKLOAD_BEAT_MS;
		}
		/* Sleep at most one beat, even if a restore moved the clock. */
		if (next_beat - now > WORKLOAD_BEAT_MS)
			next_beat = now + WORKLOAD_BEAT_MS;

		timeout.tv_sec = 0;
		timeout.tv_nsec = (long)(next_beat - now) * 1000000;
		ready = ppoll(&listener, workload->listen_fd != -1 ? 1 : 0,
		    &timeout, wait_mask);
		if (ready == -1 && errno != EINTR)
			workload_die_errno("wait with ppoll");
		if (ready > 0 && (listener.revents & POLLIN))
			workload_serve_connections(workload);
	}
}

int
main(int argc, char **argv)
{
	struct workload_options options;
	struct workload workload = { .listen_fd = -1 };
	sigset_t wait_mask;
	size_t bytes;

	workload_parse_options(argc, argv, &options);
	workload.dir = options.dir;
	workload_close_inherited_fds();
	workload_setup_signals(&wait_mask);

	bytes = options.memory_mib * 1024 * 1024;
	workload.word_count = bytes / sizeof(uint64_t);
	workload.words = malloc(bytes);
	if (workload.words == NULL)
		workload_die_errno("allocate %zu MiB", options.memory_mib);
	workload_fill(&workload, options.seed);
	workload_write_checksum(&workload, "expected");

	workload_log("pid %d: %zu MiB filled from seed %" PRIu64,
	    (int)getpid(), options.memory_mib, options.seed);
	if (options.listen_port != 0) {
		workload.listen_fd =
		    workload_open_listener(options.listen_port);
		workload_log("listening on 127.0.0.1:%d", options.listen_port);
	}
	workload_run(&workload, &wait_mask);
}
