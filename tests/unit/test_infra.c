/*
 * The host's infrastructure (monitor/infra.h) from files as the kernel
 * and the C library write them: a default IPv4 and IPv6 route through a
 * gateway, routes that are not default or have no gateway, resolv.conf
 * with comments, a scoped and a bad nameserver. Missing files add nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../monitor/infra.h"

static char dir[] = "/tmp/sw-infra.XXXXXX";

static void
write_file(const char *name, const char *text, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static bool
has(const struct infra_entry *v, size_t n, const char *cidr,
    enum infra_kind k)
{
	struct cidr c;
	size_t i;

	assert_int_equal(cidr_parse(cidr, &c), 0);
	for (i = 0; i < n; i++)
		if (cidr_compare(&v[i].net, &c) == 0 && v[i].kind == k)
			return true;
	return false;
}

static void
test_files(void **state)
{
	char route[256], route6[256], resolv[256];
	struct infra_paths p = { route, route6, resolv };
	struct infra_entry *v;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* 198.18.0.254 is FE0012C6 as a little-endian host prints it. */
	write_file("route",
	    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
	    "Mask\t\tMTU\tWindow\tIRTT\n"
	    "eth0\t00000000\tFE0012C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	    "eth0\t000012C6\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	    "eth1\t000013C6\tFD0012C6\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	    "garbage line\n", route, sizeof(route));
	write_file("ipv6_route",
	    "00000000000000000000000000000000 00 "
	    "00000000000000000000000000000000 00 "
	    "20010db8000000000000000000000001 00000400 00000001 00000000 "
	    "00000003 eth0\n"
	    "20010db8000000000000000000000000 40 "
	    "00000000000000000000000000000000 00 "
	    "00000000000000000000000000000000 00000100 00000001 00000000 "
	    "00000001 eth0\n"
	    "00000000000000000000000000000000 00 "
	    "00000000000000000000000000000000 00 "
	    "00000000000000000000000000000000 ffffffff 00000001 00000000 "
	    "00200200 lo\n", route6, sizeof(route6));
	write_file("resolv.conf",
	    "# a comment\n"
	    "search example.org\n"
	    "nameserver 198.18.53.53\n"
	    "nameserver   2001:db8::53\n"
	    "nameserver fe80::1%eth0\n"
	    "nameserver not-an-address\n"
	    "nameserver 127.0.0.53\n", resolv, sizeof(resolv));
	assert_int_equal(infra_list(&p, &v, &n), 0);
	assert_true(has(v, n, "198.18.0.254/32", INFRA_GATEWAY));
	assert_false(has(v, n, "198.19.0.253/32", INFRA_GATEWAY));
	assert_true(has(v, n, "2001:db8::1/128", INFRA_GATEWAY));
	assert_true(has(v, n, "198.18.53.53/32", INFRA_RESOLVER));
	assert_true(has(v, n, "2001:db8::53/128", INFRA_RESOLVER));
	assert_true(has(v, n, "169.254.0.0/16", INFRA_LINK_LOCAL));
	assert_true(has(v, n, "fe80::/10", INFRA_LINK_LOCAL));
	/* fe80::1 is covered by the range; loopback is never listed. */
	assert_false(has(v, n, "127.0.0.53/32", INFRA_RESOLVER));
	/* The two ranges, a gateway each, two resolvers, fe80::1 too. */
	assert_int_equal(n, 7);
	free(v);
	unlink(route);
	unlink(route6);
	unlink(resolv);
	rmdir(dir);
}

static void
test_missing(void **state)
{
	struct infra_paths p = { "/nonexistent/a", "/nonexistent/b",
	    "/nonexistent/c" };
	struct infra_entry *v;
	size_t n;

	(void)state;
	assert_int_equal(infra_list(&p, &v, &n), 0);
	assert_int_equal(n, 2);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
