/*
 * The inspector: the process that reads what attackers send. Forked by
 * the parent (inspect.c) with its capture handles already open, it
 * becomes an unprivileged user with no capabilities, no_new_privs and a
 * seccomp allow-list, then runs decode, the peer table and the detectors
 * and sends their alerts up the socket it shares with the parent. It
 * holds no other descriptor of the parent's: not the control socket, the
 * database, nftables or sock_diag. What the detectors need to know of
 * the host (listening ports, its addresses) comes down the same socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/sandbox.h"
#include "../common/timeutil.h"
#include "../exporter/peerjson.h"
#include "../policy/authlog.h"
#include "sockwatchd.h"

#define INSPECTOR_BATCH		256	/* packets per wake-up and handle */

struct inspector_cap {
	struct inspector *in;
	struct capture *cap;
	struct evsource *src;
	unsigned int slot;		/* in [daemon] interfaces */
	int ifindex;			/* bound to; CAPSTATE_ANY for "any" */
	bool dead;			/* its interface went away */
	struct capture_stats last;	/* its counters, kept once dead */
};

struct inspector {
	int fd;				/* to the parent */
	const struct config *cfg;
	struct evloop *loop;
	struct traffic *traffic;
	struct inspector_cap caps[SW_CAPTURES_MAX];
	unsigned int ncaps;
	bool replay;
	int timer_fd;
	struct traffic_queue tq;
	int64_t now_ms;			/* the packets' clock */
	int64_t step_ms;		/* live: wall minus steady time */
	uint64_t cap_packets;
	uint64_t decode_errors[-DECODE_RESULT_MIN + 1];
	uint8_t listen_tcp[IPC_PORTMAP], listen_udp[IPC_PORTMAP];
	struct ipc_reader rd;
	struct inspect_stats sent;	/* what the parent last got */
	/* sshd's log, a line at a time: the part of one not ended yet, or
	 * a line too long to be sshd's being skipped to its end. */
	char line[AUTHLOG_LINE_MAX + 1];
	size_t linelen;
	bool skipline;
	bool stop;
};

static void
inspector_send(struct inspector *in, enum ipc_type type, const void *p,
    size_t len)
{
	int r;

	/* The parent went away or stopped reading: nothing to do but end. */
	if ((r = ipc_send(in->fd, type, p, len)) < 0)
		_exit(r == -EPIPE ? 0 : 1);
}

static bool
inspector_port_open(void *arg, uint8_t proto, uint16_t port)
{
	const struct inspector *in = arg;
	const uint8_t *map = proto == IPPROTO_TCP ? in->listen_tcp :
	    proto == IPPROTO_UDP ? in->listen_udp : NULL;

	return map != NULL && (map[port >> 3] & (1U << (port & 7))) != 0;
}

static void
inspector_alert(void *arg, struct alert *a)
{
	struct inspector *in = arg;
	json_t *j;
	char *text;

	/* A replayed file's alerts happened when its packets did; a live
	 * alert's time is the parent's to set. */
	if (in->replay)
		a->time_ms = in->now_ms;
	j = alert_to_json(a);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	alert_clear(a);
	if (text == NULL) {
		log_warnx("out of memory: an alert was not sent");
		return;
	}
	inspector_send(in, IPC_ALERT, text, strlen(text));
	free(text);
}

static void
inspector_process(struct inspector *in, const struct pkt *p, int64_t ms)
{
	in->now_ms = ms;
	traffic_packet(in->traffic, p, ms, inspector_port_open, in,
	    inspector_alert, in);
}

static void
inspector_packet(void *arg, const struct capture_packet *cp)
{
	struct inspector *in = arg;
	const struct pkt *p;
	int64_t ms;
	int r;

	in->cap_packets++;
	r = decode_packet(cp->linktype, cp->data, cp->caplen, cp->wirelen,
	    (uint64_t)cp->ts_us, traffic_queue_slot(&in->tq));
	if (r < 0) {
		in->decode_errors[-r]++;
		return;
	}
	if ((p = traffic_queue_push(in->traffic, &in->tq, cp->ts_us / 1000 -
	    in->step_ms, &ms)) != NULL)
		inspector_process(in, p, ms);
}

static void
inspector_drain(struct inspector *in)
{
	const struct pkt *p;
	int64_t ms;

	while ((p = traffic_queue_pop(&in->tq, &ms)) != NULL)
		inspector_process(in, p, ms);
}

/* Which configured name each live handle is bound to, for the parent
 * (capture up or down, a new inspector due). */
static void
inspector_captures(struct inspector *in)
{
	struct inspect_captures ic;
	unsigned int i;

	memset(&ic, 0, sizeof(ic));
	for (i = 0; i < in->ncaps; i++)
		if (!in->caps[i].dead)
			ic.ifindex[in->caps[i].slot] = in->caps[i].ifindex;
	inspector_send(in, IPC_CAPTURES, &ic, sizeof(ic));
}

/*
 * A read error on a live handle is its interface going away (ENETDOWN,
 * ENXIO), or something else that a new handle mends: the handle leaves
 * the loop and the parent is told, which starts a new inspector when the
 * interface is up. It is not closed: pcap_close tears the ring down with
 * a setsockopt the sandbox refuses, and the next inspector is due anyway.
 * Its counters stay in the sums.
 */
static void
on_capture(void *arg, uint32_t events)
{
	struct inspector_cap *c = arg;
	int n;

	(void)events;
	/* The kernel stamps packets with the wall clock: the detectors'
	 * windows run on steady time (timeutil.h), or a step of the wall
	 * clock back would hold every window open for as long. */
	if (!c->in->replay)
		c->in->step_ms = time_step_ms();
	n = capture_dispatch(c->cap, INSPECTOR_BATCH, inspector_packet, c->in);
	inspector_drain(c->in);
	if (n >= 0)
		return;
	log_warnx("capture ended: %s", capture_error(c->cap));
	evloop_del(c->in->loop, c->src);
	c->src = NULL;
	c->dead = true;
	inspector_captures(c->in);
}

static void
inspector_stats(struct inspector *in)
{
	struct capture_stats cs;
	struct inspect_stats st;
	unsigned int i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < in->ncaps; i++) {
		if (!in->caps[i].dead &&
		    capture_get_stats(in->caps[i].cap, &cs) == 0)
			in->caps[i].last = cs;
		cs = in->caps[i].last;
		st.cap.received += cs.received;
		st.cap.dropped += cs.dropped;
		st.cap.ifdropped += cs.ifdropped;
	}
	traffic_counters(in->traffic, &st.traffic);
	st.cap_packets = in->cap_packets;
	memcpy(st.decode_errors, in->decode_errors, sizeof(st.decode_errors));
	st.log_dropped = child_log_dropped();
	if (memcmp(&st, &in->sent, sizeof(st)) == 0)
		return;
	in->sent = st;
	inspector_send(in, IPC_STATS, &st, sizeof(st));
}

static void
on_tick(void *arg, uint32_t events)
{
	struct inspector *in = arg;
	uint64_t n;

	(void)events;
	if (read(in->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	/* Live, the clock goes on when no packet comes (a login waiting
	 * for the server's answer); a replay's clock is its packets'. */
	if (in->now_ms != 0)
		traffic_tick(in->traffic, in->replay ? in->now_ms :
		    time_steady_ms(), inspector_alert, in);
	inspector_stats(in);
}

static unsigned int
inspector_peer_flags(const void *t, const struct peer *p)
{
	return traffic_peer_flags(t, p);
}

static void
inspector_peers(struct inspector *in, const struct ipc_peers_req *q)
{
	json_t *arr;
	char *text = NULL;

	if (q->sort > PEERS_SORT_SYN || q->limit == 0)
		_exit(1);		/* the parent checked both */
	arr = peerjson_top(traffic_peers(in->traffic), in->now_ms,
	    (enum peers_sort)q->sort, q->limit > 100000 ? 100000 : q->limit,
	    inspector_peer_flags, in->traffic);
	if (arr != NULL)
		text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (text == NULL || strlen(text) + 4 > IPC_MAX_PAYLOAD) {
		free(text);
		text = strdup("null");
	}
	if (ipc_send_peers_reply(in->fd, q->seq, text, strlen(text)) < 0)
		_exit(1);
	free(text);
}

/* Bytes of sshd's log as the parent read them: each whole line that
 * reports a login or a failure goes back up as a fixed struct, for the
 * parent to check against the kernel's sockets and count. */
static void
inspector_authlog(struct inspector *in, const uint8_t *p, size_t len)
{
	struct authlog_event ev;
	const uint8_t *nl;
	size_t n;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		if (!in->skipline && in->linelen + n <= AUTHLOG_LINE_MAX) {
			memcpy(in->line + in->linelen, p, n);
			in->linelen += n;
		} else {
			in->skipline = true;
			in->linelen = 0;
		}
		if (nl == NULL)
			break;
		if (!in->skipline && authlog_parse(in->line, in->linelen,
		    &ev) == 0)
			inspector_send(in, IPC_AUTH, &ev, sizeof(ev));
		in->linelen = 0;
		in->skipline = false;
		p += n + 1;
		len -= n + 1;
	}
}

/* The routes back, for the ingress check: checked as they come. */
static void
inspector_routes(struct inspector *in, const struct ipc_msg *m)
{
	struct traffic_route *v;
	size_t i, n;
	void *p;

	if (ipc_decode_array(m, IPC_ROUTES, sizeof(*v), &p, &n) < 0)
		return;
	v = p;
	for (i = 0; i < n; i++)
		if ((v[i].net.addr.family != AF_INET || v[i].net.len > 32) &&
		    (v[i].net.addr.family != AF_INET6 || v[i].net.len > 128))
			break;
	if (i == n && traffic_set_routes(in->traffic, v, n) < 0)
		log_warnx("out of memory: the routes stay as they were");
	free(v);
}

static void
inspector_message(struct inspector *in, const struct ipc_msg *m)
{
	const uint8_t *tcp, *udp;
	struct ipc_peers_req q;
	struct addr *a;
	size_t n;

	switch (m->type) {
	case IPC_LISTENERS:
		if (ipc_decode_listeners(m, &tcp, &udp) == 0) {
			memcpy(in->listen_tcp, tcp, IPC_PORTMAP);
			memcpy(in->listen_udp, udp, IPC_PORTMAP);
		}
		break;
	case IPC_LOCAL:
		if (ipc_decode_local(m, &a, &n) == 0) {
			/* Nothing may wait in the queue when the set changes. */
			inspector_drain(in);
			if (traffic_set_local(in->traffic, a, n) < 0)
				log_warnx("out of memory: the host's addresses "
				    "stay as they were");
			free(a);
		}
		break;
	case IPC_PEERS_REQ:
		if (ipc_decode_peers_req(m, &q) == 0)
			inspector_peers(in, &q);
		break;
	case IPC_AUTHLOG:
		inspector_authlog(in, m->payload, m->len);
		break;
	case IPC_ROUTES:
		inspector_routes(in, m);
		break;
	default:
		/* The parent speaks only the five above. */
		_exit(1);
	}
}

static void
on_parent(void *arg, uint32_t events)
{
	struct inspector *in = arg;
	struct ipc_msg m;
	ssize_t n;
	int r;

	(void)events;
	n = ipc_reader_fill(&in->rd, in->fd, 1 << 16);
	if (n == 0 || (n < 0 && n != -EAGAIN))
		_exit(0);		/* the parent is gone */
	while ((r = ipc_next(&in->rd, &m)) == 1)
		inspector_message(in, &m);
	if (r < 0)
		_exit(1);
}

/*
 * A handle on the slot-th configured interface. A named interface that is
 * missing, down, goes between the look and the open, or cannot be opened
 * (its filter, its link type) is no failure: the parent watches the links
 * and starts another inspector when it is back, backing off for one that
 * stays unusable (and giving up until its link changes).
 * The index is read on both sides of the open, so that a handle is never
 * reported bound to a name that changed hands meanwhile.
 */
static int
inspector_open_live(struct inspector *in, unsigned int slot, char *err,
    size_t errlen)
{
	const char *name = in->cfg->daemon.interfaces[slot];
	struct inspector_cap *c = &in->caps[in->ncaps];
	bool any = strcmp(name, "any") == 0;
	int ifindex = any ? CAPSTATE_ANY : (int)if_nametoindex(name);
	int r;

	if (in->ncaps == SW_CAPTURES_MAX) {
		snprintf(err, errlen, "at most %d capture interfaces",
		    SW_CAPTURES_MAX);
		return -E2BIG;
	}
	if (ifindex == 0)
		return 0;
	if ((r = capture_open_live(name, NULL, &c->cap, err, errlen)) < 0) {
		/* No privilege or memory is the start's failure; a name the
		 * parent can retry is not. */
		if (any || r == -EPERM || r == -ENOMEM)
			return r;
		if (r != -ENODEV)
			log_warnx("%s", err);
		return 0;
	}
	if (!any && (int)if_nametoindex(name) != ifindex) {
		capture_close(c->cap);
		c->cap = NULL;
		return 0;
	}
	c->in = in;
	c->slot = slot;
	c->ifindex = ifindex;
	if ((r = evloop_add(in->loop, capture_fd(c->cap), EPOLLIN,
	    on_capture, c, &c->src)) < 0)
		return r;
	in->ncaps++;
	return 0;
}

/* Before the drop: only its own descriptors, the capture handles (opened
 * here, while CAP_NET_RAW is still ours, as tcpdump does), its loop and
 * timer, the detectors. Nothing after the drop may need to open anything.
 * 0, or -errno with the reason in err. */
static int
inspector_setup(struct inspector *in, const struct inspector_args *a,
    char *err, size_t errlen)
{
	struct itimerspec its = { { 0, SW_TICK_MS * 1000000L },
	    { 0, SW_TICK_MS * 1000000L } };
	const struct config *cfg = a->cfg;
	uint64_t seed;
	size_t i;
	int r;

	snprintf(err, errlen, "setup: out of memory or descriptors");
	if ((r = evloop_new(&in->loop)) < 0)
		return r;
	in->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (in->timer_fd < 0 || timerfd_settime(in->timer_fd, 0, &its,
	    NULL) < 0)
		return -errno;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time_now_ms() ^ (uint64_t)getpid() << 32;
	if ((r = traffic_new(cfg, seed, &in->traffic)) < 0 ||
	    (r = traffic_set_local(in->traffic, a->local, a->nlocal)) < 0)
		return r;
	memcpy(in->listen_tcp, a->listen_tcp, IPC_PORTMAP);
	memcpy(in->listen_udp, a->listen_udp, IPC_PORTMAP);
	if ((r = evloop_add(in->loop, in->fd, EPOLLIN, on_parent, in,
	    NULL)) < 0 || (r = evloop_add(in->loop, in->timer_fd, EPOLLIN,
	    on_tick, in, NULL)) < 0)
		return r;
	for (i = 0; a->replay == NULL && i < cfg->daemon.ninterfaces; i++)
		if ((r = inspector_open_live(in, (unsigned int)i, err,
		    errlen)) < 0)
			return r;
	return 0;
}

/* A capture file, to its end, then the results are served as live. */
static void
inspector_replay(struct inspector *in)
{
	struct capture *cap = in->caps[0].cap;
	int n;

	while ((n = capture_dispatch(cap, INSPECTOR_BATCH, inspector_packet,
	    in)) > 0) {
		inspector_drain(in);
		traffic_tick(in->traffic, in->now_ms, inspector_alert, in);
	}
	inspector_drain(in);
	if (n < 0)
		log_warnx("replay: %s", capture_error(cap));
	inspector_stats(in);
	inspector_send(in, IPC_REPLAY_DONE, NULL, 0);
}

static void
inspector_open_replay(struct inspector *in, const struct inspector_args *a)
{
	char err[512];

	if (capture_open_stream(a->replay, a->replay_name, "",
	    &in->caps[0].cap, err, sizeof(err)) < 0)
		child_fail_text(in->fd, err);
	in->caps[0].in = in;
	in->ncaps = 1;
}

void
inspector_main(const struct inspector_args *a)
{
	static struct inspector in;
	int keep[2] = { a->fd, a->replay ? fileno(a->replay) : a->fd };
	char err[512];
	const char *step;
	int r;

	privdrop_set_role("inspector");
	child_begin(a->fd, a->parent, keep, 2);
	in.fd = a->fd;
	in.rd.accept = IPC_TO_INSPECTOR;
	in.replay = a->replay != NULL;
	in.cfg = a->cfg;
	if ((r = inspector_setup(&in, a, err, sizeof(err))) < 0)
		child_fail_text(in.fd, err);
	if ((r = privdrop_user(a->user, &step)) < 0)
		child_fail(in.fd, step, r);
	/* A capture file is parsed only once we are nobody. */
	if (in.replay)
		inspector_open_replay(&in, a);
	if ((r = privdrop_no_new_privs(&step)) < 0 ||
	    (r = sandbox_inspector(&step)) < 0)
		child_fail(in.fd, step, r);
	inspector_send(&in, IPC_HELLO, NULL, 0);
	if (in.replay)
		inspector_replay(&in);
	else
		inspector_captures(&in);
	while (!in.stop)
		if ((r = evloop_run_once(in.loop, -1)) < 0)
			_exit(1);
	_exit(0);
}
