/*
 * Unit tests for client authorization and for confining images_dir to
 * allowed_image_roots, on a directory tree made in /tmp.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "config.h"
#include "error.h"
#include "request.h"
#include "unit.h"

#define NO_ID ((unsigned int)-1)

/* A client's credentials and whether it may restore. */
struct peer_case {
	const char *name;
	unsigned int uid;
	unsigned int gid;
	const char *action;
	const char *message;	/* NULL: allowed; else part of the error */
};

/* The config of these cases allows uid 1000 and gid 500. */
static const struct peer_case peer_cases[] = {
	{ "root", 0, 0, "restore", NULL },
	{ "root without gid", 0, NO_ID, "restore", NULL },
	{ "allowed uid", 1000, 1000, "restore", NULL },
	{ "allowed uid without gid", 1000, NO_ID, "cancel", NULL },
	{ "allowed gid", 2000, 500, "restore", NULL },
	{ "other uid", 3000, 3000, "restore",
	  "uid 3000 may not restore: add it to allowed_uids, or its gid 3000 to allowed_gids" },
	{ "other uid cancel", 65534, 65534, "cancel",
	  "uid 65534 may not cancel" },
	{ "other uid without gid", 3000, NO_ID, "restore",
	  "uid 3000 may not restore: add it to allowed_uids in" },
	{ "no uid", NO_ID, NO_ID, "restore",
	  "the kernel reported no uid for this client, so it may not restore" },
	{ "no uid with allowed gid", NO_ID, 500, "restore",
	  "reported no uid" },
};

static void
init_config(struct config *config)
{
	struct error err;

	error_clear(&err);
	assert_int_equal(config_init(config, &err), 0);
}

static void
set_ids(struct config_ids *ids, unsigned int id)
{
	ids->ids = malloc(sizeof(*ids->ids));
	assert_non_null(ids->ids);
	ids->ids[0] = id;
	ids->count = 1;
}

static void
test_peer(void **state)
{
	const struct peer_case *c = *state;
	struct ucred peer = { .pid = 42, .uid = c->uid, .gid = c->gid };
	struct config config;
	struct error err;
	int ret;

	init_config(&config);
	set_ids(&config.allowed_uids, 1000);
	set_ids(&config.allowed_gids, 500);
	error_clear(&err);

	ret = access_check_peer(&config, &peer, c->action, &err);
	if (c->message == NULL) {
		assert_int_equal(ret, 0);
		assert_null(err.code);
	} else {
		assert_int_equal(ret, -1);
		assert_string_equal(err.code, "permission-denied");
		assert_null(err.field);
		assert_non_null(strstr(err.message, c->message));
	}
	config_clear(&config);
}

/*
 * The tree every path case runs in, below a mkdtemp() directory T:
 *   T/root/app/           T/root/file           T/rootX/app/
 *   T/outside/            T/root/loop -> loop
 *   T/root/rel-in -> app  T/root/rel-out -> ../outside
 *   T/root/abs-in -> T/root/app                T/root/abs-out -> T/outside
 */
static char tree[64];

static void
tree_path(char *buf, size_t size, const char *relative)
{
	int len;

	if (relative[0] == '/')
		len = snprintf(buf, size, "%s", relative);
	else
		len = snprintf(buf, size, "%s/%s", tree, relative);
	assert_true(len > 0 && (size_t)len < size);
}

static void
tree_mkdir(const char *relative)
{
	char path[PATH_MAX];

	tree_path(path, sizeof(path), relative);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* Make the link `relative` -> `target`.  A target "T/x" is made absolute. */
static void
tree_symlink(const char *target, const char *relative)
{
	char path[PATH_MAX], absolute[PATH_MAX];

	tree_path(path, sizeof(path), relative);
	if (strncmp(target, "T/", 2) == 0) {
		tree_path(absolute, sizeof(absolute), target + 2);
		target = absolute;
	}
	assert_int_equal(symlink(target, path), 0);
}

static int
tree_setup(void **state)
{
	char path[PATH_MAX];
	int fd;

	snprintf(tree, sizeof(tree), "/tmp/ctrd-unit-access-XXXXXX");
	if (mkdtemp(tree) == NULL)
		return -1;
	tree_mkdir("root");
	tree_mkdir("root/app");
	tree_mkdir("rootX");
	tree_mkdir("rootX/app");
	tree_mkdir("outside");
	tree_path(path, sizeof(path), "root/file");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	tree_symlink("app", "root/rel-in");
	tree_symlink("../outside", "root/rel-out");
	tree_symlink("T/root/app", "root/abs-in");
	tree_symlink("T/outside", "root/abs-out");
	tree_symlink("loop", "root/loop");
	return 0;
}

static int
tree_remove_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	return remove(path);
}

static int
tree_teardown(void **state)
{
	return nftw(tree, tree_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Which allowed_image_roots a path case runs with. */
enum roots {
	ROOTS_ROOT,		/* T/root */
	ROOTS_NESTED,		/* T and T/root */
	ROOTS_SLASH,		/* / */
	ROOTS_NONE,		/* [] */
};

/*
 * An images_dir, relative to T unless it starts with '/', and the outcome:
 * the directory opened (relative to T likewise), or the error code and a
 * part of its message.
 */
struct path_case {
	const char *name;
	enum roots roots;
	const char *path;
	const char *opens;
	const char *code;
	const char *message;
};

static const struct path_case path_cases[] = {
	{ "inside root", ROOTS_ROOT, "root/app", "root/app", NULL, NULL },
	{ "root itself", ROOTS_ROOT, "root", "root", NULL, NULL },
	{ "root with trailing slash", ROOTS_ROOT, "root/", "root", NULL,
	  NULL },
	{ "double slash inside root", ROOTS_ROOT, "root//app", "root/app",
	  NULL, NULL },
	{ "prefix but not component", ROOTS_ROOT, "rootX/app", NULL,
	  "permission-denied", "is outside allowed_image_roots ['" },
	{ "outside root", ROOTS_ROOT, "outside", NULL, "permission-denied",
	  "is outside allowed_image_roots" },
	{ "relative symlink out", ROOTS_ROOT, "root/rel-out", NULL,
	  "permission-denied", "leads out of allowed image root" },
	{ "absolute symlink out", ROOTS_ROOT, "root/abs-out", NULL,
	  "permission-denied", "leads out of allowed image root" },
	{ "relative symlink in", ROOTS_ROOT, "root/rel-in", "root/app", NULL,
	  NULL },
	{ "absolute symlink in", ROOTS_ROOT, "root/abs-in", NULL,
	  "permission-denied", "only relative symbolic links" },
	{ "dot dot out", ROOTS_ROOT, "root/app/../../outside", NULL,
	  "permission-denied", "leads out of allowed image root" },
	{ "dot dot out and back", ROOTS_ROOT, "root/app/../../root/app", NULL,
	  "permission-denied", "leads out of allowed image root" },
	{ "dot dot inside", ROOTS_ROOT, "root/app/../app", "root/app", NULL,
	  NULL },
	{ "dot dot to root", ROOTS_ROOT, "root/app/..", "root", NULL, NULL },
	{ "missing dir", ROOTS_ROOT, "root/missing", NULL, "image-missing",
	  "not found; pass the directory given to 'criu dump -D'" },
	{ "regular file", ROOTS_ROOT, "root/file", NULL, "image-missing",
	  "is not a directory" },
	{ "symlink loop", ROOTS_ROOT, "root/loop", NULL, "permission-denied",
	  "too many symbolic links" },
	{ "longest root decides", ROOTS_NESTED, "root/rel-out", NULL,
	  "permission-denied", "leads out of allowed image root" },
	{ "shorter root", ROOTS_NESTED, "outside", "outside", NULL, NULL },
	{ "slash root absolute symlink", ROOTS_SLASH, "root/abs-in",
	  "root/app", NULL, NULL },
	{ "slash root dot dot", ROOTS_SLASH, "root/../outside", "outside",
	  NULL, NULL },
	{ "slash root itself", ROOTS_SLASH, "/", "/", NULL, NULL },
	{ "slash root magic link", ROOTS_SLASH, "/proc/self/cwd", NULL,
	  "permission-denied", "/proc magic link" },
	{ "no roots", ROOTS_NONE, "root/app", NULL, "permission-denied",
	  "is outside allowed_image_roots []" },
};

static void
add_root(struct config_paths *paths, const char *relative)
{
	char path[PATH_MAX];

	tree_path(path, sizeof(path), relative);
	paths->paths[paths->count] = strdup(path);
	assert_non_null(paths->paths[paths->count]);
	paths->count++;
}

static void
set_roots(struct config *config, enum roots roots)
{
	struct config_paths *paths = &config->allowed_image_roots;
	size_t i;

	for (i = 0; i < paths->count; i++)
		free(paths->paths[i]);
	free(paths->paths);
	paths->paths = calloc(2, sizeof(char *));
	assert_non_null(paths->paths);
	paths->count = 0;
	switch (roots) {
	case ROOTS_ROOT:
		add_root(paths, "root");
		break;
	case ROOTS_NESTED:
		add_root(paths, tree);
		add_root(paths, "root");
		break;
	case ROOTS_SLASH:
		add_root(paths, "/");
		break;
	case ROOTS_NONE:
		break;
	}
}

/* Fail unless `fd` is the directory at `expected`. */
static void
assert_same_dir(int fd, const char *expected)
{
	struct stat opened, wanted;

	assert_int_equal(fstat(fd, &opened), 0);
	assert_int_equal(stat(expected, &wanted), 0);
	assert_true(S_ISDIR(opened.st_mode));
	assert_int_equal(opened.st_dev, wanted.st_dev);
	assert_int_equal(opened.st_ino, wanted.st_ino);
}

static void
test_path(void **state)
{
	const struct path_case *c = *state;
	char path[PATH_MAX], opens[PATH_MAX];
	struct config config;
	struct error err;
	int fd;

	assert_int_equal(tree_setup(NULL), 0);
	init_config(&config);
	set_roots(&config, c->roots);
	tree_path(path, sizeof(path), c->path);
	error_clear(&err);

	fd = access_open_images(&config, path, &err);
	if (c->opens != NULL) {
		assert_true(fd >= 0);
		assert_null(err.code);
		tree_path(opens, sizeof(opens), c->opens);
		assert_same_dir(fd, opens);
		assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		close(fd);
	} else {
		assert_int_equal(fd, -1);
		assert_string_equal(err.code, c->code);
		assert_string_equal(err.field, "images_dir");
		/* Every message names the path, so a user sees which one. */
		assert_non_null(strstr(err.message, path));
		assert_non_null(strstr(err.message, c->message));
	}
	config_clear(&config);
	tree_teardown(NULL);
}

/* A denial for leaving a root names that root, the longest that matched. */
static void
test_denial_names_root(void **state)
{
	char path[PATH_MAX], root[PATH_MAX], quoted[PATH_MAX + 2];
	struct config config;
	struct error err;

	init_config(&config);
	set_roots(&config, ROOTS_NESTED);
	tree_path(path, sizeof(path), "root/rel-out");
	tree_path(root, sizeof(root), "root");
	snprintf(quoted, sizeof(quoted), "'%s'", root);
	error_clear(&err);

	assert_int_equal(access_open_images(&config, path, &err), -1);
	assert_non_null(strstr(err.message, quoted));
	config_clear(&config);
}

/*
 * Request parsing takes any absolute images_dir, ".." included, so
 * access_open_images() is what keeps such a path inside its root.
 */
static void
test_request_keeps_dot_dot(void **state)
{
	static const char line[] =
	    "{\"method\": \"restore\", \"params\": {\"images_dir\": \"/srv/images/../etc\"}}";
	struct request req;
	struct error err;

	error_clear(&err);
	assert_int_equal(request_parse(line, strlen(line), &req, &err), 0);
	assert_string_equal(req.images_dir, "/srv/images/../etc");
	request_clear(&req);
}

static const struct CMUnitTest single_tests[] = {
	{ .name = "denial names longest root",
	  .test_func = test_denial_names_root, .setup_func = tree_setup,
	  .teardown_func = tree_teardown },
	UNIT_TEST("request keeps dot dot", test_request_keeps_dot_dot, NULL),
};

int
main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(peer_cases) +
	    ARRAY_SIZE(path_cases) + ARRAY_SIZE(single_tests)];
	size_t n = 0, i;

	for (i = 0; i < ARRAY_SIZE(peer_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(peer_cases[i].name,
		    test_peer, &peer_cases[i]);
	for (i = 0; i < ARRAY_SIZE(path_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(path_cases[i].name,
		    test_path, &path_cases[i]);
	for (i = 0; i < ARRAY_SIZE(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("access", tests, NULL, NULL);
}
