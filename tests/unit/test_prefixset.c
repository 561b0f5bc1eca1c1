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
#include "../../policy/prefixset.h"

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

static struct prefixset *
set_of(const char *const *list)
{
	struct prefixset *s;
	struct cidr c;
	size_t i;

	assert_int_equal(prefixset_new(&s), 0);
	for (i = 0; list[i] != NULL; i++) {
		c = C(list[i]);
		assert_int_equal(prefixset_add(s, &c), 0);
	}
	assert_int_equal(prefixset_build(s), 0);
	return s;
}

/* The longest match of addr, as text, or "-" for none. */
static const char *
match(const struct prefixset *s, const char *addr, char *buf, size_t len)
{
	struct addr a = A(addr);
	struct cidr m;

	if (!prefixset_contains(s, &a, &m))
		return "-";
	return cidr_format(&m, buf, len);
}

#define MATCH(s, addr, want) do {					\
	char b_[ADDR_STRLEN];						\
	assert_string_equal(match((s), (addr), b_, sizeof(b_)), (want)); \
} while (0)

static void
test_prefixset_empty(void **state)
{
	struct prefixset *s;
	struct addr a = A("198.18.0.1");
	struct cidr c = C("198.18.0.0/15");

	(void)state;
	assert_int_equal(prefixset_new(&s), 0);
	assert_false(prefixset_contains(s, &a, NULL));
	assert_int_equal(prefixset_build(s), 0);
	assert_false(prefixset_contains(s, &a, NULL));
	assert_int_equal(prefixset_count(s), 0);
	/* Added but not built: not seen yet. */
	assert_int_equal(prefixset_add(s, &c), 0);
	assert_false(prefixset_contains(s, &a, NULL));
	assert_int_equal(prefixset_build(s), 0);
	assert_true(prefixset_contains(s, &a, NULL));
	assert_int_equal(prefixset_count(s), 1);
	/* Bad prefixes. */
	c.len = 33;
	assert_int_equal(prefixset_add(s, &c), -EINVAL);
	c = C("2001:db8::/32");
	c.len = 129;
	assert_int_equal(prefixset_add(s, &c), -EINVAL);
	c.addr.family = AF_UNIX;
	c.len = 0;
	assert_int_equal(prefixset_add(s, &c), -EINVAL);
	a.family = AF_UNIX;
	assert_false(prefixset_contains(s, &a, NULL));
	prefixset_free(s);
	prefixset_free(NULL);
}

static void
test_prefixset_nested(void **state)
{
	static const char *const list[] = {
		"198.19.2.3", "198.18.0.0/15", "198.19.2.0/24", "198.19.0.0/16",
		"198.19.2.128/25", "198.18.200.0/24", "198.19.0.0/16",
		"192.0.2.0/24", "192.0.2.255", "2001:db8::/32",
		"2001:db8:1::/48", "2001:db8:1::1", NULL,
	};
	struct prefixset *s = set_of(list);

	(void)state;
	assert_int_equal(prefixset_count(s), 11);	/* one duplicate */
	MATCH(s, "198.17.255.255", "-");
	MATCH(s, "198.18.0.0", "198.18.0.0/15");
	MATCH(s, "198.19.0.0", "198.19.0.0/16");
	MATCH(s, "198.19.2.2", "198.19.2.0/24");
	MATCH(s, "198.19.2.3", "198.19.2.3/32");
	MATCH(s, "198.19.2.4", "198.19.2.0/24");
	MATCH(s, "198.19.2.127", "198.19.2.0/24");
	MATCH(s, "198.19.2.128", "198.19.2.128/25");
	MATCH(s, "198.19.2.255", "198.19.2.128/25");
	MATCH(s, "198.19.3.0", "198.19.0.0/16");
	MATCH(s, "198.19.255.255", "198.19.0.0/16");
	MATCH(s, "198.18.1.0", "198.18.0.0/15");
	MATCH(s, "198.18.200.1", "198.18.200.0/24");
	MATCH(s, "198.18.201.0", "198.18.0.0/15");
	MATCH(s, "198.18.255.255", "198.18.0.0/15");
	MATCH(s, "198.20.0.0", "-");
	MATCH(s, "192.0.2.254", "192.0.2.0/24");
	MATCH(s, "192.0.2.255", "192.0.2.255/32");
	MATCH(s, "192.0.3.0", "-");
	MATCH(s, "2001:db8::1", "2001:db8::/32");
	MATCH(s, "2001:db8:1::1", "2001:db8:1::1/128");
	MATCH(s, "2001:db8:1::2", "2001:db8:1::/48");
	MATCH(s, "2001:db8:2::", "2001:db8::/32");
	MATCH(s, "2001:db9::", "-");
	MATCH(s, "::1", "-");
	/* IPv4 prefixes never match IPv6 addresses other than mapped ones,
	 * and IPv6 prefixes never match IPv4 addresses. */
	MATCH(s, "::a01:203", "-");
	prefixset_free(s);
}

static void
test_prefixset_edges(void **state)
{
	static const char *const list[] = {
		"0.0.0.0/0", "0.0.0.0/32", "255.255.255.255/32",
		"128.0.0.0/1", "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"::/128", "8000::/1", "::ffff:ffff:ffff:ffff/64", NULL,
	};
	struct prefixset *s = set_of(list);

	(void)state;
	MATCH(s, "0.0.0.0", "0.0.0.0/32");
	MATCH(s, "0.0.0.1", "0.0.0.0/0");
	MATCH(s, "127.255.255.255", "0.0.0.0/0");
	MATCH(s, "128.0.0.0", "128.0.0.0/1");
	MATCH(s, "255.255.255.254", "128.0.0.0/1");
	MATCH(s, "255.255.255.255", "255.255.255.255/32");
	MATCH(s, "::", "::/128");
	MATCH(s, "::2", "::/64");
	MATCH(s, "0:0:0:0:ffff::", "::/64");
	MATCH(s, "0:0:0:1::", "::/0");
	MATCH(s, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0");
	MATCH(s, "8000::", "8000::/1");
	MATCH(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "8000::/1");
	MATCH(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	prefixset_free(s);
}

static void
test_prefixset_mapped(void **state)
{
	static const char *const list[] = {
		"198.18.0.0/15", "::ffff:203.0.113.0/120", "2001:db8::/32",
		NULL,
	};
	static const char *const wide[] = { "::/0", "198.18.0.0/15", NULL };
	struct prefixset *s = set_of(list);

	(void)state;
	/* An IPv4-mapped address matches the IPv4 prefix. */
	MATCH(s, "::ffff:198.18.7.1", "198.18.0.0/15");
	MATCH(s, "::ffff:198.20.0.1", "-");
	/* A mapped prefix is stored as the IPv4 prefix it means. */
	MATCH(s, "203.0.113.5", "203.0.113.0/24");
	MATCH(s, "::ffff:203.0.113.5", "203.0.113.0/24");
	MATCH(s, "203.0.114.5", "-");
	/* Not mapped: the embedded bits mean nothing. */
	MATCH(s, "::198.18.7.1", "-");
	MATCH(s, "64:ff9b::198.18.7.1", "-");
	prefixset_free(s);

	/* A short IPv6 prefix covers mapped addresses that no IPv4 prefix
	 * matches, but never plain IPv4 ones. */
	s = set_of(wide);
	MATCH(s, "::ffff:198.18.0.1", "198.18.0.0/15");
	MATCH(s, "::ffff:192.0.2.1", "::/0");
	MATCH(s, "192.0.2.1", "-");
	prefixset_free(s);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* Random prefixes clustered in a small space, so that they nest. */
static void
random_cidr(struct cidr *c, bool v6)
{
	char buf[ADDR_STRLEN];
	uint64_t r = rng();

	if (!v6) {
		snprintf(buf, sizeof(buf), "10.%u.%u.%u/%u",
		    (unsigned int)(r % 4), (unsigned int)(r >> 8) % 256,
		    (unsigned int)(r >> 16) % 256,
		    8 + (unsigned int)(r >> 24) % 25);
	} else {
		snprintf(buf, sizeof(buf), "2001:db8:%x:%x::%x/%u",
		    (unsigned int)(r % 3), (unsigned int)(r >> 8) % 65536,
		    (unsigned int)(r >> 24) % 65536,
		    32 + (unsigned int)(r >> 40) % 97);
	}
	*c = C(buf);
}

static void
random_addr(struct addr *a, bool v6)
{
	char buf[ADDR_STRLEN];
	uint64_t r = rng();

	if (!v6)
		snprintf(buf, sizeof(buf), "10.%u.%u.%u",
		    (unsigned int)(r % 5), (unsigned int)(r >> 8) % 256,
		    (unsigned int)(r >> 16) % 256);
	else
		snprintf(buf, sizeof(buf), "2001:db8:%x:%x::%x",
		    (unsigned int)(r % 4), (unsigned int)(r >> 8) % 65536,
		    (unsigned int)(r >> 24) % 65536);
	*a = A(buf);
}

/* Against a linear scan, on random nested prefixes. */
static void
test_prefixset_random(void **state)
{
	enum { NPFX = 2000, NLOOK = 20000 };
	struct cidr *list, m, best;
	struct prefixset *s;
	struct addr a;
	size_t i, j;
	bool found, v6;
	int round;

	(void)state;
	list = calloc(NPFX, sizeof(*list));
	assert_non_null(list);
	for (round = 0; round < 4; round++) {
		v6 = round % 2 == 1;
		assert_int_equal(prefixset_new(&s), 0);
		for (i = 0; i < NPFX; i++) {
			random_cidr(&list[i], v6);
			assert_int_equal(prefixset_add(s, &list[i]), 0);
		}
		assert_int_equal(prefixset_build(s), 0);
		for (j = 0; j < NLOOK; j++) {
			random_addr(&a, v6);
			/* Sometimes exactly a prefix's first address. */
			if (j % 4 == 0)
				a = list[rng() % NPFX].addr;
			found = false;
			for (i = 0; i < NPFX; i++) {
				if (cidr_contains(&list[i], &a) &&
				    (!found || list[i].len > best.len)) {
					best = list[i];
					found = true;
				}
			}
			assert_int_equal(prefixset_contains(s, &a, &m), found);
			if (found) {
				assert_int_equal(m.len, best.len);
				assert_true(addr_equal(&m.addr, &best.addr));
			}
		}
		prefixset_free(s);
	}
	free(list);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 entries (a big public deny list): add and build well under a
 * second; report lookups per second too. */
static void
test_prefixset_big(void **state)
{
	enum { N = 100000, LOOKUPS = 2000000 };
	struct cidr *list;
	struct prefixset *s;
	struct addr *probe;
	double t0, t1, t2;
	size_t i, hits = 0;

	(void)state;
	list = calloc(N, sizeof(*list));
	probe = calloc(4096, sizeof(*probe));
	assert_non_null(list);
	assert_non_null(probe);
	for (i = 0; i < N; i++) {
		uint64_t r = rng();
		struct cidr *c = &list[i];

		memset(c, 0, sizeof(*c));
		if (i % 10 == 9) {
			c->addr.family = AF_INET6;
			c->addr.u.bytes[0] = 0x20;
			c->addr.u.bytes[1] = 0x01;
			memcpy(c->addr.u.bytes + 2, &r, 8);
			c->len = 48 + (unsigned int)(r >> 56) % 81;
		} else {
			c->addr.family = AF_INET;
			memcpy(c->addr.u.bytes, &r, 4);
			c->len = i % 3 == 0 ? 24 : 32;
			if (c->len == 24)
				c->addr.u.bytes[3] = 0;
		}
	}
	for (i = 0; i < 4096; i++) {
		probe[i] = list[rng() % N].addr;
		if (i % 2)
			probe[i].u.bytes[3] ^= 0x55;	/* some miss */
	}
	t0 = now_seconds();
	assert_int_equal(prefixset_new(&s), 0);
	assert_int_equal(prefixset_add_many(s, list, N), 0);
	assert_int_equal(prefixset_build(s), 0);
	t1 = now_seconds();
	for (i = 0; i < LOOKUPS; i++)
		hits += prefixset_contains(s, &probe[i % 4096], NULL);
	t2 = now_seconds();
	assert_true(hits >= LOOKUPS / 2);
	for (i = 0; i < N; i += 97)
		assert_true(prefixset_contains(s, &list[i].addr, NULL));
	print_message("[ MEASURE  ] prefixset: %d prefixes added and built in "
	    "%.1f ms, %zu bytes (%.0f per prefix); %.1f M lookups/s\n", N,
	    (t1 - t0) * 1e3, prefixset_memory(s),
	    (double)prefixset_memory(s) / N, LOOKUPS / (t2 - t1) / 1e6);
	assert_true(t1 - t0 < 1.0);
	prefixset_free(s);
	free(list);
	free(probe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixset_empty),
		cmocka_unit_test(test_prefixset_nested),
		cmocka_unit_test(test_prefixset_edges),
		cmocka_unit_test(test_prefixset_mapped),
		cmocka_unit_test(test_prefixset_random),
		cmocka_unit_test(test_prefixset_big),
	};

	return cmocka_run_group_tests_name("prefixset", tests, NULL, NULL);
}
