/* The control socket: a Unix stream listener, JSON lines, SO_PEERCRED.
 *
 * Every client has an input buffer bounded by max_line + 1 bytes and an
 * output buffer written with non-blocking sends. A client whose unsent
 * output passes CONTROL_OUT_LOWAT is not read from (and its buffered
 * requests wait) until it catches up, so a pipelining client cannot make
 * us queue responses without bound. Subscribers are not waited for: one
 * whose unsent output would pass max_outbuf is dropped. */
#define _GNU_SOURCE		/* accept4, struct ucred */

#include "../common/util.h"
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"

#define CONTROL_BACKLOG		64
#define CONTROL_IN_MIN		4096
#define CONTROL_OUT_LOWAT	(64 * 1024)	/* stop reading above this */
#define CONTROL_OUT_KEEP	(64 * 1024)	/* free larger idle buffers */
#define CONTROL_PAUSE_MS	1000		/* accept pause after EMFILE */
#define CONTROL_LOG_MS		10000		/* one warning per kind per 10s */
#define CONTROL_NSS_MAX		(1024 * 1024)	/* getpw*_r buffer bound */

struct ratelimit {
	int64_t next_ms;
	unsigned long suppressed;
};

struct control_client {
	struct control		*ctl;
	struct control_client	*prev, *next;
	int			 fd;
	struct evsource		*src;
	uint32_t		 events;	/* what epoll watches now */
	uid_t			 uid;
	pid_t			 pid;
	enum control_role	 role;
	bool			 subscribed;
	bool			 eof;		/* peer shut its write side */
	bool			 doomed;	/* close once output is sent */
	bool			 busy;		/* inside its own callback */
	bool			 closed;	/* fd gone; free when !busy */
	bool			 waiting;	/* for a deferred answer */
	const char		*line;		/* the request being handled */
	size_t			 linelen;
	uint64_t		 id;		/* unique for the daemon's life */
	char			*in;
	size_t			 inlen, incap;
	size_t			 scanned;	/* leading bytes without '\n' */
	char			*out;
	size_t			 outoff, outlen, outcap;
};

struct control {
	struct evloop		*loop;
	int			 fd;
	struct evsource		*src;
	int			 pausefd;	/* timerfd: resume accepting */
	struct evsource		*pausesrc;
	bool			 paused;
	char			*path;
	dev_t			 dev;		/* of the socket file we made */
	ino_t			 ino;
	char			*group;
	gid_t			 gid;
	unsigned int		 max_clients;
	size_t			 max_line, max_outbuf;
	control_handler		 fn;
	void			*arg;
	char			**reader;	/* NULL-terminated */
	uint64_t		 next_id;
	bool			 (*is_reader)(void *, uid_t);
	void			*is_reader_arg;
	struct control_client	*clients;
	unsigned int		 nclients, nsubscribers;
	struct control_stats	 stats;
	struct ratelimit	 rl_refused, rl_dropped, rl_accept;
};

const int control_defer_token;

static const char control_err_perm[] =
    "{\"ok\":false,\"error\":\"permission denied\"}\n";
static const char control_err_full[] =
    "{\"ok\":false,\"error\":\"too many clients\"}\n";
static const char control_err_internal[] =
    "{\"ok\":false,\"error\":\"internal error\"}\n";

static void client_close(struct control_client *c);

/* True at most once per CONTROL_LOG_MS; *ret_n is how many were
 * suppressed since the last time. */
static bool
ratelimit_pass(struct ratelimit *rl, unsigned long *ret_n)
{
	int64_t now = time_mono_ms();

	if (now < rl->next_ms) {
		rl->suppressed++;
		return false;
	}
	*ret_n = rl->suppressed;
	rl->suppressed = 0;
	rl->next_ms = now + CONTROL_LOG_MS;
	return true;
}

/* " (N more suppressed)" when N > 0, else "". */
static const char *
ratelimit_note(char *buf, size_t len, unsigned long n)
{
	if (n == 0)
		return "";
	snprintf(buf, len, " (%lu more suppressed)", n);
	return buf;
}

/* ---- requests ---------------------------------------------------------- */

int
control_parse_request(const char *line, size_t len, json_t **ret_req,
    const char **ret_cmd, const char **ret_error)
{
	json_error_t jerr;
	json_t *req, *cmd;

	*ret_req = NULL;
	*ret_cmd = NULL;
	*ret_error = NULL;
	/* DECODE_ANY so that "42" is "not an object" rather than a syntax
	 * error; trailing data after the value is rejected by default. */
	req = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (req == NULL) {
		*ret_error = "invalid JSON";
		return -EINVAL;
	}
	if (!json_is_object(req)) {
		*ret_error = "request must be a JSON object";
		goto bad;
	}
	if ((cmd = json_object_get(req, "cmd")) == NULL) {
		*ret_error = "missing \"cmd\"";
		goto bad;
	}
	if (!json_is_string(cmd)) {
		*ret_error = "\"cmd\" must be a string";
		goto bad;
	}
	*ret_req = req;
	*ret_cmd = json_string_value(cmd);
	return 0;
bad:
	json_decref(req);
	return -EINVAL;
}

/* May a reader run cmd? Only what the list names (none without one). */
static bool
control_reader_may(const struct control *ctl, const char *cmd)
{
	char **p;

	if (ctl->reader == NULL)
		return false;
	for (p = ctl->reader; *p != NULL; p++)
		if (strcmp(*p, cmd) == 0)
			return true;
	return false;
}

/* ---- output ------------------------------------------------------------ */

static size_t
client_pending(const struct control_client *c)
{
	return c->outlen - c->outoff;
}

/* Watch for input only while we would act on it, for output only while
 * some is pending. */
static void
client_update(struct control_client *c)
{
	uint32_t want = 0;
	int r;

	if (!c->eof && !c->doomed && !c->waiting &&
	    client_pending(c) < CONTROL_OUT_LOWAT)
		want |= EPOLLIN;
	if (client_pending(c) > 0)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	if ((r = evloop_mod(c->ctl->loop, c->src, want)) < 0) {
		errno = -r;
		log_warn("control: epoll uid %u", (unsigned int)c->uid);
		client_close(c);
		return;
	}
	c->events = want;
}

static int
client_append(struct control_client *c, const char *data, size_t len)
{
	size_t pending = client_pending(c), cap;
	char *p;

	if (c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, pending);
		c->outoff = 0;
		c->outlen = pending;
	}
	if (len > c->outcap - c->outlen) {
		cap = c->outcap ? c->outcap : 4096;
		while (cap - c->outlen < len) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		if ((p = realloc(c->out, cap)) == NULL)
			return -ENOMEM;
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
	return 0;
}

/* Send what can go now, queue the rest. -ENOBUFS (nothing queued) if the
 * unsent output would pass limit; -EPIPE etc. if the client was closed. */
static int
client_send(struct control_client *c, const char *data, size_t len,
    size_t limit)
{
	ssize_t n;
	int r;

	if (c->closed)
		return -EPIPE;
	if (client_pending(c) == 0) {
		n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				log_debug("control: send uid %u: %s",
				    (unsigned int)c->uid, strerror(errno));
				client_close(c);
				/* Not the send's errno: -ENOBUFS is the
				 * broadcaster's "too slow" and it would
				 * close this client a second time. */
				return -EPIPE;
			}
			n = 0;
		}
		data += n;
		len -= (size_t)n;
		if (len == 0)
			return 0;
	}
	if (len > limit || client_pending(c) > limit - len)
		return -ENOBUFS;
	if ((r = client_append(c, data, len)) < 0) {
		log_warnx("control: out of memory for uid %u",
		    (unsigned int)c->uid);
		client_close(c);
		return r;
	}
	client_update(c);
	return 0;
}

static void
client_flush(struct control_client *c)
{
	ssize_t n;

	while (client_pending(c) > 0) {
		n = send(c->fd, c->out + c->outoff, client_pending(c),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("control: send uid %u: %s",
			    (unsigned int)c->uid, strerror(errno));
			client_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (client_pending(c) == 0) {
		c->outoff = c->outlen = 0;
		if (c->outcap > CONTROL_OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->outcap = 0;
		}
	}
}

/* One compact object and a newline, in malloc'd memory. */
static char *
control_dump_line(const json_t *j, size_t *ret_len)
{
	size_t len;
	char *s, *p;

	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		return NULL;
	len = strlen(s);
	if ((p = realloc(s, len + 2)) == NULL) {
		free(s);
		return NULL;
	}
	p[len] = '\n';
	p[len + 1] = '\0';
	*ret_len = len + 1;
	return p;
}

/* Send a response; takes the reference. */
static void
client_respond(struct control_client *c, json_t *resp)
{
	size_t len;
	char *s = NULL;

	if (resp != NULL)
		s = control_dump_line(resp, &len);
	json_decref(resp);
	if (s == NULL) {
		client_send(c, control_err_internal,
		    sizeof(control_err_internal) - 1, SIZE_MAX);
		return;
	}
	client_send(c, s, len, SIZE_MAX);
	free(s);
}

static void
client_error(struct control_client *c, const char *msg)
{
	client_respond(c, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

/* ---- input ------------------------------------------------------------- */

static bool
line_is_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static void client_answer(struct control_client *c, const char *cmd,
    json_t *resp, const char *err);

static void
client_line(struct control_client *c, const char *line, size_t len)
{
	struct control *ctl = c->ctl;
	const char *cmd, *err = NULL;
	json_t *req, *resp;

	if (line_is_blank(line, len))
		return;
	if (control_parse_request(line, len, &req, &cmd, &err) < 0) {
		ctl->stats.bad_requests++;
		log_debug("control: uid %u: %s", (unsigned int)c->uid, err);
		client_error(c, err);
		return;
	}
	if (c->role != CONTROL_ADMIN && !control_reader_may(ctl, cmd)) {
		/* cmd is up to 64 KiB of the peer's: not echoed whole. */
		log_debug("control: uid %u may not %.32s",
		    (unsigned int)c->uid, cmd);
		client_respond(c, json_pack("{s:b, s:s++}", "ok", 0,
		    "error", "permission denied: ", strlen(cmd) > 32 ? "this" :
		    cmd, " needs root"));
		json_decref(req);
		return;
	}
	c->line = line;
	c->linelen = len;
	resp = ctl->fn(ctl->arg, c, cmd, req, &err);
	c->line = NULL;
	json_decref(req);
	if (resp == CONTROL_DEFER) {
		c->waiting = true;
		return;
	}
	if (c->closed) {
		/* The handler's broadcast dropped this very client. */
		json_decref(resp);
		return;
	}
	client_answer(c, cmd, resp, err);
}

/* A handler's answer: an object ("ok": true put first unless it says),
 * or NULL and a message. Takes the reference. */
static void
client_answer(struct control_client *c, const char *cmd, json_t *resp,
    const char *err)
{
	if (resp == NULL) {
		client_error(c, err != NULL ? err : "internal error");
		return;
	}
	if (!json_is_object(resp)) {
		log_warnx("control: handler for \"%s\" returned a non-object",
		    cmd);
		json_decref(resp);
		client_error(c, "internal error");
		return;
	}
	client_respond(c, control_ok_first(resp));
}

json_t *
control_ok_first(json_t *resp)
{
	json_t *w;

	if (resp == NULL || json_object_get(resp, "ok") != NULL)
		return resp;
	w = json_pack("{s:b}", "ok", 1);
	if (w == NULL || json_object_update(w, resp) < 0) {
		json_decref(w);
		w = NULL;
	}
	json_decref(resp);
	return w;
}

/* Answer the complete lines buffered, as long as the client keeps up. */
static void
client_process(struct control_client *c)
{
	struct control *ctl = c->ctl;
	size_t start = 0, from, len;
	char *nl;

	while (!c->closed && !c->doomed && !c->waiting &&
	    client_pending(c) < CONTROL_OUT_LOWAT) {
		from = start == 0 ? c->scanned : start;
		nl = memchr(c->in + from, '\n', c->inlen - from);
		if (nl == NULL) {
			c->scanned = c->inlen - start;
			break;
		}
		len = (size_t)(nl - (c->in + start));
		c->scanned = 0;
		if (len > ctl->max_line)
			break;		/* caught below */
		client_line(c, c->in + start, len);
		start += len + 1;
	}
	if (c->closed)
		return;
	if (start > 0) {
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
		if (c->scanned > c->inlen)
			c->scanned = 0;
	}
	if (c->doomed)
		return;
	/* A line longer than max_line: its first max_line + 1 bytes hold no
	 * newline. We cannot find where it ends without reading it all, so
	 * answer and hang up. */
	if (c->inlen > ctl->max_line &&
	    memchr(c->in, '\n', ctl->max_line + 1) == NULL) {
		ctl->stats.bad_requests++;
		log_debug("control: uid %u: request too long",
		    (unsigned int)c->uid);
		client_error(c, "request too long");
		c->doomed = true;
		c->inlen = 0;
	}
}

static void
client_read(struct control_client *c)
{
	struct control *ctl = c->ctl;
	size_t cap;
	ssize_t n;
	char *p;

	if (c->inlen == c->incap) {
		if (c->incap > ctl->max_line)
			return;		/* full: client_process decides */
		cap = c->incap ? c->incap * 2 : CONTROL_IN_MIN;
		if (cap > ctl->max_line + 1)
			cap = ctl->max_line + 1;
		if ((p = realloc(c->in, cap)) == NULL) {
			log_warnx("control: out of memory for uid %u",
			    (unsigned int)c->uid);
			client_close(c);
			return;
		}
		c->in = p;
		c->incap = cap;
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		log_debug("control: read uid %u: %s", (unsigned int)c->uid,
		    strerror(errno));
		client_close(c);
		return;
	}
	if (n == 0) {
		/* The peer is done sending (it may still read). An
		 * unterminated last line is still a request; there is room
		 * for its newline since read was given at least a byte. */
		c->eof = true;
		if (c->inlen > 0 && c->in[c->inlen - 1] != '\n')
			c->in[c->inlen++] = '\n';
		return;
	}
	c->inlen += (size_t)n;
}

/* After an event: close if there is nothing left to do, else watch for
 * what is. */
static void
client_settle(struct control_client *c)
{
	bool idle = client_pending(c) == 0;

	if (c->closed)
		return;
	if (idle && (c->doomed || (c->eof && !c->subscribed && !c->waiting &&
	    (c->inlen == 0 || memchr(c->in, '\n', c->inlen) == NULL))))
		client_close(c);
	else
		client_update(c);
}

static void
client_free(struct control_client *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

static void
client_event(void *arg, uint32_t events)
{
	struct control_client *c = arg;

	c->busy = true;
	if (events & EPOLLERR) {
		client_close(c);
		goto out;
	}
	if (events & EPOLLIN)
		client_read(c);
	if (!c->closed && (events & EPOLLOUT))
		client_flush(c);
	/* Hang-up with nothing to read (we may have stopped reading): the
	 * peer is gone, and so is anything we still had to say. */
	if (!c->closed && (events & EPOLLHUP) && !(events & EPOLLIN))
		client_close(c);
	if (!c->closed)
		client_process(c);
	client_settle(c);
out:
	c->busy = false;
	if (c->closed)
		client_free(c);
}

/* ---- clients ----------------------------------------------------------- */

static void control_resume(struct control *ctl);

/* Unlink and close; the memory goes when the client's own callback (if
 * we are inside it) returns. */
static void
client_close(struct control_client *c)
{
	struct control *ctl = c->ctl;

	if (c->closed)
		return;
	c->closed = true;
	evloop_del(ctl->loop, c->src);
	close(c->fd);
	c->fd = -1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ctl->nclients--;
	if (c->subscribed)
		ctl->nsubscribers--;
	log_debug("control: uid %u pid %ld disconnected",
	    (unsigned int)c->uid, (long)c->pid);
	if (ctl->paused)
		control_resume(ctl);
	if (!c->busy)
		client_free(c);
}

/* Does uid's primary or supplementary group list contain gid? Looked up
 * in the account database, never taken from the peer. */
static bool
control_uid_in_group(uid_t uid, gid_t gid)
{
	struct passwd pw, *pwp = NULL;
	gid_t *groups = NULL, *g;
	size_t buflen = 1024;
	char *buf = NULL, *p;
	bool member = false;
	int r, n, i, j, tries;

	for (;;) {
		if ((p = realloc(buf, buflen)) == NULL)
			goto out;
		buf = p;
		r = getpwuid_r(uid, &pw, buf, buflen, &pwp);
		if (r != ERANGE || buflen >= CONTROL_NSS_MAX)
			break;
		buflen *= 2;
	}
	if (r != 0 || pwp == NULL)
		goto out;
	if (pw.pw_gid == gid) {
		member = true;
		goto out;
	}
	n = 64;
	for (tries = 0; tries < 4; tries++) {
		if ((g = realloc(groups, (size_t)n * sizeof(*g))) == NULL)
			goto out;
		groups = g;
		i = n;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &i) >= 0) {
			for (j = 0; j < i; j++)
				if (groups[j] == gid)
					member = true;
			goto out;
		}
		/* i now holds the size needed. */
		if (i <= n || i > 65537)
			goto out;
		n = i;
	}
out:
	free(groups);
	free(buf);
	return member;
}

static void
control_refuse(struct control *ctl, int fd, const char *line, size_t len)
{
	/* A fresh socket's buffer is empty, so the line goes in whole; if
	 * not, the peer just loses it. */
	(void)!send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	ctl->stats.refused++;
}

static void
control_admit(struct control *ctl, int fd)
{
	struct control_client *c;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	enum control_role role;
	unsigned long n;
	char note[48];
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 ||
	    crlen != sizeof(cr)) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		ctl->stats.refused++;
		return;
	}
	/* Readers cannot take the last slots: root can always get in. */
	if (ctl->nclients >= ctl->max_clients + (cr.uid == 0 ?
	    CONTROL_ROOT_SLOTS : 0)) {
		control_refuse(ctl, fd, control_err_full,
		    sizeof(control_err_full) - 1);
		if (ratelimit_pass(&ctl->rl_refused, &n))
			log_warnx("control: refused a client: %u clients "
			    "connected already%s", ctl->nclients,
			    ratelimit_note(note, sizeof(note), n));
		return;
	}
	if (cr.uid == 0)
		role = CONTROL_ADMIN;
	else if (ctl->is_reader != NULL ? ctl->is_reader(ctl->is_reader_arg,
	    cr.uid) : ctl->group != NULL && control_uid_in_group(cr.uid,
	    ctl->gid))
		role = CONTROL_READER;
	else {
		control_refuse(ctl, fd, control_err_perm,
		    sizeof(control_err_perm) - 1);
		if (ratelimit_pass(&ctl->rl_refused, &n))
			log_warnx("control: refused uid %u pid %ld: not root"
			    "%s%s%s", (unsigned int)cr.uid, (long)cr.pid,
			    ctl->group ? " nor in group " : "",
			    ctl->group ? ctl->group : "",
			    ratelimit_note(note, sizeof(note), n));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("control: out of memory");
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->uid = cr.uid;
	c->pid = cr.pid;
	c->role = role;
	c->id = ++ctl->next_id;
	c->events = EPOLLIN;
	if ((r = evloop_add(ctl->loop, fd, EPOLLIN, client_event, c,
	    &c->src)) < 0) {
		errno = -r;
		log_warn("control: epoll");
		close(fd);
		free(c);
		return;
	}
	c->next = ctl->clients;
	if (ctl->clients != NULL)
		ctl->clients->prev = c;
	ctl->clients = c;
	ctl->nclients++;
	ctl->stats.accepted++;
	log_debug("control: uid %u pid %ld connected (%s)",
	    (unsigned int)c->uid, (long)c->pid,
	    role == CONTROL_ADMIN ? "admin" : "reader");
}

/* Out of descriptors: stop accepting for a while (or until a client
 * leaves) instead of spinning on a listener that stays readable. */
static void
control_pause(struct control *ctl)
{
	struct itimerspec its = {
		.it_value.tv_sec = CONTROL_PAUSE_MS / 1000,
		.it_value.tv_nsec = (CONTROL_PAUSE_MS % 1000) * 1000000L,
	};

	if (ctl->paused)
		return;
	if (evloop_mod(ctl->loop, ctl->src, 0) < 0 ||
	    timerfd_settime(ctl->pausefd, 0, &its, NULL) < 0) {
		/* Could not pause: keep accepting (and failing). */
		evloop_mod(ctl->loop, ctl->src, EPOLLIN);
		return;
	}
	ctl->paused = true;
}

static void
control_resume(struct control *ctl)
{
	struct itimerspec off = { 0 };

	if (!ctl->paused)
		return;
	timerfd_settime(ctl->pausefd, 0, &off, NULL);
	if (evloop_mod(ctl->loop, ctl->src, EPOLLIN) == 0)
		ctl->paused = false;
}

static void
control_pause_event(void *arg, uint32_t events)
{
	struct control *ctl = arg;
	uint64_t ticks;

	(void)events;
	(void)!read(ctl->pausefd, &ticks, sizeof(ticks));
	control_resume(ctl);
}

static void
control_accept(void *arg, uint32_t events)
{
	struct control *ctl = arg;
	unsigned long n;
	int fd;

	(void)events;
	for (;;) {
		fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			control_admit(ctl, fd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			if (ratelimit_pass(&ctl->rl_accept, &n))
				log_warn("control: accept (pausing)");
			control_pause(ctl);
			return;
		default:
			if (ratelimit_pass(&ctl->rl_accept, &n))
				log_warn("control: accept");
			return;
		}
	}
}

/* ---- the listener ------------------------------------------------------ */

/* mkdir -p for the directory part of path; new directories get 0755
 * whatever the umask. */
static int
control_mkparent(const char *path, char *err, size_t errlen)
{
	int r;

	if ((r = util_mkdir_parents(path, 0755)) < 0)
		util_errf(err, errlen, "cannot create the directory of %s: %s",
		    path, strerror(-r));
	return r;
}

/* Remove a socket file nobody listens on; refuse to touch anything else,
 * and refuse to steal a socket that another daemon still serves. */
static int
control_clear_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	const char *path = sun->sun_path;
	struct stat st;
	int fd, r = 0;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	    errno == EAGAIN) {
		snprintf(err, errlen, "%s: another sockwatchd is already "
		    "listening there", path);
		r = -EADDRINUSE;
	} else if (errno == ECONNREFUSED) {
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(err, errlen, "unlink %s: %s", path,
			    strerror(errno));
		}
	} else if (errno != ENOENT) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	close(fd);
	return r;
}

static int
control_lookup_group(const char *name, gid_t *ret_gid, char *err,
    size_t errlen)
{
	int r;

	if ((r = util_group_gid(name, ret_gid)) == -ENOENT)
		snprintf(err, errlen, "control group \"%s\": no such group",
		    name);
	else if (r < 0)
		snprintf(err, errlen, "control group \"%s\": %s", name,
		    strerror(-r));
	return r;
}

/*
 * Give the socket file just bound to the control group, and remember
 * which file it is (control_close removes only that one). Not chown by
 * path: in a directory others can write, the name could be swapped for
 * a link to another file between bind and chown. The file is opened
 * O_PATH|O_NOFOLLOW, checked to be a socket of ours, and changed through
 * that descriptor, so a swapped name is refused rather than followed.
 * Nobody can connect yet: there is no listen() until this is done.
 * Without CAP_CHOWN, the group must be one we are in.
 */
static int
control_set_group(struct control *ctl, char *err, size_t errlen)
{
	struct stat st;
	int fd, r = 0;

	fd = open(ctl->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", ctl->path, strerror(errno));
		goto out;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		r = -EEXIST;
		snprintf(err, errlen, "%s: replaced by another file while "
		    "being set up", ctl->path);
		goto out;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	if (ctl->group != NULL && st.st_gid != ctl->gid &&
	    fchownat(fd, "", (uid_t)-1, ctl->gid, AT_EMPTY_PATH) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: giving it to group %s: %s",
		    ctl->path, ctl->group, strerror(errno));
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
control_open(struct evloop *loop, const struct control_opts *o,
    control_handler fn, void *arg, struct control **ret_ctl, char *err,
    size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *ctl;
	mode_t mask;
	int r;

	*ret_ctl = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (o == NULL || o->path == NULL || o->path[0] == '\0' || fn == NULL) {
		snprintf(err, errlen, "control socket: no path");
		return -EINVAL;
	}
	if (strlen(o->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", o->path);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, o->path, strlen(o->path) + 1);
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL)
		return -ENOMEM;
	ctl->loop = loop;
	ctl->fd = ctl->pausefd = -1;
	ctl->fn = fn;
	ctl->arg = arg;
	ctl->max_clients = o->max_clients ? o->max_clients :
	    CONTROL_MAX_CLIENTS;
	ctl->max_line = o->max_line ? o->max_line : CONTROL_MAX_LINE;
	ctl->max_outbuf = o->max_outbuf ? o->max_outbuf : CONTROL_MAX_OUTBUF;
	if ((ctl->path = strdup(o->path)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (o->group != NULL) {
		if ((ctl->group = strdup(o->group)) == NULL) {
			r = -ENOMEM;
			goto out;
		}
		if ((r = control_lookup_group(o->group, &ctl->gid, err,
		    errlen)) < 0)
			goto out;
	}
	if ((r = control_mkparent(o->path, err, errlen)) < 0)
		goto out;
	if ((r = control_clear_stale(&sun, err, errlen)) < 0)
		goto out;
	if ((ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	/* The mode comes from the umask at bind: fchmod on a socket's
	 * descriptor does not reach the file. Only at start-up, before any
	 * thread that could create a file meanwhile. */
	mask = umask(0117);
	r = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (r < 0) {
		r = -errno;
		snprintf(err, errlen, "bind %s: %s", o->path, strerror(errno));
		goto out;
	}
	if ((r = control_set_group(ctl, err, errlen)) < 0)
		goto out;
	if (listen(ctl->fd, CONTROL_BACKLOG) < 0) {
		r = -errno;
		snprintf(err, errlen, "listen %s: %s", o->path,
		    strerror(errno));
		goto out;
	}
	if ((ctl->pausefd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(err, errlen, "timerfd: %s", strerror(errno));
		goto out;
	}
	if ((r = evloop_add(loop, ctl->fd, EPOLLIN, control_accept, ctl,
	    &ctl->src)) < 0 ||
	    (r = evloop_add(loop, ctl->pausefd, EPOLLIN, control_pause_event,
	    ctl, &ctl->pausesrc)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(-r));
		goto out;
	}
	*ret_ctl = ctl;
	return 0;
out:
	if (errlen > 0 && err[0] == '\0')
		snprintf(err, errlen, "control socket %s: %s", o->path,
		    strerror(-r));
	control_close(ctl);	/* removes the socket file once it is known */
	return r;
}

void
control_close(struct control *ctl)
{
	struct stat st;
	char **p;

	if (ctl == NULL)
		return;
	while (ctl->clients != NULL)
		client_close(ctl->clients);
	evloop_del(ctl->loop, ctl->src);
	evloop_del(ctl->loop, ctl->pausesrc);
	if (ctl->fd >= 0) {
		close(ctl->fd);
		/* Only our own file: a newer daemon may have replaced it. */
		if (ctl->ino != 0 && lstat(ctl->path, &st) == 0 &&
		    st.st_dev == ctl->dev && st.st_ino == ctl->ino)
			unlink(ctl->path);
	}
	if (ctl->pausefd >= 0)
		close(ctl->pausefd);
	if (ctl->reader != NULL) {
		for (p = ctl->reader; *p != NULL; p++)
			free(*p);
		free(ctl->reader);
	}
	free(ctl->group);
	free(ctl->path);
	free(ctl);
}

int
control_set_reader_commands(struct control *ctl, const char *const *cmds)
{
	char **list, **p;
	size_t n = 0, i;

	while (cmds != NULL && cmds[n] != NULL)
		n++;
	if ((list = calloc(n + 1, sizeof(*list))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if ((list[i] = strdup(cmds[i])) == NULL) {
			while (i > 0)
				free(list[--i]);
			free(list);
			return -ENOMEM;
		}
	}
	if (ctl->reader != NULL) {
		for (p = ctl->reader; *p != NULL; p++)
			free(*p);
		free(ctl->reader);
	}
	ctl->reader = list;
	return 0;
}

void
control_set_reader_check(struct control *ctl, bool (*fn)(void *, uid_t),
    void *arg)
{
	ctl->is_reader = fn;
	ctl->is_reader_arg = arg;
}

uint64_t
control_client_id(const struct control_client *c)
{
	return c->id;
}

const char *
control_client_line(const struct control_client *c, size_t *ret_len)
{
	*ret_len = c->linelen;
	return c->line;
}

int
control_client_fd(const struct control_client *c)
{
	return c->fd;
}

/* The answer to a deferred request: as a handler's, then the client's
 * next lines. A client that left meanwhile is no longer there to find. */
static void client_resume(struct control_client *c);

int
control_reply(struct control *ctl, uint64_t id, json_t *resp,
    const char *err, bool subscribe)
{
	struct control_client *c;

	for (c = ctl->clients; c != NULL && c->id != id; c = c->next)
		;
	if (c == NULL || !c->waiting) {
		json_decref(resp);
		return -ENOENT;
	}
	c->busy = true;
	c->waiting = false;
	if (subscribe && resp != NULL)
		control_subscribe(c);
	client_answer(c, "deferred", resp, err);
	client_resume(c);
	return 0;
}

/* After a deferred answer: the client's next lines, then what to watch.
 * The caller set busy. */
static void
client_resume(struct control_client *c)
{
	if (!c->closed)
		client_process(c);
	client_settle(c);
	c->busy = false;
	if (c->closed)
		client_free(c);
}

int
control_reply_line(struct control *ctl, uint64_t id, const char *line,
    size_t len)
{
	struct control_client *c;
	char *buf;

	for (c = ctl->clients; c != NULL && c->id != id; c = c->next)
		;
	if (c == NULL || !c->waiting)
		return -ENOENT;
	/* One send with its newline: a client waits for the whole line. */
	if ((buf = malloc(len + 1)) == NULL)
		return control_reply(ctl, id, NULL, "out of memory", false);
	memcpy(buf, line, len);
	buf[len] = '\n';
	c->busy = true;
	c->waiting = false;
	(void)client_send(c, buf, len + 1, SIZE_MAX);
	free(buf);
	client_resume(c);
	return 0;
}

enum control_role
control_client_role(const struct control_client *c)
{
	return c->role;
}

uid_t
control_client_uid(const struct control_client *c)
{
	return c->uid;
}

pid_t
control_client_pid(const struct control_client *c)
{
	return c->pid;
}

void
control_subscribe(struct control_client *c)
{
	if (c->subscribed || c->closed)
		return;
	c->subscribed = true;
	c->ctl->nsubscribers++;
}

void
control_broadcast(struct control *ctl, const json_t *event)
{
	struct control_client *c, *next;
	unsigned long n;
	char note[48], *s;
	size_t len;

	if (ctl->nsubscribers == 0)
		return;
	if ((s = control_dump_line(event, &len)) == NULL) {
		log_warnx("control: cannot serialize an event");
		return;
	}
	for (c = ctl->clients; c != NULL; c = next) {
		next = c->next;
		if (!c->subscribed || c->doomed)
			continue;
		if (client_send(c, s, len, ctl->max_outbuf) != -ENOBUFS)
			continue;
		ctl->stats.dropped_slow++;
		if (ratelimit_pass(&ctl->rl_dropped, &n))
			log_warnx("control: dropped subscriber uid %u pid %ld: "
			    "more than %zu bytes unread%s",
			    (unsigned int)c->uid, (long)c->pid,
			    ctl->max_outbuf,
			    ratelimit_note(note, sizeof(note), n));
		client_close(c);
	}
	free(s);
}

void
control_get_stats(const struct control *ctl, struct control_stats *r)
{
	*r = ctl->stats;
}

unsigned int
control_nclients(const struct control *ctl)
{
	return ctl->nclients;
}

unsigned int
control_nsubscribers(const struct control *ctl)
{
	return ctl->nsubscribers;
}
