/* seccomp allow-lists (sandbox.h). The inspector's list is what its loop
 * was seen to call under strace (epoll, reads of the capture handles and
 * the parent's socket, writes to it, the clock, memory), and nothing that
 * opens, connects, executes or signals; the exporter's adds serving
 * connections on sockets it already listens on; the CrowdSec client's
 * adds making TCP connections, and nothing else. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "privdrop.h"

static const int sandbox_inspector_calls[] = {
	/* the loop, the capture handles, the parent's socket */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	SCMP_SYS(epoll_ctl), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(recvfrom),
	SCMP_SYS(recvmsg), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(getsockopt), SCMP_SYS(close), SCMP_SYS(lseek),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	/* time and randomness */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(getrandom),
	/* memory (mmap and mprotect below, without PROT_EXEC) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* the C library's own */
	SCMP_SYS(futex), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* glibc's qsort asks sysconf(_SC_PHYS_PAGES) for an array of 1 KiB
	 * or more (the routes back, the host's addresses) */
	SCMP_SYS(sysinfo),
	/* the sanitizer runtimes (make asan) look at the signal stack */
	SCMP_SYS(sigaltstack),
	/* libpcap, on a read error, asks whether its socket is still bound
	 * (the interface deleted): the handle's own address, nothing else */
	SCMP_SYS(getsockname),
};

/* ... and then the interface's flags (down or gone): read-only ioctls. */
static const unsigned long sandbox_inspector_ioctls[] = {
	SIOCGIFFLAGS,
};

/* The exporter's, on top: it accepts and serves connections on the
 * listening sockets it was given, and passes a client's socket up. */
static const int sandbox_exporter_calls[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(sendmsg),
	SCMP_SYS(sendto), SCMP_SYS(shutdown), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
};

/* The CrowdSec client's, on top: libcurl's connections (its sockets are
 * made below, of two families only). */
static const int sandbox_crowdsec_calls[] = {
	SCMP_SYS(connect), SCMP_SYS(sendmsg), SCMP_SYS(sendto),
	SCMP_SYS(setsockopt), SCMP_SYS(getpeername), SCMP_SYS(shutdown),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	/* glibc's pthread_create sets its own signal up on first use, and
	 * only then meets the refused clone (below) */
	SCMP_SYS(rt_sigaction),
};

static int
sandbox_allow(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0)) < 0)
			return r;
	return 0;
}

static int
sandbox_inspector_rules(scmp_filter_ctx ctx)
{
	size_t i;
	int r;

	if ((r = sandbox_allow(ctx, sandbox_inspector_calls,
	    sizeof(sandbox_inspector_calls) /
	    sizeof(sandbox_inspector_calls[0]))) < 0)
		return r;
	/* Memory, but never executable. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0)
		return r;
	for (i = 0; i < sizeof(sandbox_inspector_ioctls) /
	    sizeof(sandbox_inspector_ioctls[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
		    1, SCMP_A1(SCMP_CMP_EQ,
		    (scmp_datum_t)sandbox_inspector_ioctls[i]))) < 0)
			return r;
	/* abort() signals itself, and only itself. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
	    SCMP_A2(SCMP_CMP_EQ, SIGABRT))) < 0)
		return r;
	/* libpcap's statistics read /sys for the interface's own drops:
	 * refused, the figure is then 0. Nothing else is opened. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(openat), 0)) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(open), 0)) < 0)
		return r;
	return 0;
}

/* fcntl only to read and set a descriptor's flags: F_SETOWN and F_SETSIG
 * with O_ASYNC would have the kernel signal a process of our choosing
 * (the parent, same user under the unit). */
static int
sandbox_fcntl_rules(scmp_filter_ctx ctx)
{
	static const int cmds[] = { F_GETFL, F_GETFD, F_SETFD };
	size_t i;
	int r;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
		    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)cmds[i]))) < 0)
			return r;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 2,
	    SCMP_A1(SCMP_CMP_EQ, F_SETFL),
	    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, 0));
}

static int
sandbox_exporter_rules(scmp_filter_ctx ctx)
{
	int r;

	if ((r = sandbox_inspector_rules(ctx)) < 0 ||
	    (r = sandbox_fcntl_rules(ctx)) < 0)
		return r;
	return sandbox_allow(ctx, sandbox_exporter_calls,
	    sizeof(sandbox_exporter_calls) / sizeof(sandbox_exporter_calls[0]));
}

static int
sandbox_crowdsec_rules(scmp_filter_ctx ctx)
{
	int r;

	if ((r = sandbox_inspector_rules(ctx)) < 0 ||
	    (r = sandbox_fcntl_rules(ctx)) < 0 ||
	    (r = sandbox_allow(ctx, sandbox_crowdsec_calls,
	    sizeof(sandbox_crowdsec_calls) /
	    sizeof(sandbox_crowdsec_calls[0]))) < 0)
		return r;
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET6))) < 0)
		return r;
	/* The url's name was resolved before the filter: a lookup libcurl
	 * would start anyway (a socketpair, then a thread) fails, and the
	 * transfer says so. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(socketpair), 0)) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(clone), 0)) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(clone3), 0)) < 0)
		return r;
	return 0;
}

static int
sandbox_load(int (*rules)(scmp_filter_ctx), const char **ret_step)
{
	scmp_filter_ctx ctx;
	int r;

	*ret_step = "seccomp_init";
	if (privdrop_fail_here(*ret_step) ||
	    (ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -ENOMEM;
	*ret_step = "seccomp_rule_add";
	if ((r = rules(ctx)) < 0)
		goto out;
	/* no_new_privs is what lets an unprivileged process load a filter;
	 * libseccomp sets it (SCMP_FLTATR_CTL_NNP defaults to on). */
	*ret_step = "seccomp_load";
	r = privdrop_fail_here(*ret_step) ? -EPERM : seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}

int
sandbox_inspector(const char **ret_step)
{
	return sandbox_load(sandbox_inspector_rules, ret_step);
}

int
sandbox_exporter(const char **ret_step)
{
	return sandbox_load(sandbox_exporter_rules, ret_step);
}

int
sandbox_crowdsec(const char **ret_step)
{
	return sandbox_load(sandbox_crowdsec_rules, ret_step);
}
