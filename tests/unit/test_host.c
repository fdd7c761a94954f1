/*
 * Unit tests for the check that an image's pids are free, against child
 * processes, a zombie and a thread of this test program, and for the check
 * of which trees a client other than root may dump, against children that
 * change their ids (which needs root).
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "host.h"
#include "unit.h"

/* Fork a child named `name` that waits for SIGKILL, or exits at once. */
static pid_t
start_child(const char *name, bool exit_at_once)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_NAME, name);
		if (exit_at_once)
			_exit(0);
		for (;;)
			pause();
	}
	return pid;
}

/* Kill child `pid` (never a pid <= 1) and reap it. */
static void
stop_child(pid_t pid)
{
	assert_true(pid > 1);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* Wait until `pid` has the name `name`, set by the child after fork. */
static void
wait_for_name(pid_t pid, const char *name)
{
	char path[64], comm[32] = "";
	FILE *file;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (i = 0; i < 500; i++) {
		file = fopen(path, "re");
		if (file != NULL && fgets(comm, sizeof(comm), file) != NULL)
			comm[strcspn(comm, "\n")] = '\0';
		if (file != NULL)
			fclose(file);
		if (strcmp(comm, name) == 0)
			return;
		usleep(10000);
	}
	fail_msg("pid %d never got the name '%s'", (int)pid, name);
}

/* Wait until `pid` is a zombie; waitid() with WNOWAIT leaves it unreaped. */
static void
wait_for_zombie(pid_t pid)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT),
	    0);
	assert_int_equal(info.si_pid, pid);
}

static void
assert_message_has(const struct error *err, const char *part)
{
	if (strstr(err->message, part) == NULL)
		fail_msg("message '%s' lacks '%s'", err->message, part);
}

/* A pid whose process was reaped is free again. */
static void
test_free_pid(void **state)
{
	pid_t pid = start_child("ctrd-unit-free", true);
	struct error err;

	assert_int_equal(waitpid(pid, NULL, 0), pid);
	error_clear(&err);
	assert_int_equal(host_check_pids_free(&pid, 1, &err), 0);
	assert_null(err.code);
}

static void
test_running_process(void **state)
{
	pid_t pids[2] = { 0, 0 };
	char part[96];
	struct error err;

	pids[0] = start_child("ctrd-unit-hold", false);
	wait_for_name(pids[0], "ctrd-unit-hold");
	error_clear(&err);
	assert_int_equal(host_check_pids_free(pids, 2, &err), -1);
	assert_string_equal(err.code, "pid-in-use");
	snprintf(part, sizeof(part),
	    "pid %d of the image is in use by process 'ctrd-unit-hold'; stop",
	    (int)pids[0]);
	assert_message_has(&err, part);
	stop_child(pids[0]);
}

/* A zombie keeps its pid, and the message names the parent to reap it. */
static void
test_zombie(void **state)
{
	pid_t pid = start_child("ctrd-unit-zomb", true);
	char part[160], self[32];
	struct error err;

	wait_for_zombie(pid);
	error_clear(&err);
	assert_int_equal(host_check_pids_free(&pid, 1, &err), -1);
	assert_string_equal(err.code, "pid-in-use");
	assert_int_equal(prctl(PR_GET_NAME, self), 0);
	snprintf(part, sizeof(part),
	    "pid %d of the image is held by a zombie 'ctrd-unit-zomb' that its parent, pid %d '%s', has not reaped",
	    (int)pid, (int)getpid(), self);
	assert_message_has(&err, part);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void *
thread_sleep(void *arg)
{
	pid_t *tid = arg;

	__atomic_store_n(tid, gettid(), __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

/* A thread id counts like a pid, and names the thread's process. */
static void
test_thread(void **state)
{
	pid_t tid = 0;
	pthread_t thread;
	char part[128];
	struct error err;
	int i;

	assert_int_equal(pthread_create(&thread, NULL, thread_sleep, &tid),
	    0);
	for (i = 0; i < 500 && __atomic_load_n(&tid, __ATOMIC_SEQ_CST) == 0;
	    i++)
		usleep(10000);
	assert_true(tid > 1);
	error_clear(&err);
	assert_int_equal(host_check_pids_free(&tid, 1, &err), -1);
	assert_string_equal(err.code, "pid-in-use");
	snprintf(part, sizeof(part),
	    "pid %d of the image is in use by a thread of process %d '",
	    (int)tid, (int)getpid());
	assert_message_has(&err, part);
	pthread_cancel(thread);
	pthread_join(thread, NULL);
}

/* The first pid in use is named, and the others are counted. */
static void
test_several_in_use(void **state)
{
	pid_t pids[3];
	char part[64];
	struct error err;

	pids[0] = start_child("ctrd-unit-one", false);
	pids[1] = start_child("ctrd-unit-two", false);
	pids[2] = start_child("ctrd-unit-three", true);
	assert_int_equal(waitpid(pids[2], NULL, 0), pids[2]);
	wait_for_name(pids[0], "ctrd-unit-one");
	error_clear(&err);
	assert_int_equal(host_check_pids_free(pids, 3, &err), -1);
	snprintf(part, sizeof(part), "pid %d of the image", (int)pids[0]);
	assert_message_has(&err, part);
	assert_message_has(&err, "'ctrd-unit-one' (1 more of the image's pids are in use too)");
	stop_child(pids[0]);
	stop_child(pids[1]);
}

/* Bytes of a command name outside printable ASCII become '?'. */
static void
test_unprintable_name(void **state)
{
	pid_t pid = start_child("bad\001name\377", false);
	struct error err;

	wait_for_name(pid, "bad\001name\377");
	error_clear(&err);
	assert_int_equal(host_check_pids_free(&pid, 1, &err), -1);
	assert_message_has(&err, "by process 'bad?name?'");
	stop_child(pid);
}

/* The uid the dump checks give the children of this test. */
#define OWNER_UID 65534

/* How a child started by start_owned_child() sets itself up. */
struct owned_child {
	uid_t real, effective;		/* its uids; the saved uid is `effective` */
	bool dumpable;
	bool root_child;		/* it forks a child that stays root first */
	pid_t pid;
	pid_t grandchild;		/* the child that stays root, or 0 */
};

/*
 * Fork a child set up as `child` describes, and wait until it is ready.
 * Without root the ids cannot change, so the test is skipped.
 */
static void
start_owned_child(struct owned_child *child)
{
	int ready[2];
	pid_t grandchild = 0;

	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe(ready), 0);
	child->pid = fork();
	assert_true(child->pid >= 0);
	if (child->pid == 0) {
		if (child->root_child && (grandchild = fork()) == 0)
			for (;;)
				pause();
		if (setresgid(OWNER_UID, OWNER_UID, OWNER_UID) != 0 ||
		    setresuid(child->real, child->effective,
		    child->effective) != 0)
			_exit(1);
		prctl(PR_SET_DUMPABLE, child->dumpable ? 1 : 0);
		if (write(ready[1], &grandchild, sizeof(grandchild)) !=
		    sizeof(grandchild))
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &child->grandchild,
	    sizeof(child->grandchild)), sizeof(child->grandchild));
	close(ready[0]);
}

/* Kill the child and any grandchild, which this subreaper reaps. */
static void
stop_owned_child(struct owned_child *child)
{
	stop_child(child->pid);
	if (child->grandchild > 1)
		stop_child(child->grandchild);
}

/*
 * Check whether uid OWNER_UID may dump the child's tree, then stop the
 * child, so that a failed assertion leaves no process behind.
 */
static int
check_owned_child(struct owned_child *child, struct error *err)
{
	int ret;

	error_clear(err);
	ret = host_check_dumpable(child->pid, OWNER_UID, err);
	stop_owned_child(child);
	return ret;
}

/* Assert that `err` denies the dump, naming process `named`. */
static void
assert_denied(int ret, const struct error *err, pid_t named)
{
	char part[96];

	assert_int_equal(ret, -1);
	assert_string_equal(err->code, "permission-denied");
	snprintf(part, sizeof(part), "and process %d '", (int)named);
	assert_message_has(err, part);
}

/* A client may dump a tree that is its own in every way, root any tree. */
static void
test_dump_own_tree(void **state)
{
	struct owned_child child = { .real = OWNER_UID,
	    .effective = OWNER_UID, .dumpable = true };
	struct error err;
	int as_root;

	start_owned_child(&child);
	error_clear(&err);
	as_root = host_check_dumpable(child.pid, 0, &err);
	assert_int_equal(check_owned_child(&child, &err), 0);
	assert_int_equal(as_root, 0);
}

/* Root's process below the client's own is found, and denies the dump. */
static void
test_dump_root_descendant(void **state)
{
	struct owned_child child = { .real = OWNER_UID,
	    .effective = OWNER_UID, .dumpable = true, .root_child = true };
	struct error err;
	int ret;

	start_owned_child(&child);
	ret = check_owned_child(&child, &err);
	assert_true(child.grandchild > 1);
	assert_denied(ret, &err, child.grandchild);
}

/* A process with the client's real uid that runs as root, as setuid. */
static void
test_dump_effective_root(void **state)
{
	struct owned_child child = { .real = OWNER_UID, .effective = 0,
	    .dumpable = true };
	struct error err;
	int ret;

	start_owned_child(&child);
	ret = check_owned_child(&child, &err);
	assert_denied(ret, &err, child.pid);
}

/* A process that made itself not dumpable is not the client's to dump. */
static void
test_dump_not_dumpable(void **state)
{
	struct owned_child child = { .real = OWNER_UID,
	    .effective = OWNER_UID, .dumpable = false };
	struct error err;
	int ret;

	start_owned_child(&child);
	ret = check_owned_child(&child, &err);
	assert_denied(ret, &err, child.pid);
}

/* Pids 1, 0 and negative ones are skipped: never passed to kill(). */
static void
test_low_pids_skipped(void **state)
{
	pid_t pids[] = { 1, 0, -1, -42 };
	struct error err;

	error_clear(&err);
	assert_int_equal(host_check_pids_free(pids, ARRAY_SIZE(pids), &err),
	    0);
	assert_int_equal(host_check_pids_free(NULL, 0, &err), 0);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		UNIT_TEST("free pid", test_free_pid, NULL),
		UNIT_TEST("running process", test_running_process, NULL),
		UNIT_TEST("zombie", test_zombie, NULL),
		UNIT_TEST("thread id", test_thread, NULL),
		UNIT_TEST("several in use", test_several_in_use, NULL),
		UNIT_TEST("unprintable name", test_unprintable_name, NULL),
		UNIT_TEST("low pids skipped", test_low_pids_skipped, NULL),
		UNIT_TEST("dump own tree", test_dump_own_tree, NULL),
		UNIT_TEST("dump root descendant", test_dump_root_descendant,
		    NULL),
		UNIT_TEST("dump effective root", test_dump_effective_root,
		    NULL),
		UNIT_TEST("dump not dumpable", test_dump_not_dumpable, NULL),
	};

	/* Grandchildren whose parent was killed come back here to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return cmocka_run_group_tests_name("host", tests, NULL, NULL);
}
