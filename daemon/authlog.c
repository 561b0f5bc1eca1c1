/*
 * [bruteforce] log: sshd's authentication log as a brute-force signal.
 *
 * The parent follows the file (inotify on its directory, so a rotation
 * or a new file is seen at once; a tick as well, in case an event was
 * missed) and hands the bytes to the inspector, which parses them: the
 * lines carry what clients chose (user names), and the parent parses
 * nothing from outside. What comes back is an event (failure, login,
 * a connection that left without logging in) naming an address and
 * port. It counts only if the kernel holds, or held in the last
 * AUTHLOG_RECENT_MS, a TCP connection from that address and port to
 * one of [bruteforce] ports: a line anyone can write (logger, a user
 * name that carries a whole message) bans nobody who is not talking to
 * sshd. Then policy/authlog.c counts it, and above log_attempts within
 * the window the peer is alerted for (and banned, with action = block)
 * as the packet detectors' alerts are.
 *
 * log = journal reads sshd's entries from the journal instead: only
 * those whose trusted fields (set by journald, not by the sender) say
 * uid 0 and the program sshd, so that a line sent with logger never
 * reaches the parser; the rest goes the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "../common/duration.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "../policy/authlog.h"
#include "sockwatchd.h"

#define AUTHLOG_PEERS		4096	/* addresses counted at once */
#define AUTHLOG_RECENT		256	/* closed connections remembered */
#define AUTHLOG_RECENT_MS	30000	/* ... this long */
#define AUTHLOG_JOURNAL_MAX	4096	/* entries looked at per call */
#define AUTHLOG_CHECKS		200	/* kernel checks a second, sustained */
#define AUTHLOG_POLL_MS		1000	/* the tick's look at the file */

struct authlog_closed {
	struct addr addr;
	uint16_t rport, lport;
	int64_t ms;			/* 0: empty */
};

struct authlog {
	char *path, *dir, *base;
	int fd;				/* -1: not open (yet) */
	dev_t dev;
	ino_t ino;
	off_t off;
	/* The last bytes read, up to off: if the file no longer has them
	 * there, it was truncated and written again past off meanwhile. */
	uint8_t tail[64];
	size_t ntail;
	int ino_fd;			/* inotify, on the directory */
	struct evsource *ino_src;
	sd_journal *journal;		/* log = journal: instead of a file */
	struct evsource *journal_src;
	int64_t next_poll_ms;
	struct authlog_count *count;
	struct authlog_closed recent[AUTHLOG_RECENT];
	unsigned int nrecent;
	struct tokens checks;
	struct authlog_stats n;
};

static void journal_read(struct sw *sw);

static bool
watched(const struct sw *sw, uint16_t port)
{
	size_t i;

	for (i = 0; i < sw->cfg->bruteforce.nports; i++)
		if (sw->cfg->bruteforce.ports[i] == port)
			return true;
	return false;
}

/* Open the file; from its end when at_end (what was written before we
 * started was counted by nobody, and is not evidence now). */
static void
authlog_reopen(struct authlog *al, bool at_end)
{
	struct stat st;
	int fd;

	if ((fd = open(al->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (al->n.open_errors++ == 0)
			log_warnx("[bruteforce] log: cannot open %s: %s "
			    "(retrying)", al->path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (al->n.open_errors++ == 0)
			log_warnx("[bruteforce] log: %s is not a regular file "
			    "(retrying)", al->path);
		close(fd);
		return;
	}
	if (al->fd >= 0)
		close(al->fd);
	al->fd = fd;
	al->dev = st.st_dev;
	al->ino = st.st_ino;
	al->off = at_end ? st.st_size : 0;
	al->ntail = 0;
	al->n.open_errors = 0;
	al->n.opened++;
}

/* The old file's unended last line must not run into the new file's
 * first: end it (alone, a cut line is no message). */
static void
authlog_line_break(struct sw *sw)
{
	(void)inspect_send(sw, IPC_AUTHLOG, "\n", 1);
}

static void
authlog_keep_tail(struct authlog *al, const uint8_t *p, size_t n)
{
	size_t keep = sizeof(al->tail);

	if (n >= keep) {
		memcpy(al->tail, p + n - keep, keep);
		al->ntail = keep;
		return;
	}
	if (al->ntail + n > keep) {
		memmove(al->tail, al->tail + al->ntail + n - keep,
		    keep - n);
		al->ntail = keep - n;
	}
	memcpy(al->tail + al->ntail, p, n);
	al->ntail += n;
}

static bool
authlog_same_tail(const struct authlog *al)
{
	uint8_t now[sizeof(al->tail)];
	ssize_t n;

	if (al->ntail == 0)
		return true;
	n = pread(al->fd, now, al->ntail, al->off - (off_t)al->ntail);
	/* A read that fails says nothing: try again later. */
	return n < 0 || (n == (ssize_t)al->ntail &&
	    memcmp(now, al->tail, al->ntail) == 0);
}

/* Read what was appended, for the inspector; follow a truncation (from
 * the start again) and a rotation (the old file read to its end first,
 * then the new one from its start). */
static void
authlog_read(struct sw *sw)
{
	struct authlog *al = sw->alog;
	static uint8_t buf[IPC_AUTHLOG_MAX];
	struct stat st, now;
	ssize_t n;

	if (al->journal != NULL) {
		journal_read(sw);
		return;
	}
	if (al->fd < 0) {
		authlog_reopen(al, false);
		if (al->fd < 0)
			return;
	}
	if (!inspect_running(sw))
		return;			/* read when it is back */
	if ((fstat(al->fd, &st) == 0 && st.st_size < al->off) ||
	    !authlog_same_tail(al)) {
		al->n.truncations++;
		al->off = 0;
		al->ntail = 0;
		authlog_line_break(sw);
	}
	/* One chunk a wake-up: the inspector answers each line, and both
	 * must not write at once into full sockets (the parent would wait,
	 * and end the inspector as not reading). The rest at the next tick. */
	do
		n = pread(al->fd, buf, sizeof(buf), al->off);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		if (inspect_send(sw, IPC_AUTHLOG, buf, (size_t)n) < 0)
			return;
		al->off += n;
		al->n.bytes += (uint64_t)n;
		authlog_keep_tail(al, buf, (size_t)n);
		if ((size_t)n == sizeof(buf)) {
			al->next_poll_ms = 0;
			return;
		}
	}
	/* At the end of this file: is the name someone else's now? */
	if (stat(al->path, &now) == 0 && (now.st_ino != al->ino ||
	    now.st_dev != al->dev)) {
		authlog_reopen(al, false);
		/* Not a file we can follow (a directory, a FIFO): the old one
		 * stays, and the next look tries again. */
		if (al->ino != now.st_ino || al->dev != now.st_dev)
			return;
		al->n.rotations++;
		authlog_line_break(sw);
		authlog_read(sw);
	}
}

/* A journal field's value ("NAME=value"), or NULL. */
static const char *
journal_field(sd_journal *j, const char *name, size_t *ret_len)
{
	const void *d;
	size_t len, n = strlen(name);

	if (sd_journal_get_data(j, name, &d, &len) < 0 || len <= n ||
	    memcmp(d, name, n) != 0 || ((const char *)d)[n] != '=')
		return NULL;
	*ret_len = len - n - 1;
	return (const char *)d + n + 1;
}

/* Is the entry sshd's own (trusted fields: root, sshd's program)? */
static bool
journal_from_sshd(sd_journal *j)
{
	const char *v, *base;
	size_t len;

	if ((v = journal_field(j, "_UID", &len)) == NULL || len != 1 ||
	    v[0] != '0' || (v = journal_field(j, "_EXE", &len)) == NULL)
		return false;
	for (base = v + len; base > v && base[-1] != '/'; base--)
		;
	len -= (size_t)(base - v);
	return (len == 4 && memcmp(base, "sshd", 4) == 0) ||
	    (len == 12 && memcmp(base, "sshd-session", 12) == 0);
}

/* The journal's new sshd entries, as lines, for the inspector. Left for
 * later while it is down: the journal keeps them. */
static void
journal_read(struct sw *sw)
{
	struct authlog *al = sw->alog;
	static char buf[IPC_AUTHLOG_MAX];
	size_t off = 0, len, i;
	unsigned int k;
	const char *msg;

	if (!inspect_running(sw))
		return;
	if (sd_journal_process(al->journal) < 0)
		return;
	/* One chunk a call, as for a file (authlog_read); room is kept for
	 * the longest line, so the entry taken always fits. */
	for (k = 0; off + AUTHLOG_LINE_MAX + 1 <= sizeof(buf); k++) {
		if (k == AUTHLOG_JOURNAL_MAX ||
		    sd_journal_next(al->journal) <= 0)
			break;
		if (!journal_from_sshd(al->journal) ||
		    (msg = journal_field(al->journal, "MESSAGE", &len)) == NULL)
			continue;
		if (len >= AUTHLOG_LINE_MAX)
			continue;		/* not sshd's: it is shorter */
		/* One line each, whatever the message holds. */
		for (i = 0; i < len; i++)
			buf[off + i] = msg[i] == '\n' ? ' ' : msg[i];
		buf[off + len] = '\n';
		off += len + 1;
		al->n.bytes += len + 1;
	}
	if (off > 0)
		inspect_send(sw, IPC_AUTHLOG, buf, off);
}

static void
on_journal(void *arg, uint32_t events)
{
	(void)events;
	journal_read(arg);
}

/* log = journal: sshd's entries from now on. */
static int
journal_open(struct sw *sw, struct authlog *al)
{
	int fd, r;

	if ((r = sd_journal_open(&al->journal, SD_JOURNAL_LOCAL_ONLY |
	    SD_JOURNAL_SYSTEM)) < 0) {
		log_warnx("[bruteforce] log: cannot open the journal: %s",
		    strerror(-r));
		return r;
	}
	if ((r = sd_journal_add_match(al->journal, "_COMM=sshd", 0)) < 0 ||
	    (r = sd_journal_add_disjunction(al->journal)) < 0 ||
	    (r = sd_journal_add_match(al->journal, "_COMM=sshd-session",
	    0)) < 0 || (r = sd_journal_seek_tail(al->journal)) < 0)
		goto fail;
	/* At the last entry: the next one is new. */
	sd_journal_previous(al->journal);
	if ((fd = sd_journal_get_fd(al->journal)) < 0) {
		r = fd;
		goto fail;
	}
	if ((r = evloop_add(sw->loop, fd, EPOLLIN, on_journal, sw,
	    &al->journal_src)) < 0)
		goto fail;
	return 0;
fail:
	log_warnx("[bruteforce] log: the journal: %s", strerror(-r));
	sd_journal_close(al->journal);
	al->journal = NULL;
	return r;
}

static void
on_inotify(void *arg, uint32_t events)
{
	struct sw *sw = arg;
	struct authlog *al = sw->alog;
	char buf[4096] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	const struct inotify_event *e;
	bool ours = false;
	ssize_t n;
	char *p;

	(void)events;
	while ((n = read(al->ino_fd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)(void *)p;
			if (e->len > 0 && strcmp(e->name, al->base) == 0)
				ours = true;
			if (e->mask & IN_Q_OVERFLOW)
				ours = true;
		}
	}
	if (ours)
		authlog_read(sw);
}

int
authlog_open(struct sw *sw)
{
	const char *path = sw->cfg->bruteforce.log;
	struct authlog *al;
	char *d = NULL, *b = NULL;
	int r;

	if (path == NULL || !sw->cfg->bruteforce.enabled || sw->replay != NULL)
		return 0;
	if ((al = calloc(1, sizeof(*al))) == NULL)
		return -ENOMEM;
	al->fd = -1;
	al->ino_fd = -1;
	if ((al->path = strdup(path)) == NULL || (d = strdup(path)) == NULL ||
	    (b = strdup(path)) == NULL ||
	    (al->dir = strdup(dirname(d))) == NULL ||
	    (al->base = strdup(basename(b))) == NULL ||
	    authlog_count_new(AUTHLOG_PEERS, &al->count) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	if (strcmp(path, "journal") == 0) {
		if ((r = journal_open(sw, al)) < 0)
			goto fail;
		goto done;
	}
	if ((al->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(al->ino_fd, al->dir, IN_MODIFY | IN_CREATE |
	    IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE) < 0) {
		r = -errno;
		log_warnx("[bruteforce] log: cannot watch %s: %s", al->dir,
		    strerror(errno));
		goto fail;
	}
	if ((r = evloop_add(sw->loop, al->ino_fd, EPOLLIN, on_inotify, sw,
	    &al->ino_src)) < 0)
		goto fail;
	authlog_reopen(al, true);
done:
	free(d);
	free(b);
	sw->alog = al;
	log_info("[bruteforce] log: following %s", al->path);
	return 0;
fail:
	free(d);
	free(b);
	if (al != NULL) {
		if (al->ino_fd >= 0)
			close(al->ino_fd);
		authlog_count_free(al->count);
		free(al->path);
		free(al->dir);
		free(al->base);
		free(al);
	}
	return r;
}

void
authlog_close(struct sw *sw)
{
	struct authlog *al = sw->alog;

	if (al == NULL)
		return;
	if (al->ino_src != NULL)
		evloop_del(sw->loop, al->ino_src);
	if (al->ino_fd >= 0)
		close(al->ino_fd);
	if (al->fd >= 0)
		close(al->fd);
	if (al->journal_src != NULL)
		evloop_del(sw->loop, al->journal_src);
	if (al->journal != NULL)
		sd_journal_close(al->journal);
	authlog_count_free(al->count);
	free(al->path);
	free(al->dir);
	free(al->base);
	free(al);
	sw->alog = NULL;
}

/* A reload: follow the new file, or the same one from where we were. */
int
authlog_reload(struct sw *sw)
{
	const char *path = sw->cfg->bruteforce.log;

	if (sw->alog != NULL && path != NULL && sw->cfg->bruteforce.enabled &&
	    strcmp(path, sw->alog->path) == 0)
		return 0;
	authlog_close(sw);
	return authlog_open(sw);
}

void
authlog_tick(struct sw *sw, int64_t now_mono)
{
	struct authlog *al = sw->alog;

	if (al == NULL || now_mono < al->next_poll_ms)
		return;
	/* journald tells of new entries late (it coalesces its change
	 * notifications: 0.3-2 s measured here), and a new entry can be
	 * read at once without it: the journal is looked at every tick. */
	al->next_poll_ms = now_mono + (al->journal != NULL ? 0 :
	    AUTHLOG_POLL_MS);
	authlog_read(sw);
}

/* A TCP socket went away (a destroy notification): remember it for a
 * while if it was a client's connection to a watched port. */
void
authlog_closed(struct sw *sw, const struct sock_info *s)
{
	struct authlog *al = sw->alog;
	struct authlog_closed *c;

	if (al == NULL || s->proto != IPPROTO_TCP || s->state == TCP_LISTEN ||
	    !watched(sw, s->lport))
		return;
	c = &al->recent[al->nrecent++ % AUTHLOG_RECENT];
	c->addr = s->raddr;
	c->rport = s->rport;
	c->lport = s->lport;
	c->ms = time_mono_ms();
}

/*
 * Does the kernel hold, or did it hold lately, a TCP connection from the
 * event's address and port to a watched port? The local end is returned
 * for the alert. An IPv4 client of an IPv6 socket is IPv4-mapped there.
 */
static bool
connection_of(struct sw *sw, const struct authlog_event *ev,
    struct addr *ret_local, uint16_t *ret_lport, const char **ret_how)
{
	struct authlog *al = sw->alog;
	struct sockdiag_query q;
	struct socklist l = { 0 };
	struct addr mapped;
	const struct sock_info *s;
	bool found = false;
	size_t i;

	memset(&q, 0, sizeof(q));
	q.protos = SOCKDIAG_TCP;
	q.families = SOCKDIAG_INET4 | SOCKDIAG_INET6;
	q.states = SOCKDIAG_STATES_ALL & ~(1U << TCP_LISTEN);
	q.port = ev->port;
	mapped = ev->addr;
	if (ev->addr.family == AF_INET) {
		memset(&mapped, 0, sizeof(mapped));
		mapped.family = AF_INET6;
		mapped.u.bytes[10] = mapped.u.bytes[11] = 0xff;
		memcpy(&mapped.u.bytes[12], ev->addr.u.bytes, 4);
	}
	if (sockdiag_dump(sw->sd, &q, &l) == 0) {
		for (i = 0; i < l.n && !found; i++) {
			s = &l.v[i];
			if (s->rport != ev->port || !watched(sw, s->lport) ||
			    (!addr_equal(&s->raddr, &ev->addr) &&
			    !addr_equal(&s->raddr, &mapped)))
				continue;
			*ret_local = s->laddr;
			*ret_lport = s->lport;
			*ret_how = "open";
			found = true;
		}
	} else
		log_warnx("[bruteforce] log: %s", sockdiag_error(sw->sd));
	socklist_free(&l);
	/* sshd writes a connection's last lines before it closes it: the
	 * notification that it went may still wait unread. */
	if (!found)
		scan_events(sw);
	for (i = 0; i < AUTHLOG_RECENT && !found; i++) {
		const struct authlog_closed *c = &al->recent[i];

		if (c->ms == 0 || time_mono_ms() - c->ms > AUTHLOG_RECENT_MS ||
		    c->rport != ev->port || (!addr_equal(&c->addr,
		    &ev->addr) && !addr_equal(&c->addr, &mapped)))
			continue;
		memset(ret_local, 0, sizeof(*ret_local));
		*ret_lport = c->lport;
		*ret_how = "closed";
		found = true;
	}
	return found;
}

static void
authlog_alert(struct sw *sw, const struct authlog_event *ev,
    unsigned int count, const struct addr *local, uint16_t lport,
    const char *how)
{
	const struct config *cfg = sw->cfg;
	char pbuf[ADDR_STRLEN], wbuf[32];
	struct alert a;

	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "bruteforce");
	a.severity = ALERT_CRITICAL;
	a.has_peer = true;
	a.peer = ev->addr;
	if (local->family != 0) {
		a.has_local = true;
		a.local_addr = *local;
	}
	a.local_port = lport;
	snprintf(a.action, sizeof(a.action), "%s",
	    config_action_name(cfg->bruteforce.action));
	snprintf(a.message, sizeof(a.message), "brute force from %s on port "
	    "%u: %u failed logins in sshd's log within %s (limit %u)",
	    addr_format(&ev->addr, pbuf, sizeof(pbuf)), lport, count,
	    duration_format(cfg->bruteforce.window_ms, wbuf, sizeof(wbuf)),
	    cfg->bruteforce.log_attempts);
	a.evidence = json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:I, s:I, "
	    "s:i}",
	    "signal", "log",
	    "attempts", (int)count,
	    "attempts_limit", (int)cfg->bruteforce.log_attempts,
	    "log", cfg->bruteforce.log,
	    "last", authlog_kind_name(ev->kind),
	    "connection", how,
	    "window", (json_int_t)(cfg->bruteforce.window_ms / 1000),
	    "ban", (json_int_t)(cfg->bruteforce.ban_ms / 1000),
	    "repeats", 0);
	if (a.evidence == NULL) {
		sw->alog->n.dropped++;
		return;
	}
	sw->alog->n.alerts++;
	alerts_raise(sw, &a);
}

/* What the inspector made of a line (IPC_AUTH). */
void
authlog_event(struct sw *sw, const struct ipc_msg *m)
{
	struct authlog *al = sw->alog;
	struct authlog_event ev;
	struct addr local;
	uint16_t lport = 0;
	const char *how = NULL;
	unsigned int count;
	bool forgiven;

	if (ipc_decode_fixed(m, IPC_AUTH, &ev, sizeof(ev)) < 0 ||
	    ev.kind == 0 || ev.kind > AUTHLOG_KIND_MAX ||
	    !addr_is_unicast(&ev.addr) || al == NULL)
		return;
	al->n.events++;
	if (!tokens_take(&al->checks, AUTHLOG_CHECKS, 2 * AUTHLOG_CHECKS,
	    time_mono_ms())) {
		al->n.unchecked++;
		return;
	}
	if (!connection_of(sw, &ev, &local, &lport, &how)) {
		al->n.unverified++;
		return;
	}
	count = authlog_count_add(al->count, &ev, time_mono_ms(),
	    (int64_t)sw->cfg->bruteforce.window_ms, &forgiven);
	if (forgiven)
		al->n.forgiven++;
	if (count <= sw->cfg->bruteforce.log_attempts)
		return;
	authlog_alert(sw, &ev, count, &local, lport, how);
	/* Counted afresh from here: a ban lifted by hand while the guessing
	 * goes on is followed by another alert, not by silence. */
	authlog_count_forget(al->count, &ev.addr);
}

void
authlog_stats(const struct sw *sw, struct authlog_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (sw->alog != NULL)
		*ret = sw->alog->n;
}

/* For status: null when off. */
json_t *
authlog_json(const struct sw *sw)
{
	const struct authlog *al = sw->alog;

	if (al == NULL)
		return json_null();
	return json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "file", al->path,
	    "open", al->fd >= 0 || al->journal != NULL,
	    "bytes", (json_int_t)al->n.bytes,
	    "rotations", (json_int_t)al->n.rotations,
	    "truncations", (json_int_t)al->n.truncations,
	    "events", (json_int_t)al->n.events,
	    "unverified", (json_int_t)al->n.unverified,
	    "unchecked", (json_int_t)al->n.unchecked,
	    "forgiven", (json_int_t)al->n.forgiven,
	    "alerts", (json_int_t)al->n.alerts);
}
