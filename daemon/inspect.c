/*
 * Traffic inspection, from the parent's side. The packets are read in a
 * child process (inspector.c) that drops every privilege once its capture
 * handles are open; here we start it, feed it what it must know of the
 * host, take its alerts (checked, then given the process behind the port
 * they name) and keep its counters for status and metrics. child.c
 * supervises it: a death is reported and the child started again; bans
 * in the kernel stay in force meanwhile.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/timeutil.h"
#include "../monitor/infra.h"
#include "../monitor/localaddr.h"
#include "../monitor/proc.h"
#include "sockwatchd.h"

#define INSPECT_LOCAL_MS	30000	/* re-read the host's addresses */
#define INSPECT_PROCS_MS	10000	/* reuse a /proc walk this long */
#define INSPECT_QUERY_MS	2000	/* a peers query is answered within */

struct inspect {
	struct sw *sw;
	struct child child;
	struct privdrop_user user;
	FILE *replay;			/* open while a child starts */
	struct addr *local;		/* for the child being started */
	size_t nlocal;
	bool replay_done;
	uint32_t seq;			/* of peers queries */
	json_t *reply;			/* the answer being waited for */
	bool replied;
	struct inspect_stats st;
	uint8_t listen_tcp[IPC_PORTMAP], listen_udp[IPC_PORTMAP];
	int64_t next_local_ms;
	struct procmap *procs;		/* for alert evidence, reused */
	int64_t procs_ms;
	uint64_t session_waits;		/* inspect_session_waits */
};

static void inspect_portmaps(const struct sw *sw, uint8_t *tcp,
    uint8_t *udp);

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

/*
 * Failed logins seen in the packets are waits of a second or more for
 * sshd's answer; a logged-in session has them too (a command that takes
 * its time, fed over ssh -T). When the peer holds such a session now,
 * the waits were not failed logins: no alert, counted. A guesser cannot
 * hold one without a password; one that has a password is in already.
 */
static bool
inspect_session_waits(struct inspect *in, const struct alert *a)
{
	const char *signal;
	char who[128];

	if (strcmp(a->kind, "bruteforce") != 0 || !a->has_peer ||
	    (signal = json_string_value(json_object_get(a->evidence,
	    "signal"))) == NULL || strcmp(signal, "attempts") != 0 ||
	    !enforce_logged_in(in->sw, &a->peer, who, sizeof(who)))
		return false;
	in->session_waits++;
	return true;
}

static void
inspect_alert(struct inspect *in, const struct ipc_msg *m)
{
	struct alert a;

	if (inspect_check_alert(in, m, &a) < 0) {
		log_warnx("the packet inspector sent an alert that does not "
		    "check: ended");
		child_kill(&in->child);
		return;
	}
	if (inspect_session_waits(in, &a)) {
		alert_clear(&a);
		return;
	}
	inspect_owner(in, &a);
	if (strcmp(a.kind, "portscan") == 0)
		inspect_scan_owners(in, &a);
	alerts_raise(in->sw, &a);
}

/* One message from the child (hello, fail and log are child.c's). */
static void
inspect_message(void *arg, const struct ipc_msg *m)
{
	struct inspect *in = arg;
	struct inspect_captures ic;
	const char *json;
	uint32_t seq;
	size_t len;

	switch (m->type) {
	case IPC_ALERT:
		inspect_alert(in, m);
		break;
	case IPC_STATS:
		ipc_decode_fixed(m, IPC_STATS, &in->st, sizeof(in->st));
		break;
	case IPC_REPLAY_DONE:
		in->replay_done = true;
		break;
	case IPC_AUTH:
		authlog_event(in->sw, m);
		break;
	case IPC_CAPTURES:
		if (ipc_decode_fixed(m, IPC_CAPTURES, &ic, sizeof(ic)) == 0)
			capwatch_captured(in->sw, &ic);
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
		break;			/* the reader's mask took the rest */
	}
}

/* The bans the child's alerts asked for, in one nftables batch. */
static void
inspect_after(void *arg)
{
	struct inspect *in = arg;

	enforce_flush(in->sw);
}

static void
inspect_run(void *arg, int fd, pid_t parent)
{
	struct inspect *in = arg;
	struct inspector_args a;

	memset(&a, 0, sizeof(a));
	a.cfg = in->sw->cfg;
	a.fd = fd;
	a.user = &in->user;
	a.parent = parent;
	a.replay = in->replay;
	a.replay_name = in->sw->replay;
	a.local = in->local;
	a.nlocal = in->nlocal;
	a.listen_tcp = in->listen_tcp;
	a.listen_udp = in->listen_udp;
	inspector_main(&a);
}

/* A death, not a restart of ours: nothing is captured until the next
 * one says what it holds. */
static void
inspect_gone(void *arg)
{
	struct inspect *in = arg;

	if (!in->child.closing)
		capwatch_captured(in->sw, NULL);
}

static const struct child_ops inspect_ops = {
	.name = "packet inspector",
	.kind = "inspector",
	.accept = IPC_FROM_INSPECTOR,
	.run = inspect_run,
	.message = inspect_message,
	.after = inspect_after,
	.gone = inspect_gone,
};

/* The routes back, with the addresses: the ingress check's table. */
static void
inspect_send_routes(struct inspect *in)
{
	const struct infra_paths paths = INFRA_PATHS_DEFAULT;
	struct infra_route *r;
	struct traffic_route *v;
	size_t i, n, k = 0;

	if (!child_running(&in->child) || infra_routes(&paths, &r, &n) < 0)
		return;
	if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL) {
		free(r);
		return;
	}
	for (i = 0; i < n; i++) {
		v[k].net = r[i].net;
		if ((v[k].ifindex = if_nametoindex(r[i].ifname)) != 0)
			k++;
	}
	if (ipc_send(in->child.fd, IPC_ROUTES, v, k * sizeof(*v)) < 0) {
		log_warnx("the packet inspector does not read: ended");
		child_kill(&in->child);
	}
	free(v);
	free(r);
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
	if (ipc_send_local(in->child.fd, a, n) < 0) {
		log_warnx("the packet inspector does not read: ended");
		child_kill(&in->child);
	}
	free(a);
	inspect_send_routes(in);
}

/* What the child must know of the host from its first packet on (a
 * replay is over before it reads a message) goes through the fork. */
static int
inspect_start(struct inspect *in)
{
	int r;

	if ((r = localaddr_list(&in->local, &in->nlocal)) < 0) {
		log_warnx("cannot list the host's addresses: %s",
		    strerror(-r));
		in->local = NULL;
		in->nlocal = 0;
	}
	inspect_portmaps(in->sw, in->listen_tcp, in->listen_udp);
	if (in->sw->replay != NULL &&
	    (in->replay = fopen(in->sw->replay, "rb")) == NULL) {
		r = -errno;
		log_warn("replay: %s", in->sw->replay);
		goto out;
	}
	memset(&in->st, 0, sizeof(in->st));
	in->replay_done = false;
	if ((r = child_start(&in->child)) == 0 && in->replay != NULL &&
	    (r = child_wait(&in->child, &in->replay_done, -1)) < 0)
		log_warnx("the packet inspector did not finish the replay");
	if (r < 0)
		capwatch_captured(in->sw, NULL);
	/* The routes at the next tick (with the addresses again). */
	in->next_local_ms = time_mono_ms();
out:
	if (in->replay != NULL)
		fclose(in->replay);
	in->replay = NULL;
	free(in->local);
	in->local = NULL;
	return r;
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
	child_init(&in->child, sw, &inspect_ops, in);
	/* A replay is not run twice. */
	in->child.no_restart = sw->replay != NULL;
	sw->insp = in;
	if ((r = privdrop_lookup(sw->cfg->daemon.user, &in->user)) < 0) {
		log_warnx("[daemon] user %s: %s", sw->cfg->daemon.user,
		    r == -EINVAL ? "must not be root" : "no such user (create "
		    "it: useradd --system sockwatch)");
		return r;
	}
	if ((r = inspect_start(in)) < 0)
		return r;
	if (sw->replay == NULL)
		log_info("packet inspector started (pid %d, user %s)",
		    (int)in->child.pid, in->user.name);
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
	child_stop(&in->child);
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
	if (sw->cfg->daemon.ninterfaces == 0) {
		inspect_close(sw);
		return 0;
	}
	child_drain(&in->child);
	child_stop(&in->child);
	if ((r = inspect_start(in)) < 0) {
		/* child_tick tries again after the backoff. */
		in->child.next_start_ms = time_mono_ms() + 1000;
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
	uint8_t tcp[IPC_PORTMAP], udp[IPC_PORTMAP], buf[2 * IPC_PORTMAP];

	if (in == NULL || !child_running(&in->child))
		return;
	inspect_portmaps(sw, tcp, udp);
	if (memcmp(tcp, in->listen_tcp, sizeof(tcp)) == 0 &&
	    memcmp(udp, in->listen_udp, sizeof(udp)) == 0)
		return;
	memcpy(in->listen_tcp, tcp, sizeof(tcp));
	memcpy(in->listen_udp, udp, sizeof(udp));
	memcpy(buf, tcp, IPC_PORTMAP);
	memcpy(buf + IPC_PORTMAP, udp, IPC_PORTMAP);
	if (ipc_send(in->child.fd, IPC_LISTENERS, buf, sizeof(buf)) < 0) {
		log_warnx("the packet inspector does not read: ended");
		child_kill(&in->child);
	}
}

void
inspect_tick(struct sw *sw, int64_t now_mono)
{
	struct inspect *in = sw->insp;

	if (in == NULL)
		return;
	if (!child_running(&in->child) && in->child.next_start_ms != 0 &&
	    now_mono >= in->child.next_start_ms) {
		/* A new child needs the host's state as it is now. */
		inspect_portmaps(sw, in->listen_tcp, in->listen_udp);
		if (localaddr_list(&in->local, &in->nlocal) < 0) {
			in->local = NULL;
			in->nlocal = 0;
		}
		child_tick(&in->child, now_mono);
		free(in->local);
		in->local = NULL;
		in->next_local_ms = now_mono;
	}
	if (child_running(&in->child) && now_mono >= in->next_local_ms) {
		inspect_send_local(in);
		in->next_local_ms = now_mono + INSPECT_LOCAL_MS;
	}
}

const struct inspect_stats *
inspect_stats(const struct sw *sw)
{
	static const struct inspect_stats none;

	return sw->insp != NULL ? &sw->insp->st : &none;
}

json_t *
inspect_json(const struct sw *sw)
{
	const struct inspect *in = sw->insp;

	if (in == NULL)
		return json_null();
	return json_pack("{s:i, s:s, s:I, s:I}", "pid", (int)in->child.pid,
	    "user", in->user.name, "restarts",
	    (json_int_t)in->child.restarts, "deaths",
	    (json_int_t)in->child.deaths);
}

uint64_t
inspect_deaths(const struct sw *sw)
{
	return sw->insp != NULL ? sw->insp->child.deaths : 0;
}

uint64_t
inspect_session_waits_total(const struct sw *sw)
{
	return sw->insp != NULL ? sw->insp->session_waits : 0;
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
	if (!child_running(&in->child)) {
		*ret_error = "the packet inspector is restarting";
		return NULL;
	}
	q.seq = ++in->seq;
	q.sort = (uint32_t)by;
	q.limit = limit;
	json_decref(in->reply);
	in->reply = NULL;
	in->replied = false;
	if (ipc_send(in->child.fd, IPC_PEERS_REQ, &q, sizeof(q)) < 0) {
		*ret_error = "the packet inspector does not answer";
		return NULL;
	}
	/* Alerts that arrive meanwhile are raised on the way. */
	(void)child_wait(&in->child, &in->replied, INSPECT_QUERY_MS);
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

bool
inspect_running(const struct sw *sw)
{
	return sw->insp != NULL && child_running(&sw->insp->child);
}

int
inspect_send(struct sw *sw, enum ipc_type type, const void *p, size_t len)
{
	struct inspect *in = sw->insp;
	int r;

	if (!inspect_running(sw))
		return -ENOTCONN;
	if ((r = ipc_send(in->child.fd, type, p, len)) < 0) {
		log_warnx("the packet inspector does not read: %s",
		    strerror(-r));
		child_kill(&in->child);
	}
	return r;
}
