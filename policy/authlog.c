/* sshd's log lines and the failures counted from them: see authlog.h. */
#include "authlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct authlog_entry {
	struct addr addr;
	int64_t last_ms;		/* 0: free */
	int64_t fail_ms[AUTHLOG_KEEP];	/* a ring; 0: empty */
	uint16_t fail_port[AUTHLOG_KEEP];	/* the client port of each */
	unsigned int next;
	int64_t forgive_ms[AUTHLOG_FORGIVE];	/* a ring too */
	unsigned int fnext;
};

struct authlog_count {
	struct authlog_entry *v;
	size_t max;
};

static const char *const kind_names[AUTHLOG_KIND_MAX + 1] = {
	[AUTHLOG_FAILED] = "failed",
	[AUTHLOG_INVALID_USER] = "invalid-user",
	[AUTHLOG_PREAUTH_END] = "preauth-end",
	[AUTHLOG_ACCEPTED] = "accepted",
};

const char *
authlog_kind_name(uint32_t kind)
{
	if (kind == 0 || kind > AUTHLOG_KIND_MAX)
		return "?";
	return kind_names[kind];
}

static bool
starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static bool
ends(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* The last occurrence of needle in s[0..len), or NULL. */
static const char *
last_of(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = len; i >= n; i--)
		if (memcmp(s + i - n, needle, n) == 0)
			return s + i - n;
	return NULL;
}

/*
 * The message part: the whole line when it starts with a message sshd
 * writes (sshd -E, a journal entry); else what follows "sshd[PID]: " (or
 * "sshd-session[PID]: ") when that tag comes before the line's first
 * ": ", as syslog puts it. Never a tag further on: a client's words
 * (its disconnect reason, its user name) come after the first ": ".
 */
static bool
message_of(const char **s, size_t *len)
{
	static const char *const tags[] = { "sshd[", "sshd-session[" };
	static const char *const bare[] = { "Failed ", "Accepted ",
	    "Invalid user ", "Connection closed by ", "Disconnected from " };
	const char *p, *end = *s + *len, *t, *colon;
	size_t i;

	for (i = 0; i < sizeof(bare) / sizeof(bare[0]); i++)
		if (starts(*s, *len, bare[i]))
			return true;
	for (p = *s; p + 1 < end; p++)
		if (p[0] == ':' && p[1] == ' ')
			break;
	if (p + 1 >= end)
		return false;		/* no ": ", no tag */
	colon = p;
	for (p = *s; p < colon; p++) {
		for (i = 0; i < 2; i++) {
			if (!starts(p, (size_t)(end - p), tags[i]) ||
			    (p > *s && p[-1] != ' '))
				continue;
			t = p + strlen(tags[i]);
			if (t >= end || *t < '0' || *t > '9')
				continue;
			while (t < end && *t >= '0' && *t <= '9')
				t++;
			/* The tag's own ": " is the line's first. */
			if (t + 1 != colon || *t != ']')
				continue;
			t += 3;
			*len = (size_t)(end - t);
			*s = t;
			return true;
		}
	}
	return false;
}

/*
 * "... A port P" at the end of s[0..len) (after the caller cut what sshd
 * puts behind it): the address and port, *ret_start where "A" begins.
 * The last " port " is sshd's own: the client's text comes before it.
 */
static int
addr_port_at_end(const char *s, size_t len, struct authlog_event *ev,
    const char **ret_start)
{
	char buf[64];
	const char *port, *a;
	unsigned long p = 0;
	size_t i, n;

	if ((port = last_of(s, len, " port ")) == NULL)
		return -ENOENT;
	n = (size_t)(s + len - (port + 6));
	if (n == 0 || n > 5)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		if (port[6 + i] < '0' || port[6 + i] > '9')
			return -ENOENT;
		p = p * 10 + (unsigned long)(port[6 + i] - '0');
	}
	if (p == 0 || p > 65535)
		return -ENOENT;
	for (a = port; a > s && a[-1] != ' '; a--)
		;
	n = (size_t)(port - a);
	if (n == 0 || n >= sizeof(buf))
		return -ENOENT;
	memcpy(buf, a, n);
	buf[n] = '\0';
	if (addr_parse(buf, &ev->addr) < 0)
		return -ENOENT;
	ev->port = (uint16_t)p;
	*ret_start = a;
	return 0;
}

int
authlog_parse(const char *line, size_t len, struct authlog_event *ret)
{
	const char *s = line, *start, *ssh2;
	struct authlog_event ev;
	size_t n;

	memset(&ev, 0, sizeof(ev));
	if (len > AUTHLOG_LINE_MAX || !message_of(&s, &len))
		return -ENOENT;
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	if (starts(s, len, "Failed ") || starts(s, len, "Accepted ")) {
		ev.kind = s[0] == 'F' ? AUTHLOG_FAILED : AUTHLOG_ACCEPTED;
		/* "... from A port P ssh2", and for a key ": TYPE SHA256:.."
		 * after it (no spaces but that one in what follows). */
		if ((ssh2 = last_of(s, len, " ssh2")) == NULL)
			return -ENOENT;
		n = (size_t)(s + len - ssh2);
		if (n != 5 && (n < 7 || ssh2[5] != ':' || ssh2[6] != ' '))
			return -ENOENT;
		n = (size_t)(ssh2 - s);
		if (addr_port_at_end(s, n, &ev, &start) < 0 ||
		    start - s < 6 || memcmp(start - 6, " from ", 6) != 0)
			return -ENOENT;
	} else if (starts(s, len, "Invalid user ")) {
		ev.kind = AUTHLOG_INVALID_USER;
		if (addr_port_at_end(s, len, &ev, &start) < 0 ||
		    start - s < 6 || memcmp(start - 6, " from ", 6) != 0)
			return -ENOENT;
	} else if (starts(s, len,
	    "Connection closed by authenticating user ") ||
	    starts(s, len, "Connection closed by invalid user ") ||
	    starts(s, len, "Disconnected from authenticating user ") ||
	    starts(s, len, "Disconnected from invalid user ")) {
		/* "... user NAME A port P [preauth]" */
		ev.kind = AUTHLOG_PREAUTH_END;
		if (!ends(s, len, " [preauth]"))
			return -ENOENT;
		if (addr_port_at_end(s, len - 10, &ev, &start) < 0)
			return -ENOENT;
	} else
		return -ENOENT;
	if (!addr_is_unicast(&ev.addr))
		return -ENOENT;
	*ret = ev;
	return 0;
}

/* ---- counting ---------------------------------------------------------- */

int
authlog_count_new(size_t max, struct authlog_count **ret)
{
	struct authlog_count *c;

	if (max == 0)
		return -EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->v = calloc(max, sizeof(*c->v))) == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->max = max;
	*ret = c;
	return 0;
}

void
authlog_count_free(struct authlog_count *c)
{
	if (c == NULL)
		return;
	free(c->v);
	free(c);
}

/* The address's entry, or a free or the least recently active one,
 * cleared for it. Events are rare (each one was checked against the
 * kernel first): a scan of the table is cheap enough. */
static struct authlog_entry *
entry_of(struct authlog_count *c, const struct addr *a, bool make)
{
	struct authlog_entry *e, *old = &c->v[0];
	size_t i;

	for (i = 0; i < c->max; i++) {
		e = &c->v[i];
		if (e->last_ms != 0 && addr_equal(&e->addr, a))
			return e;
		if (e->last_ms < old->last_ms)
			old = e;
	}
	if (!make)
		return NULL;
	memset(old, 0, sizeof(*old));
	old->addr = *a;
	return old;
}

static unsigned int
within(const int64_t *v, size_t n, int64_t now_ms, int64_t window_ms)
{
	unsigned int k = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] != 0 && now_ms - v[i] < window_ms)
			k++;
	return k;
}

unsigned int
authlog_count_add(struct authlog_count *c, const struct authlog_event *ev,
    int64_t now_ms, int64_t window_ms, bool *ret_forgiven)
{
	struct authlog_entry *e;
	unsigned int n;
	size_t i;

	if (ret_forgiven != NULL)
		*ret_forgiven = false;
	if (now_ms <= 0)
		now_ms = 1;
	if (ev->kind == AUTHLOG_ACCEPTED) {
		if ((e = entry_of(c, &ev->addr, false)) == NULL ||
		    within(e->forgive_ms, AUTHLOG_FORGIVE, now_ms,
		    window_ms) >= AUTHLOG_FORGIVE)
			return 0;
		/* Fewer than AUTHLOG_FORGIVE are recent: the ring's next
		 * slot holds none of them. */
		e->forgive_ms[e->fnext] = now_ms;
		e->fnext = (e->fnext + 1) % AUTHLOG_FORGIVE;
		memset(e->fail_ms, 0, sizeof(e->fail_ms));
		e->last_ms = now_ms;
		if (ret_forgiven != NULL)
			*ret_forgiven = true;
		return 0;
	}
	e = entry_of(c, &ev->addr, true);
	n = 1;
	if (ev->kind == AUTHLOG_PREAUTH_END) {
		n = 2;
		for (i = 0; i < AUTHLOG_KEEP; i++)
			if (e->fail_ms[i] != 0 && e->fail_port[i] == ev->port &&
			    now_ms - e->fail_ms[i] < window_ms)
				n = 1;
	}
	while (n-- > 0) {
		e->fail_ms[e->next] = now_ms;
		e->fail_port[e->next] = ev->port;
		e->next = (e->next + 1) % AUTHLOG_KEEP;
	}
	e->last_ms = now_ms;
	return within(e->fail_ms, AUTHLOG_KEEP, now_ms, window_ms);
}

void
authlog_count_forget(struct authlog_count *c, const struct addr *a)
{
	struct authlog_entry *e;

	if ((e = entry_of(c, a, false)) != NULL)
		memset(e, 0, sizeof(*e));
}
