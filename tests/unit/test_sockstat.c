/*
 * The namespace's socket counters (monitor/sockstat.h) from text as the
 * kernel writes it: each field lands in its slot, host-wide and traffic
 * counters are not taken, a missing or malformed field is an error, and
 * the files are read from a directory (sockstat6 may be missing, snmp may
 * not, and may be long) and from this process's own /proc/net.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../monitor/sockstat.h"

static const char v4[] =
    "sockets: used 16\n"
    "TCP: inuse 3 orphan 9 tw 7 alloc 20003 mem 44\n"
    "UDP: inuse 2 mem 5\n"
    "UDPLITE: inuse 0\n"
    "RAW: inuse 0\n"
    "FRAG: inuse 0 memory 0\n";
static const char v6[] =
    "TCP6: inuse 4\n"
    "UDP6: inuse 1\n"
    "UDPLITE6: inuse 0\n"
    "RAW6: inuse 0\n"
    "FRAG6: inuse 0 memory 0\n";
static const char snmp[] =
    "Ip: Forwarding DefaultTTL\n"
    "Ip: 1 64\n"
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens "
    "AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs "
    "OutRsts InCsumErrors\n"
    "Tcp: 1 200 120000 -1 766 719 3 2 11 10414 9456 0 0 2 0\n"
    "Udp: InDatagrams NoPorts InErrors OutDatagrams\n"
    "Udp: 104 0 0 108\n";

static void
test_parse(void **state)
{
	static const uint64_t want[SOCKSTAT_NFIELDS] = {
		16, 3, 7, 2, 4, 1, 766, 719, 3, 2, 11,
	};
	struct sockstat st;
	size_t i;

	(void)state;
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(sockstat_parse(SOCKSTAT_V4, v4, &st), 0);
	assert_int_equal(sockstat_parse(SOCKSTAT_V6, v6, &st), 0);
	assert_int_equal(sockstat_parse(SOCKSTAT_SNMP, snmp, &st), 0);
	for (i = 0; i < SOCKSTAT_NFIELDS; i++)
		assert_int_equal(st.v[i], want[i]);
}

/* A counter that moves, and host-wide ones that must not matter. */
static void
test_equal(void **state)
{
	struct sockstat a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(sockstat_parse(SOCKSTAT_V4, v4, &a), 0);
	assert_int_equal(sockstat_parse(SOCKSTAT_V4,
	    "sockets: used 16\n"
	    "TCP: inuse 3 orphan 0 tw 7 alloc 1 mem 0\n"
	    "UDP: inuse 2 mem 0\n", &b), 0);
	assert_true(sockstat_equal(&a, &b));
	assert_int_equal(sockstat_parse(SOCKSTAT_V4,
	    "sockets: used 17\n"
	    "TCP: inuse 3 orphan 0 tw 7 alloc 1 mem 0\n"
	    "UDP: inuse 2 mem 0\n", &b), 0);
	assert_false(sockstat_equal(&a, &b));
	assert_int_equal(sockstat_parse(SOCKSTAT_SNMP, snmp, &a), 0);
	assert_int_equal(sockstat_parse(SOCKSTAT_SNMP,
	    "Tcp: ActiveOpens PassiveOpens AttemptFails EstabResets "
	    "CurrEstab\n"
	    "Tcp: 766 720 3 2 11\n", &b), 0);
	assert_int_equal(sockstat_parse(SOCKSTAT_V4, v4, &b), 0);
	assert_false(sockstat_equal(&a, &b));
}

static void
test_bad(void **state)
{
	static const struct {
		enum sockstat_file f;
		const char *text;
	} bad[] = {
		{ SOCKSTAT_V4, "" },
		{ SOCKSTAT_V4, "TCP: inuse 3 tw 7\nUDP: inuse 2\n" },
		{ SOCKSTAT_V4, "sockets: used 1\nTCP: inuse 3 tw\n"
		    "UDP: inuse 2\n" },
		{ SOCKSTAT_V4, "sockets: used x1\nTCP: inuse 3 tw 7\n"
		    "UDP: inuse 2\n" },
		{ SOCKSTAT_V4, "sockets: used -1\nTCP: inuse 3 tw 7\n"
		    "UDP: inuse 2\n" },
		{ SOCKSTAT_V4, "sockets: used 99999999999999999999999\n"
		    "TCP: inuse 3 tw 7\nUDP: inuse 2\n" },
		/* The prefix must start a line. */
		{ SOCKSTAT_V4, "xsockets: used 1\nTCP: inuse 3 tw 7\n"
		    "UDP: inuse 2\n" },
		{ SOCKSTAT_V6, "TCP6: inuse 4\n" },
		/* Names without their line of values. */
		{ SOCKSTAT_SNMP, "Tcp: ActiveOpens PassiveOpens AttemptFails "
		    "EstabResets CurrEstab\n" },
		{ SOCKSTAT_SNMP, "Tcp: ActiveOpens PassiveOpens AttemptFails "
		    "EstabResets CurrEstab\nTcp: 1 2 3 4\n" },
		{ SOCKSTAT_SNMP, "Tcp: ActiveOpens PassiveOpens\nTcp: 1 2\n" },
	};
	struct sockstat st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sockstat_parse(bad[i].f, bad[i].text, &st),
		    -EINVAL);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* snmp as it is once every ICMP type was counted both ways: sixteen
 * types to an IcmpMsg pair of lines, as the kernel prints them. */
static const char *
big_snmp(void)
{
	static char text[16384];
	size_t off, i, j;

	off = (size_t)snprintf(text, sizeof(text), "%.*s",
	    (int)(strstr(snmp, "Tcp:") - snmp), snmp);
	for (i = 0; i < 512; i += 16) {
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "IcmpMsg:");
		for (j = i; j < i + 16; j++)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    " %sType%zu", j < 256 ? "In" : "Out", j % 256);
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "\nIcmpMsg:");
		for (j = i; j < i + 16; j++)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    " %zu", j + 1);
		off += (size_t)snprintf(text + off, sizeof(text) - off, "\n");
	}
	snprintf(text + off, sizeof(text) - off, "%s", strstr(snmp, "Tcp:"));
	assert_true(strlen(text) > 4096 && strlen(text) < sizeof(text) - 1);
	return text;
}

static void
test_read(void **state)
{
	char dir[] = "/tmp/sw-sockstat.XXXXXX", path[256];
	struct sockstat a, b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "sockstat", v4);
	assert_int_equal(sockstat_read(dir, &a), -ENOENT);
	write_file(dir, "snmp", snmp);
	/* No sockstat6: IPv6 is off, its counters are zeros. */
	assert_int_equal(sockstat_read(dir, &a), 0);
	assert_int_equal(a.v[4], 0);
	write_file(dir, "sockstat6", v6);
	assert_int_equal(sockstat_read(dir, &b), 0);
	assert_int_equal(b.v[4], 4);
	assert_false(sockstat_equal(&a, &b));
	write_file(dir, "snmp", "Tcp: nothing\nTcp: 1\n");
	assert_int_equal(sockstat_read(dir, &a), -EINVAL);
	/* Every ICMP type seen adds IcmpMsg columns ahead of Tcp: 8 KB
	 * once 256 types came in and went out, as anyone may make them. */
	write_file(dir, "snmp", big_snmp());
	assert_int_equal(sockstat_read(dir, &a), 0);
	assert_int_equal(a.v[6], 766);
	snprintf(path, sizeof(path), "%s/sockstat", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sockstat6", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/snmp", dir);
	unlink(path);
	rmdir(dir);
	/* The kernel's own files parse. */
	assert_int_equal(sockstat_read("/proc/net", &a), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
