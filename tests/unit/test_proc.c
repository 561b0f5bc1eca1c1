/*
 * procmap over a fake /proc in a temporary directory: PID/comm files and
 * PID/fd/N symlinks whose targets are what the kernel would show.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../monitor/proc.h"

struct fakeproc {
	char root[64];
};

static void
mkdirf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
mkdirf(const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* A process directory with a comm file (NULL: none) and an fd dir. */
static void
fake_pid(const struct fakeproc *fp, const char *pid, const char *comm)
{
	char path[512];
	FILE *f;

	mkdirf("%s/%s", fp->root, pid);
	mkdirf("%s/%s/fd", fp->root, pid);
	if (comm == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s/comm", fp->root, pid);
	assert_non_null(f = fopen(path, "w"));
	fputs(comm, f);
	assert_int_equal(fclose(f), 0);
}

static void
fake_fd(const struct fakeproc *fp, const char *pid, int fd,
    const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/fd/%d", fp->root, pid, fd);
	assert_int_equal(symlink(target, path), 0);
}

static int
fake_setup(void **state)
{
	struct fakeproc *fp;

	fp = calloc(1, sizeof(*fp));
	assert_non_null(fp);
	snprintf(fp->root, sizeof(fp->root), "/tmp/sw-proc.XXXXXX");
	assert_non_null(mkdtemp(fp->root));
	*state = fp;
	return 0;
}

static int
fake_teardown(void **state)
{
	struct fakeproc *fp = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fp->root);
	assert_int_equal(system(cmd), 0);
	free(fp);
	return 0;
}

static void
test_lookup(void **state)
{
	struct fakeproc *fp = *state;
	struct proc_owner o[8];
	struct procmap *pm;
	size_t n;

	/* Created out of pid order, so that readdir order is arbitrary. */
	fake_pid(fp, "4242", "nginx\n");
	fake_fd(fp, "4242", 0, "/dev/null");
	fake_fd(fp, "4242", 1, "pipe:[1]");
	fake_fd(fp, "4242", 6, "socket:[12345]");
	fake_fd(fp, "4242", 7, "socket:[555]");
	fake_pid(fp, "17", "sshd\n");
	fake_fd(fp, "17", 3, "socket:[12345]");
	fake_fd(fp, "17", 4, "anon_inode:[eventpoll]");
	fake_pid(fp, "300", "python3\n");
	fake_fd(fp, "300", 9, "socket:[12345]");
	fake_fd(fp, "300", 5, "socket:[12345]");	/* dup()ed */
	fake_fd(fp, "300", 2, "/tmp/socket:[777]");
	fake_pid(fp, "9", "init\n");
	fake_fd(fp, "9", 2, "socket:[4294967295]");	/* UINT32_MAX */
	fake_fd(fp, "9", 1, "socket:[12345]");

	assert_int_equal(procmap_build(fp->root, &pm), 0);
	assert_int_equal(procmap_count(pm), 7);
	assert_int_equal(procmap_denied(pm), 0);

	/* One owner per process (its lowest fd), by ascending pid. */
	n = procmap_lookup(pm, 12345, o, 8);
	assert_int_equal(n, 4);
	assert_int_equal(o[0].pid, 9);
	assert_int_equal(o[0].fd, 1);
	assert_string_equal(o[0].comm, "init");
	assert_int_equal(o[1].pid, 17);
	assert_int_equal(o[1].fd, 3);
	assert_string_equal(o[1].comm, "sshd");
	assert_int_equal(o[2].pid, 300);
	assert_int_equal(o[2].fd, 5);
	assert_string_equal(o[2].comm, "python3");
	assert_int_equal(o[3].pid, 4242);
	assert_int_equal(o[3].fd, 6);
	assert_string_equal(o[3].comm, "nginx");

	/* max caps what is filled, not what is counted: still processes,
	 * not fds, also past max. */
	memset(o, 0, sizeof(o));
	assert_int_equal(procmap_lookup(pm, 12345, o, 2), 4);
	assert_int_equal(o[1].pid, 17);
	assert_int_equal(o[2].pid, 0);
	assert_int_equal(procmap_lookup(pm, 12345, o, 3), 4);
	assert_int_equal(procmap_lookup(pm, 12345, NULL, 0), 4);

	n = procmap_lookup(pm, 555, o, 8);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].pid, 4242);
	assert_int_equal(o[0].fd, 7);
	n = procmap_lookup(pm, UINT32_MAX, o, 8);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].pid, 9);
	assert_int_equal(o[0].fd, 2);

	/* Pipes, files, and a path that merely contains "socket:[". */
	assert_int_equal(procmap_lookup(pm, 1, o, 8), 0);
	assert_int_equal(procmap_lookup(pm, 777, o, 8), 0);
	assert_int_equal(procmap_lookup(pm, 0, o, 8), 0);
	assert_int_equal(procmap_lookup(pm, 99999, o, 8), 0);
	procmap_free(pm);
}

static void
test_malformed_links(void **state)
{
	static const char *const bad[] = {
		"socket:[abc]", "socket:[99999999999]", "socket:[4294967296]",
		"socket:[]", "socket:[", "socket:", "socket:[12345",
		"socket:12345]", "socket:[-1]", "socket:[+5]", "socket:[1 ]",
		"socket:[ 1]", "socket:[0x10]", "Socket:[12]", "socket:[0]",
		"socket:[12]x", "xsocket:[12]",
		/* Longer than the link buffer: never a socket. */
		"socket:[000000000000000000000000000000000000000000000000000000"
		"000000012]",
	};
	struct fakeproc *fp = *state;
	struct proc_owner o[4];
	struct procmap *pm;
	size_t i;

	fake_pid(fp, "50", "bad\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		fake_fd(fp, "50", (int)i, bad[i]);
	fake_fd(fp, "50", 100, "socket:[00012]");	/* leading zeros */
	assert_int_equal(procmap_build(fp->root, &pm), 0);
	assert_int_equal(procmap_count(pm), 1);
	assert_int_equal(procmap_lookup(pm, 12, o, 4), 1);
	assert_int_equal(o[0].fd, 100);
	assert_int_equal(procmap_lookup(pm, 12345, o, 4), 0);
	assert_int_equal(procmap_lookup(pm, 0, o, 4), 0);
	procmap_free(pm);
}

static void
test_odd_entries(void **state)
{
	struct fakeproc *fp = *state;
	struct proc_owner o[4];
	struct procmap *pm;
	char path[512];

	/* Directories that are not pids, and files. */
	mkdirf("%s/self", fp->root);
	mkdirf("%s/0", fp->root);
	mkdirf("%s/12a", fp->root);
	mkdirf("%s/-5", fp->root);
	fake_pid(fp, "007", "zero\n");
	fake_fd(fp, "007", 3, "socket:[1]");
	fake_pid(fp, "12b", "x\n");
	fake_fd(fp, "12b", 3, "socket:[1]");
	snprintf(path, sizeof(path), "%s/77", fp->root);
	assert_int_equal(close(open(path, O_CREAT | O_WRONLY, 0644)), 0);
	/* A process without an fd directory (a zombie, or gone). */
	mkdirf("%s/88", fp->root);
	/* A process without comm, and one whose comm is 16 bytes. */
	fake_pid(fp, "91", NULL);
	fake_fd(fp, "91", 3, "socket:[2]");
	fake_pid(fp, "92", "0123456789abcdefXYZ");
	fake_fd(fp, "92", 3, "socket:[3]");
	/* Non-printable bytes are kept raw; the renderers escape them. */
	fake_pid(fp, "93", "a\tb\x01\n");
	fake_fd(fp, "93", 3, "socket:[4]");

	assert_int_equal(procmap_build(fp->root, &pm), 0);
	assert_int_equal(procmap_count(pm), 3);
	assert_int_equal(procmap_lookup(pm, 1, o, 4), 0);
	assert_int_equal(procmap_lookup(pm, 2, o, 4), 1);
	assert_int_equal(o[0].pid, 91);
	assert_string_equal(o[0].comm, "");
	assert_int_equal(procmap_lookup(pm, 3, o, 4), 1);
	assert_true(strlen(o[0].comm) < PROC_COMM_MAX + 1);
	assert_string_equal(o[0].comm, "0123456789abcdef");
	assert_int_equal(procmap_lookup(pm, 4, o, 4), 1);
	assert_string_equal(o[0].comm, "a\tb\x01");
	procmap_free(pm);
}

static void
test_empty_and_missing(void **state)
{
	struct fakeproc *fp = *state;
	struct proc_owner o[1];
	struct procmap *pm;
	char path[512];

	assert_int_equal(procmap_build(fp->root, &pm), 0);
	assert_int_equal(procmap_count(pm), 0);
	assert_int_equal(procmap_lookup(pm, 1, o, 1), 0);
	procmap_free(pm);

	snprintf(path, sizeof(path), "%s/nonexistent", fp->root);
	assert_int_equal(procmap_build(path, &pm), -ENOENT);
}

/* Many sockets, to exercise more than one hash bucket size. */
static void
test_many(void **state)
{
	struct fakeproc *fp = *state;
	struct proc_owner o[2];
	struct procmap *pm;
	char target[32];
	uint32_t ino;
	int fd;

	fake_pid(fp, "2000", "many\n");
	fake_pid(fp, "1000", "many\n");
	for (fd = 0; fd < 3000; fd++) {
		snprintf(target, sizeof(target), "socket:[%d]", 100000 + fd);
		fake_fd(fp, "2000", fd, target);
		if (fd % 3 == 0)
			fake_fd(fp, "1000", fd, target);
	}
	assert_int_equal(procmap_build(fp->root, &pm), 0);
	assert_int_equal(procmap_count(pm), 4000);
	for (ino = 100000; ino < 103000; ino++) {
		if ((ino - 100000) % 3 == 0) {
			assert_int_equal(procmap_lookup(pm, ino, o, 2), 2);
			assert_int_equal(o[0].pid, 1000);
			assert_int_equal(o[1].pid, 2000);
		} else {
			assert_int_equal(procmap_lookup(pm, ino, o, 2), 1);
			assert_int_equal(o[0].pid, 2000);
		}
		assert_int_equal(o[0].fd, (int)(ino - 100000));
	}
	assert_int_equal(procmap_lookup(pm, 103000, o, 2), 0);
	procmap_free(pm);
}

/* The real /proc: this process's own socket is found. */
static void
test_real_proc(void **state)
{
	struct proc_owner o[4];
	struct procmap *pm;
	struct stat st;
	int sv[2];
	size_t n, i;
	int found = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fstat(sv[0], &st), 0);
	assert_int_equal(procmap_build("/proc", &pm), 0);
	n = procmap_lookup(pm, (uint32_t)st.st_ino, o, 4);
	assert_true(n >= 1);
	for (i = 0; i < n && i < 4; i++)
		if (o[i].pid == getpid() && o[i].fd == sv[0])
			found = 1;
	assert_true(found);
	procmap_free(pm);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_links,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_odd_entries, fake_setup,
		    fake_teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_missing,
		    fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_many, fake_setup,
		    fake_teardown),
		cmocka_unit_test(test_real_proc),
	};

	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
