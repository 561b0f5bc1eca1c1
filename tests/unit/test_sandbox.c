/*
 * The inspector's confinement, for real: each case forks, drops to the
 * sockwatch user (or nobody) as the inspector does, installs its seccomp
 * filter and then makes one system call. A forbidden call must kill the
 * child with SIGSYS; an allowed one must not; the drop's steps must fail
 * closed and name themselves. Needs root for the user switch; the filter
 * cases run without it too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/privdrop.h"
#include "../../common/sandbox.h"

enum probe {
	PROBE_NONE,		/* only the filter: must exit 0 */
	PROBE_WRITE,		/* allowed: write to a pipe */
	PROBE_SOCKET,		/* forbidden: a new socket */
	PROBE_EXECVE,		/* forbidden */
	PROBE_PRCTL,		/* forbidden */
	PROBE_KILL,		/* forbidden: signal another process */
	PROBE_MMAP_EXEC,	/* forbidden: executable memory */
	PROBE_OPEN,		/* refused with EACCES, not killed */
	PROBE_SETUID,		/* forbidden */
	PROBE_MPROTECT_EXEC,	/* forbidden */
	PROBE_TGKILL_OTHER,	/* forbidden: a signal other than SIGABRT */
	PROBE_FCNTL_SETFL,	/* the exporter: allowed */
	PROBE_FCNTL_ASYNC,	/* the exporter: forbidden (O_ASYNC) */
	PROBE_FCNTL_SETOWN,	/* the exporter: forbidden */
	PROBE_ACCEPT,		/* the exporter: allowed (fails: EINVAL) */
	PROBE_QSORT,		/* allowed: glibc's qsort of 8 KiB asks
				 * sysinfo (the routes back, 300 of them,
				 * killed the inspector) */
	PROBE_IFFLAGS,		/* allowed: what libpcap asks on a read
				 * error (the interface gone), fails ENOTTY */
	PROBE_GETSOCKNAME,	/* allowed, the same; fails ENOTSOCK */
	PROBE_IOCTL_SET,	/* forbidden: an ioctl that changes */
	PROBE_CONNECT,		/* the CrowdSec client: an IPv6 socket and
				 * a connect, allowed (refused: nobody) */
	PROBE_NETLINK,		/* the CrowdSec client: forbidden */
	PROBE_UNIX,		/* the CrowdSec client: forbidden */
	PROBE_THREAD,		/* the CrowdSec client: socketpair and a
				 * thread refused (EPERM), not killed */
};

static void *
thread_run(void *arg)
{
	return arg;
}

static int
int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Run probe in a child confined by filter; its wait status. */
static int
run_filtered(int (*filter)(const char **), enum probe probe)
{
	char *argv[] = { "/bin/true", NULL };
	struct sockaddr_storage ss;
	struct sockaddr_in6 sin6;
	struct ifreq ifr;
	socklen_t sslen;
	pthread_t th;
	int sv[2], fd;
	const char *step;
	int pfd[2], status;
	pid_t pid;
	void *m;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (filter(&step) < 0)
			_exit(100);
		switch (probe) {
		case PROBE_NONE:
			break;
		case PROBE_WRITE:
			if (write(pfd[1], "x", 1) != 1)
				_exit(101);
			break;
		case PROBE_SOCKET:
			(void)socket(AF_INET, SOCK_STREAM, 0);
			break;
		case PROBE_EXECVE:
			execve(argv[0], argv, NULL);
			break;
		case PROBE_PRCTL:
			(void)prctl(PR_SET_DUMPABLE, 1);
			break;
		case PROBE_KILL:
			(void)kill(getppid(), 0);
			break;
		case PROBE_MMAP_EXEC:
			m = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			(void)m;
			break;
		case PROBE_OPEN:
			if (open("/etc/passwd", O_RDONLY) >= 0 ||
			    errno != EACCES)
				_exit(102);
			break;
		case PROBE_SETUID:
			if (setuid(0) == 0)
				_exit(103);
			break;
		case PROBE_MPROTECT_EXEC:
			m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE |
			    MAP_ANONYMOUS, -1, 0);
			(void)mprotect(m, 4096, PROT_READ | PROT_EXEC);
			break;
		case PROBE_TGKILL_OTHER:
			(void)syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid),
			    SIGUSR1);
			break;
		case PROBE_FCNTL_SETFL:
			if (fcntl(pfd[1], F_SETFL, O_NONBLOCK) < 0)
				_exit(104);
			break;
		case PROBE_FCNTL_ASYNC:
			(void)fcntl(pfd[1], F_SETFL, O_NONBLOCK | O_ASYNC);
			break;
		case PROBE_FCNTL_SETOWN:
			(void)fcntl(pfd[1], F_SETOWN, getppid());
			break;
		case PROBE_ACCEPT:
			(void)accept(pfd[1], NULL, NULL);
			break;
		case PROBE_IFFLAGS:
		case PROBE_IOCTL_SET:
			memset(&ifr, 0, sizeof(ifr));
			(void)ioctl(pfd[1], probe == PROBE_IFFLAGS ?
			    SIOCGIFFLAGS : SIOCSIFFLAGS, &ifr);
			break;
		case PROBE_GETSOCKNAME:
			sslen = sizeof(ss);
			(void)getsockname(pfd[1], (struct sockaddr *)&ss,
			    &sslen);
			break;
		case PROBE_CONNECT:
			memset(&sin6, 0, sizeof(sin6));
			sin6.sin6_family = AF_INET6;
			sin6.sin6_addr = in6addr_loopback;
			sin6.sin6_port = htons(1);
			if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) < 0)
				_exit(106);
			(void)connect(fd, (struct sockaddr *)&sin6,
			    sizeof(sin6));
			break;
		case PROBE_NETLINK:
			(void)socket(AF_NETLINK, SOCK_RAW, 0);
			break;
		case PROBE_UNIX:
			(void)socket(AF_UNIX, SOCK_STREAM, 0);
			break;
		case PROBE_THREAD:
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ||
			    errno != EPERM)
				_exit(107);
			if (pthread_create(&th, NULL, thread_run, NULL) == 0)
				_exit(108);
			break;
		case PROBE_QSORT: {
			static int v[2048];
			int i;

			for (i = 0; i < 2048; i++)
				v[i] = (i * 7919) % 2048;
			qsort(v, 2048, sizeof(v[0]), int_cmp);
			if (v[0] != 0 || v[2047] != 2047)
				_exit(105);
			break;
		}
		}
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(pfd[0]);
	return status;
}

static int
run_confined(enum probe probe)
{
	return run_filtered(sandbox_inspector, probe);
}

static void
assert_killed_by(int (*filter)(const char **), enum probe p)
{
	int st = run_filtered(filter, p);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void
assert_exits_0_with(int (*filter)(const char **), enum probe p)
{
	int st = run_filtered(filter, p);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
assert_killed(enum probe p)
{
	int st = run_confined(p);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void
assert_exits_0(enum probe p)
{
	int st = run_confined(p);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_allowed(void **state)
{
	(void)state;
	assert_exits_0(PROBE_NONE);
	assert_exits_0(PROBE_WRITE);
	assert_exits_0(PROBE_OPEN);
	assert_exits_0(PROBE_QSORT);
	assert_exits_0(PROBE_IFFLAGS);
	assert_exits_0(PROBE_GETSOCKNAME);
}

static void
test_forbidden(void **state)
{
	(void)state;
	assert_killed(PROBE_SOCKET);
	assert_killed(PROBE_EXECVE);
	assert_killed(PROBE_PRCTL);
	assert_killed(PROBE_KILL);
	assert_killed(PROBE_MMAP_EXEC);
	assert_killed(PROBE_SETUID);
	assert_killed(PROBE_MPROTECT_EXEC);
	assert_killed(PROBE_TGKILL_OTHER);
	assert_killed(PROBE_IOCTL_SET);
	/* The inspector serves nobody. */
	assert_killed(PROBE_ACCEPT);
	assert_killed(PROBE_FCNTL_SETFL);
}

/* The exporter's list: the inspector's, and serving clients, but no
 * fcntl that would have the kernel signal someone (F_SETOWN, O_ASYNC). */
static void
test_exporter(void **state)
{
	(void)state;
	assert_exits_0_with(sandbox_exporter, PROBE_NONE);
	assert_exits_0_with(sandbox_exporter, PROBE_WRITE);
	assert_exits_0_with(sandbox_exporter, PROBE_FCNTL_SETFL);
	assert_exits_0_with(sandbox_exporter, PROBE_ACCEPT);
	assert_killed_by(sandbox_exporter, PROBE_FCNTL_ASYNC);
	assert_killed_by(sandbox_exporter, PROBE_FCNTL_SETOWN);
	assert_killed_by(sandbox_exporter, PROBE_SOCKET);
	assert_killed_by(sandbox_exporter, PROBE_EXECVE);
	assert_killed_by(sandbox_exporter, PROBE_KILL);
	assert_killed_by(sandbox_exporter, PROBE_MMAP_EXEC);
}

/* The whole drop, as the inspector makes it, in a child; its status. A
 * child that dropped writes its uid and capabilities check to the pipe. */
static int
run_drop(const char *fail_step, char *out, size_t outlen)
{
	struct privdrop_user u;
	const char *step = "";
	int pfd[2], status, r;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (fail_step != NULL)
			setenv("SOCKWATCHD_FAIL_STEP", fail_step, 1);
		if (privdrop_lookup("sockwatch", &u) < 0 &&
		    privdrop_lookup("nobody", &u) < 0)
			_exit(90);
		if ((r = privdrop_user(&u, &step)) < 0 ||
		    (r = privdrop_no_new_privs(&step)) < 0) {
			dprintf(pfd[1], "failed at %s", step);
			_exit(1);
		}
		/* Formatted before the filter: getuid is not on its list. */
		snprintf(out, outlen, "uid %d euid %d ", (int)getuid(),
		    (int)geteuid());
		if ((r = sandbox_inspector(&step)) < 0) {
			dprintf(pfd[1], "failed at %s", step);
			_exit(1);
		}
		if (write(pfd[1], out, strlen(out)) < 0)
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* The CrowdSec client's: the inspector's, and TCP connections out, but
 * no other socket family, no thread. */
static void
test_crowdsec(void **state)
{
	(void)state;
	assert_exits_0_with(sandbox_crowdsec, PROBE_NONE);
	assert_exits_0_with(sandbox_crowdsec, PROBE_WRITE);
	assert_exits_0_with(sandbox_crowdsec, PROBE_SOCKET);
	assert_exits_0_with(sandbox_crowdsec, PROBE_CONNECT);
	assert_exits_0_with(sandbox_crowdsec, PROBE_FCNTL_SETFL);
	assert_exits_0_with(sandbox_crowdsec, PROBE_THREAD);
	assert_exits_0_with(sandbox_crowdsec, PROBE_OPEN);
	assert_killed_by(sandbox_crowdsec, PROBE_NETLINK);
	assert_killed_by(sandbox_crowdsec, PROBE_UNIX);
	assert_killed_by(sandbox_crowdsec, PROBE_ACCEPT);
	assert_killed_by(sandbox_crowdsec, PROBE_FCNTL_ASYNC);
	assert_killed_by(sandbox_crowdsec, PROBE_EXECVE);
	assert_killed_by(sandbox_crowdsec, PROBE_KILL);
	assert_killed_by(sandbox_crowdsec, PROBE_MMAP_EXEC);
	assert_killed_by(sandbox_crowdsec, PROBE_SETUID);
}

static void
test_drop(void **state)
{
	char out[128];
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	st = run_drop(NULL, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "uid "));
	assert_null(strstr(out, "uid 0 "));
}

/* Every step, made to fail: the drop stops there and names it. */
static void
test_drop_fails_closed(void **state)
{
	static const char *const steps[] = { "bounding set", "setgroups",
	    "setresgid", "setresuid", "capng_apply", "verify",
	    "PR_SET_NO_NEW_PRIVS", "seccomp_init", "seccomp_load", NULL };
	char out[128], want[64];
	size_t i;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	for (i = 0; steps[i] != NULL; i++) {
		st = run_drop(steps[i], out, sizeof(out));
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 1);
		snprintf(want, sizeof(want), "failed at %s", steps[i]);
		assert_string_equal(out, want);
	}
}

static void
test_lookup(void **state)
{
	struct privdrop_user u;

	(void)state;
	assert_int_equal(privdrop_lookup("root", &u), -EINVAL);
	assert_int_equal(privdrop_lookup("no-such-user-sw", &u), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_exporter),
		cmocka_unit_test(test_crowdsec),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_drop_fails_closed),
		cmocka_unit_test(test_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
