/* Traffic inspection in the daemon: libpcap handles in the epoll loop (or
 * a capture file with --replay), decoded packets fed to the traffic
 * detectors, whose alerts go out like any other. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../monitor/localaddr.h"
#include "../monitor/proc.h"
#include "sockwatchd.h"

#define INSPECT_BATCH		256	/* packets per wake-up and handle */
#define INSPECT_LOCAL_MS	30000	/* re-read the host's addresses */
#define INSPECT_PROCS_MS	10000	/* reuse a /proc walk this long */

static bool
inspect_port_open(void *arg, uint8_t proto, uint16_t port)
{
	const struct sw *sw = arg;
	const uint8_t *map = proto == IPPROTO_TCP ? sw->listen_tcp :
	    proto == IPPROTO_UDP ? sw->listen_udp : NULL;

	return map != NULL && (map[port >> 3] & (1U << (port & 7))) != 0;
}

/*
 * The listener on proto/port and the process that holds it, for the
 * evidence. The /proc walk is the expensive part, so its map is reused
 * for INSPECT_PROCS_MS: an attacker can make alerts, not make us walk
 * /proc for each. The name is made printable ('?' for the rest).
 */
static bool
listener_owner(struct sw *sw, uint8_t proto, uint16_t port,
    struct proc_owner *ret, uint32_t *ret_uid, char *comm, size_t commlen)
{
	const struct sock_info *s = NULL, *c;
	int64_t now = time_mono_ms();
	size_t i;

	for (i = 0; s == NULL && i < socktable_count(sw->table); i++) {
		c = socktable_at(sw->table, i);
		if (detect_is_listener(c) && c->proto == proto &&
		    c->lport == port)
			s = c;
	}
	if (s == NULL)
		return false;
	if (sw->procs == NULL || now - sw->procs_ms >= INSPECT_PROCS_MS) {
		procmap_free(sw->procs);
		sw->procs = NULL;
		if (procmap_build("/proc", &sw->procs) < 0)
			return false;
		sw->procs_ms = now;
	}
	if (procmap_lookup(sw->procs, s->inode, ret, 1) == 0)
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
inspect_owner(struct sw *sw, struct alert *a)
{
	struct proc_owner o;

	if (!a->has_local || a->local_port == 0 || a->has_process ||
	    sw->replay != NULL)
		return;
	if (listener_owner(sw, IPPROTO_TCP, a->local_port, &o, &a->uid,
	    a->comm, sizeof(a->comm))) {
		a->has_process = true;
		a->pid = o.pid;
	}
}

/* A port scan names the processes behind the open ports it hit:
 * evidence "open_processes", [{port, pid, comm, uid}, ...]. */
static void
inspect_scan_owners(struct sw *sw, struct alert *a)
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

	if (sw->replay != NULL || json_array_size(open) == 0)
		return;
	if ((arr = json_array()) == NULL)
		return;
	json_array_foreach(open, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535 || !listener_owner(sw, proto,
		    (uint16_t)json_integer_value(v), &o, &uid, comm,
		    sizeof(comm)))
			continue;
		json_array_append_new(arr, json_pack("{s:I, s:i, s:s, s:I}",
		    "port", json_integer_value(v), "pid", (int)o.pid, "comm",
		    comm, "uid", (json_int_t)uid));
	}
	json_object_set_new(a->evidence, "open_processes", arr);
}

static void
inspect_alert(void *arg, struct alert *a)
{
	struct sw *sw = arg;

	/* A replayed file's alerts happened when its packets did. */
	if (sw->replay != NULL)
		a->time_ms = sw->traffic_now_ms;
	inspect_owner(sw, a);
	if (strcmp(a->kind, "portscan") == 0)
		inspect_scan_owners(sw, a);
	alerts_raise(sw, a);
}

static void
inspect_process(struct sw *sw, const struct pkt *p, int64_t now_ms)
{
	/* The packets' own clock: live and replayed alike. */
	sw->traffic_now_ms = now_ms;
	traffic_packet(sw->traffic, p, now_ms, inspect_port_open, sw,
	    inspect_alert, sw);
}

/* Through the queue (traffic_queue_push), which inspect_drain empties
 * at the end of every batch: no packet waits for the next wake-up. */
static void
inspect_packet(void *arg, const struct capture_packet *cp)
{
	struct sw *sw = arg;
	const struct pkt *p;
	int64_t ms;
	int r;

	sw->cap_packets++;
	r = decode_packet(cp->linktype, cp->data, cp->caplen, cp->wirelen,
	    (uint64_t)cp->ts_us, traffic_queue_slot(&sw->tq));
	if (r < 0) {
		sw->decode_errors[-r]++;
		return;
	}
	if ((p = traffic_queue_push(sw->traffic, &sw->tq, cp->ts_us / 1000,
	    &ms)) != NULL)
		inspect_process(sw, p, ms);
}

static void
inspect_drain(struct sw *sw)
{
	const struct pkt *p;
	int64_t ms;

	while ((p = traffic_queue_pop(&sw->tq, &ms)) != NULL)
		inspect_process(sw, p, ms);
}

static void
on_capture(void *arg, uint32_t events)
{
	struct sw_capture *c = arg;
	int n;

	(void)events;
	n = capture_dispatch(c->cap, INSPECT_BATCH, inspect_packet, c->sw);
	inspect_drain(c->sw);
	if (n < 0 && c->errors++ % 100 == 0)
		log_warnx("capture: %s", capture_error(c->cap));
	/* The bans this batch asked for, in one nftables batch, now. */
	enforce_flush(c->sw);
}

static void
inspect_local(struct sw *sw)
{
	struct addr *a;
	size_t n;
	int r;

	if ((r = localaddr_list(&a, &n)) < 0) {
		log_warnx("cannot list the host's addresses: %s",
		    strerror(-r));
		return;
	}
	if (traffic_set_local(sw->traffic, a, n) < 0)
		log_warnx("out of memory: the host's addresses stay as "
		    "they were");
	free(a);
}

/* Build the listening-port maps from the socket table (after a scan). */
void
inspect_listeners(struct sw *sw)
{
	const struct sock_info *s;
	size_t i;

	memset(sw->listen_tcp, 0, sizeof(sw->listen_tcp));
	memset(sw->listen_udp, 0, sizeof(sw->listen_udp));
	for (i = 0; i < socktable_count(sw->table); i++) {
		s = socktable_at(sw->table, i);
		if (!detect_is_listener(s))
			continue;
		if (s->proto == IPPROTO_TCP)
			sw->listen_tcp[s->lport >> 3] |= 1U << (s->lport & 7);
		else
			sw->listen_udp[s->lport >> 3] |= 1U << (s->lport & 7);
	}
}

static int
inspect_add(struct sw *sw, struct capture *cap)
{
	struct sw_capture *c;
	int r;

	if (sw->ncaps == SW_CAPTURES_MAX) {
		capture_close(cap);
		log_warnx("at most %d capture interfaces", SW_CAPTURES_MAX);
		return -E2BIG;
	}
	c = &sw->caps[sw->ncaps];
	memset(c, 0, sizeof(*c));
	c->sw = sw;
	c->cap = cap;
	if (capture_fd(cap) >= 0 && (r = evloop_add(sw->loop, capture_fd(cap),
	    EPOLLIN, on_capture, c, &c->src)) < 0) {
		capture_close(cap);
		return r;
	}
	sw->ncaps++;
	return 0;
}

/* A capture file through the same path, to its end, before the loop. */
static int
inspect_replay(struct sw *sw, const char *path)
{
	struct capture *cap;
	char err[512];
	int n, r;

	if ((r = capture_open_file(path, "", &cap, err, sizeof(err))) < 0) {
		log_warnx("replay: %s", err);
		return r;
	}
	while ((n = capture_dispatch(cap, INSPECT_BATCH, inspect_packet,
	    sw)) > 0) {
		inspect_drain(sw);
		traffic_tick(sw->traffic, sw->traffic_now_ms, inspect_alert, sw);
	}
	inspect_drain(sw);
	if (n < 0)
		log_warnx("replay: %s", capture_error(cap));
	log_info("replayed %s: %llu packets", path,
	    (unsigned long long)sw->cap_packets);
	return inspect_add(sw, cap);
}

int
inspect_open(struct sw *sw)
{
	struct capture *cap;
	uint64_t seed;
	char err[512];
	size_t i;
	int r;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time_now_ms() ^ (uint64_t)getpid() << 32;
	if ((r = traffic_new(sw->cfg, seed, &sw->traffic)) < 0) {
		log_warnx("traffic detectors: %s", strerror(-r));
		return r;
	}
	inspect_local(sw);
	sw->next_local_ms = time_mono_ms() + INSPECT_LOCAL_MS;
	if (sw->replay != NULL)
		return inspect_replay(sw, sw->replay);
	for (i = 0; i < sw->cfg->daemon.ninterfaces; i++) {
		r = capture_open_live(sw->cfg->daemon.interfaces[i], NULL,
		    &cap, err, sizeof(err));
		if (r < 0) {
			log_warnx("%s", err);
			return r;
		}
		if ((r = inspect_add(sw, cap)) < 0)
			return r;
		log_info("capturing on %s", sw->cfg->daemon.interfaces[i]);
	}
	return 0;
}

void
inspect_close(struct sw *sw)
{
	unsigned int i;

	for (i = 0; i < sw->ncaps; i++) {
		if (sw->caps[i].src != NULL)
			evloop_del(sw->loop, sw->caps[i].src);
		capture_close(sw->caps[i].cap);
	}
	sw->ncaps = 0;
	procmap_free(sw->procs);
	sw->procs = NULL;
	traffic_free(sw->traffic);
	sw->traffic = NULL;
}

void
inspect_tick(struct sw *sw, int64_t now_mono)
{
	if (sw->traffic == NULL)
		return;
	if (sw->traffic_now_ms != 0)
		traffic_tick(sw->traffic, sw->traffic_now_ms, inspect_alert, sw);
	if (now_mono >= sw->next_local_ms) {
		inspect_local(sw);
		sw->next_local_ms = now_mono + INSPECT_LOCAL_MS;
	}
}

void
inspect_stats(struct sw *sw, struct capture_stats *ret)
{
	struct capture_stats st;
	unsigned int i;

	memset(ret, 0, sizeof(*ret));
	for (i = 0; i < sw->ncaps; i++) {
		if (capture_get_stats(sw->caps[i].cap, &st) < 0)
			continue;
		ret->received += st.received;
		ret->dropped += st.dropped;
		ret->ifdropped += st.ifdropped;
	}
}
