#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/addr.h"
#include "../../policy/bans.h"

#define T0	1795793795000LL		/* 2026-11-27T15:36:35Z */
#define SEC	1000ULL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

static struct cidr
C(const char *s)
{
	struct cidr c;

	if (cidr_parse(s, &c) != 0)
		fail_msg("bad cidr %s", s);
	return c;
}

static struct addr
A(const char *s)
{
	struct addr a;

	if (addr_parse(s, &a) != 0)
		fail_msg("bad addr %s", s);
	return a;
}

static const char *
fmt(const struct cidr *c)
{
	static char buf[4][ADDR_STRLEN];
	static int n;

	return cidr_format(c, buf[n++ % 4], ADDR_STRLEN);
}

static const struct bans_policy policy = {
	.default_ms = HOUR,
	.recidive_window_ms = DAY,
	.escalate = 2.0,
	.max_ms = 7 * DAY,
	.aggregate_v4 = 24,
	.aggregate_v6 = 64,
	.aggregate_threshold = 3,
};

static struct bans *
new_bans(const struct bans_policy *p)
{
	struct bans *b = NULL;

	assert_int_equal(bans_new(p, &b), 0);
	assert_non_null(b);
	return b;
}

static struct ban
mkban(const char *peer, int64_t created, uint64_t length, uint32_t count)
{
	struct ban x;

	memset(&x, 0, sizeof(x));
	x.peer = C(peer);
	snprintf(x.reason, sizeof(x.reason), "test ban of %s", peer);
	snprintf(x.source, sizeof(x.source), "portscan");
	x.created_ms = created;
	x.expires_ms = length ? created + (int64_t)length : 0;
	x.count = count;
	return x;
}

static void
put(struct bans *b, const char *peer, int64_t created, uint64_t length)
{
	struct ban x = mkban(peer, created, length, 0);

	assert_int_equal(bans_put(b, &x), 0);
}

static bool
covers(const struct bans *b, const char *addr)
{
	struct addr a = A(addr);

	return bans_covers(b, &a);
}

/* Ban peer now as the daemon would: length from the policy, then put. */
static uint64_t
ban_now(struct bans *b, const char *peer, uint64_t base, int64_t now,
    uint32_t *ret_count)
{
	struct cidr c = C(peer);
	uint32_t count;
	uint64_t len;
	struct ban x;

	len = bans_length(b, &c, base, now, &count);
	x = mkban(peer, now, len, count);
	assert_int_equal(bans_put(b, &x), 0);
	if (ret_count != NULL)
		*ret_count = count;
	return len;
}

static void
test_length(void **state)
{
	struct bans *b = new_bans(&policy);
	struct cidr p = C("198.18.0.1");
	uint32_t count = 99;

	(void)state;
	/* A first offence: the policy's default or the detector's length. */
	assert_int_equal(bans_length(b, &p, 0, T0, &count), HOUR);
	assert_int_equal(count, 0);
	assert_int_equal(bans_length(b, &p, 10 * MIN, T0, NULL), 10 * MIN);

	/* Again within the window: twice the last length, then 4x, ... */
	assert_int_equal(ban_now(b, "198.18.0.1", 0, T0, &count), HOUR);
	assert_int_equal(count, 0);
	assert_int_equal(ban_now(b, "198.18.0.1", 0, T0 + 2 * HOUR, &count),
	    2 * HOUR);
	assert_int_equal(count, 1);
	assert_int_equal(ban_now(b, "198.18.0.1", 0, T0 + 5 * HOUR, &count),
	    4 * HOUR);
	assert_int_equal(count, 2);
	/* A detector's base above the escalated length wins. */
	assert_int_equal(bans_length(b, &p, 12 * HOUR, T0 + 10 * HOUR, NULL),
	    12 * HOUR);
	/* Outside the window (one day after the last ban began): base, but
	 * the count of earlier bans is kept. */
	assert_int_equal(bans_length(b, &p, 0, T0 + 5 * HOUR + DAY, &count),
	    HOUR);
	assert_int_equal(count, 3);
	assert_int_equal(bans_length(b, &p, 0, T0 + 5 * HOUR + DAY - 1,
	    &count), 8 * HOUR);

	/* Escalation stops at max. */
	put(b, "198.18.0.2", T0, 5 * DAY);
	p = C("198.18.0.2");
	assert_int_equal(bans_length(b, &p, 0, T0 + HOUR, &count), 7 * DAY);
	assert_int_equal(count, 1);
	/* ... but an explicit base above max is the detector's choice. */
	assert_int_equal(bans_length(b, &p, 30 * DAY, T0 + HOUR, NULL),
	    30 * DAY);
	/* After a permanent ban (lifted by hand), a repeat gets max. */
	put(b, "198.18.0.3", T0, 0);
	p = C("198.18.0.3");
	assert_int_equal(bans_length(b, &p, 0, T0 + HOUR, NULL), 7 * DAY);
	/* A last ban "in the future" (the clock went back) counts as recent. */
	put(b, "198.18.0.4", T0 + HOUR, HOUR);
	p = C("198.18.0.4");
	assert_int_equal(bans_length(b, &p, 0, T0, NULL), 2 * HOUR);
	/* The IPv4-mapped form is the same peer. */
	p = C("::ffff:198.18.0.1");
	assert_int_equal(bans_length(b, &p, 0, T0 + 6 * HOUR, &count),
	    8 * HOUR);
	assert_int_equal(count, 3);
	bans_free(b);
}

static void
test_length_policy(void **state)
{
	struct bans_policy p = { 0 };
	struct cidr c = C("2001:db8::1");
	struct bans *b;

	(void)state;
	/* Zeros: the built-in default, no escalation, max 7 days. */
	b = new_bans(&p);
	assert_int_equal(bans_length(b, &c, 0, T0, NULL), BANS_DEFAULT_MS);
	put(b, "2001:db8::1", T0, 3 * HOUR);
	assert_int_equal(bans_length(b, &c, 0, T0 + 1, NULL), BANS_DEFAULT_MS);

	/* A reload turns escalation on; the history is kept. An escalate
	 * below 1 is taken as 1. */
	p.recidive_window_ms = DAY;
	p.escalate = 0.5;
	assert_int_equal(bans_set_policy(b, &p), 0);
	assert_int_equal(bans_length(b, &c, 0, T0 + 1, NULL), 3 * HOUR);
	p.escalate = 3;
	p.max_ms = 4 * HOUR;
	assert_int_equal(bans_set_policy(b, &p), 0);
	assert_int_equal(bans_length(b, &c, 0, T0 + 1, NULL), 4 * HOUR);

	/* History from the store, merged: the newest ban, the larger count. */
	assert_int_equal(bans_history_add(b, &c, T0 - DAY, 10 * MIN, 7), 0);
	{
		uint32_t count;

		assert_int_equal(bans_length(b, &c, 0, T0 + 1, &count),
		    4 * HOUR);
		assert_int_equal(count, 7);
	}
	c = C("198.18.9.9");
	assert_int_equal(bans_history_add(b, &c, T0, MIN, 2), 0);
	assert_int_equal(bans_length(b, &c, 0, T0 + 1, NULL), BANS_DEFAULT_MS);
	p.default_ms = 10 * SEC;
	assert_int_equal(bans_set_policy(b, &p), 0);
	assert_int_equal(bans_length(b, &c, 0, T0 + 1, NULL), 3 * MIN);
	c.addr.family = AF_UNIX;
	assert_int_equal(bans_history_add(b, &c, T0, MIN, 2), -EINVAL);
	bans_free(b);
}

static void
test_history_count(void **state)
{
	struct bans *b = new_bans(&policy);
	struct cidr c = C("198.18.0.7");
	struct ban x;
	uint32_t count;

	(void)state;
	x = mkban("198.18.0.7", T0, HOUR, 0);
	assert_int_equal(bans_put(b, &x), 0);
	/* The same ban again (a restart reloading it) is not a new one. */
	assert_int_equal(bans_put(b, &x), 0);
	bans_length(b, &c, 0, T0 + 1, &count);
	assert_int_equal(count, 1);
	/* A manual ban with no count of its own still adds one. */
	x = mkban("198.18.0.7", T0 + MIN, HOUR, 0);
	assert_int_equal(bans_put(b, &x), 0);
	bans_length(b, &c, 0, T0 + 2 * MIN, &count);
	assert_int_equal(count, 2);
	/* The caller's count (from bans_length) wins when larger. */
	x = mkban("198.18.0.7", T0 + 2 * MIN, HOUR, 9);
	assert_int_equal(bans_put(b, &x), 0);
	bans_length(b, &c, 0, T0 + 3 * MIN, &count);
	assert_int_equal(count, 10);
	/* Deleting the ban does not forget the history. */
	assert_int_equal(bans_del(b, &c, NULL), 0);
	bans_length(b, &c, 0, T0 + 3 * MIN, &count);
	assert_int_equal(count, 10);
	assert_int_equal(bans_history_count(b), 1);
	bans_free(b);
}

static void
test_put_get_del_covers(void **state)
{
	struct bans *b = new_bans(&policy);
	const struct ban *g;
	struct cidr c;
	struct ban x;

	(void)state;
	assert_false(covers(b, "198.18.0.1"));
	put(b, "198.18.0.1", T0, HOUR);
	put(b, "2001:db8::1", T0, HOUR);
	put(b, "198.19.0.0/16", T0, HOUR);
	put(b, "2001:db8:1::/48", T0, HOUR);
	assert_int_equal(bans_count(b), 4);

	assert_true(covers(b, "198.18.0.1"));
	assert_false(covers(b, "198.18.0.2"));
	assert_true(covers(b, "198.19.0.0"));
	assert_true(covers(b, "198.19.255.255"));
	assert_false(covers(b, "198.20.0.0"));
	assert_true(covers(b, "2001:db8::1"));
	assert_false(covers(b, "2001:db8::2"));
	assert_true(covers(b, "2001:db8:1:ffff::1"));
	assert_false(covers(b, "2001:db8:2::1"));
	/* An IPv4-mapped address is the IPv4 peer it carries. */
	assert_true(covers(b, "::ffff:198.18.0.1"));
	assert_true(covers(b, "::ffff:198.19.3.4"));
	assert_false(covers(b, "::ffff:198.18.0.2"));
	/* IPv4 bans do not cover IPv6 addresses with the same bytes. */
	assert_false(covers(b, "c612:1::"));

	/* get is exact; the key is canonical. */
	c = C("198.18.0.1");
	g = bans_get(b, &c);
	assert_non_null(g);
	assert_string_equal(g->reason, "test ban of 198.18.0.1");
	assert_int_equal(g->expires_ms, T0 + (int64_t)HOUR);
	c = C("::ffff:198.18.0.1");
	assert_ptr_equal(bans_get(b, &c), g);
	c = C("198.19.0.0/17");
	assert_null(bans_get(b, &c));
	c = C("198.19.0.0/16");
	assert_non_null(bans_get(b, &c));

	/* A mapped ban is stored as IPv4. */
	put(b, "::ffff:198.18.5.0/120", T0, HOUR);
	c = C("198.18.5.0/24");
	g = bans_get(b, &c);
	assert_non_null(g);
	assert_string_equal(fmt(&g->peer), "198.18.5.0/24");
	assert_true(covers(b, "198.18.5.77"));

	/* Replacing keeps one ban, with the new fields. */
	x = mkban("198.18.0.1", T0 + 10, 2 * HOUR, 1);
	snprintf(x.procs, sizeof(x.procs), "sshd[812]");
	x.sockets_closed = 3;
	assert_int_equal(bans_put(b, &x), 0);
	assert_int_equal(bans_count(b), 5);
	c = C("198.18.0.1");
	g = bans_get(b, &c);
	assert_int_equal(g->created_ms, T0 + 10);
	assert_string_equal(g->procs, "sshd[812]");
	assert_int_equal(g->sockets_closed, 3);

	/* del: exact, returns the ban; -ENOENT after. */
	memset(&x, 0, sizeof(x));
	assert_int_equal(bans_del(b, &c, &x), 0);
	assert_string_equal(fmt(&x.peer), "198.18.0.1/32");
	assert_int_equal(x.sockets_closed, 3);
	assert_int_equal(bans_del(b, &c, NULL), -ENOENT);
	assert_false(covers(b, "198.18.0.1"));
	c = C("198.19.0.0/17");
	assert_int_equal(bans_del(b, &c, NULL), -ENOENT);
	c = C("198.19.0.0/16");
	assert_int_equal(bans_del(b, &c, NULL), 0);
	assert_false(covers(b, "198.19.0.1"));
	c = C("2001:db8:1::/48");
	assert_int_equal(bans_del(b, &c, NULL), 0);
	assert_false(covers(b, "2001:db8:1::1"));
	assert_true(covers(b, "2001:db8::1"));
	assert_int_equal(bans_count(b), 2);
	assert_non_null(bans_at(b, 0));
	assert_non_null(bans_at(b, 1));
	assert_null(bans_at(b, 2));

	/* Bad peers. */
	x = mkban("198.18.0.1", T0, HOUR, 0);
	x.peer.len = 33;
	assert_int_equal(bans_put(b, &x), -EINVAL);
	x.peer.addr.family = AF_UNIX;
	x.peer.len = 0;
	assert_int_equal(bans_put(b, &x), -EINVAL);
	assert_int_equal(bans_del(b, &x.peer, NULL), -ENOENT);
	assert_null(bans_get(b, &x.peer));
	assert_int_equal(bans_count(b), 2);

	/* The whole address space, then nothing. */
	put(b, "0.0.0.0/0", T0, HOUR);
	assert_true(covers(b, "203.0.113.1"));
	assert_true(covers(b, "::ffff:203.0.113.1"));
	assert_false(covers(b, "2001:db9::1"));
	put(b, "::/0", T0, HOUR);
	assert_true(covers(b, "2001:db9::1"));
	bans_free(b);
}

static void
test_key(void **state)
{
	struct cidr in, k;

	(void)state;
	in = C("::ffff:198.18.0.1");
	assert_int_equal(bans_key(&in, &k), 0);
	assert_string_equal(fmt(&k), "198.18.0.1/32");
	in = C("::ffff:0:0/96");
	assert_int_equal(bans_key(&in, &k), 0);
	assert_string_equal(fmt(&k), "0.0.0.0/0");
	/* Shorter than /96: an IPv6 prefix. */
	in = C("::fffe:0:0/95");
	assert_int_equal(bans_key(&in, &k), 0);
	assert_string_equal(fmt(&k), "::fffe:0:0/95");
	/* Host bits are cleared even if the caller left some. */
	in = C("198.18.0.0/24");
	in.addr.u.bytes[3] = 7;
	assert_int_equal(bans_key(&in, &k), 0);
	assert_string_equal(fmt(&k), "198.18.0.0/24");
	in.len = 40;
	assert_int_equal(bans_key(&in, &k), -EINVAL);
}

struct expired {
	char peers[512];
	size_t n;
};

static void
on_expire(const struct ban *x, void *arg)
{
	struct expired *e = arg;
	size_t len = strlen(e->peers);

	snprintf(e->peers + len, sizeof(e->peers) - len, "%s%s",
	    len ? "," : "", fmt(&x->peer));
	e->n++;
}

static void
test_expire(void **state)
{
	struct bans *b = new_bans(&policy);
	struct expired e = { "", 0 };

	(void)state;
	put(b, "198.18.0.1", T0, 10 * SEC);
	put(b, "198.18.0.2", T0, 20 * SEC);
	put(b, "198.18.0.3", T0, 30 * SEC);
	put(b, "198.18.1.0/24", T0, 10 * SEC);
	put(b, "2001:db8::1", T0, 0);		/* permanent */
	assert_int_equal(bans_expire(b, T0, on_expire, &e), 0);
	assert_int_equal(bans_expire(b, T0 + 10 * SEC - 1, on_expire, &e), 0);
	/* expires_ms itself is the end. */
	assert_int_equal(bans_expire(b, T0 + 10 * SEC, on_expire, &e), 2);
	assert_int_equal(e.n, 2);
	assert_true(strcmp(e.peers, "198.18.0.1/32,198.18.1.0/24") == 0 ||
	    strcmp(e.peers, "198.18.1.0/24,198.18.0.1/32") == 0);
	assert_false(covers(b, "198.18.0.1"));
	assert_false(covers(b, "198.18.1.1"));
	assert_true(covers(b, "198.18.0.2"));
	assert_int_equal(bans_count(b), 3);
	/* A ban put after a sweep that expires sooner is still seen. */
	put(b, "198.18.0.9", T0, 15 * SEC);
	assert_int_equal(bans_expire(b, T0 + 15 * SEC, NULL, NULL), 1);
	assert_false(covers(b, "198.18.0.9"));
	/* Far in the future: only the permanent ban is left. */
	e.n = 0;
	e.peers[0] = '\0';
	assert_int_equal(bans_expire(b, INT64_MAX, on_expire, &e), 2);
	assert_int_equal(bans_count(b), 1);
	assert_true(covers(b, "2001:db8::1"));
	assert_int_equal(bans_expire(b, INT64_MAX, on_expire, &e), 0);
	bans_free(b);
}

static void
test_check(void **state)
{
	const struct addr own[] = { A("198.18.0.10"), A("2001:db8::10") };
	const struct cidr allow[] = { C("198.18.8.0/24"), C("2001:db8:8::1"),
	    C("::ffff:198.18.9.0/120") };
	const size_t nown = 2, nallow = 3;
	struct cidr p;

#define CHECK(s, prot) (p = C(s), bans_check(&p, own, nown, allow, \
	    nallow, (prot)))
	(void)state;
	assert_int_equal(CHECK("198.18.0.1", false), BAN_OK);
	assert_int_equal(CHECK("2001:db8::1", false), BAN_OK);
	assert_int_equal(CHECK("198.18.0.1", true), BAN_PROTECTED);
	/* Loopback: in it, covering it, IPv6, IPv4-mapped. */
	assert_int_equal(CHECK("127.0.0.1", false), BAN_LOOPBACK);
	assert_int_equal(CHECK("127.1.2.3", true), BAN_LOOPBACK);
	assert_int_equal(CHECK("127.0.0.0/8", false), BAN_LOOPBACK);
	assert_int_equal(CHECK("96.0.0.0/3", false), BAN_LOOPBACK);
	assert_int_equal(CHECK("0.0.0.0/0", false), BAN_LOOPBACK);
	assert_int_equal(CHECK("::1", false), BAN_LOOPBACK);
	assert_int_equal(CHECK("::/0", false), BAN_LOOPBACK);
	assert_int_equal(CHECK("::ffff:127.0.0.1", false), BAN_LOOPBACK);
	assert_int_equal(CHECK("128.0.0.0/1", false), BAN_OWN);
	/* Own addresses, and prefixes covering them. */
	assert_int_equal(CHECK("198.18.0.10", false), BAN_OWN);
	assert_int_equal(CHECK("::ffff:198.18.0.10", false), BAN_OWN);
	assert_int_equal(CHECK("198.18.0.0/24", false), BAN_OWN);
	assert_int_equal(CHECK("2001:db8::/64", false), BAN_OWN);
	assert_int_equal(CHECK("2001:db8::10", true), BAN_OWN);
	assert_int_equal(CHECK("198.18.0.11", false), BAN_OK);
	assert_int_equal(CHECK("198.18.1.0/24", false), BAN_OK);
	/* Allow overlaps: the ban inside an allowed prefix, or covering
	 * one (or an allowed host); mapped allow entries are IPv4. */
	assert_int_equal(CHECK("198.18.8.7", false), BAN_ALLOWED);
	assert_int_equal(CHECK("198.18.8.128/25", false), BAN_ALLOWED);
	assert_int_equal(CHECK("198.18.8.0/22", false), BAN_ALLOWED);
	assert_int_equal(CHECK("2001:db8:8::/48", false), BAN_ALLOWED);
	assert_int_equal(CHECK("2001:db8:8::2", false), BAN_OK);
	assert_int_equal(CHECK("198.18.9.1", false), BAN_ALLOWED);
	assert_int_equal(CHECK("198.18.12.0/22", false), BAN_OK);
	/* No lists at all. */
	p = C("198.18.0.10");
	assert_int_equal(bans_check(&p, NULL, 0, NULL, 0, false), BAN_OK);
#undef CHECK

	assert_string_equal(ban_refusal_reason(BAN_LOOPBACK), "loopback");
	assert_string_equal(ban_refusal_reason(BAN_OWN),
	    "one of this host's own addresses");
	assert_string_equal(ban_refusal_reason(BAN_ALLOWED),
	    "in [allow] peers");
	assert_string_equal(ban_refusal_reason(BAN_PROTECTED),
	    "holds a session to a protected process");
	assert_non_null(ban_refusal_reason(BAN_OK));
	assert_non_null(ban_refusal_reason((enum ban_refusal)99));
}

static void
test_aggregate(void **state)
{
	struct bans *b = new_bans(&policy);
	struct bans_policy p = policy;
	struct cidr pre, c;
	struct addr a;

	(void)state;
	put(b, "198.18.0.1", T0, HOUR);
	put(b, "198.18.0.2", T0, HOUR);
	put(b, "198.18.1.3", T0, HOUR);		/* another /24 */
	put(b, "198.18.0.0/30", T0, HOUR);	/* prefixes do not count */
	a = A("198.18.0.2");
	/* threshold - 1 */
	assert_false(bans_aggregate(b, &a, &pre));
	/* Replacing a ban does not count twice. */
	put(b, "198.18.0.2", T0 + 1, HOUR);
	assert_false(bans_aggregate(b, &a, &pre));
	put(b, "::ffff:198.18.0.200", T0, HOUR);
	assert_true(bans_aggregate(b, &a, &pre));
	assert_string_equal(fmt(&pre), "198.18.0.0/24");
	a = A("::ffff:198.18.0.77");
	assert_true(bans_aggregate(b, &a, &pre));
	a = A("198.18.1.3");
	assert_false(bans_aggregate(b, &a, &pre));

	/* Once the prefix (or one covering it) is banned: no. */
	a = A("198.18.0.1");
	put(b, "198.18.0.0/24", T0, HOUR);
	assert_false(bans_aggregate(b, &a, &pre));
	c = C("198.18.0.0/24");
	assert_int_equal(bans_del(b, &c, NULL), 0);
	assert_true(bans_aggregate(b, &a, &pre));
	put(b, "198.16.0.0/14", T0, HOUR);
	assert_false(bans_aggregate(b, &a, &pre));
	c = C("198.16.0.0/14");
	assert_int_equal(bans_del(b, &c, NULL), 0);
	assert_true(bans_aggregate(b, &a, &pre));

	/* Deleting or expiring a host counts down. */
	c = C("198.18.0.1");
	assert_int_equal(bans_del(b, &c, NULL), 0);
	assert_false(bans_aggregate(b, &a, &pre));
	put(b, "198.18.0.1", T0, 2 * HOUR);
	put(b, "198.18.0.3", T0, 3 * HOUR);
	assert_true(bans_aggregate(b, &a, &pre));
	assert_int_equal(bans_expire(b, T0 + 2 * HOUR, NULL, NULL), 5);
	assert_false(bans_aggregate(b, &a, &pre));	/* only .3 is left */

	/* IPv6 at /64. */
	put(b, "2001:db8:0:1::1", T0, HOUR);
	put(b, "2001:db8:0:1::2", T0, HOUR);
	put(b, "2001:db8:0:2::3", T0, HOUR);
	a = A("2001:db8:0:1::1");
	assert_false(bans_aggregate(b, &a, &pre));
	put(b, "2001:db8:0:1:ffff::", T0, HOUR);
	assert_true(bans_aggregate(b, &a, &pre));
	assert_string_equal(fmt(&pre), "2001:db8:0:1::/64");

	/* A reload to /48 recounts what is in force; off is off. */
	p.aggregate_v6 = 48;
	p.aggregate_threshold = 4;
	assert_int_equal(bans_set_policy(b, &p), 0);
	assert_true(bans_aggregate(b, &a, &pre));
	assert_string_equal(fmt(&pre), "2001:db8::/48");
	p.aggregate_threshold = 5;
	assert_int_equal(bans_set_policy(b, &p), 0);
	assert_false(bans_aggregate(b, &a, &pre));
	p.aggregate_v6 = 0;
	p.aggregate_threshold = 1;
	assert_int_equal(bans_set_policy(b, &p), 0);
	assert_false(bans_aggregate(b, &a, &pre));
	a = A("198.18.0.3");
	assert_true(bans_aggregate(b, &a, &pre));	/* v4 still /24 */
	p.aggregate_threshold = 0;			/* 0: off */
	assert_int_equal(bans_set_policy(b, &p), 0);
	assert_false(bans_aggregate(b, &a, &pre));
	bans_free(b);
}

static void
test_history_bound(void **state)
{
	struct bans_policy p = policy;
	struct bans *b;
	char peer[64];
	struct cidr c;
	uint32_t count;
	int i;

	(void)state;
	p.history_max = 100;
	b = new_bans(&p);
	/* 100 peers banned over 100 hours (window: a day). */
	for (i = 0; i < 100; i++) {
		snprintf(peer, sizeof(peer), "198.18.0.%d", i);
		put(b, peer, T0 + i * (int64_t)HOUR, HOUR);
	}
	assert_int_equal(bans_history_count(b), 100);
	assert_int_equal(bans_history_evicted(b), 0);
	/* One more: those older than a day before the newest go. */
	put(b, "198.18.1.0", T0 + 100 * (int64_t)HOUR, HOUR);
	assert_int_equal(bans_history_count(b), 26);
	assert_int_equal(bans_history_evicted(b), 75);
	c = C("198.18.0.99");
	bans_length(b, &c, 0, T0 + 100 * (int64_t)HOUR, &count);
	assert_int_equal(count, 1);
	c = C("198.18.0.10");
	bans_length(b, &c, 0, T0 + 100 * (int64_t)HOUR, &count);
	assert_int_equal(count, 0);
	/* The bans in force are not touched. */
	assert_int_equal(bans_count(b), 101);

	/* All within the window: the oldest go, down to three quarters. */
	bans_free(b);
	b = new_bans(&p);
	for (i = 0; i < 100; i++) {
		snprintf(peer, sizeof(peer), "2001:db8::%x", i);
		c = C(peer);
		/* In scrambled order, with ties. */
		assert_int_equal(bans_history_add(b, &c,
		    T0 + ((i * 37) % 100) / 2, MIN, 1), 0);
	}
	c = C("2001:db8::ffff");
	assert_int_equal(bans_history_add(b, &c, T0 + 1000, MIN, 1), 0);
	assert_int_equal(bans_history_count(b), 76);
	assert_int_equal(bans_history_evicted(b), 25);
	/* What is left is the newest. */
	for (i = 0; i < 100; i++) {
		int64_t t = T0 + ((i * 37) % 100) / 2;

		snprintf(peer, sizeof(peer), "2001:db8::%x", i);
		c = C(peer);
		bans_length(b, &c, 0, T0 + 2000, &count);
		if (t < T0 + 12)
			assert_int_equal(count, 0);
		else if (t > T0 + 12)
			assert_int_equal(count, 1);
	}
	bans_free(b);
}

/* A reference model for random operations: a flat array of hosts. */
static void
test_random_ops(void **state)
{
	enum { N = 4096, OPS = 200000 };
	bool *in = calloc(N, sizeof(*in));
	struct bans *b = new_bans(&policy);
	unsigned int seed = 1, i, x;
	size_t n = 0, k;
	struct cidr c;
	struct ban y;
	struct addr a;

	(void)state;
	assert_non_null(in);
	y = mkban("198.18.0.0", T0, HOUR, 0);
	c = y.peer;
	for (i = 0; i < OPS; i++) {
		x = (unsigned int)rand_r(&seed) % N;
		c.addr.u.bytes[2] = (uint8_t)(x >> 8);
		c.addr.u.bytes[3] = (uint8_t)x;
		a = c.addr;
		switch (rand_r(&seed) % 3) {
		case 0:
			y.peer = c;
			assert_int_equal(bans_put(b, &y), 0);
			n += !in[x];
			in[x] = true;
			break;
		case 1:
			assert_int_equal(bans_del(b, &c, NULL),
			    in[x] ? 0 : -ENOENT);
			n -= in[x];
			in[x] = false;
			break;
		default:
			assert_int_equal(bans_covers(b, &a), in[x]);
			break;
		}
	}
	assert_int_equal(bans_count(b), n);
	for (x = 0; x < N; x++) {
		c.addr.u.bytes[2] = (uint8_t)(x >> 8);
		c.addr.u.bytes[3] = (uint8_t)x;
		assert_int_equal(bans_get(b, &c) != NULL, in[x]);
	}
	for (k = 0; k < bans_count(b); k++) {
		const struct ban *g = bans_at(b, k);

		x = (unsigned int)g->peer.addr.u.bytes[2] << 8 |
		    g->peer.addr.u.bytes[3];
		assert_true(in[x]);
	}
	bans_free(b);
	free(in);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
test_many(void **state)
{
	enum { N = 100000 };
	struct bans *b = new_bans(&policy);
	struct timespec t0;
	size_t hits = 0;
	struct ban y;
	struct addr a;
	double put_ms, look_ms;
	unsigned int i;

	(void)state;
	y = mkban("198.18.0.0", T0, HOUR, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N; i++) {
		/* 100,000 hosts in 198.18.0.0/15, and as many in IPv6. */
		y.peer = C("198.18.0.0");
		y.peer.addr.u.bytes[1] = (uint8_t)(18 + (i >> 16));
		y.peer.addr.u.bytes[2] = (uint8_t)(i >> 8);
		y.peer.addr.u.bytes[3] = (uint8_t)i;
		y.expires_ms = T0 + (int64_t)HOUR + i;
		assert_int_equal(bans_put(b, &y), 0);
		y.peer = C("2001:db8::");
		y.peer.addr.u.bytes[12] = (uint8_t)(i >> 24);
		y.peer.addr.u.bytes[13] = (uint8_t)(i >> 16);
		y.peer.addr.u.bytes[14] = (uint8_t)(i >> 8);
		y.peer.addr.u.bytes[15] = (uint8_t)i;
		assert_int_equal(bans_put(b, &y), 0);
	}
	put(b, "203.0.113.0/24", T0, 2 * HOUR);
	put(b, "2001:db8:ffff::/48", T0, 2 * HOUR);
	put_ms = ms_since(&t0);
	assert_int_equal(bans_count(b), 2 * N + 2);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	a = A("198.18.0.0");
	for (i = 0; i < 2 * N; i++) {
		/* Half banned, half not (198.20/15 is not). */
		a.u.bytes[1] = (uint8_t)(18 + (i >> 16));
		a.u.bytes[2] = (uint8_t)(i >> 8);
		a.u.bytes[3] = (uint8_t)i;
		hits += bans_covers(b, &a);
	}
	look_ms = ms_since(&t0);
	assert_int_equal(hits, N);
	assert_true(covers(b, "203.0.113.9"));
	assert_true(covers(b, "2001:db8::1:86a0") == false);
	assert_true(covers(b, "2001:db8::1:869f"));
	assert_true(covers(b, "2001:db8:ffff::1"));
	print_message("bans: %d puts in %.1f ms, %d lookups in %.1f ms\n",
	    2 * N, put_ms, 2 * N, look_ms);

	/* Expire them all but the prefixes. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(bans_expire(b, T0 + (int64_t)HOUR + N, NULL, NULL),
	    2 * N);
	print_message("bans: expired %d in %.1f ms\n", 2 * N, ms_since(&t0));
	assert_int_equal(bans_count(b), 2);
	a = A("198.18.0.5");
	assert_false(bans_covers(b, &a));
	bans_free(b);
}

/* The peers of bans_top's first n in order by, space-separated. */
static const char *
top_text(const struct bans *b, enum bans_sort by, size_t n,
    bool (*match)(const struct ban *, void *), size_t *ret_matched)
{
	static char out[512];
	const struct ban *r[16];
	size_t k, i, off = 0;

	assert_true(n <= 16);
	k = bans_top(b, by, match, NULL, r, n, ret_matched);
	assert_true(k <= n);
	out[0] = '\0';
	for (i = 0; i < k; i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s",
		    i ? " " : "", fmt(&r[i]->peer));
	return out;
}

static bool
only_v6(const struct ban *ban, void *arg)
{
	(void)arg;
	return ban->peer.addr.family == AF_INET6;
}

static void
test_top(void **state)
{
	static const struct {
		const char *peer;
		int64_t created;
		uint64_t length;	/* 0: permanent */
		uint32_t count;
	} in[] = {
		{ "198.18.0.10/32", 5 * MIN, HOUR, 2 },
		{ "2001:db8::1/128", 1 * MIN, 0, 0 },
		{ "198.18.0.9/32", 3 * MIN, 2 * HOUR, 2 },
		{ "198.18.1.0/24", 4 * MIN, 0, 7 },
		{ "2001:db8::2/128", 2 * MIN, 3 * HOUR, 1 },
	};
	struct bans *b = new_bans(&policy);
	enum bans_sort by;
	struct ban x;
	size_t i, m;

	(void)state;
	assert_string_equal(top_text(b, BANS_SORT_LEFT, 3, NULL, &m), "");
	assert_int_equal(m, 0);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		x = mkban(in[i].peer, in[i].created, in[i].length,
		    in[i].count);
		assert_int_equal(bans_put(b, &x), 0);
	}
	/* Permanent first (by address), then the latest to expire. */
	assert_string_equal(top_text(b, BANS_SORT_LEFT, 16, NULL, &m),
	    "198.18.1.0/24 2001:db8::1/128 2001:db8::2/128 198.18.0.9/32 "
	    "198.18.0.10/32");
	assert_int_equal(m, 5);
	assert_string_equal(top_text(b, BANS_SORT_CREATED, 16, NULL, &m),
	    "198.18.0.10/32 198.18.1.0/24 198.18.0.9/32 2001:db8::2/128 "
	    "2001:db8::1/128");
	assert_string_equal(top_text(b, BANS_SORT_ADDRESS, 16, NULL, &m),
	    "198.18.0.9/32 198.18.0.10/32 198.18.1.0/24 2001:db8::1/128 "
	    "2001:db8::2/128");
	/* Equal counts: the lower address first. */
	assert_string_equal(top_text(b, BANS_SORT_COUNT, 16, NULL, &m),
	    "198.18.1.0/24 198.18.0.9/32 198.18.0.10/32 2001:db8::2/128 "
	    "2001:db8::1/128");
	/* The first n are the first n of the whole order. */
	assert_string_equal(top_text(b, BANS_SORT_COUNT, 2, NULL, &m),
	    "198.18.1.0/24 198.18.0.9/32");
	assert_int_equal(m, 5);
	assert_string_equal(top_text(b, BANS_SORT_ADDRESS, 1, NULL, &m),
	    "198.18.0.9/32");
	assert_string_equal(top_text(b, BANS_SORT_LEFT, 0, NULL, &m), "");
	assert_int_equal(m, 5);
	assert_string_equal(top_text(b, BANS_SORT_CREATED, 1, only_v6, &m),
	    "2001:db8::2/128");
	assert_int_equal(m, 2);
	assert_int_equal(bans_sort_parse("count", &by), 0);
	assert_int_equal(by, BANS_SORT_COUNT);
	assert_int_equal(bans_sort_parse("size", &by), -EINVAL);
	assert_int_equal(bans_sort_parse(NULL, &by), -EINVAL);
	bans_free(b);
}

/* Many bans: every n gives the first n of the full order. */
static void
test_top_many(void **state)
{
	struct bans *b = new_bans(&policy);
	const struct ban **all, **some;
	static const size_t ns[] = { 1, 2, 7, 100, 999 };
	char peer[ADDR_STRLEN];
	size_t i, j, m, k, total = 1000;
	enum bans_sort by;
	struct ban x;

	(void)state;
	srandom(7);
	for (i = 0; i < total; i++) {
		snprintf(peer, sizeof(peer), "198.18.%zu.%zu/32", i / 250,
		    i % 250);
		x = mkban(peer, random() % 100 * MIN, random() % 4 * HOUR,
		    (uint32_t)(random() % 5));
		assert_int_equal(bans_put(b, &x), 0);
	}
	all = calloc(total, sizeof(*all));
	some = calloc(total, sizeof(*some));
	assert_non_null(all);
	assert_non_null(some);
	for (by = BANS_SORT_LEFT; by <= BANS_SORT_COUNT; by++) {
		assert_int_equal(bans_top(b, by, NULL, NULL, all, total, &m),
		    total);
		for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			k = bans_top(b, by, NULL, NULL, some, ns[i], &m);
			assert_int_equal(k, ns[i]);
			assert_int_equal(m, total);
			for (j = 0; j < k; j++)
				assert_ptr_equal(some[j], all[j]);
		}
	}
	free(all);
	free(some);
	bans_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_length_policy),
		cmocka_unit_test(test_history_count),
		cmocka_unit_test(test_put_get_del_covers),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_history_bound),
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_top_many),
	};

	return cmocka_run_group_tests_name("bans", tests, NULL, NULL);
}
