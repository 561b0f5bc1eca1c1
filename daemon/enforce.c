/* Enforcement: alerts with action = block, manual blocks and the connect
 * policy become bans. A ban is decided here (anti-lockout, length),
 * written to the store, put into nftables in one batch with the others of
 * its tick, and the peer's live sockets are ended with SOCK_DESTROY.
 * Reconciliation (reconcile.c) puts back what someone else removed from
 * our table. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/duration.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "../exporter/request.h"
#include "../exporter/sockjson.h"
#include "../monitor/localaddr.h"
#include "../monitor/proc.h"
#include "../monitor/infra.h"
#include "sockwatchd.h"

#define ENFORCE_KILL_ALL	16	/* flushes this small always teardown */
#define ENFORCE_CACHE_MS	1000	/* own addresses, remote set: reuse */
#define ENFORCE_INFRA_MS	30000	/* gateways and resolvers: read again */
#define ENFORCE_HELD_MS		60000	/* at most one "held back" alert */
#define ENFORCE_LOG_EACH	16	/* bigger flushes log one line */
#define ENFORCE_PARALLEL	256	/* bigger flushes write the store in a
					 * thread while the kernel works */
#define ENFORCE_SCRATCH_KEEP	4096	/* flush arrays kept for the next */
#define ENFORCE_UNHEARD	256	/* bigger flushes are not heard by
					 * our own nftables monitor */
#define ENFORCE_AHEAD	2048	/* a long list is flushed in steps of
					 * this many (enforce_flush_ahead) */

/* ---- helpers ----------------------------------------------------------- */

static bool
cidr_is_host(const struct cidr *c)
{
	return c->len == (c->addr.family == AF_INET ? 32u : 128u);
}

static void
host_cidr(const struct addr *a, struct cidr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->addr = *a;
	ret->len = a->family == AF_INET ? 32 : 128;
}

static void
policy_from_config(const struct config *cfg, struct bans_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->default_ms = cfg->bans.default_ms;
	p->recidive_window_ms = cfg->bans.recidive_window_ms;
	p->escalate = cfg->bans.escalate;
	p->max_ms = cfg->bans.max_ms;
	p->aggregate_v4 = cfg->bans.aggregate_v4;
	p->aggregate_v6 = cfg->bans.aggregate_v6;
	p->aggregate_threshold = cfg->bans.aggregate_threshold;
}

/* Copy n prefixes to dst (src may be NULL when n is 0); returns the end. */
static struct cidr *
cidrs_append(struct cidr *dst, const struct cidr *src, size_t n)
{
	if (n > 0)
		memcpy(dst, src, n * sizeof(*dst));
	return dst + n;
}

/* The interval sets' contents for cfg. deny is filled only when [deny]
 * blocks; the arrays point into a malloc'ed block the caller frees. */
static int
lists_from_config(const struct config *cfg, struct nft_lists *l,
    struct cidr **ret_mem)
{
	size_t nd = cfg->deny.action == ACTION_BLOCK ?
	    cfg->deny.npeers + cfg->deny.nfile_peers : 0;
	size_t nc = cfg->connect.ndeny + cfg->connect.nfile_peers;
	struct cidr *m, *p;

	m = calloc(nd + nc + 1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	p = m;
	if (nd > 0) {
		p = cidrs_append(p, cfg->deny.peers, cfg->deny.npeers);
		p = cidrs_append(p, cfg->deny.file_peers,
		    cfg->deny.nfile_peers);
	}
	p = cidrs_append(p, cfg->connect.deny, cfg->connect.ndeny);
	cidrs_append(p, cfg->connect.file_peers, cfg->connect.nfile_peers);
	memset(l, 0, sizeof(*l));
	l->allow = cfg->allow.peers;
	l->nallow = cfg->allow.npeers;
	l->deny = m;
	l->ndeny = nd;
	l->connect = m + nd;
	l->nconnect = nc;
	*ret_mem = m;
	return 0;
}

static int
connect_set_new(const struct config *cfg, struct prefixset **ret)
{
	struct prefixset *s;
	int r;

	if ((r = prefixset_new(&s)) < 0)
		return r;
	if ((r = prefixset_add_many(s, cfg->connect.deny,
	    cfg->connect.ndeny)) < 0 || (r = prefixset_add_many(s,
	    cfg->connect.file_peers, cfg->connect.nfile_peers)) < 0 ||
	    (r = prefixset_build(s)) < 0) {
		prefixset_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* Bans in force as nftables elements with their time left. */
static int
elems_in_force(struct sw *sw, int64_t now, struct nft_elem **ret,
    size_t *ret_n)
{
	size_t i, n = bans_count(sw->enf.bans);
	struct nft_elem *e;
	const struct ban *b;

	e = calloc(n + 1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		b = bans_at(sw->enf.bans, i);
		e[i].peer = b->peer;
		e[i].timeout_ms = b->expires_ms == 0 ? 0 :
		    b->expires_ms > now ? (uint64_t)(b->expires_ms - now) : 1;
	}
	*ret = e;
	*ret_n = n;
	return 0;
}

bool
enforce_active(const struct sw *sw)
{
	return sw->enf.nft != NULL;
}

/* ---- the kernel side --------------------------------------------------- */

int
enforce_nft_setup(struct sw *sw)
{
	struct nft_elem *e = NULL;
	struct nft_lists l;
	struct cidr *mem = NULL;
	size_t n = 0;
	int r;

	if ((r = lists_from_config(sw->cfg, &l, &mem)) < 0 ||
	    (r = elems_in_force(sw, time_steady_ms(), &e, &n)) < 0) {
		free(mem);
		return r;
	}
	r = nft_setup(sw->enf.nft, &l, e, n);
	if (r < 0) {
		sw->enf.n.nft_errors++;
		log_warnx("nftables: %s", nft_error(sw->enf.nft));
	}
	free(e);
	free(mem);
	return r;
}

static void
on_nft_event(void *arg, uint32_t events)
{
	struct sw *sw = arg;
	bool changed = false;
	int r;

	(void)events;
	r = nft_monitor_read(sw->enf.mon, &changed);
	if (r < 0 && r != -ENOBUFS && r != -EAGAIN)
		log_warnx("nftables events: %s", strerror(-r));
	if (changed)
		sw->enf.repair = true;
}

/* After a batch of ours sent unheard (nft_monitor_pause): what others
 * did meanwhile went unheard too, so it is checked. */
static void
monitor_resume(struct sw *sw)
{
	bool changed;
	int r;

	if ((r = nft_monitor_resume(sw->enf.mon, sw->enf.nft, &changed)) < 0)
		log_warnx("nftables events: %s", strerror(-r));
	if (changed)
		sw->enf.repair = true;
}

/* ---- sockets: protection and teardown ----------------------------------- */

static bool
is_protected_name(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->bans.nprotect; i++)
		if (strcmp(cfg->bans.protect[i], name) == 0)
			return true;
	return false;
}

/* Does a root-owned socket listen on TCP port? */
static bool
root_listens(const struct sw *sw, uint16_t port)
{
	const struct sock_info *l;
	size_t i;

	for (i = 0; i < socktable_count(sw->table); i++) {
		l = socktable_at(sw->table, i);
		if (l->proto == IPPROTO_TCP && l->state == TCP_LISTEN &&
		    l->lport == port && l->uid == 0)
			return true;
	}
	return false;
}

/*
 * Has sshd's process pid (running prog) logged its client in? sshd names
 * its processes (setproctitle) "sshd: USER [priv]", "sshd: USER [net]",
 * "sshd: [accepted]" while the client is still to log in, and "sshd:
 * USER" or "sshd: USER@TTY" once it has (sshd-session: the same, with its
 * own name). A connection held open at the password
 * prompt is no administrator's session: it would let a guesser protect
 * its own address by waiting out the detector's window first.
 */
static bool
sshd_logged_in(pid_t pid, const char *prog)
{
	char path[64], title[256];
	size_t plen = strlen(prog);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, title, sizeof(title) - 1);
	close(fd);
	if (n <= 0)
		return false;
	title[n] = '\0';		/* the title is the first string */
	n = (ssize_t)strlen(title);
	return (size_t)n > plen + 2 && strncmp(title, prog, plen) == 0 &&
	    title[plen] == ':' && title[plen + 1] == ' ' &&
	    title[n - 1] != ']';
}

/* sshd's programs: sshd, and since OpenSSH 9.8 the per-connection
 * sshd-session (and 10's sshd-auth, which never holds a login). */
static bool
is_sshd(const char *base)
{
	return strcmp(base, "sshd") == 0 || strcmp(base, "sshd-session") == 0 ||
	    strcmp(base, "sshd-auth") == 0;
}

/* Is a program of that name protected? "sshd" in [bans] protect names
 * all of sshd's programs. */
static bool
protected_prog(const struct config *cfg, const char *name)
{
	return is_protected_name(cfg, name) ||
	    (is_sshd(name) && is_protected_name(cfg, "sshd"));
}

/*
 * Is s, held by o, an administrator's session to a protected program?
 * Not because the process calls itself sshd (any user can name a process
 * so): the socket is root's, it was accepted on a port where a root-owned
 * socket listens, and the process runs the program the name says
 * (/proc/PID/exe, which the process cannot choose after exec). For sshd,
 * also: the process holds a logged-in client (sshd_logged_in).
 */
static bool
is_protected_session(const struct sw *sw, const struct proc_owner *o,
    const struct sock_info *s)
{
	char path[64], exe[4096], *base;
	ssize_t n;

	if (!protected_prog(sw->cfg, o->comm) || s->uid != 0 ||
	    !root_listens(sw, s->lport))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)o->pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return false;
	exe[n] = '\0';
	/* A program replaced since it started reads "... (deleted)". */
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';
	base = strrchr(exe, '/');
	base = base != NULL ? base + 1 : exe;
	if (!protected_prog(sw->cfg, base) || strncmp(base, o->comm, 15) != 0)
		return false;
	return !is_sshd(base) || sshd_logged_in(o->pid, base);
}

/* The remote addresses of the socket table as a set of hosts, rebuilt
 * at most every ENFORCE_CACHE_MS (the table itself is a scan old). */
static int
remote_set(struct sw *sw)
{
	int64_t now = time_mono_ms();
	const struct sock_info *s;
	struct prefixset *set;
	struct cidr c;
	size_t i;
	int r;

	if (sw->enf.remotes != NULL && now - sw->enf.remotes_ms <
	    ENFORCE_CACHE_MS)
		return 0;
	if ((r = prefixset_new(&set)) < 0)
		return r;
	for (i = 0; i < socktable_count(sw->table); i++) {
		s = socktable_at(sw->table, i);
		if (s->family == AF_UNIX || addr_is_any(&s->raddr))
			continue;
		host_cidr(&s->raddr, &c);
		if ((r = prefixset_add(set, &c)) < 0)
			break;
	}
	if (r < 0 || (r = prefixset_build(set)) < 0) {
		prefixset_free(set);
		return r;
	}
	prefixset_free(sw->enf.remotes);
	sw->enf.remotes = set;
	sw->enf.remotes_ms = now;
	return 0;
}

static struct procmap *
fresh_procs(void)
{
	struct procmap *pm = NULL;
	int r;

	if ((r = procmap_build("/proc", &pm)) < 0) {
		log_warnx("cannot read /proc: %s", strerror(-r));
		return NULL;
	}
	return pm;
}

/*
 * Does peer hold an established TCP session to a protected process
 * (sshd) that started before since_ms? The socket table is at most one
 * scan interval old: a session younger than that is no older than the
 * attack anyway. *ret_socks counts the peer's sockets in the table.
 */
static bool
holds_protected(struct sw *sw, const struct cidr *peer, int64_t since_ms,
    size_t *ret_socks, char *who, size_t wholen)
{
	struct proc_owner o[SOCKJSON_OWNERS_MAX];
	struct procmap *pm = NULL;
	const struct sock_info *s;
	size_t i, j, n, socks = 0;
	int64_t started;
	bool found = false;

	/* Most peers have no socket here: one lookup says so. */
	if (cidr_is_host(peer) && remote_set(sw) == 0 &&
	    !prefixset_contains(sw->enf.remotes, &peer->addr, NULL)) {
		*ret_socks = 0;
		return false;
	}
	for (i = 0; i < socktable_count(sw->table); i++) {
		s = socktable_at(sw->table, i);
		if (s->family == AF_UNIX || !cidr_contains(peer, &s->raddr))
			continue;
		socks++;
		if (found || sw->cfg->bans.nprotect == 0 ||
		    s->proto != IPPROTO_TCP || s->state != TCP_ESTABLISHED)
			continue;
		if (pm == NULL && (pm = fresh_procs()) == NULL)
			continue;
		n = procmap_lookup(pm, s->inode, o, SOCKJSON_OWNERS_MAX);
		for (j = 0; j < n && j < SOCKJSON_OWNERS_MAX && !found; j++) {
			if (!is_protected_session(sw, &o[j], s) ||
			    proc_start_time_ms("/proc", o[j].pid,
			    &started) < 0 || started >= since_ms)
				continue;
			found = true;
			snprintf(who, wholen, "%s[%d] on port %u", o[j].comm,
			    (int)o[j].pid, s->lport);
		}
	}
	procmap_free(pm);
	*ret_socks = socks;
	return found;
}

/* Does peer hold a logged-in session to a protected program now, of any
 * age? (The failed logins the packets show are then its own session's
 * late answers: inspect.c.) */
bool
enforce_logged_in(struct sw *sw, const struct addr *peer, char *who,
    size_t wholen)
{
	struct cidr c;
	size_t socks;

	host_cidr(peer, &c);
	return holds_protected(sw, &c, time_now_ms() + 1, &socks, who,
	    wholen);
}

/* End the peer's sockets; record how many and who held them. When the
 * socket table knows some (known), the owners are looked up first: a
 * process may close an ended socket at once. */
static void
teardown(struct sw *sw, struct ban *b, bool known)
{
	struct proc_owner o;
	struct socklist killed = { 0 };
	struct procmap *pm;
	size_t i, off = 0;
	int r;

	pm = known ? fresh_procs() : NULL;
	r = sockdiag_destroy_peer(sw->sd, &b->peer, &killed);
	if (r < 0) {
		log_warnx("cannot end the connections of a banned peer: %s",
		    sockdiag_error(sw->sd));
		sw->enf.n.kill_errors++;
	}
	b->sockets_closed += (uint32_t)killed.n;
	sw->enf.n.sockets_closed += killed.n;
	if (pm == NULL && killed.n > 0)
		pm = fresh_procs();	/* late: the owner may be gone */
	for (i = 0; pm != NULL && i < killed.n; i++) {
		if (procmap_lookup(pm, killed.v[i].inode, &o, 1) == 0)
			continue;
		if (strstr(b->procs, o.comm) != NULL)
			continue;
		off = strlen(b->procs);
		if (off + strlen(o.comm) + 16 >= sizeof(b->procs))
			break;
		snprintf(b->procs + off, sizeof(b->procs) - off, "%s%s[%d]",
		    off > 0 ? "," : "", o.comm, (int)o.pid);
	}
	procmap_free(pm);
	socklist_free(&killed);
}

/* ---- deciding and queueing bans ---------------------------------------- */

static enum ban_refusal
check(struct sw *sw, const struct cidr *peer, bool protected_session)
{
	int64_t now = time_mono_ms();
	struct addr *own = NULL;
	size_t nown = 0;

	/* The host's addresses, re-read at most every ENFORCE_CACHE_MS: a
	 * list of 100,000 blocks must not ask the kernel 100,000 times. */
	if (sw->enf.own == NULL || now - sw->enf.own_ms >= ENFORCE_CACHE_MS) {
		if (localaddr_list(&own, &nown) == 0) {
			free(sw->enf.own);
			sw->enf.own = own;
			sw->enf.nown = nown;
			sw->enf.own_ms = now;
		} else if (sw->enf.own == NULL)
			sw->enf.nown = 0;
	}
	return bans_check(peer, sw->enf.own, sw->enf.nown,
	    sw->cfg->allow.peers, sw->cfg->allow.npeers, protected_session);
}

static int
queue(struct sw *sw, const struct ban *b, uint64_t length_ms, bool kill,
    bool replace)
{
	struct enforce_pending *p;
	size_t cap;

	if (sw->enf.npending == sw->enf.cappending) {
		cap = sw->enf.cappending ? sw->enf.cappending * 2 : 64;
		p = reallocarray(sw->enf.pending, cap, sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		sw->enf.pending = p;
		sw->enf.cappending = cap;
	}
	p = &sw->enf.pending[sw->enf.npending++];
	p->ban = *b;
	p->length_ms = length_ms;
	p->kill = kill;
	p->replace = replace;
	return 0;
}

static void
ban_event(struct sw *sw, const char *type, const struct ban *b)
{
	json_t *j;

	if (export_nsubscribers(sw) == 0)
		return;
	if ((j = enforce_ban_json(b, time_steady_ms())) != NULL)
		commands_event(sw, type, j);
}

/* A new ban in memory and in the queue for the store and the kernel. */
static int
ban_new(struct sw *sw, const struct cidr *peer, const char *source,
    const char *reason, uint64_t base_ms, bool permanent, bool escalate,
    bool kill, struct ban *ret)
{
	struct ban b;
	uint64_t len;
	int64_t now = time_steady_ms();
	bool replace = bans_get(sw->enf.bans, peer) != NULL;
	int r;

	memset(&b, 0, sizeof(b));
	b.peer = *peer;
	snprintf(b.source, sizeof(b.source), "%s", source);
	snprintf(b.reason, sizeof(b.reason), "%s", reason);
	b.created_ms = now;
	len = bans_length(sw->enf.bans, peer, base_ms, now, &b.count);
	if (!escalate)
		len = base_ms ? base_ms : sw->cfg->bans.default_ms;
	b.expires_ms = permanent ? 0 : now + (int64_t)len;
	if ((r = bans_put(sw->enf.bans, &b)) < 0 ||
	    (r = queue(sw, &b, permanent ? 0 : len, kill, replace)) < 0)
		return r;
	sw->enf.n.bans++;
	if (ret != NULL)
		*ret = b;
	return 0;
}

/* Prefix bans share an interval set, where the kernel refuses overlaps:
 * does prefix peer overlap another banned prefix (not itself)? */
static bool
prefix_overlaps(const struct sw *sw, const struct cidr *peer,
    struct cidr *ret_other)
{
	const struct ban *b;
	size_t i;

	if (cidr_is_host(peer))
		return false;
	for (i = 0; i < bans_count(sw->enf.bans); i++) {
		b = bans_at(sw->enf.bans, i);
		if (cidr_is_host(&b->peer) ||
		    b->peer.addr.family != peer->addr.family ||
		    (b->peer.len == peer->len &&
		    addr_equal(&b->peer.addr, &peer->addr)))
			continue;
		if (cidr_contains(&b->peer, &peer->addr) ||
		    cidr_contains(peer, &b->peer.addr)) {
			*ret_other = b->peer;
			return true;
		}
	}
	return false;
}

static void maybe_aggregate(struct sw *sw, const struct addr *a);

/*
 * Does peer (a host or a prefix) overlap what the host cannot do
 * without: a default gateway, a resolver, link-local, or [bans]
 * protect_peers? The routing table and resolv.conf are read again every
 * ENFORCE_INFRA_MS. why says which, for a message.
 */
static bool
infra_protects(struct sw *sw, const struct cidr *peer, char *why,
    size_t whylen)
{
	static const struct infra_paths paths = INFRA_PATHS_DEFAULT;
	int64_t now = time_mono_ms();
	struct infra_entry *v;
	char buf[ADDR_STRLEN];
	const struct cidr *c;
	size_t i, n;

	if (sw->enf.infra_ms == 0 || now - sw->enf.infra_ms >=
	    ENFORCE_INFRA_MS) {
		if (infra_list(&paths, &v, &n) == 0) {
			free(sw->enf.infra);
			sw->enf.infra = v;
			sw->enf.ninfra = n;
		}
		sw->enf.infra_ms = now;
	}
	for (i = 0; i < sw->enf.ninfra + sw->cfg->bans.nprotect_peers; i++) {
		c = i < sw->enf.ninfra ? &sw->enf.infra[i].net :
		    &sw->cfg->bans.protect_peers[i - sw->enf.ninfra];
		if (!cidr_contains(c, &peer->addr) &&
		    !cidr_contains(peer, &c->addr))
			continue;
		snprintf(why, whylen, "%s (%s)", i < sw->enf.ninfra ?
		    infra_kind_name(sw->enf.infra[i].kind) :
		    "in [bans] protect_peers", cidr_format(c, buf,
		    sizeof(buf)));
		return true;
	}
	return false;
}

/* A token for one automatic ban, [bans] rate a second (a second's worth
 * at once): a spoofed flood through a blocking detector must not turn
 * into a storm of bans. */
static bool
ban_rate_pass(struct sw *sw)
{
	return tokens_take(&sw->enf.ban_tokens, sw->cfg->bans.rate,
	    sw->cfg->bans.rate, time_mono_ms());
}

/* An automatic ban refused: the alert says why, and so does the log. */
static void
refuse_auto(struct sw *sw, struct alert *a, const char *why)
{
	char buf[ADDR_STRLEN];

	snprintf(a->action, sizeof(a->action), "alert");
	json_object_set_new(a->evidence, "not_banned", json_string(why));
	sw->enf.n.refused++;
	log_info("not banning %s: %s", addr_format(&a->peer, buf,
	    sizeof(buf)), why);
}

/*
 * An alert asks for a block. Decide now (so the alert says what
 * happened), ban in the next flush. Evidence gets "ban": the length, or
 * "not_banned": the reason.
 */
void
enforce_alert(struct sw *sw, struct alert *a)
{
	char who[96] = "", why[160], buf[ADDR_STRLEN];
	const json_t *v;
	struct cidr peer;
	enum ban_refusal ref;
	uint64_t base = 0, window = 0, len;
	size_t socks = 0;
	bool prot;
	const struct ban *cur;

	/* A [connect] destination is blocked by its own set already. */
	if (sw->enf.bans == NULL || strcmp(a->action, "block") != 0 ||
	    strcmp(a->kind, "connect") == 0)
		return;
	/* A flood from many sources names nobody to ban: the alert must
	 * not say it blocked. */
	if (!a->has_peer) {
		snprintf(a->action, sizeof(a->action), "alert");
		json_object_set_new(a->evidence, "not_banned", json_string(
		    "no single peer: the sources are many, likely spoofed"));
		return;
	}
	host_cidr(&a->peer, &peer);
	/* Seconds, whole or not (json_seconds). */
	if ((v = json_object_get(a->evidence, "ban")) != NULL &&
	    json_is_number(v) && json_number_value(v) > 0)
		base = (uint64_t)(json_number_value(v) * 1000 + 0.5);
	if ((v = json_object_get(a->evidence, "window")) != NULL &&
	    json_is_number(v) && json_number_value(v) > 0)
		window = (uint64_t)(json_number_value(v) * 1000 + 0.5);
	/* Already banned (a repeat alert from packets still in flight). */
	if ((cur = bans_get(sw->enf.bans, &peer)) != NULL &&
	    (cur->expires_ms == 0 || cur->expires_ms > time_steady_ms())) {
		json_object_set_new(a->evidence, "banned_until",
		    cur->expires_ms ? json_integer(time_steady_to_wall(
		    cur->expires_ms) / 1000) : json_null());
		return;
	}
	if (bans_count(sw->enf.bans) >= ENFORCE_AUTO_MAX) {
		json_object_set_new(a->evidence, "not_banned", json_string(
		    "the ban table is full"));
		snprintf(a->action, sizeof(a->action), "alert");
		if (sw->enf.n.refused++ % 10000 == 0)
			log_warnx("%zu bans in force: no more automatic bans",
			    bans_count(sw->enf.bans));
		sw->enf.held_full++;
		return;
	}
	prot = holds_protected(sw, &peer, a->time_ms - (int64_t)window,
	    &socks, who, sizeof(who));
	ref = check(sw, &peer, prot);
	if (ref != BAN_OK) {
		snprintf(why, sizeof(why), "%s%s%s", ban_refusal_reason(ref),
		    who[0] ? ": " : "", who);
		refuse_auto(sw, a, why);
		return;
	}
	/* Its probes likely came from someone else: banning the address
	 * would do the attacker's work (nmap -D, -S). */
	if ((v = json_object_get(a->evidence, "spoof_suspected")) != NULL) {
		snprintf(why, sizeof(why), "spoof suspected: %s",
		    json_is_string(v) ? json_string_value(v) : "?");
		refuse_auto(sw, a, why);
		sw->enf.n.spoofed++;
		return;
	}
	if (infra_protects(sw, &peer, who, sizeof(who))) {
		snprintf(why, sizeof(why), "protected: %s", who);
		refuse_auto(sw, a, why);
		return;
	}
	if (!ban_rate_pass(sw)) {
		snprintf(why, sizeof(why), "held back: more than %u automatic "
		    "bans a second ([bans] rate)", sw->cfg->bans.rate);
		refuse_auto(sw, a, why);
		sw->enf.n.rate_limited++;
		sw->enf.held_rate++;
		return;
	}
	if (ban_new(sw, &peer, a->kind, a->message, base, false, true,
	    sw->cfg->bans.kill_connections && socks > 0, NULL) < 0) {
		log_warnx("out of memory: %s not banned",
		    addr_format(&a->peer, buf, sizeof(buf)));
		return;
	}
	cur = bans_get(sw->enf.bans, &peer);
	if (cur != NULL) {
		len = (uint64_t)(cur->expires_ms - cur->created_ms);
		json_object_set_new(a->evidence, "ban", len % 1000 == 0 ?
		    json_integer((json_int_t)(len / 1000)) :
		    json_real((double)len / 1000.0));
	}
	maybe_aggregate(sw, &a->peer);
}

static void
maybe_aggregate(struct sw *sw, const struct addr *a)
{
	char reason[BAN_REASON_MAX], buf[ADDR_STRLEN], obuf[ADDR_STRLEN];
	char why[96];
	struct cidr prefix, other;
	enum ban_refusal ref;

	if (!bans_aggregate(sw->enf.bans, a, &prefix))
		return;
	if ((ref = check(sw, &prefix, false)) != BAN_OK) {
		log_info("not banning %s (its banned hosts reached the "
		    "threshold): %s", cidr_format(&prefix, buf, sizeof(buf)),
		    ban_refusal_reason(ref));
		return;
	}
	if (infra_protects(sw, &prefix, why, sizeof(why))) {
		log_info("not banning %s (its banned hosts reached the "
		    "threshold): it holds %s", cidr_format(&prefix, buf,
		    sizeof(buf)), why);
		return;
	}
	if (prefix_overlaps(sw, &prefix, &other)) {
		log_info("not banning %s (its banned hosts reached the "
		    "threshold): it overlaps the banned prefix %s",
		    cidr_format(&prefix, buf, sizeof(buf)),
		    cidr_format(&other, obuf, sizeof(obuf)));
		return;
	}
	snprintf(reason, sizeof(reason), "at least %u hosts of %s banned",
	    sw->cfg->bans.aggregate_threshold, cidr_format(&prefix, buf,
	    sizeof(buf)));
	if (ban_new(sw, &prefix, "aggregate", reason, 0, false, true,
	    sw->cfg->bans.kill_connections, NULL) == 0)
		log_info("banning %s: %s", buf, reason);
}

/* The database's queue written on a thread of its own while the loop's
 * thread sends the kernel its batch (and, after enforce_flush_ahead,
 * checks the next bans): the loop's thread touches neither the store
 * nor the queue until it has joined it (writer_join). */
struct store_job {
	pthread_t tid;
	struct store *st;
	const struct store_ban_op *op;
	size_t n;
	int r;
};

static void *
store_job_run(void *arg)
{
	struct store_job *j = arg;

	j->r = store_ban_apply(j->st, j->op, j->n);
	return NULL;
}

/* Start writing the database's queue on a thread; false when it cannot
 * (the caller writes it itself). */
static bool
writer_start(struct sw *sw)
{
	struct store_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return false;
	*j = (struct store_job){ .st = sw->store, .op = sw->banq.op,
	    .n = sw->banq.n };
	if (pthread_create(&j->tid, NULL, store_job_run, j) != 0) {
		free(j);
		return false;
	}
	sw->enf.writer = j;
	return true;
}

/* Wait for the database write, if one runs, and take its outcome. */
static void
writer_join(struct sw *sw)
{
	struct store_job *j = sw->enf.writer;

	if (j == NULL)
		return;
	pthread_join(j->tid, NULL);
	sw->enf.writer = NULL;
	banq_done(sw, j->r, j->n, time_mono_ms());
	free(j);
}

/* The queued entry's ban as the table has it now, or NULL when it was
 * lifted, expired or replaced by a newer ban since it was queued. */
static const struct ban *
pending_current(const struct sw *sw, const struct enforce_pending *p)
{
	const struct ban *cur = bans_get(sw->enf.bans, &p->ban.peer);

	return cur != NULL && cur->created_ms == p->ban.created_ms ? cur :
	    NULL;
}

/* enforce_flush's arrays for n bans, in one block kept between flushes
 * (up to ENFORCE_SCRATCH_KEEP): a list blocked 2,000 at a time would
 * otherwise fault in fresh pages for every request. */
static int
flush_scratch(struct sw *sw, size_t n, struct ban **bs, uint64_t **lens,
    struct nft_elem **e, size_t **idx)
{
	const size_t each = sizeof(**bs) + sizeof(**lens) + sizeof(**e) +
	    sizeof(**idx);
	uint8_t *p;

	_Static_assert(sizeof(struct ban) % 8 == 0 &&
	    sizeof(struct nft_elem) % 8 == 0, "8-byte aligned arrays");
	if (n > sw->enf.scratch_cap) {
		if ((p = reallocarray(sw->enf.scratch, n, each)) == NULL)
			return -ENOMEM;
		sw->enf.scratch = p;
		sw->enf.scratch_cap = n;
	}
	p = sw->enf.scratch;
	*bs = (struct ban *)p;
	*e = (struct nft_elem *)(p + n * sizeof(**bs));
	*lens = (uint64_t *)(p + n * (sizeof(**bs) + sizeof(**e)));
	*idx = (size_t *)(p + n * (sizeof(**bs) + sizeof(**e) +
	    sizeof(**lens)));
	memset(*e, 0, n * sizeof(**e));
	return 0;
}

static void
flush_scratch_trim(struct sw *sw)
{
	if (sw->enf.scratch_cap <= ENFORCE_SCRATCH_KEEP)
		return;
	free(sw->enf.scratch);
	sw->enf.scratch = NULL;
	sw->enf.scratch_cap = 0;
}

/* Send the queued bans to the kernel in one batch and queue their
 * database writes (banq.c; for a big flush written at the same time as
 * the kernel's batch), then end their sockets. Each is taken from the
 * ban table as it is now: a ban lifted meanwhile is dropped, one
 * replaced meanwhile goes with its successor. The kernel comes first: a
 * database that refuses the writes changes nothing here. ahead: a big
 * flush's database write may still run when this returns. */
static void
flush(struct sw *sw, bool ahead)
{
	struct enforce_pending *p = sw->enf.pending;
	size_t n = sw->enf.npending, i, m = 0;
	const struct ban *cur;
	struct nft_elem *e;
	struct ban *bs, upd;
	uint64_t *lens;
	size_t *idx;
	char buf[ADDR_STRLEN], len[32];
	int64_t now = time_steady_ms();
	size_t nnew = 0, nold = 0;
	bool due, threaded;
	int rn = 0;

	writer_join(sw);
	if (n == 0 || flush_scratch(sw, n, &bs, &lens, &e, &idx) < 0)
		return;
	/* New peers first in e, then the replaced ones from the end. */
	for (i = 0; i < n; i++) {
		struct nft_elem *x;

		if ((cur = pending_current(sw, &p[i])) == NULL)
			continue;
		idx[m] = i;
		bs[m] = *cur;
		lens[m++] = p[i].length_ms;
		banq_put(sw, cur, p[i].length_ms);
		x = p[i].replace ? &e[n - ++nold] : &e[nnew++];
		x->peer = cur->peer;
		x->timeout_ms = cur->expires_ms == 0 ? 0 :
		    cur->expires_ms > now ?
		    (uint64_t)(cur->expires_ms - now) : 1;
	}
	due = sw->banq.n > 0 && time_mono_ms() >= sw->banq.next_ms;
	threaded = due && sw->banq.n >= ENFORCE_PARALLEL && writer_start(sw);
	if (enforce_active(sw)) {
		sw->enf.changes++;
		if (m >= ENFORCE_UNHEARD && sw->enf.mon != NULL)
			(void)nft_monitor_pause(sw->enf.mon, sw->enf.nft);
		if (nft_ban_add(sw->enf.nft, e, nnew) < 0)
			rn = -1;
		if (nft_ban_replace(sw->enf.nft, e + n - nold, nold) < 0)
			rn = -1;
		/* Also after a small flush: a join that failed is tried
		 * again (and what went unheard meanwhile checked). */
		if (sw->enf.mon != NULL)
			monitor_resume(sw);
	}
	sw->enf.flush_failed = rn < 0;
	if (rn < 0 && ahead)
		sw->enf.ahead_failed = true;
	if (rn < 0) {
		sw->enf.n.nft_errors++;
		sw->enf.retry = true;
		log_warnx("nftables: %s (retrying)", nft_error(sw->enf.nft));
	}
	if (due && !threaded)
		(void)banq_write(sw);
	else if (!ahead)
		writer_join(sw);
	for (i = 0; i < m; i++) {
		struct enforce_pending *q = &p[idx[i]];

		if (enforce_active(sw) && (q->kill || m <= ENFORCE_KILL_ALL) &&
		    sw->cfg->bans.kill_connections) {
			teardown(sw, &bs[i], q->kill);
			/* Only the counts and names change: into the ban
			 * as it is now. */
			if (bs[i].sockets_closed > 0 &&
			    (cur = pending_current(sw, q)) != NULL) {
				upd = *cur;
				upd.sockets_closed = bs[i].sockets_closed;
				memcpy(upd.procs, bs[i].procs,
				    sizeof(upd.procs));
				bans_put(sw->enf.bans, &upd);
				writer_join(sw);
				banq_put(sw, &upd, lens[i]);
			}
		}
		if (m <= ENFORCE_LOG_EACH || bs[i].sockets_closed > 0)
			log_info("banned %s for %s: %s%s%s",
			    cidr_format(&bs[i].peer, buf, sizeof(buf)),
			    bs[i].expires_ms ? duration_format(lens[i], len,
			    sizeof(len)) : "ever", bs[i].reason,
			    bs[i].sockets_closed ? "; connections ended: " :
			    "", bs[i].procs);
		ban_event(sw, "ban", &bs[i]);
	}
	if (m > ENFORCE_LOG_EACH)
		log_info("banned %zu peers (%s, ...)", m, bs[0].reason);
	sw->enf.npending = 0;
	if (sw->enf.writer == NULL && banq_pending(sw) > 0 &&
	    sw->banq.delay_ms == 0)
		(void)banq_write(sw);	/* the sockets' counts */
	flush_scratch_trim(sw);
}

void
enforce_flush(struct sw *sw)
{
	flush(sw, false);
}

void
enforce_flush_ahead(struct sw *sw)
{
	if (sw->enf.npending >= ENFORCE_AHEAD)
		flush(sw, true);
}

/* ---- manual blocks ------------------------------------------------------ */

/* The anti-lockout checks a ban not decided here goes through: no
 * overlap with a banned prefix; not infrastructure nor in [bans]
 * protect_peers (unless force); not ours, not [allow]ed, not holding a
 * protected session (unless force). *ret_socks: its sockets here. */
static int
block_allowed(struct sw *sw, const struct cidr *in, bool force,
    size_t *ret_socks, char *err, size_t errlen)
{
	char who[96] = "", buf[ADDR_STRLEN], obuf[ADDR_STRLEN];
	struct cidr other, key, *peer = &key;
	enum ban_refusal ref;
	bool prot;

	/* Checked as it is banned: an IPv4-mapped prefix (::ffff:a.b.c.0/120,
	 * as a CrowdSec decision may say) as IPv4, or it would miss the
	 * IPv4 gateway it holds, a session from an address inside it, and
	 * the IPv4 prefixes it overlaps. */
	if (bans_key(in, &key) < 0) {
		snprintf(err, errlen, "refusing to block %s: not an address",
		    cidr_format(in, buf, sizeof(buf)));
		return -EINVAL;
	}
	if (prefix_overlaps(sw, peer, &other)) {
		snprintf(err, errlen, "refusing to block %s: it overlaps the "
		    "banned prefix %s (unblock that first)",
		    cidr_format(peer, buf, sizeof(buf)),
		    cidr_format(&other, obuf, sizeof(obuf)));
		return -EEXIST;
	}
	if (!force && infra_protects(sw, peer, who, sizeof(who))) {
		snprintf(err, errlen, "refusing to block %s: it is %s; use "
		    "--force to block anyway", cidr_format(peer, buf,
		    sizeof(buf)), who);
		return -EPERM;
	}
	prot = holds_protected(sw, peer, time_now_ms(), ret_socks, who,
	    sizeof(who));
	ref = check(sw, peer, prot && !force);
	if (ref != BAN_OK) {
		snprintf(err, errlen, "refusing to block %s: %s%s%s%s",
		    cidr_format(peer, buf, sizeof(buf)),
		    ban_refusal_reason(ref), who[0] && ref == BAN_PROTECTED ?
		    " (" : "", ref == BAN_PROTECTED ? who : "",
		    ref == BAN_PROTECTED ? "); use --force to block anyway" :
		    "");
		return -EPERM;
	}
	return 0;
}

int
enforce_block(struct sw *sw, const struct cidr *peer, uint64_t length_ms,
    bool permanent, const char *reason, bool force, struct ban *ret,
    char *err, size_t errlen)
{
	size_t socks = 0;
	int r;

	if (sw->enf.bans == NULL) {
		snprintf(err, errlen, "bans are off in this daemon (--replay)");
		return -ENOTSUP;
	}
	if ((r = block_allowed(sw, peer, force, &socks, err, errlen)) < 0)
		return r;
	r = ban_new(sw, peer, "manual", reason && *reason ? reason :
	    "blocked by an administrator", length_ms, permanent, false,
	    socks > 0, ret);
	if (r < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	return 0;
}

/* Within this of the ban in force, a decision sent again is not a new
 * ban (a stream read again from its start after a restart). */
#define ENFORCE_SAME_MS		5000

int
enforce_block_from(struct sw *sw, const struct cidr *peer,
    uint64_t length_ms, const char *source, const char *reason, char *err,
    size_t errlen)
{
	const struct ban *cur;
	char buf[ADDR_STRLEN];
	int64_t want, now = time_steady_ms();
	size_t socks = 0;
	int r;

	if (sw->enf.bans == NULL) {
		snprintf(err, errlen, "bans are off in this daemon (--replay)");
		return -ENOTSUP;
	}
	/* Our own decision (or an administrator's) stands. */
	if ((cur = bans_get(sw->enf.bans, peer)) != NULL &&
	    strcmp(cur->source, source) != 0) {
		snprintf(err, errlen, "%s is banned already (%s)",
		    cidr_format(peer, buf, sizeof(buf)), cur->source);
		return -EALREADY;
	}
	want = now + (int64_t)length_ms;
	if (cur != NULL && cur->expires_ms != 0 &&
	    llabs(cur->expires_ms - want) < ENFORCE_SAME_MS)
		return -EALREADY;
	if (cur == NULL && bans_count(sw->enf.bans) >= ENFORCE_FROM_MAX) {
		snprintf(err, errlen, "%s not banned: %zu bans in force, the "
		    "rest is the detectors'", cidr_format(peer, buf,
		    sizeof(buf)), bans_count(sw->enf.bans));
		return -ENOSPC;
	}
	if ((r = block_allowed(sw, peer, false, &socks, err, errlen)) < 0)
		return r;
	r = ban_new(sw, peer, source, reason, length_ms, false, false,
	    socks > 0, NULL);
	if (r < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	return 0;
}

int
enforce_lift_from(struct sw *sw, const struct cidr *peers, size_t n,
    const char *source, size_t *ret_lifted, char *err, size_t errlen)
{
	const struct ban *cur;
	struct cidr *gone;
	struct ban old;
	char buf[ADDR_STRLEN];
	size_t i, k = 0;
	int r = 0;

	*ret_lifted = 0;
	if (sw->enf.bans == NULL || n == 0)
		return 0;
	if ((gone = calloc(n, sizeof(*gone))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		cur = bans_get(sw->enf.bans, &peers[i]);
		if (cur == NULL || strcmp(cur->source, source) != 0 ||
		    bans_del(sw->enf.bans, &peers[i], &old) < 0)
			continue;
		enforce_reconcile_lifted(sw, &old.peer);
		banq_del(sw, &old.peer);
		gone[k++] = old.peer;
		if (n <= ENFORCE_LOG_EACH)
			log_info("unblocked %s (%s)", cidr_format(&old.peer,
			    buf, sizeof(buf)), source);
		ban_event(sw, "unban", &old);
	}
	if (k > 0 && enforce_active(sw)) {
		sw->enf.changes++;
		if ((r = nft_ban_del(sw->enf.nft, gone, k)) < 0) {
			sw->enf.n.nft_errors++;
			sw->enf.retry = true;
			snprintf(err, errlen, "nftables refused the change: %s",
			    nft_error(sw->enf.nft));
		}
	}
	if (k > ENFORCE_LOG_EACH)
		log_info("unblocked %zu peers (%s)", k, source);
	free(gone);
	*ret_lifted = k;
	return r;
}

/* Flush, and report whether the kernel holds the bans now (the
 * database may still be waiting: banq_pending). */
int
enforce_commit(struct sw *sw, char *err, size_t errlen)
{
	bool failed;

	enforce_flush(sw);
	failed = sw->enf.flush_failed || sw->enf.ahead_failed;
	sw->enf.ahead_failed = false;
	if (enforce_active(sw) && failed) {
		snprintf(err, errlen, "nftables refused the change: %s",
		    nft_error(sw->enf.nft));
		return -EIO;
	}
	return 0;
}

/* Lifted in memory and in the kernel, then queued for the database: a
 * database that refuses the write (locked, full) leaves the peer free
 * all the same, and the write is retried. */
int
enforce_unblock(struct sw *sw, const struct cidr *peer, char *err,
    size_t errlen)
{
	char buf[ADDR_STRLEN];
	struct ban old;
	int r;

	if (sw->enf.bans == NULL) {
		snprintf(err, errlen, "bans are off in this daemon (--replay)");
		return -ENOTSUP;
	}
	if (bans_del(sw->enf.bans, peer, &old) < 0) {
		snprintf(err, errlen, "%s is not banned", cidr_format(peer, buf,
		    sizeof(buf)));
		return -ENOENT;
	}
	enforce_reconcile_lifted(sw, &old.peer);
	banq_del(sw, &old.peer);
	sw->enf.changes++;
	if (enforce_active(sw) && (r = nft_ban_del(sw->enf.nft, peer, 1)) < 0) {
		sw->enf.n.nft_errors++;
		sw->enf.retry = true;
		snprintf(err, errlen, "nftables refused the change: %s",
		    nft_error(sw->enf.nft));
		return r;
	}
	log_info("unblocked %s", cidr_format(peer, buf, sizeof(buf)));
	ban_event(sw, "unban", &old);
	return 0;
}

/* ---- connect policy ----------------------------------------------------- */

/* A socket of ours towards a [connect] deny destination: end it and say
 * which process tried. Called for every new socket the scan sees. */
void
enforce_socket(struct sw *sw, const struct sock_info *s)
{
	struct proc_owner o;
	struct procmap *pm;
	struct socklist killed = { 0 };
	struct alert a;
	struct cidr peer;
	char dst[ADDR_STRLEN];

	if (sw->enf.connect == NULL || s->family == AF_UNIX ||
	    s->rport == 0 || s->state == TCP_LISTEN ||
	    !prefixset_contains(sw->enf.connect, &s->raddr, NULL))
		return;
	memset(&a, 0, sizeof(a));
	pm = fresh_procs();
	if (pm != NULL && procmap_lookup(pm, s->inode, &o, 1) > 0) {
		a.has_process = true;
		a.pid = o.pid;
		snprintf(a.comm, sizeof(a.comm), "%s", o.comm);
	}
	procmap_free(pm);
	a.uid = s->uid;
	host_cidr(&s->raddr, &peer);
	if (enforce_active(sw) && sockdiag_destroy_peer(sw->sd, &peer,
	    &killed) < 0)
		log_warnx("cannot end a denied connection: %s",
		    sockdiag_error(sw->sd));
	sw->enf.n.connect_blocked++;
	snprintf(a.kind, sizeof(a.kind), "connect");
	a.severity = ALERT_WARNING;
	a.has_peer = true;
	a.peer = s->raddr;
	a.has_local = true;
	a.local_addr = s->laddr;
	a.local_port = s->lport;
	snprintf(a.action, sizeof(a.action), "block");
	addr_format_port(&s->raddr, s->rport, dst, sizeof(dst));
	snprintf(a.message, sizeof(a.message), "%s %s (pid %d, uid %u) "
	    "connected to %s, denied by [connect]", sockdiag_proto_name(s),
	    a.has_process ? a.comm : "?", a.has_process ? (int)a.pid : 0,
	    s->uid, dst);
	a.evidence = json_pack("{s:s, s:i, s:s, s:I}", "proto",
	    sockdiag_proto_name(s), "port", s->rport, "state",
	    sockdiag_state_name(s), "sockets_closed", (json_int_t)killed.n);
	if (a.evidence == NULL)
		a.evidence = json_object();
	socklist_free(&killed);
	alerts_raise(sw, &a);
}

/* Connections to denied destinations made before we started. */
static void
enforce_existing(struct sw *sw)
{
	struct socklist l = { 0 };
	size_t i, n = socktable_count(sw->table);

	if (socklist_reserve(&l, n) < 0)
		return;
	/* Copies: raising an alert may not change the table, but ending a
	 * socket makes its destroy event change it soon after. */
	for (i = 0; i < n; i++)
		l.v[l.n++] = *socktable_at(sw->table, i);
	for (i = 0; i < l.n; i++)
		enforce_socket(sw, &l.v[i]);
	socklist_free(&l);
}

/* ---- life cycle --------------------------------------------------------- */

static void
expired(const struct ban *b, void *arg)
{
	struct sw *sw = arg;
	char buf[ADDR_STRLEN];

	banq_del(sw, &b->peer);
	sw->enf.n.expired++;
	log_info("ban of %s expired", cidr_format(&b->peer, buf,
	    sizeof(buf)));
	ban_event(sw, "unban", b);
}

static int
history_row(const struct cidr *peer, int64_t created_ms, uint64_t length_ms,
    uint32_t count, void *arg)
{
	return bans_history_add(arg, peer, time_wall_to_steady(created_ms),
	    length_ms, count);
}

/* Bans from the store, all of them: the ones that look expired by the
 * wall clock too, since the kernel's table (read next, when it is
 * there) has the last word on what is in force; what is still expired
 * then goes with the first expiry (nft_start). The store keeps wall
 * time; a ban in memory runs on steady time. */
static int
restore(struct sw *sw)
{
	struct ban *v = NULL;
	size_t n = 0, i, kept = 0;
	int64_t now = time_now_ms();
	int r;

	if (sw->store == NULL)
		return 0;
	if ((r = store_history_prune(sw->store, now - (int64_t)
	    sw->cfg->bans.recidive_window_ms)) < 0)
		log_warnx("cannot prune the ban history: %s", strerror(-r));
	r = store_history_load(sw->store, now - (int64_t)
	    sw->cfg->bans.recidive_window_ms, history_row, sw->enf.bans);
	if (r < 0)
		log_warnx("cannot read the ban history: %s", strerror(-r));
	if ((r = store_bans_load(sw->store, &v, &n)) < 0) {
		log_warnx("cannot read the bans from the database: %s",
		    strerror(-r));
		return r;
	}
	for (i = 0; i < n; i++) {
		v[i].created_ms = time_wall_to_steady(v[i].created_ms);
		if (v[i].expires_ms != 0)
			v[i].expires_ms = time_wall_to_steady(v[i].expires_ms);
		if ((r = bans_put(sw->enf.bans, &v[i])) < 0)
			break;
		kept++;
	}
	free(v);
	if (n > 0)
		log_info("read %zu bans from the database", kept);
	return r < 0 ? r : 0;
}

/* Open nftables and build our table; without it nothing is blocked but
 * bans are still decided and recorded. */
static void
nft_start(struct sw *sw, bool at_start)
{
	int r;

	if (!sw->cfg->bans.enforce) {
		/* A table left by an earlier run would keep blocking. */
		if (nft_open(&sw->enf.nft) == 0 &&
		    nft_remove(sw->enf.nft) < 0)
			log_warnx("nftables: %s", nft_error(sw->enf.nft));
		nft_close(sw->enf.nft);
		sw->enf.nft = NULL;
		log_info("[bans] enforce = no: bans are recorded, nothing is "
		    "blocked");
		return;
	}
	if ((r = nft_open(&sw->enf.nft)) < 0) {
		log_warnx("cannot open nftables (%s): nothing will be blocked",
		    strerror(-r));
		sw->enf.nft = NULL;
		return;
	}
	/* Only at start: later, the bans made since would not be in a
	 * table found then, and would be lifted. */
	if (at_start) {
		(void)enforce_reconcile_start(sw);
		bans_expire(sw->enf.bans, time_steady_ms(), expired, sw);
	}
	if (enforce_nft_setup(sw) < 0) {
		log_warnx("cannot set up table inet %s: nothing will be "
		    "blocked", NFT_TABLE_NAME);
		nft_close(sw->enf.nft);
		sw->enf.nft = NULL;
		return;
	}
	if (nft_monitor_open(&sw->enf.mon) < 0 || evloop_add(sw->loop,
	    nft_monitor_fd(sw->enf.mon), EPOLLIN, on_nft_event, sw,
	    &sw->enf.mon_src) < 0)
		log_warnx("no nftables change events: repairs wait for the "
		    "reconcile interval");
	sw->enf.next_reconcile_ms = time_mono_ms() +
	    (int64_t)sw->cfg->bans.reconcile_interval_ms;
	log_info("table inet %s ready: %zu bans in force", NFT_TABLE_NAME,
	    bans_count(sw->enf.bans));
}

int
enforce_open(struct sw *sw)
{
	struct bans_policy bp;
	int r;

	if (sw->replay != NULL)
		return 0;	/* a replayed file bans nobody */
	policy_from_config(sw->cfg, &bp);
	if ((r = bans_new(&bp, &sw->enf.bans)) < 0 ||
	    (r = connect_set_new(sw->cfg, &sw->enf.connect)) < 0)
		return r;
	/* Without the database's bans, the kernel's (read next) still
	 * protect the host. */
	if ((r = restore(sw)) < 0)
		log_warnx("starting without the database's bans: %s",
		    strerror(-r));
	nft_start(sw, true);
	(void)banq_write(sw);
	enforce_existing(sw);
	return 0;
}

void
enforce_close(struct sw *sw)
{
	enforce_flush(sw);	/* waits for a database write under way */
	banq_close(sw);
	enforce_reconcile_stop(sw);
	if (sw->enf.mon_src != NULL)
		evloop_del(sw->loop, sw->enf.mon_src);
	nft_monitor_close(sw->enf.mon);
	/* The table stays: bans outlive the daemon, and the kernel expires
	 * them on time. */
	nft_close(sw->enf.nft);
	bans_free(sw->enf.bans);
	prefixset_free(sw->enf.connect);
	prefixset_free(sw->enf.remotes);
	free(sw->enf.own);
	free(sw->enf.infra);
	free(sw->enf.pending);
	free(sw->enf.scratch);
	sw->enf.scratch = NULL;
	sw->enf.scratch_cap = 0;
	free(sw->enf.gone);
	memset(&sw->enf, 0, sizeof(sw->enf));
}

/* Automatic bans held back (the rate, the full table) are an alert of
 * their own, at most one every ENFORCE_HELD_MS: the administrator must
 * know that detectors ask for bans that are not made. */
static void
held_alert(struct sw *sw, int64_t now_mono)
{
	struct alert a;

	if ((sw->enf.held_rate == 0 && sw->enf.held_full == 0) ||
	    (sw->enf.held_ms != 0 && now_mono - sw->enf.held_ms <
	    ENFORCE_HELD_MS))
		return;
	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "bans");
	a.severity = ALERT_CRITICAL;
	snprintf(a.message, sizeof(a.message), "automatic bans held back: "
	    "%llu over [bans] rate (%u a second), %llu with the ban table "
	    "full", (unsigned long long)sw->enf.held_rate, sw->cfg->bans.rate,
	    (unsigned long long)sw->enf.held_full);
	snprintf(a.action, sizeof(a.action), "alert");
	a.evidence = json_pack("{s:I, s:I, s:i, s:I}", "rate_limited",
	    (json_int_t)sw->enf.held_rate, "table_full",
	    (json_int_t)sw->enf.held_full, "rate", (int)sw->cfg->bans.rate,
	    "bans", (json_int_t)bans_count(sw->enf.bans));
	if (a.evidence == NULL)
		a.evidence = json_object();
	sw->enf.held_rate = sw->enf.held_full = 0;
	sw->enf.held_ms = now_mono;
	alerts_raise(sw, &a);
}

void
enforce_tick(struct sw *sw, int64_t now_mono)
{
	if (sw->enf.bans == NULL)
		return;
	enforce_flush(sw);
	held_alert(sw, now_mono);
	bans_expire(sw->enf.bans, time_steady_ms(), expired, sw);
	banq_tick(sw, now_mono);
	/* nftables was not there at start (a module still loading, say):
	 * try again every reconcile interval. */
	if (!enforce_active(sw) && sw->cfg->bans.enforce &&
	    now_mono >= sw->enf.next_reconcile_ms) {
		sw->enf.next_reconcile_ms = now_mono +
		    (int64_t)sw->cfg->bans.reconcile_interval_ms;
		nft_start(sw, false);
	}
	if (!enforce_active(sw))
		return;
	if (sw->enf.job != NULL) {
		/* A check is under way: a change seen meanwhile needs
		 * another after it. */
		if (sw->enf.repair) {
			sw->enf.repair = false;
			sw->enf.reconcile_again = true;
		}
		return;
	}
	if (sw->enf.repair) {
		sw->enf.repair = false;
		enforce_reconcile(sw, "someone changed it");
	} else if (sw->enf.retry) {
		enforce_reconcile(sw, "retrying a failed change");
	} else if (now_mono >= sw->enf.next_reconcile_ms) {
		enforce_reconcile(sw, "periodic check");
	} else
		return;
	sw->enf.next_reconcile_ms = now_mono +
	    (int64_t)sw->cfg->bans.reconcile_interval_ms;
}

/* A reload: the new lists into the kernel first (all or nothing). */
int
enforce_reconfigure(struct sw *sw, const struct config *cfg, char *err,
    size_t errlen)
{
	struct prefixset *conn = NULL;
	struct bans_policy bp, old;
	struct nft_lists l;
	struct cidr *mem = NULL;
	int r;

	if (sw->enf.bans == NULL)
		return 0;
	if (cfg->bans.enforce != sw->cfg->bans.enforce)
		log_warnx("reload: [bans] enforce changes take effect at the "
		    "next restart");
	policy_from_config(sw->cfg, &old);
	policy_from_config(cfg, &bp);
	if ((r = connect_set_new(cfg, &conn)) < 0 ||
	    (r = lists_from_config(cfg, &l, &mem)) < 0 ||
	    (r = bans_set_policy(sw->enf.bans, &bp)) < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		prefixset_free(conn);
		free(mem);
		return r;
	}
	if (enforce_active(sw) && (r = nft_set_lists(sw->enf.nft, &l)) < 0) {
		snprintf(err, errlen, "nftables refused the new lists: %s",
		    nft_error(sw->enf.nft));
		(void)bans_set_policy(sw->enf.bans, &old);
		prefixset_free(conn);
		free(mem);
		return r;
	}
	free(mem);
	prefixset_free(sw->enf.connect);
	sw->enf.connect = conn;
	return 0;
}

/* ---- output ------------------------------------------------------------- */

/* A host as an address, a prefix as a CIDR, into buf (ADDR_STRLEN). */
static void
ban_peer_text(const struct ban *b, char *buf)
{
	if (cidr_is_host(&b->peer))
		addr_format(&b->peer.addr, buf, ADDR_STRLEN);
	else
		cidr_format(&b->peer, buf, ADDR_STRLEN);
}

json_t *
enforce_ban_json(const struct ban *b, int64_t now)
{
	char peer[ADDR_STRLEN], created[TIME_RFC3339_LEN],
	    expires[TIME_RFC3339_LEN];

	ban_peer_text(b, peer);
	/* Steady time (now too) printed as the wall clock's. */
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o, s:I, s:I, s:s}",
	    "addr", peer, "reason", b->reason, "source", b->source,
	    "created", time_format_rfc3339(time_steady_to_wall(b->created_ms),
	    created, sizeof(created)),
	    "expires", b->expires_ms ? time_format_rfc3339(time_steady_to_wall(
	    b->expires_ms), expires, sizeof(expires)) : NULL,
	    "left_s", b->expires_ms == 0 ? json_null() :
	    json_integer(b->expires_ms > now ? (b->expires_ms - now + 999) /
	    1000 : 0),
	    "count", (json_int_t)b->count,
	    "sockets_closed", (json_int_t)b->sockets_closed,
	    "procs", b->procs);
}

/* A request's filter: the bans inside a prefix, or whose address holds
 * the text, as sockwatch top filters its rows. */
static bool
ban_matches(const struct ban *b, void *arg)
{
	const struct request_bans *q = arg;
	char peer[ADDR_STRLEN];

	if (q->is_cidr)
		return b->peer.addr.family == q->cidr.addr.family &&
		    b->peer.len >= q->cidr.len &&
		    cidr_contains(&q->cidr, &b->peer.addr);
	ban_peer_text(b, peer);
	return strstr(peer, q->filter) != NULL;
}

json_t *
enforce_bans_json(const struct sw *sw, const struct request_bans *q,
    size_t *ret_matched)
{
	const struct bans *bans = sw->enf.bans;
	size_t i, n = bans != NULL ? bans_count(bans) : 0;
	const struct ban **top = NULL;
	int64_t now = time_steady_ms();
	json_t *arr = json_array();

	*ret_matched = n;
	if (arr == NULL || n == 0)
		return arr;
	if (!q->sorted && q->filter == NULL) {
		for (i = 0; i < n; i++)
			json_array_append_new(arr, enforce_ban_json(
			    bans_at(bans, i), now));
		return arr;
	}
	/* A limit costs one pass and a heap of that size: a million bans
	 * are not sorted, nor sent, once a second for sockwatch top. */
	if (q->limit != 0 && q->limit < n)
		n = q->limit;
	if ((top = calloc(n, sizeof(*top))) == NULL) {
		json_decref(arr);
		return NULL;
	}
	n = bans_top(bans, q->by, q->filter != NULL ? ban_matches : NULL,
	    (void *)q, top, n, ret_matched);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, enforce_ban_json(top[i], now));
	free(top);
	return arr;
}
