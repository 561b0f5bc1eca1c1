#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "../../common/addr.h"
#include "../../common/util.h"
#include "../../common/duration.h"
#include "../../common/timeutil.h"

static void
test_addr_parse_good(void **state)
{
	char buf[ADDR_STRLEN];
	struct addr a;

	(void)state;
	assert_int_equal(addr_parse("198.18.0.1", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(addr_format(&a, buf, sizeof(buf)), "198.18.0.1");
	assert_int_equal(addr_parse("2001:DB8::1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(addr_format(&a, buf, sizeof(buf)), "2001:db8::1");
	assert_int_equal(addr_parse("::", &a), 0);
	assert_true(addr_is_any(&a));
	assert_int_equal(addr_parse("::ffff:127.0.0.1", &a), 0);
	assert_true(addr_is_loopback(&a));
}

static void
test_addr_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
		"01.2.3.4", "1.2.3.-4", "2001:db8:::1", "2001:db8::g",
		"[2001:db8::1]", "1.2.3.4/24", "fe80::1%eth0", "localhost",
		"1:2:3:4:5:6:7:8:9", "::1::", "0x7f.0.0.1",
	};
	struct addr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addr_parse(bad[i], &a), -EINVAL);
	assert_int_equal(addr_parse(NULL, &a), -EINVAL);
}

static void
test_addr_format_port(void **state)
{
	char buf[ADDR_STRLEN];
	struct addr a;

	(void)state;
	assert_int_equal(addr_parse("198.18.0.1", &a), 0);
	assert_string_equal(addr_format_port(&a, 80, buf, sizeof(buf)),
	    "198.18.0.1:80");
	assert_string_equal(addr_format_port(&a, 0, buf, sizeof(buf)),
	    "198.18.0.1:*");
	assert_int_equal(addr_parse("2001:db8::5", &a), 0);
	assert_string_equal(addr_format_port(&a, 65535, buf, sizeof(buf)),
	    "[2001:db8::5]:65535");
}

static void
test_cidr_parse(void **state)
{
	char buf[ADDR_STRLEN];
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("198.18.0.0/15", &c), 0);
	assert_int_equal(c.len, 15);
	assert_string_equal(cidr_format(&c, buf, sizeof(buf)),
	    "198.18.0.0/15");
	/* Host bits are cleared. */
	assert_int_equal(cidr_parse("198.19.7.9/16", &c), 0);
	assert_string_equal(cidr_format(&c, buf, sizeof(buf)),
	    "198.19.0.0/16");
	assert_int_equal(cidr_parse("198.18.0.7", &c), 0);
	assert_int_equal(c.len, 32);
	assert_int_equal(cidr_parse("2001:db8:ffff::1/33", &c), 0);
	assert_string_equal(cidr_format(&c, buf, sizeof(buf)),
	    "2001:db8:8000::/33");
	assert_int_equal(cidr_parse("::/0", &c), 0);
	assert_int_equal(c.len, 0);
	assert_int_equal(cidr_parse("2001:db8::1", &c), 0);
	assert_int_equal(c.len, 128);
}

static void
test_cidr_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "/", "/24", "198.18.0.0/", "198.18.0.0/33", "198.18.0.0/-1",
		"198.18.0.0/+8", "198.18.0.0/8x", "198.18.0.0/ 8",
		"198.18.0.0/1000", "2001:db8::/129", "2001:db8::/24/24",
		"198.18.0.0//24", "nonsense/8",
		"198.18.000000000000000000000000000000000000000000000000000000000"
		"00000000000000000.1/8",
	};
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cidr_parse(bad[i], &c), -EINVAL);
}

/* One host's address, or a group's (or none at all). */
static void
test_addr_is_unicast(void **state)
{
	static const struct {
		const char *a;
		bool unicast;
	} v[] = {
		{ "198.18.0.1", true }, { "223.255.255.255", true },
		{ "0.0.0.0", false }, { "224.0.0.1", false },
		{ "239.255.255.250", false }, { "255.255.255.255", false },
		{ "2001:db8::1", true }, { "::1", true }, { "::", false },
		{ "ff02::1", false }, { "ff05::1:3", false },
	};
	struct addr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(addr_parse(v[i].a, &a), 0);
		if (addr_is_unicast(&a) != v[i].unicast)
			fail_msg("addr_is_unicast(%s) != %d", v[i].a,
			    v[i].unicast);
	}
}

/* A total order: family, then address, then length; equal only when
 * all three are. */
static void
test_cidr_compare(void **state)
{
	static const char *const sorted[] = {
		"0.0.0.0/0", "198.18.0.0/15", "198.18.0.0/24",
		"198.18.0.1/32", "198.18.1.0/24", "255.255.255.255/32",
		"::/0", "2001:db8::/32", "2001:db8::1/128",
	};
	struct cidr a, b;
	size_t i, j;
	int c;

	(void)state;
	for (i = 0; i < sizeof(sorted) / sizeof(sorted[0]); i++) {
		for (j = 0; j < sizeof(sorted) / sizeof(sorted[0]); j++) {
			assert_int_equal(cidr_parse(sorted[i], &a), 0);
			assert_int_equal(cidr_parse(sorted[j], &b), 0);
			c = cidr_compare(&a, &b);
			if ((i < j && c >= 0) || (i > j && c <= 0) ||
			    (i == j && c != 0))
				fail_msg("cidr_compare(%s, %s) = %d", sorted[i],
				    sorted[j], c);
		}
	}
}

static void
test_cidr_contains(void **state)
{
	struct cidr c;
	struct addr a;

	(void)state;
	assert_int_equal(cidr_parse("198.18.0.0/15", &c), 0);
	assert_int_equal(addr_parse("198.19.255.255", &a), 0);
	assert_true(cidr_contains(&c, &a));
	assert_int_equal(addr_parse("198.20.0.0", &a), 0);
	assert_false(cidr_contains(&c, &a));
	/* A v4-mapped v6 peer matches the IPv4 prefix. */
	assert_int_equal(addr_parse("::ffff:198.18.1.2", &a), 0);
	assert_true(cidr_contains(&c, &a));
	assert_int_equal(addr_parse("2001:db8::1", &a), 0);
	assert_false(cidr_contains(&c, &a));
	assert_int_equal(cidr_parse("2001:db8::/32", &c), 0);
	assert_true(cidr_contains(&c, &a));
	assert_int_equal(addr_parse("2001:db9::1", &a), 0);
	assert_false(cidr_contains(&c, &a));
	assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(addr_parse("203.0.113.1", &a), 0);
	assert_true(cidr_contains(&c, &a));
}

static void
test_duration_parse(void **state)
{
	static const struct {
		const char *in;
		uint64_t ms;
	} good[] = {
		{ "30s", 30000 }, { "10m", 600000 }, { "1h", 3600000 },
		{ "7d", 604800000 }, { "1w", 604800000 }, { "250ms", 250 },
		{ "1h30m", 5400000 }, { "0s", 0 }, { "45", 45000 },
		{ "1d12h", 129600000 },
	};
	static const char *const bad[] = {
		"", "s", "10x", "-5s", "1.5h", "5 s", " 5s", "5s ",
		"1h30", "h1", "10mss", "99999999999999999999s",
		"18446744073709551615d",
	};
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(duration_parse(good[i].in, &ms), 0);
		assert_int_equal(ms, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(duration_parse(bad[i], &ms) < 0);
	}
}

static void
test_duration_format(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(duration_format(0, buf, sizeof(buf)), "0s");
	assert_string_equal(duration_format(5400000, buf, sizeof(buf)),
	    "1h30m");
	assert_string_equal(duration_format(604800000, buf, sizeof(buf)),
	    "7d");
	assert_string_equal(duration_format(1250, buf, sizeof(buf)),
	    "1s250ms");
}

/* The token bucket (common/util.h): full at first, then rate a second,
 * never more than burst. */
static void
test_tokens(void **state)
{
	struct tokens t = { 0, 0 };
	int i, n = 0;

	(void)state;
	for (i = 0; i < 10; i++)
		n += tokens_take(&t, 2, 3, 1000);
	assert_int_equal(n, 3);			/* the burst */
	assert_false(tokens_take(&t, 2, 3, 1400));	/* 0.8 of one */
	assert_true(tokens_take(&t, 2, 3, 1500));	/* a whole one */
	for (n = 0, i = 0; i < 10; i++)
		n += tokens_take(&t, 2, 3, 60000);	/* long idle: capped */
	assert_int_equal(n, 3);
	assert_false(tokens_take(&t, 2, 3, 50000));	/* time going back */
}

/* time_parse_rfc3339 (alerts --since): a date that does not exist is
 * refused, not rolled into the next month (2026-02-31 was March 3rd);
 * second 60, a leap second, is the next second. */
static void
test_time_parse_rfc3339(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {
		{ "2026-11-27T15:36:35.123Z", 1795793795123LL },
		{ "2026-11-27T16:36:35+01:00", 1795793795000LL },
		{ "2028-02-29T00:00:00Z", 1835395200000LL },
		{ "2026-12-31T23:59:60Z", 1798761600000LL },
	};
	static const char *const bad[] = {
		"2026-02-31T00:00:00Z", "2026-02-29T00:00:00Z",
		"2026-04-31T12:00:00Z", "2026-13-01T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T23:59:61Z",
		"2026-01-01T00:00:00", "2026-01-01T00:00:00.Z",
	};
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(time_parse_rfc3339(good[i].in, &ms), 0);
		assert_int_equal(ms, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(time_parse_rfc3339(bad[i], &ms), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse_good),
		cmocka_unit_test(test_addr_parse_bad),
		cmocka_unit_test(test_addr_format_port),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_parse_bad),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_cidr_compare),
		cmocka_unit_test(test_addr_is_unicast),
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_time_parse_rfc3339),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
