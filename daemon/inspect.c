/*
 * Traffic inspection, from the parent's side. The packets are read in a
 * child process (inspector.c) that drops every privilege once its capture
 * handles are open; here we start it, feed it what it must know of the
 * host, take its alerts (checked, then given the process behind the port
 * they name) and keep its counters for status and metrics. A child that
 * dies is reported, raised as an alert and started again with backoff;
 * bans in the kernel stay in force meanwhile. A child that keeps dying
 * ends the daemon: it never runs on without capture and says nothing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/timeutil.h"
#include "../monitor/localaddr.h"
#include "../monitor/proc.h"
#include "sockwatchd.h"

#define INSPECT_LOCAL_MS	30000	/* re-read the host's addresses */
#define INSPECT_PROCS_MS	10000	/* reuse a /proc walk this long */
#define INSPECT_START_MS	10000	/* the child says hello within */
#define INSPECT_QUERY_MS	2000	/* a peers query is answered within */
#define INSPECT_READ_MAX	(256 * 1024)	/* bytes per wake-up */
#define INSPECT_BACKOFF_MS	500	/* first restart delay, doubled... */
#define INSPECT_BACKOFF_MAX_MS	30000	/* ... up to this */
#define INSPECT_STABLE_MS	60000	/* a child that lived this long resets
					 * the backoff */
#define INSPECT_FAILS_MAX	5	/* quick deaths in a row: give up */

struct inspect {
	struct sw *sw;
	struct privdrop_user user;
	pid_t pid;			/* 0: no child */
	int fd, pidfd;
	struct evsource *fd_src, *pid_src;
	struct ipc_reader rd;
	bool hello, replay_done, failed;
	char fail[512];			/* the child's IPC_FAIL text */
	int64_t started_ms;		/* monotonic */
	int64_t next_start_ms;		/* 0: no restart due */
	unsigned int fails;		/* quick deaths in a row */
	uint64_t restarts, deaths;
	uint32_t seq;			/* of peers queries */
	json_t *reply;			/* the answer being waited for */
	bool replied;
	bool closing;
	struct ipc_stats st;
	uint8_t listen_tcp[IPC_PORTMAP], listen_udp[IPC_PORTMAP];
	bool listen_sent;
	int64_t next_local_ms;
	struct procmap *procs;		/* for alert evidence, reused */
	int64_t procs_ms;
};

static void inspect_reap(struct inspect *in, bool expected);
static void inspect_portmaps(const struct sw *sw, uint8_t *tcp, uint8_t *udp);

static int
inspect_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void
inspect_kill(struct inspect *in)
{
	if (in->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, in->pidfd, SIGKILL, NULL, 0);
	else if (in->pid > 0)
		(void)kill(in->pid, SIGKILL);
}

/*
 * The listener on proto/port and the process that holds it, for the
 * evidence. The /proc walk is the expensive part, so its map is reused
 * for INSPECT_PROCS_MS: an attacker can make alerts, not make us walk
 * /proc for each. The name is made printable ('?' for the rest).
 */
static bool
listener_owner(struct inspect *in, uint8_t proto, uint16_t port,
    struct proc_owner *ret, uint32_t *ret_uid, char *comm, size_t commlen)
{
	const struct sock_info *s = NULL, *c;
	struct socktable *t = in->sw->table;
	int64_t now = time_mono_ms();
	size_t i;

	for (i = 0; s == NULL && i < socktable_count(t); i++) {
		c = socktable_at(t, i);
		if (detect_is_listener(c) && c->proto == proto &&
		    c->lport == port)
			s = c;
	}
	if (s == NULL)
		return false;
	if (in->procs == NULL || now - in->procs_ms >= INSPECT_PROCS_MS) {
		procmap_free(in->procs);
		in->procs = NULL;
		if (procmap_build("/proc", &in->procs) < 0)
			return false;
		in->procs_ms = now;
	}
	if (procmap_lookup(in->procs, s->inode, ret, 1) == 0)
		return false;
	*ret_uid = s->uid;
	snprintf(comm, commlen, "%s", ret->comm);
	for (i = 0; comm[i] != '\0'; i++)
		if (comm[i] <= 0x20 || comm[i] >= 0x7f)
			comm[i] = '?';
	return true;
}

/* An alert about one local port names the process listening there. */
static void
inspect_owner(struct inspect *in, struct alert *a)
{
	struct proc_owner o;

	if (!a->has_local || a->local_port == 0 || in->sw->replay != NULL)
		return;
	if (listener_owner(in, IPPROTO_TCP, a->local_port, &o, &a->uid,
	    a->comm, sizeof(a->comm))) {
		a->has_process = true;
		a->pid = o.pid;
	}
}

/* A port scan names the processes behind the open ports it hit:
 * evidence "open_processes", [{port, pid, comm, uid}, ...]. */
static void
inspect_scan_owners(struct inspect *in, struct alert *a)
{
	const json_t *open = json_object_get(a->evidence, "open_ports"), *v;
	const char *scan = json_string_value(json_object_get(a->evidence,
	    "scan"));
	uint8_t proto = scan != NULL && strcmp(scan, "udp") == 0 ?
	    IPPROTO_UDP : IPPROTO_TCP;
	struct proc_owner o;
	char comm[PROC_COMM_MAX * 4];
	json_t *arr;
	uint32_t uid;
	size_t i;

	if (in->sw->replay != NULL || json_array_size(open) == 0)
		return;
	if ((arr = json_array()) == NULL)
		return;
	json_array_foreach(open, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535 || !listener_owner(in, proto,
		    (uint16_t)json_integer_value(v), &o, &uid, comm,
		    sizeof(comm)))
			continue;
		json_array_append_new(arr, json_pack("{s:I, s:i, s:s, s:I}",
		    "port", json_integer_value(v), "pid", (int)o.pid, "comm",
		    comm, "uid", (json_int_t)uid));
	}
	json_object_set_new(a->evidence, "open_processes", arr);
}

/*
 * An alert from the child: the child may be compromised, so it is parsed
 * strictly and held to what a traffic detector can say. The kind and the
 * action must be a detector's, a peer must be a unicast address; the
 * time, the id and the process are ours to set.
 */
static int
inspect_check_alert(const struct inspect *in, const struct ipc_msg *m,
    struct alert *ret)
{
	static const char *const kinds[] = { "portscan", "synflood",
	    "bruteforce", "denylist", NULL };
	json_error_t e;
	json_t *j;
	size_t i;
	int r;

	j = json_loadb((const char *)m->payload, m->len,
	    JSON_REJECT_DUPLICATES, &e);
	if (j == NULL)
		return -EINVAL;
	r = alert_from_json(j, ret);
	json_decref(j);
	if (r < 0)
		return r;
	for (i = 0; kinds[i] != NULL; i++)
		if (strcmp(ret->kind, kinds[i]) == 0)
			break;
	if (kinds[i] == NULL || (strcmp(ret->action, "alert") != 0 &&
	    strcmp(ret->action, "block") != 0) ||
	    (ret->has_peer && !addr_is_unicast(&ret->peer)) ||
	    (ret->has_local && !addr_is_unicast(&ret->local_addr))) {
		alert_clear(ret);
		return -EINVAL;
	}
	ret->id = 0;
	ret->has_process = false;
	ret->pid = 0;
	ret->uid = 0;
	ret->comm[0] = '\0';
	if (in->sw->replay == NULL)
		ret->time_ms = 0;
	return 0;
}

static void
inspect_alert(struct inspect *in, const struct ipc_msg *m)
{
	struct alert a;

	if (inspect_check_alert(in, m, &a) < 0) {
		log_warnx("the packet inspector sent an alert that does not "
		    "check: ended");
		inspect_kill(in);
		return;
	}
	inspect_owner(in, &a);
	if (strcmp(a.kind, "portscan") == 0)
		inspect_scan_owners(in, &a);
	alerts_raise(in->sw, &a);
}

static void
inspect_log(const struct ipc_msg *m)
{
	char text[1024];
	int pri;

	if (ipc_decode_log(m, &pri, text, sizeof(text)) < 0)
		return;
	if (pri <= LOG_WARNING)
		log_warnx("inspector: %s", text);
	else if (pri == LOG_DEBUG)
		log_debug("inspector: %s", text);
	else
		log_info("inspector: %s", text);
}

/* One message from the child. A message it has no business sending
 * ends it (a compromised child is restarted, not trusted). */
static void
inspect_message(struct inspect *in, const struct ipc_msg *m)
{
	const char *json;
	uint32_t seq;
	size_t len;

	switch (m->type) {
	case IPC_HELLO:
		in->hello = true;
		break;
	case IPC_FAIL:
		ipc_decode_text(m, in->fail, sizeof(in->fail));
		in->failed = true;
		break;
	case IPC_LOG:
		inspect_log(m);
		break;
	case IPC_ALERT:
		if (in->hello)
			inspect_alert(in, m);
		break;
	case IPC_STATS:
		ipc_decode_stats(m, &in->st);
		break;
	case IPC_REPLAY_DONE:
		in->replay_done = true;
		break;
	case IPC_PEERS_REPLY:
		if (ipc_decode_peers_reply(m, &seq, &json, &len) == 0 &&
		    seq == in->seq && !in->replied) {
			in->reply = json_loadb(json, len,
			    JSON_REJECT_DUPLICATES, NULL);
			in->replied = true;
		}
		break;
	default:
		log_warnx("the packet inspector sent a %s message: ended",
		    ipc_type_name(m->type));
		inspect_kill(in);
		break;
	}
}

/* Read what the child sent and act on it. 0, or -EPIPE when the channel
 * is closed or broken (the child is then ended). */
static int
inspect_read(struct inspect *in)
{
	struct ipc_msg m;
	ssize_t n;
	int r;

	n = ipc_reader_fill(&in->rd, in->fd, INSPECT_READ_MAX);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0) {
		inspect_kill(in);
		return -EPIPE;
	}
	while (in->pid != 0 && (r = ipc_next(&in->rd, &m)) == 1)
		inspect_message(in, &m);
	if (in->pid != 0 && r < 0) {
		log_warnx("the packet inspector broke the message framing: "
		    "ended");
		inspect_kill(in);
		return -EPIPE;
	}
	return 0;
}

/* Wait up to ms (-1: no limit) for *flag, reading on the way. */
static int
inspect_wait(struct inspect *in, const bool *flag, int ms)
{
	int64_t end = time_mono_ms() + ms;
	struct pollfd p = { .fd = in->fd, .events = POLLIN };
	int left, r;

	while (!*flag && !in->failed) {
		left = ms < 0 ? -1 : (int)(end - time_mono_ms());
		if (ms >= 0 && left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && inspect_read(in) < 0)
			return -EPIPE;
	}
	return in->failed ? -EPERM : 0;
}

static void
on_child_msg(void *arg, uint32_t events)
{
	struct inspect *in = arg;

	(void)events;
	if (inspect_read(in) < 0 && in->fd_src != NULL) {
		evloop_del(in->sw->loop, in->fd_src);
		in->fd_src = NULL;
	}
	/* The bans the child's alerts asked for, in one nftables batch. */
	enforce_flush(in->sw);
}

static void
on_child_exit(void *arg, uint32_t events)
{
	(void)events;
	inspect_reap(arg, false);
}

static void
inspect_send_listeners(struct inspect *in)
{
	uint8_t buf[2 * IPC_PORTMAP];

	memcpy(buf, in->listen_tcp, IPC_PORTMAP);
	memcpy(buf + IPC_PORTMAP, in->listen_udp, IPC_PORTMAP);
	if (ipc_send(in->fd, IPC_LISTENERS, buf, sizeof(buf)) < 0) {
		log_warnx("the packet inspector does not read: ended");
		inspect_kill(in);
		return;
	}
	in->listen_sent = true;
}

static void
inspect_send_local(struct inspect *in)
{
	struct addr *a;
	size_t n;
	int r;

	if ((r = localaddr_list(&a, &n)) < 0) {
		log_warnx("cannot list the host's addresses: %s",
		    strerror(-r));
		return;
	}
	if (ipc_send_local(in->fd, a, n) < 0) {
		log_warnx("the packet inspector does not read: ended");
		inspect_kill(in);
	}
	free(a);
}

/* The child, started: it opens the capture handles while it still may,
 * drops, and says hello (or why not). Both ends of the pair are close-on-
 * exec; the child keeps only its own end and the handles. */
static int
inspect_fork(struct inspect *in, FILE *replay)
{
	struct timeval tv = { 1, 0 };
	struct inspector_args a;
	pid_t parent = getpid();
	struct addr *local = NULL;
	size_t nlocal = 0;
	int sv[2], r;

	/* What it must know of the host from its first packet on (a replay
	 * is over before it reads a message). */
	if ((r = localaddr_list(&local, &nlocal)) < 0)
		log_warnx("cannot list the host's addresses: %s",
		    strerror(-r));
	inspect_portmaps(in->sw, in->listen_tcp, in->listen_udp);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(local);
		return -errno;
	}
	/* A child that stops reading cannot stall the parent for long. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	in->pid = fork();
	if (in->pid < 0) {
		in->pid = 0;
		close(sv[0]);
		close(sv[1]);
		free(local);
		return -errno;
	}
	if (in->pid == 0) {
		close(sv[0]);
		memset(&a, 0, sizeof(a));
		a.cfg = in->sw->cfg;
		a.fd = sv[1];
		a.user = &in->user;
		a.parent = parent;
		a.replay = replay;
		a.replay_name = in->sw->replay;
		a.local = local;
		a.nlocal = nlocal;
		a.listen_tcp = in->listen_tcp;
		a.listen_udp = in->listen_udp;
		inspector_main(&a);
	}
	free(local);
	close(sv[1]);
	in->fd = sv[0];
	in->pidfd = inspect_pidfd_open(in->pid);
	in->hello = in->replay_done = in->failed = false;
	in->fail[0] = '\0';
	in->listen_sent = true;
	memset(&in->st, 0, sizeof(in->st));
	return in->pidfd < 0 ? -errno : 0;
}

/* Start the child and wait for its hello (and, replaying, for the end of
 * the file). 0, or -errno with the reason logged. */
static int
inspect_spawn(struct inspect *in)
{
	FILE *replay = NULL;
	int r;

	if (in->sw->replay != NULL &&
	    (replay = fopen(in->sw->replay, "rb")) == NULL) {
		log_warn("replay: %s", in->sw->replay);
		return -errno;
	}
	r = inspect_fork(in, replay);
	if (replay != NULL)
		fclose(replay);
	if (r == 0)
		r = inspect_wait(in, &in->hello, INSPECT_START_MS);
	if (r == 0 && in->sw->replay != NULL)
		r = inspect_wait(in, &in->replay_done, -1);
	if (r < 0) {
		if (in->failed)
			log_warnx("the packet inspector could not start: %s",
			    in->fail);
		else
			log_warnx("the packet inspector did not start: %s",
			    strerror(-r));
		if (in->pid != 0) {
			inspect_kill(in);
			inspect_reap(in, true);
		}
		return r < 0 ? r : -EPERM;
	}
	in->started_ms = time_mono_ms();
	if ((r = evloop_add(in->sw->loop, in->fd, EPOLLIN, on_child_msg, in,
	    &in->fd_src)) < 0 || (r = evloop_add(in->sw->loop, in->pidfd,
	    EPOLLIN, on_child_exit, in, &in->pid_src)) < 0) {
		inspect_kill(in);
		inspect_reap(in, true);
		return r;
	}
	in->next_local_ms = in->started_ms + INSPECT_LOCAL_MS;
	return 0;
}

static void
inspect_status_text(int status, char *buf, size_t len)
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
inspect_died(struct inspect *in, pid_t pid, const char *why)
{
	int64_t now = time_mono_ms(), delay;
	struct alert a;

	if (in->hello && now - in->started_ms >= INSPECT_STABLE_MS)
		in->fails = 0;
	else
		in->fails++;
	in->deaths++;
	if (in->fails >= INSPECT_FAILS_MAX)
		fatalx("the packet inspector failed %u times in a row (last: "
		    "%s%s%s): stopping rather than run without capture",
		    in->fails, why, in->failed ? ", " : "", in->fail);
	delay = (int64_t)INSPECT_BACKOFF_MS << (in->fails ? in->fails - 1 : 0);
	if (delay > INSPECT_BACKOFF_MAX_MS)
		delay = INSPECT_BACKOFF_MAX_MS;
	in->next_start_ms = now + delay;
	log_warnx("the packet inspector (pid %d) %s; capture restarts in "
	    "%lld ms (bans in the kernel stay in force)", (int)pid, why,
	    (long long)delay);
	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "inspector");
	a.severity = ALERT_CRITICAL;
	snprintf(a.message, sizeof(a.message), "the packet inspector (pid %d) "
	    "%s; capture restarts in %lld ms", (int)pid, why,
	    (long long)delay);
	snprintf(a.action, sizeof(a.action), "alert");
	a.evidence = json_pack("{s:i, s:s, s:I, s:I}", "pid", (int)pid,
	    "reason", why, "restart_in_ms", (json_int_t)delay, "deaths",
	    (json_int_t)in->deaths);
	if (a.evidence == NULL)
		a.evidence = json_object();
	alerts_raise(in->sw, &a);
}

/* The child is gone (or going): collect it, close its end. */
static void
inspect_reap(struct inspect *in, bool expected)
{
	pid_t pid = in->pid;
	char why[128];
	int status = 0;

	if (pid == 0)
		return;
	if (in->fd_src != NULL)
		evloop_del(in->sw->loop, in->fd_src);
	if (in->pid_src != NULL)
		evloop_del(in->sw->loop, in->pid_src);
	in->fd_src = in->pid_src = NULL;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (in->fd >= 0)
		close(in->fd);
	if (in->pidfd >= 0)
		close(in->pidfd);
	in->fd = in->pidfd = -1;
	in->pid = 0;
	ipc_reader_free(&in->rd);
	if (!expected && !in->closing) {
		inspect_status_text(status, why, sizeof(why));
		inspect_died(in, pid, why);
	}
}

int
inspect_open(struct sw *sw)
{
	struct inspect *in;
	int r;

	if (sw->replay == NULL && sw->cfg->daemon.ninterfaces == 0)
		return 0;		/* capture off: no child */
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return -ENOMEM;
	in->sw = sw;
	in->fd = in->pidfd = -1;
	sw->insp = in;
	if ((r = privdrop_lookup(sw->cfg->daemon.user, &in->user)) < 0) {
		log_warnx("[daemon] user %s: %s", sw->cfg->daemon.user,
		    r == -EINVAL ? "must not be root" : "no such user (create "
		    "it: useradd --system sockwatch)");
		return r;
	}
	if ((r = inspect_spawn(in)) < 0)
		return r;
	if (sw->replay == NULL)
		log_info("capturing on %s (inspector pid %d, user %s)",
		    sw->cfg->daemon.ninterfaces == 1 ?
		    sw->cfg->daemon.interfaces[0] : "several interfaces",
		    (int)in->pid, in->user.name);
	else
		log_info("replayed %s: %llu packets", sw->replay,
		    (unsigned long long)in->st.cap_packets);
	return 0;
}

void
inspect_close(struct sw *sw)
{
	struct inspect *in = sw->insp;

	if (in == NULL)
		return;
	in->closing = true;
	inspect_kill(in);
	inspect_reap(in, true);
	procmap_free(in->procs);
	json_decref(in->reply);
	free(in);
	sw->insp = NULL;
}

int
inspect_restart(struct sw *sw)
{
	struct inspect *in = sw->insp;
	int r;

	if (in == NULL)
		return inspect_open(sw);
	if (sw->cfg->daemon.ninterfaces == 0 && sw->replay == NULL) {
		inspect_close(sw);
		return 0;
	}
	inspect_kill(in);
	inspect_reap(in, true);
	in->next_start_ms = 0;
	if ((r = inspect_spawn(in)) < 0) {
		in->hello = false;
		inspect_died(in, 0, "could not be started again");
	}
	return r;
}

/* The listening-port maps, from the socket table. */
static void
inspect_portmaps(const struct sw *sw, uint8_t *tcp, uint8_t *udp)
{
	const struct sock_info *s;
	size_t i;

	memset(tcp, 0, IPC_PORTMAP);
	memset(udp, 0, IPC_PORTMAP);
	for (i = 0; i < socktable_count(sw->table); i++) {
		s = socktable_at(sw->table, i);
		if (!detect_is_listener(s))
			continue;
		if (s->proto == IPPROTO_TCP)
			tcp[s->lport >> 3] |= 1U << (s->lport & 7);
		else
			udp[s->lport >> 3] |= 1U << (s->lport & 7);
	}
}

/* After a scan: the maps to the child, when they changed. */
void
inspect_listeners(struct sw *sw)
{
	struct inspect *in = sw->insp;
	uint8_t tcp[IPC_PORTMAP], udp[IPC_PORTMAP];

	if (in == NULL || in->pid == 0)
		return;
	inspect_portmaps(sw, tcp, udp);
	if (in->listen_sent && memcmp(tcp, in->listen_tcp, sizeof(tcp)) == 0 &&
	    memcmp(udp, in->listen_udp, sizeof(udp)) == 0)
		return;
	memcpy(in->listen_tcp, tcp, sizeof(tcp));
	memcpy(in->listen_udp, udp, sizeof(udp));
	inspect_send_listeners(in);
}

void
inspect_tick(struct sw *sw, int64_t now_mono)
{
	struct inspect *in = sw->insp;
	int r;

	if (in == NULL)
		return;
	if (in->pid == 0 && in->next_start_ms != 0 &&
	    now_mono >= in->next_start_ms) {
		in->next_start_ms = 0;
		in->restarts++;
		if ((r = inspect_spawn(in)) < 0) {
			in->hello = false;
			inspect_died(in, 0, "could not be started again");
			return;
		}
		log_info("the packet inspector is back (pid %d)", (int)in->pid);
	}
	if (in->pid != 0 && now_mono >= in->next_local_ms) {
		inspect_send_local(in);
		in->next_local_ms = now_mono + INSPECT_LOCAL_MS;
	}
}

const struct ipc_stats *
inspect_stats(const struct sw *sw)
{
	static const struct ipc_stats none;

	return sw->insp != NULL ? &sw->insp->st : &none;
}

json_t *
inspect_json(const struct sw *sw)
{
	const struct inspect *in = sw->insp;

	if (in == NULL)
		return json_null();
	return json_pack("{s:i, s:s, s:I, s:I}", "pid", (int)in->pid,
	    "user", in->user.name, "restarts", (json_int_t)in->restarts,
	    "deaths", (json_int_t)in->deaths);
}

uint64_t
inspect_deaths(const struct sw *sw)
{
	return sw->insp != NULL ? sw->insp->deaths : 0;
}

json_t *
inspect_peers(struct sw *sw, enum peers_sort by, unsigned int limit,
    const char **ret_error)
{
	struct inspect *in = sw->insp;
	struct ipc_peers_req q;
	json_t *reply;

	if (in == NULL)
		return json_array();
	if (in->pid == 0) {
		*ret_error = "the packet inspector is restarting";
		return NULL;
	}
	q.seq = ++in->seq;
	q.sort = (uint32_t)by;
	q.limit = limit;
	json_decref(in->reply);
	in->reply = NULL;
	in->replied = false;
	if (ipc_send(in->fd, IPC_PEERS_REQ, &q, sizeof(q)) < 0) {
		*ret_error = "the packet inspector does not answer";
		return NULL;
	}
	/* Alerts that arrive meanwhile are raised on the way. */
	(void)inspect_wait(in, &in->replied, INSPECT_QUERY_MS);
	enforce_flush(sw);
	reply = in->reply;
	in->reply = NULL;
	if (!json_is_array(reply)) {
		json_decref(reply);
		*ret_error = "the packet inspector does not answer";
		return NULL;
	}
	return reply;
}
