/*
 * sockwatchd's confined children, both sides. The parent starts a child
 * (fork, then wait for its hello or the step that failed), reads what it
 * sends, and supervises it: a child that dies unasked is logged, raised
 * as a critical alert and started again after a backoff that doubles;
 * CHILD_FAILS_MAX quick deaths in a row end the daemon rather than let
 * it run on without the child's work. The child's side: close what is
 * not its own, send its log lines up (rate-limited), fail naming the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "sockwatchd.h"

#define CHILD_START_MS		10000	/* hello within */
#define CHILD_READ_MAX		(256 * 1024)	/* bytes per wake-up */
#define CHILD_BACKOFF_MS	500	/* first restart delay, doubled... */
#define CHILD_BACKOFF_MAX_MS	30000	/* ... up to this */
#define CHILD_STABLE_MS		60000	/* a child that lived this long
					 * resets the backoff */
#define CHILD_FAILS_MAX		5	/* quick deaths in a row: give up */
#define CHILD_LOG_BURST		100	/* log lines up to the parent... */
#define CHILD_LOG_RATE		10	/* ... then this many a second */
#define CHILD_OUT_MAX		(256U << 20)	/* bytes waiting for a child */
/* A sanitizer build (make asan) keeps the children's stderr: that is
 * where a finding would be reported, and the tests read it. */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_KEEP_STDERR	1
#else
#define CHILD_KEEP_STDERR	0
#endif

static void child_reap(struct child *c, bool expected);

void
child_init(struct child *c, struct sw *sw, const struct child_ops *ops,
    void *arg)
{
	memset(c, 0, sizeof(*c));
	c->sw = sw;
	c->ops = ops;
	c->arg = arg;
	c->fd = c->pidfd = -1;
	c->rd.accept = ops->accept;
}

bool
child_running(const struct child *c)
{
	return c->pid != 0;
}

void
child_kill(struct child *c)
{
	if (c->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
	else if (c->pid > 0)
		(void)kill(c->pid, SIGKILL);
}

static void
child_log(const struct child *c, const struct ipc_msg *m)
{
	char text[1024];
	int pri;

	if (ipc_decode_log(m, &pri, text, sizeof(text)) < 0)
		return;
	if (pri <= LOG_WARNING)
		log_warnx("%s: %s", c->ops->name, text);
	else if (pri == LOG_DEBUG)
		log_debug("%s: %s", c->ops->name, text);
	else
		log_info("%s: %s", c->ops->name, text);
}

static void
child_message(struct child *c, const struct ipc_msg *m)
{
	switch (m->type) {
	case IPC_HELLO:
		c->hello = true;
		break;
	case IPC_FAIL:
		ipc_decode_text(m, c->fail, sizeof(c->fail));
		c->failed = true;
		break;
	case IPC_LOG:
		child_log(c, m);
		break;
	default:
		/* Nothing but its log before it is confined. */
		if (c->hello)
			c->ops->message(c->arg, m);
		break;
	}
}

/* Read what the child sent and act on it. 0, or -EPIPE when the channel
 * is closed or broken (the child is then ended). */
static int
child_read(struct child *c)
{
	struct ipc_msg m;
	ssize_t n;
	int r = 0;

	n = ipc_reader_fill(&c->rd, c->fd, CHILD_READ_MAX);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0) {
		child_kill(c);
		return -EPIPE;
	}
	while (c->pid != 0 && (r = ipc_next(&c->rd, &m)) == 1)
		child_message(c, &m);
	if (c->pid != 0 && r < 0) {
		log_warnx("the %s broke the message framing: ended",
		    c->ops->name);
		child_kill(c);
		return -EPIPE;
	}
	return 0;
}

int
child_wait(struct child *c, const bool *flag, int ms)
{
	int64_t end = time_mono_ms() + ms;
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int left, r;

	while (!*flag && !c->failed && c->pid != 0) {
		left = ms < 0 ? -1 : (int)(end - time_mono_ms());
		if (ms >= 0 && left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && child_read(c) < 0)
			return -EPIPE;
	}
	return c->failed ? -EPERM : c->pid == 0 ? -EPIPE : 0;
}

/* Write what waits for the child; watch for room while some is left. */
static int
child_flush(struct child *c)
{
	uint32_t want;
	int r;

	if ((r = ipc_flush(&c->out, c->fd)) < 0) {
		child_kill(c);
		return r;
	}
	want = EPOLLIN | (r == 1 ? EPOLLOUT : 0);
	if (c->fd_src != NULL && want != c->events &&
	    evloop_mod(c->sw->loop, c->fd_src, want) == 0)
		c->events = want;
	return 0;
}

int
child_send(struct child *c, enum ipc_type type, const void *a, size_t alen,
    const void *b, size_t blen)
{
	int r;

	if (c->pid == 0)
		return -EPIPE;
	if (ipc_outq_pending(&c->out) + alen + blen > CHILD_OUT_MAX) {
		log_warnx("the %s does not read what it is sent: ended",
		    c->ops->name);
		child_kill(c);
		return -ENOBUFS;
	}
	if ((r = ipc_queue(&c->out, type, a, alen, b, blen)) < 0)
		return r;
	return child_flush(c);
}

static void
on_child_msg(void *arg, uint32_t events)
{
	struct child *c = arg;

	if ((events & EPOLLOUT) && child_flush(c) < 0)
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (child_read(c) < 0 && c->fd_src != NULL) {
		evloop_del(c->sw->loop, c->fd_src);
		c->fd_src = NULL;
	}
	if (c->ops->after != NULL)
		c->ops->after(c->arg);
}

static void
on_child_exit(void *arg, uint32_t events)
{
	(void)events;
	child_reap(arg, false);
}

/* Fork; both ends of the pair are close-on-exec, and the child closes
 * everything but its own end first thing. */
static int
child_fork(struct child *c)
{
	struct timeval tv = { 1, 0 };
	pid_t parent = getpid();
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* A child that stops reading cannot stall the parent for long. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->pid = fork();
	if (c->pid < 0) {
		c->pid = 0;
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (c->pid == 0) {
		close(sv[0]);
		/* The API's key and password are the CrowdSec client's
		 * alone: a child that could be made to talk must not hold
		 * them. */
		if (!c->ops->secrets)
			config_wipe_secrets(c->sw->cfg);
		c->ops->run(c->arg, sv[1], parent);
		_exit(1);
	}
	close(sv[1]);
	c->fd = sv[0];
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	c->hello = c->failed = false;
	c->fail[0] = '\0';
	return c->pidfd < 0 ? -errno : 0;
}

int
child_start(struct child *c)
{
	int r;

	if ((r = child_fork(c)) == 0)
		r = child_wait(c, &c->hello, CHILD_START_MS);
	if (r == 0 && ((r = evloop_add(c->sw->loop, c->fd, EPOLLIN,
	    on_child_msg, c, &c->fd_src)) < 0 || (r = evloop_add(c->sw->loop,
	    c->pidfd, EPOLLIN, on_child_exit, c, &c->pid_src)) < 0))
		log_warnx("the %s: %s", c->ops->name, strerror(-r));
	c->events = EPOLLIN;
	if (r == 0)
		r = child_flush(c);
	else if (r < 0 && c->failed)
		log_warnx("the %s could not start: %s", c->ops->name, c->fail);
	else if (r < 0)
		log_warnx("the %s did not start: %s", c->ops->name,
		    strerror(-r));
	if (r < 0) {
		if (c->pid != 0) {
			child_kill(c);
			child_reap(c, true);
		}
		return r;
	}
	c->started_ms = time_mono_ms();
	return 0;
}

static void
child_status_text(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(buf, len, "ended");
}

/* A death nobody asked for, or a restart that failed: an alert, and a
 * restart after the backoff; too many in a row end the daemon. */
static void
child_died(struct child *c, pid_t pid, const char *why)
{
	int64_t now = time_mono_ms(), delay;
	struct alert a;

	if (c->hello && now - c->started_ms >= CHILD_STABLE_MS)
		c->fails = 0;
	else
		c->fails++;
	c->deaths++;
	if (c->fails >= CHILD_FAILS_MAX && !c->ops->expendable)
		fatalx("the %s failed %u times in a row (last: %s%s%s): "
		    "stopping rather than run without it", c->ops->name,
		    c->fails, why, c->failed ? ", " : "", c->fail);
	delay = (int64_t)CHILD_BACKOFF_MS << (c->fails == 0 ? 0 :
	    c->fails > 16 ? 15 : c->fails - 1);
	if (delay > CHILD_BACKOFF_MAX_MS)
		delay = CHILD_BACKOFF_MAX_MS;
	c->next_start_ms = c->no_restart ? 0 : now + delay;
	log_warnx("the %s (pid %d) %s; %s in %lld ms (bans in the kernel "
	    "stay in force)", c->ops->name, (int)pid, why,
	    c->no_restart ? "not restarted" : "restarting",
	    (long long)delay);
	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "%s", c->ops->kind);
	a.severity = ALERT_CRITICAL;
	snprintf(a.message, sizeof(a.message), "the %s (pid %d) %s; "
	    "restarting in %lld ms", c->ops->name, (int)pid, why,
	    (long long)delay);
	snprintf(a.action, sizeof(a.action), "alert");
	a.evidence = json_pack("{s:i, s:s, s:I, s:I}", "pid", (int)pid,
	    "reason", why, "restart_in_ms", (json_int_t)delay, "deaths",
	    (json_int_t)c->deaths);
	if (a.evidence == NULL)
		a.evidence = json_object();
	alerts_raise(c->sw, &a);
}

/* The child is gone (or going): collect it, close its end. */
static void
child_reap(struct child *c, bool expected)
{
	pid_t pid = c->pid;
	char why[128];
	int status = 0;

	if (pid == 0)
		return;
	if (c->fd_src != NULL)
		evloop_del(c->sw->loop, c->fd_src);
	if (c->pid_src != NULL)
		evloop_del(c->sw->loop, c->pid_src);
	c->fd_src = c->pid_src = NULL;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (c->fd >= 0)
		close(c->fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->fd = c->pidfd = -1;
	c->pid = 0;
	ipc_reader_free(&c->rd);
	ipc_outq_free(&c->out);
	if (c->ops->gone != NULL)
		c->ops->gone(c->arg);
	if (!expected && !c->closing) {
		child_status_text(status, why, sizeof(why));
		child_died(c, pid, why);
	}
}

void
child_drain(struct child *c)
{
	if (c->pid == 0 || !c->hello)
		return;
	(void)child_read(c);
	if (c->ops->after != NULL)
		c->ops->after(c->arg);
}

void
child_stop(struct child *c)
{
	c->closing = true;
	child_kill(c);
	child_reap(c, true);
	c->closing = false;
	c->next_start_ms = 0;
}

int
child_restart(struct child *c)
{
	int r;

	child_stop(c);
	if ((r = child_start(c)) < 0) {
		c->hello = false;
		child_died(c, 0, "could not be started again");
	}
	return r;
}

void
child_tick(struct child *c, int64_t now_mono)
{
	if (c->pid != 0 || c->next_start_ms == 0 || now_mono < c->next_start_ms)
		return;
	c->next_start_ms = 0;
	c->restarts++;
	if (child_start(c) < 0) {
		c->hello = false;
		child_died(c, 0, "could not be started again");
		return;
	}
	log_info("the %s is back (pid %d)", c->ops->name, (int)c->pid);
}

/* ---- the child's side ---------------------------------------------- */

/* One process, one channel: the log hook has no argument. */
static struct {
	int fd;
	struct tokens tokens;
	uint64_t dropped;
} child_up = { -1, { 0, 0 }, 0 };

/* Lines go to the parent, which logs them (escaped) where it logs. An
 * attacker can make input that makes lines: a token bucket bounds them. */
static void
child_log_up(int pri, const char *msg)
{
	if (!tokens_take(&child_up.tokens, CHILD_LOG_RATE, CHILD_LOG_BURST,
	    time_mono_ms())) {
		child_up.dropped++;
		return;
	}
	(void)ipc_send_log(child_up.fd, pri, msg);
}

uint64_t
child_log_dropped(void)
{
	return child_up.dropped;
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

void
child_begin(int fd, pid_t parent, int *keep, size_t nkeep)
{
	unsigned int from = 3;
	size_t i;
	int null;

	child_up.fd = fd;
	log_set_hook(child_log_up);
	/* The parent's end is ours: its death is ours too. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(1);
	/* Nothing of the parent's stays open: not its database, its
	 * netlink sockets or the other child's channel. */
	qsort(keep, nkeep, sizeof(keep[0]), int_cmp);
	for (i = 0; i < nkeep; i++) {
		if ((unsigned int)keep[i] > from &&
		    close_range(from, (unsigned int)keep[i] - 1, 0) < 0)
			child_fail(fd, "close_range", errno);
		if ((unsigned int)keep[i] + 1 > from)
			from = (unsigned int)keep[i] + 1;
	}
	if (close_range(from, ~0U, 0) < 0)
		child_fail(fd, "close_range", errno);
	/* Not even stdio: under systemd stderr is the journal, where a line
	 * of ours would skip the parent's escaping and rate limit. */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    (!CHILD_KEEP_STDERR && dup2(null, 2) < 0))
		child_fail(fd, "/dev/null", errno);
	if (null > 2)
		close(null);
}

void
child_fail(int fd, const char *step, int err)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", step, strerror(err < 0 ? -err :
	    err));
	(void)ipc_send(fd, IPC_FAIL, msg, strlen(msg));
	_exit(1);
}

void
child_fail_text(int fd, const char *text)
{
	(void)ipc_send(fd, IPC_FAIL, text, strlen(text));
	_exit(1);
}
