/* The traffic detectors. One packet at a time:
 *   classify the direction -> the peer table (peers_observe) -> the cached
 *   classification of the peer (denied / allowed / local) -> denylist,
 *   portscan, bruteforce, synflood.
 * Per-peer state lives in the peer table's user area, so it is bounded and
 * evicted with the peer. The flood detector counts per listening port and
 * per calendar second in a small fixed table. */
#include "../common/util.h"
#include "traffic.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/duration.h"
#include "prefixset.h"

#define TR_BF_BUCKETS	16	/* brute force: buckets per window */
#define TR_BF_SPORTS	4	/* source ports remembered (retransmits) */
#define TR_LSLOTS	(2 * TRAFFIC_LISTENERS)
#define TR_HLL		64	/* registers of the per-second source count */
#define TR_IDLE_MIN_MS	10000	/* keep a quiet listener at least this */
#define TR_LOCAL_FAST	8	/* host addresses compared without the set */
#define TR_SPORT_VOTES	4	/* SYN probes that name a scan by source port */
#define TR_AUTH_CONNS	1024	/* connections followed while they log in */
#define TR_AUTH_WAYS	4	/* slots one of them may take */
#define TR_AUTH_AGE_MS	120000	/* sshd's LoginGraceTime */
#define TR_AUTH_SLOW_MS	1000	/* a wait this long: a failed login */
#define TR_AUTH_LATE_MS	30000	/* ... and not later than this */
#define TR_AUTH_HANGUP_MS 50	/* a FIN or RST this soon: last words */
#define TR_AUTH_QUEUED_MS 10000	/* answers this far apart: queued guesses */

/* Rate limit of one (detector, peer) or listener. */
struct tr_rl {
	int64_t last_ms;	/* when the last alert was raised */
	uint32_t repeats;	/* crossings since, not alerted */
	uint32_t raised;	/* last_ms is valid */
};

/* Per-peer state, in the peer table's user area (zeroed for a new peer).
 * Its fields are ordered to leave no padding: every byte of it is in
 * every peer entry. */
struct tr_peer {
	uint32_t gen;		/* t->gen that flags were computed for */
	uint8_t flags;		/* TRAFFIC_PEER_* */
	uint8_t bf_nsport;
	uint16_t syn_sport;	/* see sport_same below */
	struct tr_rl rl[TRAFFIC_NKINDS];
	/* Port scan: probes that found a new port or host, by kind; probes
	 * to open and to closed ports; handshakes completed. In the two
	 * generations of the window that the peer table uses ([g & 1] is
	 * generation sgen[g & 1]). */
	uint32_t sgen[2];
	uint16_t kind[2][PEER_KIND_COUNT];
	uint16_t open[2], closed[2], hs[2];
	/* Brute force: new connections to watched ports and failed logins
	 * on them, in sixteenths of the window: two rings whose newest
	 * bucket is bf_last (modulo 2^32: tr_bf_count). Failed logins
	 * take two seconds or more each, so a byte per bucket holds them (it
	 * saturates; the window's sum stops at 16 * 255). */
	uint32_t bf_last;
	uint16_t bf_count[TR_BF_BUCKETS];
	uint8_t bf_fail[TR_BF_BUCKETS];
	uint16_t bf_sport[TR_BF_SPORTS];	/* retransmitted SYNs */
	/* SYN probes from the same source port as the one before
	 * (syn_sport), or from another: a raw scanner (nmap -sS) reuses
	 * one, connect() does not. Reset with the generations. */
	uint16_t sport_same, sport_diff;
};

/* The user area is part of every peer entry: 192 bytes, so an entry
 * takes 512 + 192 + 4 (its hash bucket) bytes. */
_Static_assert(sizeof(struct tr_peer) <= 192, "tr_peer grew");

struct tr_src {
	struct addr addr;
	uint32_t syns, done;
	uint32_t err;		/* syns may be over by this much */
	bool alerted;		/* in this second */
};

/* One listening port; the counts are for calendar second `sec`. */
struct tr_listener {
	uint16_t port;
	bool fired;		/* this second went over the rate */
	bool pending;		/* ... from many sources: alert at its end */
	uint8_t nsrc;
	int64_t sec;
	int64_t last_ms;	/* last SYN, or the SYN-ACK that made it */
	uint32_t syns, done;
	struct addr local;	/* where the last SYN went */
	struct tr_src src[TRAFFIC_TOP_SOURCES];
	uint8_t hll[TR_HLL];
	struct tr_rl rl;
};

/*
 * A connection to a watched port, from its SYN until the server closes
 * it or it has lived TR_AUTH_AGE_MS: the time it may spend logging in.
 * asked is when the client sent data the server has not answered yet; a
 * wait of a second or more is the server's failure delay (PAM's, 2-3 s;
 * at least 1.5 s), which a correct password (its hash takes ~0.1 s, a
 * few tenths on a loaded host: make asan saw one over half a second) and
 * everything else before the session do not have: the server's own
 * time, not the round trip's, as the capture is the server's. It is
 * counted once the wait has lasted TR_AUTH_SLOW_MS (traffic_tick), not
 * when the answer comes: by then a guesser with several connections has
 * its next guesses on the way. After a failed login, the connection's next
 * request is the next guess, counted as it arrives (ahead), taken back
 * if the server answers it at once (a correct password); a count is
 * alerted for only when a wait is confirmed (it lasted), so that a
 * pending correct password never crosses the limit. Guesses sent
 * together start one wait; the answers to the rest come a failure delay
 * apart with nothing from the client between (spoke).
 */
struct tr_auth {
	struct addr peer, local;
	uint16_t pport, lport;
	int64_t born;		/* its SYN */
	int64_t asked;		/* valid with waiting */
	int64_t spoke;		/* the server's last data, valid with answered */
	bool used;
	bool waiting;		/* for the server's answer to asked */
	bool counted;		/* ... and that wait is counted already */
	bool answered;		/* the server sent data: not a spoofed SYN */
	bool failed;		/* a wait of it was a failed login */
	bool confirmed;		/* this wait is one too (it lasted) */
	bool ahead;		/* this wait was counted when it began */
	bool hung_up;		/* the client's FIN or RST came in this wait */
	uint32_t ahead_bucket;	/* ... in this bucket (tr_bf_bucket) */
};

/* What the detectors take from the config. */
struct tr_conf {
	size_t max_peers;
	struct {
		bool enabled;
		unsigned int ports, hosts;
		int64_t window;
		enum config_action action;
		uint64_t ban;
	} ps;
	struct {
		bool enabled;
		unsigned int rate;
		int64_t window;
		enum config_action action;
		uint64_t ban;
	} sf;
	struct {
		bool enabled;
		unsigned int connections, attempts;
		int64_t window;
		enum config_action action;
		uint64_t ban;
		uint8_t watch[65536 / 8];	/* the ports, as a bitmap */
	} bf;
	struct {
		int64_t window;
		enum config_action action;
		uint64_t ban;
	} deny;
};

struct traffic {
	struct tr_conf c;
	uint64_t seed;
	struct peers *peers;
	struct prefixset *deny_peers, *deny_file, *allow, *local;
	/* The routes back (traffic_set_routes): the set finds the longest
	 * prefix, the sorted array its interface (0: several). */
	struct prefixset *routes;
	struct traffic_route *route_v;
	size_t nroutes;
	/* The host's addresses again, as a short list, when there are at
	 * most TR_LOCAL_FAST and none is IPv4-mapped: every packet asks. */
	struct addr local_fast[TR_LOCAL_FAST];
	size_t nlocal_fast;
	bool local_fast_ok;
	uint32_t gen;			/* bumped when the lists change */
	int64_t now;			/* latest time seen */
	/* The second, port-scan generation and brute-force bucket of
	 * clk_now: divided once when the time moves, not per packet. */
	int64_t clk_now, clk_sec, clk_bf;
	uint32_t clk_ps;
	int64_t flush_sec;		/* last second flushed */
	struct tr_listener lst[TRAFFIC_LISTENERS];
	uint16_t lslot[TR_LSLOTS];	/* index + 1 into lst; 0: empty */
	size_t nlst;
	struct tr_auth auth[TR_AUTH_CONNS];	/* TR_AUTH_WAYS-way sets */
	struct traffic_counters n;
};

/* What the packet path knows about the packet being handled. */
struct tr_pkt {
	struct peer_obs obs;
	uint16_t sport;			/* the peer's port */
	uint32_t ifindex;		/* where it came in; 0: unknown */
	const struct peer *p;
	struct tr_peer *u;
	unsigned int ev;
	traffic_alert_fn alert_fn;
	void *alert_arg;
};

static const char *const kind_names[TRAFFIC_NKINDS] = {
	"portscan", "synflood", "bruteforce", "denylist",
};

/* ---- small helpers -------------------------------------------------------- */


static uint64_t
addr_hash(uint64_t seed, const struct addr *a)
{
	uint64_t lo = 0, hi = 0;

	memcpy(&lo, a->u.bytes, 8);
	memcpy(&hi, a->u.bytes + 8, 8);
	return util_mix64(util_mix64(lo ^ seed) ^ hi ^ a->family);
}


static void
inc16(uint16_t *v)
{
	if (*v != UINT16_MAX)
		(*v)++;
}

static void
inc32(uint32_t *v)
{
	if (*v != UINT32_MAX)
		(*v)++;
}

static void
tr_clock_reset(struct traffic *t)
{
	t->clk_now = INT64_MIN;
}

static void
tr_clock(struct traffic *t)
{
	if (t->clk_now == t->now)
		return;
	t->clk_now = t->now;
	t->clk_sec = t->now / 1000;
	if (t->c.ps.window > 0)
		t->clk_ps = (uint32_t)(t->now / t->c.ps.window);
	if (t->c.bf.window >= TR_BF_BUCKETS)
		t->clk_bf = t->now / (t->c.bf.window / TR_BF_BUCKETS);
}

static int64_t
tr_sec(const struct traffic *t, int64_t now)
{
	return now == t->clk_now ? t->clk_sec : now / 1000;
}

/* Seconds, as a JSON integer when whole. */
static json_t *
json_seconds(uint64_t ms)
{
	if (ms % 1000 == 0)
		return json_integer((json_int_t)(ms / 1000));
	return json_real((double)ms / 1000.0);
}

static const char *
plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* ---- configuration -------------------------------------------------------- */

static int
tr_set_new(const struct cidr *c, size_t n, struct prefixset **ret)
{
	struct prefixset *s = NULL;
	int r;

	if ((r = prefixset_new(&s)) < 0)
		return r;
	if ((r = prefixset_add_many(s, c, n)) < 0 ||
	    (r = prefixset_build(s)) < 0) {
		prefixset_free(s);
		return r == -EINVAL ? -ENOMEM : r;
	}
	*ret = s;
	return 0;
}

static void
tr_conf_from(struct tr_conf *c, const struct config *cfg)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->max_peers = cfg->daemon.max_peers;
	c->ps.enabled = cfg->portscan.enabled;
	c->ps.ports = cfg->portscan.ports;
	c->ps.hosts = cfg->portscan.hosts;
	c->ps.window = (int64_t)cfg->portscan.window_ms;
	c->ps.action = cfg->portscan.action;
	c->ps.ban = cfg->portscan.ban_ms;
	c->sf.enabled = cfg->synflood.enabled;
	c->sf.rate = cfg->synflood.rate;
	c->sf.window = (int64_t)cfg->synflood.window_ms;
	c->sf.action = cfg->synflood.action;
	c->sf.ban = cfg->synflood.ban_ms;
	c->bf.enabled = cfg->bruteforce.enabled;
	c->bf.connections = cfg->bruteforce.connections;
	c->bf.attempts = cfg->bruteforce.attempts;
	c->bf.window = (int64_t)cfg->bruteforce.window_ms;
	c->bf.action = cfg->bruteforce.action;
	c->bf.ban = cfg->bruteforce.ban_ms;
	for (i = 0; i < cfg->bruteforce.nports; i++)
		c->bf.watch[cfg->bruteforce.ports[i] / 8] |=
		    (uint8_t)(1u << (cfg->bruteforce.ports[i] % 8));
	c->deny.window = (int64_t)cfg->deny.window_ms;
	c->deny.action = cfg->deny.action;
	c->deny.ban = cfg->deny.ban_ms;
	/* Windows of 0 would divide by zero; the config never has them. */
	if (c->ps.window < 1)
		c->ps.window = 1;
	if (c->bf.window < TR_BF_BUCKETS)
		c->bf.window = TR_BF_BUCKETS;
}

static int
tr_peers_new(const struct tr_conf *c, uint64_t seed, struct peers **ret)
{
	struct peers_conf pc = {
		.max_peers = c->max_peers,
		.window_ms = c->ps.window,
		.seed = seed,
		.user_bytes = sizeof(struct tr_peer),
	};

	return peers_new(&pc, ret);
}

int
traffic_new(const struct config *cfg, uint64_t seed,
    struct traffic **ret_traffic)
{
	struct traffic *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->seed = seed;
	t->gen = 1;
	tr_clock_reset(t);
	t->flush_sec = -1;
	t->local_fast_ok = true;	/* no host address yet */
	tr_conf_from(&t->c, cfg);
	if ((r = tr_peers_new(&t->c, seed, &t->peers)) < 0 ||
	    (r = tr_set_new(cfg->deny.peers, cfg->deny.npeers,
	    &t->deny_peers)) < 0 ||
	    (r = tr_set_new(cfg->deny.file_peers, cfg->deny.nfile_peers,
	    &t->deny_file)) < 0 ||
	    (r = tr_set_new(cfg->allow.peers, cfg->allow.npeers,
	    &t->allow)) < 0 ||
	    (r = tr_set_new(NULL, 0, &t->local)) < 0) {
		traffic_free(t);
		return r;
	}
	*ret_traffic = t;
	return 0;
}

void
traffic_free(struct traffic *t)
{
	if (t == NULL)
		return;
	peers_free(t->peers);
	prefixset_free(t->deny_peers);
	prefixset_free(t->deny_file);
	prefixset_free(t->allow);
	prefixset_free(t->local);
	prefixset_free(t->routes);
	free(t->route_v);
	free(t);
}

int
traffic_reconfigure(struct traffic *t, const struct config *cfg)
{
	struct prefixset *dp = NULL, *df = NULL, *al = NULL;
	struct peers *peers = NULL;
	struct tr_conf *c;
	bool fresh;
	int r;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	tr_conf_from(c, cfg);
	fresh = c->max_peers != t->c.max_peers || c->ps.window != t->c.ps.window;
	if ((fresh && (r = tr_peers_new(c, t->seed, &peers)) < 0) ||
	    (r = tr_set_new(cfg->deny.peers, cfg->deny.npeers, &dp)) < 0 ||
	    (r = tr_set_new(cfg->deny.file_peers, cfg->deny.nfile_peers,
	    &df)) < 0 ||
	    (r = tr_set_new(cfg->allow.peers, cfg->allow.npeers, &al)) < 0) {
		peers_free(peers);
		prefixset_free(dp);
		prefixset_free(df);
		free(c);
		return r;
	}
	if (fresh) {
		peers_free(t->peers);
		t->peers = peers;
	} else if (c->bf.window != t->c.bf.window) {
		/* The buckets change width: start counting afresh. */
		const struct peer *p;

		for (p = peers_first(t->peers); p != NULL;
		    p = peers_next(t->peers, p)) {
			struct tr_peer *u = peers_user(t->peers, p);

			if (u == NULL)		/* never: the table has the area */
				break;
			memset(u->bf_count, 0, sizeof(u->bf_count));
			memset(u->bf_fail, 0, sizeof(u->bf_fail));
			u->bf_last = 0;
		}
	}
	t->c = *c;
	free(c);
	tr_clock_reset(t);
	prefixset_free(t->deny_peers);
	prefixset_free(t->deny_file);
	prefixset_free(t->allow);
	t->deny_peers = dp;
	t->deny_file = df;
	t->allow = al;
	t->gen++;
	return fresh ? 1 : 0;
}

int
traffic_set_local(struct traffic *t, const struct addr *addrs, size_t n)
{
	struct prefixset *s = NULL;
	struct addr fast[TR_LOCAL_FAST];
	size_t i, nfast = 0;
	bool fast_ok = true;
	struct cidr c;
	int r;

	if ((r = prefixset_new(&s)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (addrs[i].family != AF_INET && addrs[i].family != AF_INET6)
			continue;
		c.addr = addrs[i];
		c.len = addrs[i].family == AF_INET ? 32 : 128;
		if ((r = prefixset_add(s, &c)) < 0)
			goto fail;
		if (nfast == TR_LOCAL_FAST || (addrs[i].family == AF_INET6 &&
		    IN6_IS_ADDR_V4MAPPED(&addrs[i].u.v6)))
			fast_ok = false;
		else
			fast[nfast++] = addrs[i];
	}
	if ((r = prefixset_build(s)) < 0)
		goto fail;
	prefixset_free(t->local);
	t->local = s;
	memcpy(t->local_fast, fast, nfast * sizeof(fast[0]));
	t->nlocal_fast = nfast;
	t->local_fast_ok = fast_ok;
	t->gen++;
	return 0;
fail:
	prefixset_free(s);
	return r == -EINVAL ? -ENOMEM : r;
}

static int
route_cmp(const void *a, const void *b)
{
	return cidr_compare(&((const struct traffic_route *)a)->net,
	    &((const struct traffic_route *)b)->net);
}

int
traffic_set_routes(struct traffic *t, const struct traffic_route *v,
    size_t n)
{
	struct prefixset *s = NULL;
	struct traffic_route *c = NULL;
	size_t i, k = 0;
	bool two = false;
	int r;

	for (i = 1; i < n && !two; i++)
		two = v[i].ifindex != v[0].ifindex;
	if (two) {
		if ((c = malloc(n * sizeof(*c))) == NULL ||
		    (r = prefixset_new(&s)) < 0) {
			free(c);
			return -ENOMEM;
		}
		memcpy(c, v, n * sizeof(*c));
		qsort(c, n, sizeof(*c), route_cmp);
		/* One entry a prefix; over several interfaces: 0. */
		for (i = 0; i < n; i++) {
			if (k > 0 && cidr_compare(&c[k - 1].net,
			    &c[i].net) == 0) {
				if (c[k - 1].ifindex != c[i].ifindex)
					c[k - 1].ifindex = 0;
				continue;
			}
			c[k++] = c[i];
			if ((r = prefixset_add(s, &c[i].net)) < 0)
				goto fail;
		}
		if ((r = prefixset_build(s)) < 0)
			goto fail;
	}
	prefixset_free(t->routes);
	free(t->route_v);
	t->routes = s;
	t->route_v = c;
	t->nroutes = k;
	return 0;
fail:
	prefixset_free(s);
	free(c);
	return -ENOMEM;
}

/* The interface the route back to a leaves by; 0: unknown or several. */
static uint32_t
tr_route_back(const struct traffic *t, const struct addr *a)
{
	struct traffic_route key, *hit;

	if (t->routes == NULL ||
	    !prefixset_contains(t->routes, a, &key.net))
		return 0;
	hit = bsearch(&key, t->route_v, t->nroutes, sizeof(key), route_cmp);
	return hit != NULL ? hit->ifindex : 0;
}

/* ---- classification --------------------------------------------------------- */

/* Two addresses of the same family, equal; without a call. */
static bool
tr_addr_eq(const struct addr *a, const struct addr *b)
{
	uint64_t x[2], y[2];

	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->u.v4.s_addr == b->u.v4.s_addr;
	memcpy(x, a->u.bytes, 16);
	memcpy(y, b->u.bytes, 16);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

static bool
tr_is_local(const struct traffic *t, const struct addr *a)
{
	size_t i;

	if (addr_is_loopback(a))
		return true;
	/* The set holds only whole addresses (/32, /128): with none of
	 * them IPv4-mapped, it contains a plain address just when the
	 * address equals one of them. A mapped one asks the set. */
	if (t->local_fast_ok && (a->family == AF_INET ||
	    (a->family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&a->u.v6)))) {
		for (i = 0; i < t->nlocal_fast; i++)
			if (tr_addr_eq(&t->local_fast[i], a))
				return true;
		return false;
	}
	return prefixset_contains(t->local, a, NULL);
}

static unsigned int
tr_classify(const struct traffic *t, const struct addr *a)
{
	unsigned int f = 0;

	if (prefixset_contains(t->deny_peers, a, NULL) ||
	    prefixset_contains(t->deny_file, a, NULL))
		f |= TRAFFIC_PEER_DENIED;
	if (prefixset_contains(t->allow, a, NULL))
		f |= TRAFFIC_PEER_ALLOWED;
	if (tr_is_local(t, a))
		f |= TRAFFIC_PEER_LOCAL;
	return f;
}

unsigned int
traffic_peer_flags(const struct traffic *t, const struct peer *p)
{
	struct addr a;

	peers_addr(p, &a);
	return tr_classify(t, &a);
}

/* ---- alerts ----------------------------------------------------------------- */

/* A threshold was crossed. True if that is to be an alert now; else the
 * crossing is counted for the next one. *ret_repeats: crossings folded
 * since the last alert. */
static bool
tr_rl_cross(struct traffic *t, struct tr_rl *rl, enum traffic_kind k,
    int64_t now, int64_t window, uint32_t *ret_repeats)
{
	if (rl->raised && now - rl->last_ms < window) {
		inc32(&rl->repeats);
		t->n.repeats[k]++;
		return false;
	}
	*ret_repeats = rl->repeats;
	rl->repeats = 0;
	rl->last_ms = now;
	rl->raised = 1;
	return true;
}

static void
tr_alert_init(struct alert *a, enum traffic_kind k,
    enum alert_severity sev, const struct addr *peer,
    const struct addr *local, uint16_t lport, enum config_action action)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->kind, sizeof(a->kind), "%s", kind_names[k]);
	a->severity = sev;
	if (peer != NULL) {
		a->has_peer = true;
		a->peer = *peer;
	}
	if (local != NULL) {
		a->has_local = true;
		a->local_addr = *local;
		a->local_port = lport;
	}
	snprintf(a->action, sizeof(a->action), "%s",
	    config_action_name(action));
}

/*
 * The peer's return-path evidence, for an alert about it: "hops" (the
 * hop count a completed handshake showed, and how many of its probes
 * since came over as many hops, or not), and "spoof_suspected" (why)
 * when most did not: then someone else likely sent them in its name (a
 * decoy, nmap -D or -S), and the daemon bans nobody for them. Not when
 * the attack itself is proven to come from the peer (proven: as many
 * completed handshakes as the detector's limit): junk SYNs with another
 * TTL must not buy a brute-forcer its way out.
 */
static void
tr_return_path(const struct traffic *t, const struct peer *p,
    const struct addr *peer, uint32_t ifindex, json_t *ev, bool proven)
{
	struct peer_hops h;
	uint32_t back;

	if (ev == NULL || proven)
		goto hops;
	/* The packet that crossed the limit came in where the route back
	 * to its source does not leave. */
	if (ifindex != 0 && (back = tr_route_back(t, peer)) != 0 &&
	    back != ifindex) {
		json_object_set_new(ev, "ingress", json_pack("{s:I, s:I}",
		    "interface", (json_int_t)ifindex,
		    "route_back", (json_int_t)back));
		json_object_set_new(ev, "spoof_suspected", json_string(
		    "it came in on another interface than the route back to "
		    "it leaves by"));
	}
hops:
	if (p == NULL || ev == NULL)
		return;
	peers_hops(p, &h);
	if (h.verified < 0)
		return;
	json_object_set_new(ev, "hops", json_pack("{s:i, s:i, s:i}",
	    "verified", h.verified, "agree", (int)h.ok, "differ", (int)h.bad));
	if (h.bad > 0 && h.bad >= h.ok && !proven &&
	    json_object_get(ev, "spoof_suspected") == NULL)
		json_object_set_new(ev, "spoof_suspected", json_pack("s++",
		    "its probes came over another hop count than its "
		    "completed handshake (", h.bad > 1 ? "most of them" :
		    "one", ")"));
}

/* Add the fields every alert has, and hand it over. */
static void
tr_alert_emit(struct traffic *t, struct alert *a, enum traffic_kind k,
    json_t *ev, uint64_t window_ms, uint64_t ban_ms, uint32_t repeats,
    traffic_alert_fn fn, void *arg)
{
	if (ev == NULL ||
	    json_object_set_new(ev, "window", json_seconds(window_ms)) != 0 ||
	    json_object_set_new(ev, "ban", json_seconds(ban_ms)) != 0 ||
	    json_object_set_new(ev, "repeats",
	    json_integer(repeats)) != 0) {
		json_decref(ev);
		t->n.alerts_dropped++;
		return;
	}
	a->evidence = ev;
	t->n.alerts[k]++;
	if (fn != NULL)
		fn(arg, a);
	else
		json_decref(ev);
}

/* ---- deny list -------------------------------------------------------------- */

static void
tr_denylist(struct traffic *t, struct tr_pkt *x)
{
	char pbuf[ADDR_STRLEN], ebuf[ADDR_STRLEN];
	const struct addr *peer = &x->obs.peer;
	struct cidr m, m2;
	const char *list = "peers";
	uint32_t repeats;
	struct alert a;
	json_t *ev;

	memset(&m, 0, sizeof(m));
	if (!tr_rl_cross(t, &x->u->rl[TRAFFIC_DENYLIST], TRAFFIC_DENYLIST,
	    x->obs.now_ms, t->c.deny.window, &repeats))
		return;
	/* The most specific entry names it; the inline list on a tie. */
	if (!prefixset_contains(t->deny_peers, peer, &m)) {
		prefixset_contains(t->deny_file, peer, &m);
		list = "file";
	} else if (prefixset_contains(t->deny_file, peer, &m2) &&
	    m2.len > m.len) {
		m = m2;
		list = "file";
	}
	tr_alert_init(&a, TRAFFIC_DENYLIST, ALERT_WARNING, peer, &x->obs.local,
	    x->obs.lport, t->c.deny.action);
	snprintf(a.message, sizeof(a.message), "traffic %s denied peer %s "
	    "(deny %s entry %s)", x->obs.inbound ? "from" : "to",
	    addr_format(peer, pbuf, sizeof(pbuf)), list,
	    cidr_format(&m, ebuf, sizeof(ebuf)));
	ev = json_pack("{s:s, s:s, s:s, s:i, s:i}",
	    "entry", ebuf,
	    "list", list,
	    "direction", x->obs.inbound ? "inbound" : "outbound",
	    "proto", (int)x->obs.proto,
	    "local_port", (int)x->obs.lport);
	tr_alert_emit(t, &a, TRAFFIC_DENYLIST, ev,
	    (uint64_t)t->c.deny.window, t->c.deny.ban, repeats, x->alert_fn,
	    x->alert_arg);
}

/* ---- port scans ------------------------------------------------------------- */

/* The probe kind (index of its PEER_KIND_* bit), as peers.c tells them. */
static unsigned int
tr_probe_kind(const struct peer_obs *o)
{
	uint8_t f = o->tcp_flags & (PKT_TCP_FIN | PKT_TCP_SYN | PKT_TCP_RST |
	    PKT_TCP_PSH | PKT_TCP_ACK | PKT_TCP_URG);

	if (o->proto == IPPROTO_UDP)
		return 7;
	if (o->proto != IPPROTO_TCP)
		return 8;
	if ((f & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN)
		return 0;
	switch (f) {
	case 0:
		return 1;
	case PKT_TCP_FIN:
		return 2;
	case PKT_TCP_FIN | PKT_TCP_PSH | PKT_TCP_URG:
		return 3;
	case PKT_TCP_ACK:
		return 4;
	case PKT_TCP_FIN | PKT_TCP_ACK:
		return 5;
	default:
		return 6;
	}
}

static const char *const scan_labels[PEER_KIND_COUNT] = {
	"SYN scan", "NULL scan", "FIN scan", "Xmas scan", "ACK/window scan",
	"Maimon scan", "TCP scan", "UDP scan", "ping sweep",
};

/* Make [g & 1] generation g and the other g - 1 (as peers.c does). */
static void
tr_scan_rotate(struct tr_peer *u, uint32_t g)
{
	unsigned int h, cur = g & 1, cleared = 0;

	for (h = 0; h < 2; h++) {
		uint32_t want = h == cur ? g : g - 1;

		if (u->sgen[h] == want)
			continue;
		u->sgen[h] = want;
		memset(u->kind[h], 0, sizeof(u->kind[h]));
		u->open[h] = u->closed[h] = u->hs[h] = 0;
		cleared++;
	}
	if (cleared == 2)
		u->sport_same = u->sport_diff = 0;
}

static int
tr_cmp_port(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The open ports the scan hit, ascending: every one while the window's
 * ports are counted exactly (as when the alert is first raised, at the
 * threshold), else those among the recent samples. */
static void
tr_open_ports(const struct traffic *t, const struct tr_pkt *x,
    const struct peer_stats *st, traffic_port_open_fn port_open,
    void *port_arg, json_t *arr)
{
	uint16_t ports[PEERS_EXACT_PORTS + PEERS_SAMPLES];
	size_t n, i, j;

	n = peers_ports(t->peers, x->p, x->obs.now_ms, ports,
	    PEERS_EXACT_PORTS);
	for (i = 0; i < st->nsamples; i++) {
		for (j = 0; j < n && ports[j] != st->sample[i]; j++)
			;
		if (j == n)
			ports[n++] = st->sample[i];
	}
	qsort(ports, n, sizeof(ports[0]), tr_cmp_port);
	for (i = 0; i < n; i++)
		if (port_open(port_arg, x->obs.proto, ports[i]))
			json_array_append_new(arr, json_integer(ports[i]));
}

static void
tr_portscan_alert(struct traffic *t, struct tr_pkt *x, uint32_t ports,
    bool ports_exact, uint32_t hosts, bool hosts_exact, uint32_t repeats,
    traffic_port_open_fn port_open, void *port_arg)
{
	char pbuf[ADDR_STRLEN], wbuf[32];
	unsigned int i, best = 0, sum[PEER_KIND_COUNT], open = 0, closed = 0,
	    hs = 0;
	const char *label, *name;
	json_t *ev, *kinds, *sample, *openp;
	struct peer_stats st;
	struct alert a;

	for (i = 0; i < PEER_KIND_COUNT; i++) {
		sum[i] = (unsigned int)x->u->kind[0][i] + x->u->kind[1][i];
		if (sum[i] > sum[best])
			best = i;
	}
	open = (unsigned int)x->u->open[0] + x->u->open[1];
	closed = (unsigned int)x->u->closed[0] + x->u->closed[1];
	hs = (unsigned int)x->u->hs[0] + x->u->hs[1];
	label = scan_labels[best];
	name = peers_kind_name(1u << best);
	/* connect() gives each probe its own source port, a raw scanner
	 * (nmap -sS) sends them all from one: with a few probes seen, that
	 * tells them apart, whatever other connections the peer completed
	 * (a session it holds is not its scan). With fewer: a connect scan
	 * completes the handshake on the open ports it finds, a SYN scan
	 * resets it. */
	if (best == 0 && (x->u->sport_same + x->u->sport_diff >=
	    TR_SPORT_VOTES ? x->u->sport_diff > x->u->sport_same :
	    (hs > 0 && (open == 0 || 2 * hs >= open)) ||
	    (hs == 0 && x->u->sport_diff > x->u->sport_same))) {
		label = "connect scan";
		name = "connect";
	}
	peers_stats(t->peers, x->p, x->obs.now_ms, &st);

	kinds = json_object();
	sample = json_array();
	openp = port_open != NULL ? json_array() : json_null();
	for (i = 0; kinds != NULL && i < PEER_KIND_COUNT; i++)
		if (sum[i] > 0)
			json_object_set_new(kinds, peers_kind_name(1u << i),
			    json_integer(sum[i]));
	for (i = 0; sample != NULL && i < st.nsamples; i++)
		json_array_append_new(sample, json_integer(st.sample[i]));
	if (port_open != NULL && openp != NULL)
		tr_open_ports(t, x, &st, port_open, port_arg, openp);
	ev = json_pack("{s:s, s:I, s:b, s:i, s:I, s:b, s:i, s:o*, s:o*, s:o*,"
	    " s:b, s:i, s:i, s:i, s:I, s:I, s:I}",
	    "scan", name,
	    "ports", (json_int_t)ports, "ports_exact", ports_exact,
	    "ports_limit", (int)t->c.ps.ports,
	    "hosts", (json_int_t)hosts, "hosts_exact", hosts_exact,
	    "hosts_limit", (int)t->c.ps.hosts,
	    "sample_ports", sample,
	    "kinds", kinds,
	    "open_ports", openp,
	    "listeners_known", port_open != NULL,
	    "open_probes", (int)open,
	    "closed_probes", (int)closed,
	    "handshakes", (int)hs,
	    "synacks", (json_int_t)st.synacks,
	    "rsts", (json_int_t)st.rsts,
	    "icmp_unreach", (json_int_t)st.icmp_unreach);
	tr_return_path(t, x->p, &x->obs.peer, x->ifindex, ev, false);
	/* Closed ports weigh more: a peer that only touched ports that are
	 * really open (a monitoring system) is less of a worry. */
	tr_alert_init(&a, TRAFFIC_PORTSCAN,
	    port_open != NULL && closed == 0 ? ALERT_INFO : ALERT_WARNING,
	    &x->obs.peer, &x->obs.local, 0, t->c.ps.action);
	addr_format(&x->obs.peer, pbuf, sizeof(pbuf));
	duration_format((uint64_t)t->c.ps.window, wbuf, sizeof(wbuf));
	if (ports == 0)		/* pings only */
		snprintf(a.message, sizeof(a.message), "%s from %s: %s%u "
		    "host%s within %s", label, pbuf,
		    hosts_exact ? "" : "about ", hosts, plural(hosts), wbuf);
	else
		snprintf(a.message, sizeof(a.message), "%s from %s: %s%u "
		    "port%s on %s%u host%s within %s", label, pbuf,
		    ports_exact ? "" : "about ", ports, plural(ports),
		    hosts_exact ? "" : "about ", hosts, plural(hosts), wbuf);
	tr_alert_emit(t, &a, TRAFFIC_PORTSCAN, ev, (uint64_t)t->c.ps.window,
	    t->c.ps.ban, repeats, x->alert_fn, x->alert_arg);
}

static void
tr_portscan(struct traffic *t, struct tr_pkt *x,
    traffic_port_open_fn port_open, void *port_arg)
{
	struct tr_peer *u = x->u;
	uint32_t g, ports, hosts, repeats;
	bool pexact, hexact;
	unsigned int cur, k;

	g = x->obs.now_ms == t->clk_now ? t->clk_ps :
	    (uint32_t)(x->obs.now_ms / t->c.ps.window);
	cur = g & 1;
	tr_scan_rotate(u, g);
	if (x->ev & PEER_EV_HS_DONE)
		inc16(&u->hs[cur]);
	if (!(x->ev & PEER_EV_PROBE))
		return;
	if (x->obs.proto == IPPROTO_TCP || x->obs.proto == IPPROTO_UDP)
		inc16(x->obs.lport_open ? &u->open[cur] : &u->closed[cur]);
	/* A probe that finds nothing new is judged only once the last alert
	 * is a window old: a scanner that keeps going over the same ports
	 * is alerted again, without a repeat counted per probe. */
	if (!(x->ev & (PEER_EV_NEW_PORT | PEER_EV_NEW_HOST)) &&
	    (!u->rl[TRAFFIC_PORTSCAN].raised || x->obs.now_ms -
	    u->rl[TRAFFIC_PORTSCAN].last_ms < t->c.ps.window))
		return;
	/* The kinds of the probes that found new ports or hosts name the
	 * scan: a busy client's many SYNs to one port do not. */
	k = tr_probe_kind(&x->obs);
	inc16(&u->kind[cur][k]);
	if (k == 0) {
		inc16(x->sport == u->syn_sport ? &u->sport_same :
		    &u->sport_diff);
		u->syn_sport = x->sport;
	}
	ports = peers_distinct_ports(t->peers, x->p, x->obs.now_ms, &pexact);
	hosts = peers_distinct_hosts(t->peers, x->p, x->obs.now_ms, &hexact);
	if (ports <= t->c.ps.ports && hosts <= t->c.ps.hosts)
		return;
	if (!tr_rl_cross(t, &u->rl[TRAFFIC_PORTSCAN], TRAFFIC_PORTSCAN,
	    x->obs.now_ms, t->c.ps.window, &repeats))
		return;
	tr_portscan_alert(t, x, ports, pexact, hosts, hexact, repeats,
	    port_open, port_arg);
}

/* ---- brute force ------------------------------------------------------------ */

static bool
tr_watched(const struct traffic *t, uint16_t port)
{
	return (t->c.bf.watch[port / 8] >> (port % 8)) & 1;
}

/* The brute-force bucket of now (tr_bf_count's). */
static uint32_t
tr_bf_bucket(const struct traffic *t, int64_t now)
{
	return (uint32_t)(now == t->clk_now ? t->clk_bf :
	    now / (t->c.bf.window / TR_BF_BUCKETS));
}

/* Take back a failed login counted in bucket b, if b is in the ring. */
static void
tr_bf_uncount(struct tr_peer *u, uint32_t b)
{
	if (u->bf_last - b < TR_BF_BUCKETS && u->bf_fail[b % TR_BF_BUCKETS])
		u->bf_fail[b % TR_BF_BUCKETS]--;
}

/* Count one new connection (or, with fail, one failed login; with add
 * false, none: a look) and return the window's count of them: the current bucket and the 15 before it,
 * so each counts for at least 15/16 of the window and never longer. The
 * buckets between the newest and now's are emptied first; bf_last is
 * kept modulo 2^32 (time only moves on, and a new peer's rings are
 * empty whatever it says). */
static unsigned int
tr_bf_count(const struct traffic *t, struct tr_peer *u, int64_t now,
    bool fail, bool add)
{
	int64_t w = t->c.bf.window / TR_BF_BUCKETS;
	uint32_t b = (uint32_t)(now == t->clk_now ? t->clk_bf : now / w);
	uint32_t d = b - u->bf_last, i;
	unsigned int sum = 0, k;

	if (d >= TR_BF_BUCKETS) {
		memset(u->bf_count, 0, sizeof(u->bf_count));
		memset(u->bf_fail, 0, sizeof(u->bf_fail));
	} else {
		for (i = 1; i <= d; i++) {
			u->bf_count[(u->bf_last + i) % TR_BF_BUCKETS] = 0;
			u->bf_fail[(u->bf_last + i) % TR_BF_BUCKETS] = 0;
		}
	}
	u->bf_last = b;
	b %= TR_BF_BUCKETS;
	if (add && !fail)
		inc16(&u->bf_count[b]);
	else if (add && u->bf_fail[b] != UINT8_MAX)
		u->bf_fail[b]++;
	for (k = 0; k < TR_BF_BUCKETS; k++)
		sum += fail ? u->bf_fail[k] : u->bf_count[k];
	return sum;
}

/* count of the signal (new connections, or failed logins with fail) in
 * the window: an alert when it is over the limit. */
static void
tr_bf_alert(struct traffic *t, struct tr_pkt *x, bool fail,
    unsigned int count)
{
	char pbuf[ADDR_STRLEN], wbuf[32];
	const char *signal = fail ? "attempts" : "connections";
	unsigned int limit = fail ? t->c.bf.attempts : t->c.bf.connections, i;
	uint32_t repeats, done = 0, syns = 0;
	struct peer_stats st;
	struct alert a;
	json_t *ev, *ports;

	if (count <= limit)
		return;
	if (!tr_rl_cross(t, &x->u->rl[TRAFFIC_BRUTEFORCE], TRAFFIC_BRUTEFORCE,
	    x->obs.now_ms, t->c.bf.window, &repeats))
		return;
	peers_stats(t->peers, x->p, x->obs.now_ms, &st);
	ports = json_array();
	for (i = 0; i < st.nports; i++) {
		if (!tr_watched(t, st.port[i].port))
			continue;
		syns += st.port[i].syns;
		done += st.port[i].completed;
		if (ports != NULL)
			json_array_append_new(ports,
			    json_integer(st.port[i].port));
	}
	tr_alert_init(&a, TRAFFIC_BRUTEFORCE, ALERT_CRITICAL, &x->obs.peer,
	    &x->obs.local, x->obs.lport, t->c.bf.action);
	snprintf(a.message, sizeof(a.message), "brute force from %s on port "
	    "%u: %u %s within %s (limit %u)",
	    addr_format(&x->obs.peer, pbuf, sizeof(pbuf)), x->obs.lport,
	    count, fail ? "failed logins" : "connections",
	    duration_format((uint64_t)t->c.bf.window, wbuf, sizeof(wbuf)),
	    limit);
	ev = json_pack("{s:s, s:i, s:i, s:o*, s:I, s:I}",
	    "signal", signal,
	    signal, (int)count,
	    fail ? "attempts_limit" : "connections_limit", (int)limit,
	    "ports", ports,
	    "syns_total", (json_int_t)syns,
	    "handshakes_completed", (json_int_t)done);
	/* A failed login is counted from the server's answer on a
	 * connection the peer completed: it proves the peer's own. */
	tr_return_path(t, x->p, &x->obs.peer, x->ifindex, ev,
	    fail || done >= t->c.bf.connections);
	tr_alert_emit(t, &a, TRAFFIC_BRUTEFORCE, ev, (uint64_t)t->c.bf.window,
	    t->c.bf.ban, repeats, x->alert_fn, x->alert_arg);
}

/* A new connection: counted unless a SYN from its source port was just
 * seen (a retransmission). */
static void
tr_bf_connect(struct traffic *t, struct tr_pkt *x)
{
	struct tr_peer *u = x->u;
	unsigned int i;

	for (i = 0; i < u->bf_nsport; i++)
		if (u->bf_sport[i] == x->sport)
			return;
	memmove(&u->bf_sport[1], &u->bf_sport[0],
	    (TR_BF_SPORTS - 1) * sizeof(u->bf_sport[0]));
	u->bf_sport[0] = x->sport;
	if (u->bf_nsport < TR_BF_SPORTS)
		u->bf_nsport++;
	tr_bf_alert(t, x, false, tr_bf_count(t, u, x->obs.now_ms, false,
	    true));
}

/* Is a to be forgotten before b? Those the server never sent data on
 * first (what a flood of spoofed SYNs makes), then the oldest. */
static bool
tr_auth_sooner(const struct tr_auth *a, const struct tr_auth *b)
{
	if (a->answered != b->answered)
		return !a->answered;
	return a->born < b->born;
}

/* A slot for x's connection, from its SYN. */
static void
tr_auth_init(struct tr_auth *c, const struct tr_pkt *x)
{
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->peer = x->obs.peer;
	c->local = x->obs.local;
	c->pport = x->sport;
	c->lport = x->obs.lport;
	c->born = x->obs.now_ms;
}

/* The slot of x's connection (the peer, its port, ours), or NULL. With
 * create, one is made if missing, in a free slot of its set or in place
 * of the one tr_auth_sooner names (counted in auth_evictions). Slots
 * past TR_AUTH_AGE_MS are freed on the way. */
static struct tr_auth *
tr_auth_slot(struct traffic *t, const struct tr_pkt *x, bool create)
{
	uint64_t h = addr_hash(t->seed, &x->obs.peer) ^
	    ((uint64_t)x->sport << 16 | x->obs.lport);
	struct tr_auth *set, *c, *victim = NULL;
	unsigned int i;

	set = &t->auth[util_mix64(h) % (TR_AUTH_CONNS / TR_AUTH_WAYS) *
	    TR_AUTH_WAYS];
	for (i = 0; i < TR_AUTH_WAYS; i++) {
		c = &set[i];
		if (c->used && x->obs.now_ms - c->born >= TR_AUTH_AGE_MS)
			c->used = false;
		if (!c->used) {
			if (victim == NULL || victim->used)
				victim = c;
			continue;
		}
		if (c->pport == x->sport && c->lport == x->obs.lport &&
		    tr_addr_eq(&c->peer, &x->obs.peer))
			return c;
		if (victim == NULL || (victim->used &&
		    tr_auth_sooner(c, victim)))
			victim = c;
	}
	if (!create)
		return NULL;
	if (victim->used)
		t->n.auth_evictions++;
	tr_auth_init(victim, x);
	return victim;
}

/*
 * Failed logins, timed from the packets both ways (struct tr_auth): a
 * password guesser retries inside one connection (MaxAuthTries, 6), so
 * counting connections misses it. Each wait of TR_AUTH_SLOW_MS or more (at
 * most TR_AUTH_LATE_MS) for the server's answer to the client's data is
 * one, counted by tr_auth_tick while it lasts, or here when the answer
 * comes first (a replay's ticks are a second apart). A logged-in session
 * in its first TR_AUTH_AGE_MS could have one too (a command whose output
 * comes late after the client's last data; interactive use is answered
 * at once, the echo of each key): the daemon drops the alert when the
 * peer holds a logged-in session (inspect.c). Nothing the client alone
 * sends ends the following: not a count of segments, not a SYN, FIN or
 * RST on its side (the kernel takes none of them out of the window, and
 * we see no sequence numbers to tell).
 */
static void
tr_bf_auth(struct traffic *t, struct tr_pkt *x, uint32_t payload)
{
	uint8_t f = x->obs.tcp_flags;
	struct tr_auth *c;
	int64_t waited;

	/* A SYN makes a slot; on a connection followed already it changes
	 * nothing (a retransmission, or one the kernel answers with a
	 * challenge ACK: anyone may send it). */
	if (x->ev & PEER_EV_SYN) {
		(void)tr_auth_slot(t, x, true);
		return;
	}
	if (payload == 0 && !(f & (PKT_TCP_FIN | PKT_TCP_RST)))
		return;				/* an ACK */
	if ((c = tr_auth_slot(t, x, false)) == NULL)
		return;
	if (payload > 0 && x->obs.inbound) {
		/* The first data unanswered starts the clock: neither its
		 * retransmission nor more of the same request restarts it. */
		if (!c->waiting) {
			c->waiting = true;
			c->counted = c->ahead = c->confirmed = false;
			c->hung_up = false;
			c->asked = x->obs.now_ms;
			/* Counted now, alerted for once it is a failure:
			 * the administrator's correct password after two
			 * typos must not be the one over the limit. */
			if (c->failed) {
				c->counted = c->ahead = true;
				c->ahead_bucket = tr_bf_bucket(t,
				    x->obs.now_ms);
				tr_bf_count(t, x->u, x->obs.now_ms, true, true);
			}
		}
	} else if (payload > 0) {
		waited = x->obs.now_ms - c->asked;
		/* A connection that goes on after its hang-up (a RST out
		 * of the window, which the kernel dropped) did not hang up:
		 * its answer counts however late (the tick left it). */
		if (c->waiting && waited >= TR_AUTH_SLOW_MS &&
		    (waited <= TR_AUTH_LATE_MS || c->hung_up)) {
			c->failed = true;
			/* Not confirmed by a tick yet (a replay's ticks are a
			 * second apart): now. */
			if (!c->confirmed)
				tr_bf_alert(t, x, true, tr_bf_count(t, x->u,
				    x->obs.now_ms, true, !c->counted));
		} else if (c->waiting && c->ahead) {
			/* Answered at once: a login, not a guess. */
			tr_bf_uncount(x->u, c->ahead_bucket);
			c->failed = false;
		} else if (!c->waiting && c->failed && c->answered &&
		    x->obs.now_ms - c->spoke >= TR_AUTH_SLOW_MS &&
		    x->obs.now_ms - c->spoke <= TR_AUTH_QUEUED_MS) {
			/* After a failed login, the server speaks again a
			 * failure delay later with no data from the client
			 * since: the answer to a guess that was sent with
			 * the one before (sshd takes queued requests in
			 * turn), which started no wait of its own. */
			tr_bf_alert(t, x, true, tr_bf_count(t, x->u,
			    x->obs.now_ms, true, true));
		}
		c->answered = true;
		c->spoke = x->obs.now_ms;
		c->waiting = c->ahead = false;
	}
	/* A client that hangs up waits for no answer: its last words (ssh's
	 * disconnect, then a RST when the server's last data was still
	 * unread, and no FIN from the server) are no failed login. The tick
	 * leaves such a wait alone; an answer that still comes late counts
	 * it, as a FIN or RST out of the window changes nothing. Only a
	 * FIN or RST right after the data: a guesser that waits to see no
	 * quick answer (a correct password's) before it resets the
	 * connection would have each guess go uncounted. */
	if (x->obs.inbound && c->waiting && (f & (PKT_TCP_FIN | PKT_TCP_RST)) &&
	    x->obs.now_ms - c->asked <= TR_AUTH_HANGUP_MS)
		c->hung_up = true;
	/* The server's FIN or RST ends it: the client's could be anyone's
	 * (the kernel drops one out of its window, and the connection and
	 * its guessing go on). What was counted ahead and never turned out
	 * a failure (the client's last words, unanswered) is taken back. */
	if (!x->obs.inbound && (f & (PKT_TCP_FIN | PKT_TCP_RST))) {
		if (c->waiting && c->ahead && !c->confirmed)
			tr_bf_uncount(x->u, c->ahead_bucket);
		c->used = false;
	}
}

/* The waits that have lasted TR_AUTH_SLOW_MS by now: each one a failed
 * login of its peer, counted once. Only on connections the server spoke
 * on (a handshake the peer completed), and not after the client hung up
 * (tr_bf_auth). */
static void
tr_auth_tick(struct traffic *t, int64_t now, traffic_alert_fn fn, void *arg)
{
	struct tr_auth *c;
	struct tr_pkt x;
	size_t i;
	bool add;

	if (!t->c.bf.enabled)
		return;
	for (i = 0; i < TR_AUTH_CONNS; i++) {
		c = &t->auth[i];
		if (!c->used || !c->waiting || c->confirmed || !c->answered ||
		    c->hung_up ||
		    now - c->asked < TR_AUTH_SLOW_MS ||
		    now - c->asked > TR_AUTH_LATE_MS)
			continue;
		add = !c->counted;
		c->counted = c->confirmed = c->failed = true;
		memset(&x, 0, sizeof(x));
		if ((x.p = peers_find(t->peers, &c->peer)) == NULL)
			continue;
		x.u = peers_user(t->peers, x.p);
		x.obs.now_ms = now;
		x.obs.peer = c->peer;
		x.obs.local = c->local;
		x.obs.lport = c->lport;
		x.obs.proto = IPPROTO_TCP;
		x.sport = c->pport;
		x.alert_fn = fn;
		x.alert_arg = arg;
		tr_bf_alert(t, &x, true, tr_bf_count(t, x.u, now, true, add));
	}
}

/* A TCP packet to or from a watched port, either way. */
static void
tr_bruteforce(struct traffic *t, struct tr_pkt *x, uint32_t payload)
{
	if (x->ev & PEER_EV_SYN)
		tr_bf_connect(t, x);
	tr_bf_auth(t, x, payload);
}

/* ---- SYN floods ------------------------------------------------------------- */

static size_t
tr_lslot_of(uint16_t port)
{
	return (size_t)(util_mix64(port) & (TR_LSLOTS - 1));
}

static struct tr_listener *
tr_listener_find(struct traffic *t, uint16_t port)
{
	size_t i = tr_lslot_of(port);
	uint16_t id;

	while ((id = t->lslot[i]) != 0) {
		if (t->lst[id - 1].port == port)
			return &t->lst[id - 1];
		i = (i + 1) & (TR_LSLOTS - 1);
	}
	return NULL;
}

static void
tr_lslot_rebuild(struct traffic *t)
{
	size_t k, i;

	memset(t->lslot, 0, sizeof(t->lslot));
	for (k = 0; k < t->nlst; k++) {
		i = tr_lslot_of(t->lst[k].port);
		while (t->lslot[i] != 0)
			i = (i + 1) & (TR_LSLOTS - 1);
		t->lslot[i] = (uint16_t)(k + 1);
	}
}

/* Is l quiet enough to be forgotten? */
static bool
tr_listener_idle(const struct traffic *t, const struct tr_listener *l,
    int64_t now)
{
	int64_t idle = t->c.sf.window > TR_IDLE_MIN_MS ? t->c.sf.window :
	    TR_IDLE_MIN_MS;

	return now - l->last_ms >= idle && !l->pending &&
	    (!l->rl.raised || now - l->rl.last_ms >= t->c.sf.window);
}

/* Drop the idle listeners (all when n == 0 would be a bug). Returns how
 * many went. */
static size_t
tr_listener_expire(struct traffic *t, int64_t now)
{
	size_t k, kept = 0, before = t->nlst;

	for (k = 0; k < t->nlst; k++) {
		if (tr_listener_idle(t, &t->lst[k], now))
			continue;
		if (kept != k)
			t->lst[kept] = t->lst[k];
		kept++;
	}
	t->nlst = kept;
	if (kept != before)
		tr_lslot_rebuild(t);
	return before - kept;
}

static struct tr_listener *
tr_listener_get(struct traffic *t, uint16_t port, int64_t now)
{
	struct tr_listener *l = tr_listener_find(t, port);
	size_t i;

	if (l != NULL)
		return l;
	if (t->nlst == TRAFFIC_LISTENERS && tr_listener_expire(t, now) == 0)
		return NULL;
	l = &t->lst[t->nlst++];
	memset(l, 0, sizeof(*l));
	l->port = port;
	l->sec = -1;
	l->last_ms = now;
	i = tr_lslot_of(port);
	while (t->lslot[i] != 0)
		i = (i + 1) & (TR_LSLOTS - 1);
	t->lslot[i] = (uint16_t)t->nlst;
	return l;
}

static void
tr_hll_add(uint8_t *reg, uint64_t h)
{
	unsigned int j = (unsigned int)(h >> 58);	/* 6 bits: 64 */
	uint64_t w = h << 6;
	uint8_t rho = w != 0 ? (uint8_t)(__builtin_clzll(w) + 1) : 59;

	if (rho > reg[j])
		reg[j] = rho;
}

/* The estimate of the sources among syns SYNs: never more than syns
 * (64 registers are +-13%). */
static uint32_t
tr_hll_count(const uint8_t *reg, uint32_t syns)
{
	const double alpha = 0.709;
	unsigned int j, zeros = 0;
	double sum = 0, e;

	for (j = 0; j < TR_HLL; j++) {
		sum += 1.0 / (double)(UINT64_C(1) << reg[j]);
		if (reg[j] == 0)
			zeros++;
	}
	e = util_hll_estimate(TR_HLL, alpha, sum, zeros);
	return e + 0.5 < (double)syns ? (uint32_t)(e + 0.5) : syns;
}

static uint64_t tr_synflood_peers(struct traffic *t, struct tr_listener *l,
    int64_t now, traffic_alert_fn fn, void *arg);

/* The flood alert for a listener, from many sources. */
static void
tr_synflood_listener(struct traffic *t, struct tr_listener *l,
    traffic_alert_fn fn, void *arg)
{
	char abuf[ADDR_STRLEN];
	uint32_t repeats, sources;
	struct alert a;
	json_t *ev, *top;
	unsigned int i;

	l->pending = false;
	if (4 * (uint64_t)l->done >= l->syns)
		return;		/* most completed: busy, not flooded */
	/* With the whole second seen, a source may stand out now. */
	if (2 * tr_synflood_peers(t, l, l->last_ms, fn, arg) >= l->syns)
		return;
	if (!tr_rl_cross(t, &l->rl, TRAFFIC_SYNFLOOD, l->last_ms,
	    t->c.sf.window, &repeats))
		return;
	sources = tr_hll_count(l->hll, l->syns);
	top = json_array();
	for (i = 0; top != NULL && i < l->nsrc; i++)
		json_array_append_new(top, json_pack("{s:s, s:I}", "addr",
		    addr_format(&l->src[i].addr, abuf, sizeof(abuf)), "syns",
		    (json_int_t)(l->src[i].syns - l->src[i].err)));
	tr_alert_init(&a, TRAFFIC_SYNFLOOD, ALERT_CRITICAL, NULL, &l->local,
	    l->port, t->c.sf.action);
	snprintf(a.message, sizeof(a.message), "SYN flood on port %u: %u SYNs "
	    "in one second from about %u sources (limit %u/s), %u "
	    "handshake%s completed", l->port, l->syns, sources,
	    t->c.sf.rate, l->done, plural(l->done));
	ev = json_pack("{s:I, s:i, s:I, s:I, s:b, s:o*}",
	    "syns", (json_int_t)l->syns,
	    "rate_limit", (int)t->c.sf.rate,
	    "completed", (json_int_t)l->done,
	    "sources", (json_int_t)sources,
	    "sources_exact", 0,
	    "top_sources", top);
	tr_alert_emit(t, &a, TRAFFIC_SYNFLOOD, ev, (uint64_t)t->c.sf.window,
	    t->c.sf.ban, repeats, fn, arg);
}

/* The listener went over the rate: an alert for each source that sent
 * more than 1/TRAFFIC_TOP_SOURCES of the rate itself, with few of its
 * handshakes done. Returns the SYNs those sources sent. */
static uint64_t
tr_synflood_peers(struct traffic *t, struct tr_listener *l, int64_t now,
    traffic_alert_fn fn, void *arg)
{
	char pbuf[ADDR_STRLEN];
	const struct peer *p;
	struct tr_peer *u;
	struct tr_rl spare;
	uint32_t repeats, syns;
	uint64_t heavy = 0;
	struct alert a;
	json_t *ev;
	unsigned int i;

	for (i = 0; i < l->nsrc; i++) {
		struct tr_src *s = &l->src[i];

		syns = s->syns - s->err;	/* at least this many */
		if ((uint64_t)syns * TRAFFIC_TOP_SOURCES <= t->c.sf.rate ||
		    4 * (uint64_t)s->done >= syns)
			continue;
		heavy += syns;
		if (s->alerted)
			continue;	/* earlier in this second */
		s->alerted = true;
		p = peers_find(t->peers, &s->addr);
		memset(&spare, 0, sizeof(spare));
		u = p != NULL ? peers_user(t->peers, p) : NULL;
		if (!tr_rl_cross(t, u != NULL ? &u->rl[TRAFFIC_SYNFLOOD] :
		    &spare, TRAFFIC_SYNFLOOD, now, t->c.sf.window, &repeats))
			continue;
		tr_alert_init(&a, TRAFFIC_SYNFLOOD, ALERT_CRITICAL, &s->addr,
		    &l->local, l->port, t->c.sf.action);
		snprintf(a.message, sizeof(a.message), "SYN flood from %s to "
		    "port %u: %u SYNs within a second (limit %u/s for the "
		    "port), %u handshake%s completed",
		    addr_format(&s->addr, pbuf, sizeof(pbuf)), l->port,
		    syns, t->c.sf.rate, s->done, plural(s->done));
		ev = json_pack("{s:I, s:I, s:i, s:I, s:I, s:I}",
		    "syns", (json_int_t)syns,
		    "listener_syns", (json_int_t)l->syns,
		    "rate_limit", (int)t->c.sf.rate,
		    "completed", (json_int_t)s->done,
		    "listener_completed", (json_int_t)l->done,
		    "sources", (json_int_t)tr_hll_count(l->hll, l->syns));
		tr_return_path(t, p, NULL, 0, ev, false);
		tr_alert_emit(t, &a, TRAFFIC_SYNFLOOD, ev,
		    (uint64_t)t->c.sf.window, t->c.sf.ban, repeats, fn, arg);
	}
	return heavy;
}

/* Start counting second sec, finishing the last one first. */
static void
tr_listener_second(struct traffic *t, struct tr_listener *l, int64_t sec,
    traffic_alert_fn fn, void *arg)
{
	if (l->sec == sec)
		return;
	if (l->pending)
		tr_synflood_listener(t, l, fn, arg);
	l->sec = sec;
	l->syns = l->done = 0;
	l->nsrc = 0;
	l->fired = l->pending = false;
	memset(l->hll, 0, sizeof(l->hll));
}

/* Count a SYN from a in src[] (space-saving: a source not there takes
 * the slot with the fewest SYNs, inheriting that count as its error, so
 * any source with more than 1/TRAFFIC_TOP_SOURCES of the SYNs is kept). */
static void
tr_src_add(struct tr_listener *l, const struct addr *a)
{
	struct tr_src *s = NULL;
	unsigned int i;

	for (i = 0; i < l->nsrc; i++) {
		if (tr_addr_eq(&l->src[i].addr, a)) {
			inc32(&l->src[i].syns);
			return;
		}
	}
	if (l->nsrc < TRAFFIC_TOP_SOURCES) {
		s = &l->src[l->nsrc++];
		memset(s, 0, sizeof(*s));
	} else {
		s = &l->src[0];
		for (i = 1; i < l->nsrc; i++)
			if (l->src[i].syns < s->syns)
				s = &l->src[i];
		s->err = s->syns;
		s->done = 0;
		s->alerted = false;
	}
	s->addr = *a;
	inc32(&s->syns);
}

static void
tr_synflood(struct traffic *t, struct tr_pkt *x, bool port_known_open)
{
	int64_t now = x->obs.now_ms, sec = tr_sec(t, now);
	struct tr_listener *l;
	unsigned int i;

	if (x->ev & PEER_EV_HS_DONE) {
		l = tr_listener_find(t, x->obs.lport);
		if (l == NULL || l->sec != sec)
			return;
		inc32(&l->done);
		for (i = 0; i < l->nsrc; i++)
			if (addr_equal(&l->src[i].addr, &x->obs.peer))
				inc32(&l->src[i].done);
		return;
	}
	if (!(x->ev & PEER_EV_SYN))
		return;
	l = port_known_open ? tr_listener_get(t, x->obs.lport, now) :
	    tr_listener_find(t, x->obs.lport);
	if (l == NULL) {
		if (port_known_open)
			t->n.listener_overflow++;
		return;
	}
	l->last_ms = now;
	l->local = x->obs.local;
	tr_listener_second(t, l, sec, x->alert_fn, x->alert_arg);
	inc32(&l->syns);
	tr_hll_add(l->hll, addr_hash(t->seed, &x->obs.peer));
	tr_src_add(l, &x->obs.peer);
	if (l->fired || l->syns <= t->c.sf.rate ||
	    4 * (uint64_t)l->done >= l->syns)
		return;
	l->fired = true;
	/* Sources that stand out are alerted now, each; if they are not
	 * most of the flood, the rest is many (likely spoofed) sources: one
	 * alert for the listener, with the whole second, when it ends. */
	if (2 * tr_synflood_peers(t, l, now, x->alert_fn, x->alert_arg) <
	    l->syns)
		l->pending = true;
}

/* Once per second: listener alerts of seconds that ended, and idle
 * listeners. */
static void
tr_flush(struct traffic *t, int64_t now, traffic_alert_fn fn, void *arg)
{
	int64_t sec = tr_sec(t, now);
	size_t k;

	if (sec == t->flush_sec)
		return;
	t->flush_sec = sec;
	for (k = 0; k < t->nlst; k++)
		if (t->lst[k].pending && t->lst[k].sec < sec)
			tr_synflood_listener(t, &t->lst[k], fn, arg);
	tr_listener_expire(t, now);
}

/* ---- the queue ---------------------------------------------------------------- */

struct pkt *
traffic_queue_slot(struct traffic_queue *q)
{
	return &q->q[q->nin % TRAFFIC_QUEUE].p;
}

/* Step 0 for the packet just queued: its direction, as traffic_packet
 * would tell it (once, here), and its peer's hash bucket. */
static uint64_t
tr_queue_start(const struct traffic *t, struct pkt *p)
{
	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    p->pkttype == PKT_TYPE_BROADCAST ||
	    p->pkttype == PKT_TYPE_MULTICAST)
		return 0;
	if (p->dir == PKT_DIR_UNKNOWN) {
		if (tr_is_local(t, &p->dst))
			p->dir = PKT_DIR_IN;
		else if (tr_is_local(t, &p->src))
			p->dir = PKT_DIR_OUT;
	}
	if (p->dir == PKT_DIR_IN)
		p->peer_hash = peers_prefetch(t->peers, &p->src, 0, 0);
	else if (p->dir == PKT_DIR_OUT)
		p->peer_hash = peers_prefetch(t->peers, &p->dst, 0, 0);
	return p->peer_hash;
}

const struct pkt *
traffic_queue_push(const struct traffic *t, struct traffic_queue *q,
    int64_t now_ms, int64_t *ret_now_ms)
{
	uint64_t h;
	int step;

	q->q[q->nin % TRAFFIC_QUEUE].now_ms = now_ms;
	q->q[q->nin % TRAFFIC_QUEUE].hint = tr_queue_start(t,
	    &q->q[q->nin % TRAFFIC_QUEUE].p);
	q->nin++;
	for (step = 1; step <= 2; step++) {
		if (q->nin <= (uint64_t)step * TRAFFIC_AHEAD)
			break;
		h = q->q[(q->nin - 1 - step * TRAFFIC_AHEAD) %
		    TRAFFIC_QUEUE].hint;
		if (h != 0)
			peers_prefetch(t->peers, NULL, h, step);
	}
	if (q->nin - q->nout <= 3 * TRAFFIC_AHEAD)
		return NULL;
	return traffic_queue_pop(q, ret_now_ms);
}

const struct pkt *
traffic_queue_pop(struct traffic_queue *q, int64_t *ret_now_ms)
{
	unsigned int k;

	if (q->nout == q->nin)
		return NULL;
	k = q->nout++ % TRAFFIC_QUEUE;
	*ret_now_ms = q->q[k].now_ms;
	return &q->q[k].p;
}

/* ---- the packet path -------------------------------------------------------- */

void
traffic_packet(struct traffic *t, const struct pkt *p, int64_t now_ms,
    traffic_port_open_fn port_open, void *port_arg,
    traffic_alert_fn alert_fn, void *alert_arg)
{
	struct tr_pkt x;
	bool inbound, ports, bf, open_known = false;

	t->n.packets++;
	if (now_ms > t->now)
		t->now = now_ms;
	tr_clock(t);
	if (p->family != AF_INET && p->family != AF_INET6)
		return;
	tr_flush(t, t->now, alert_fn, alert_arg);
	if (p->pkttype == PKT_TYPE_BROADCAST ||
	    p->pkttype == PKT_TYPE_MULTICAST || !addr_is_unicast(&p->src) ||
	    !addr_is_unicast(&p->dst)) {
		t->n.skipped++;
		return;
	}
	switch (p->dir) {
	case PKT_DIR_IN:
		inbound = true;
		break;
	case PKT_DIR_OUT:
		inbound = false;
		break;
	default:
		if (tr_is_local(t, &p->dst)) {
			inbound = true;
		} else if (tr_is_local(t, &p->src)) {
			inbound = false;
		} else {
			t->n.unknown++;
			return;
		}
	}
	if (inbound)
		t->n.inbound++;
	else
		t->n.outbound++;

	memset(&x, 0, sizeof(x));
	x.alert_fn = alert_fn;
	x.alert_arg = alert_arg;
	x.obs.now_ms = t->now;
	x.obs.peer = inbound ? p->src : p->dst;
	x.obs.local = inbound ? p->dst : p->src;
	x.obs.bytes = p->ip_len;
	x.obs.ttl = p->ttl;
	x.ifindex = p->ifindex;
	x.obs.hash = p->peer_hash;
	x.obs.inbound = inbound;
	x.obs.proto = p->proto;
	ports = (p->flags & PKT_F_PORTS) != 0;
	if ((p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) && !ports)
		x.obs.proto = 0;	/* a later fragment: just count it */
	if (ports) {
		x.obs.lport = inbound ? p->dport : p->sport;
		x.sport = inbound ? p->sport : p->dport;
	}
	if (p->proto == IPPROTO_TCP)
		x.obs.tcp_flags = p->tcp_flags;
	if (p->flags & PKT_F_ICMP) {
		x.obs.icmp_type = p->icmp_type;
		x.obs.icmp_code = p->icmp_code;
	}
	if (inbound && ports && port_open != NULL &&
	    (x.obs.proto == IPPROTO_TCP || x.obs.proto == IPPROTO_UDP)) {
		x.obs.lport_open = port_open(port_arg, x.obs.proto,
		    x.obs.lport);
		open_known = x.obs.lport_open;
	}
	if (peers_observe(t->peers, &x.obs, &x.p, &x.ev) < 0)
		return;

	/* The host answered a SYN: that port listens (for the offline case,
	 * where nobody can tell us). */
	if ((x.ev & PEER_EV_SYNACK) && t->c.sf.enabled &&
	    port_open == NULL) {
		struct tr_listener *l = tr_listener_get(t, x.obs.lport, t->now);

		if (l != NULL)
			l->last_ms = t->now;
	}

	x.u = peers_user(t->peers, x.p);
	if (x.u->gen != t->gen) {
		x.u->flags = (uint8_t)tr_classify(t, &x.obs.peer);
		x.u->gen = t->gen;
	}
	if (x.u->flags & (TRAFFIC_PEER_ALLOWED | TRAFFIC_PEER_LOCAL)) {
		t->n.exempt++;
		return;
	}
	if (x.u->flags & TRAFFIC_PEER_DENIED)
		tr_denylist(t, &x);
	/* Brute force looks at both ways: the server's answers time the
	 * logins. */
	bf = t->c.bf.enabled && x.obs.proto == IPPROTO_TCP &&
	    tr_watched(t, x.obs.lport);
	if (!inbound) {
		if (bf)
			tr_bruteforce(t, &x, p->payload_len);
		return;
	}
	if (t->c.ps.enabled)
		tr_portscan(t, &x, port_open, port_arg);
	if (x.obs.proto != IPPROTO_TCP)
		return;
	if (bf)
		tr_bruteforce(t, &x, p->payload_len);
	if (t->c.sf.enabled && (x.ev & (PEER_EV_SYN | PEER_EV_HS_DONE)))
		tr_synflood(t, &x, port_open != NULL ? open_known : false);
}

void
traffic_tick(struct traffic *t, int64_t now_ms, traffic_alert_fn alert_fn,
    void *alert_arg)
{
	if (now_ms > t->now)
		t->now = now_ms;
	tr_clock(t);
	tr_flush(t, t->now, alert_fn, alert_arg);
	tr_auth_tick(t, t->now, alert_fn, alert_arg);
}

/* ---- reading ---------------------------------------------------------------- */

void
traffic_counters(const struct traffic *t, struct traffic_counters *ret)
{
	*ret = t->n;
	ret->peer_evictions = peers_evictions(t->peers);
	ret->peers = peers_count(t->peers);
	ret->max_peers = peers_max(t->peers);
	ret->listeners = t->nlst;
}

const struct peers *
traffic_peers(const struct traffic *t)
{
	return t->peers;
}

const char *
traffic_kind_name(enum traffic_kind k)
{
	return (unsigned int)k < TRAFFIC_NKINDS ? kind_names[k] : "?";
}

size_t
traffic_memory(const struct traffic *t)
{
	return sizeof(*t) + peers_memory_bytes(t->peers) +
	    prefixset_memory(t->deny_peers) + prefixset_memory(t->deny_file) +
	    prefixset_memory(t->allow) + prefixset_memory(t->local);
}
