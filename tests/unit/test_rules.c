#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "../../policy/rules.h"

static void
test_listen_parse_good(void **state)
{
	static const struct {
		const char *in;
		uint8_t proto;
		uint16_t port;
		const char *comm;
		const char *canon;
	} good[] = {
		{ "tcp/22 sshd", IPPROTO_TCP, 22, "sshd", "tcp/22 sshd" },
		{ "udp/53", IPPROTO_UDP, 53, "", "udp/53" },
		{ "TCP/80 nginx", IPPROTO_TCP, 80, "nginx", "tcp/80 nginx" },
		{ "  udp/1  ", IPPROTO_UDP, 1, "", "udp/1" },
		{ "tcp/65535\tx", IPPROTO_TCP, 65535, "x", "tcp/65535 x" },
		{ "tcp/8080   java ", IPPROTO_TCP, 8080, "java",
		    "tcp/8080 java" },
		/* 15 characters: the kernel's limit. */
		{ "tcp/6379 redis-server123", IPPROTO_TCP, 6379,
		    "redis-server123", "tcp/6379 redis-server123" },
		{ "udp/5353 avahi-daemon:", IPPROTO_UDP, 5353,
		    "avahi-daemon:", "udp/5353 avahi-daemon:" },
		{ "tcp/022 sshd", IPPROTO_TCP, 22, "sshd", "tcp/22 sshd" },
	};
	struct listen_rule r;
	char why[128], buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(rules_listen_parse(good[i].in, &r, why,
		    sizeof(why)), 0);
		assert_int_equal(r.proto, good[i].proto);
		assert_int_equal(r.port, good[i].port);
		assert_string_equal(r.comm, good[i].comm);
		assert_string_equal(rules_listen_format(&r, buf, sizeof(buf)),
		    good[i].canon);
	}
}

static void
test_listen_parse_bad(void **state)
{
	static const struct {
		const char *in;
		const char *why;
	} bad[] = {
		{ "", "empty entry" },
		{ "   ", "empty entry" },
		{ "tcp", "missing '/' (expected proto/port, e.g. tcp/22)" },
		{ "22 sshd", "missing '/' (expected proto/port, e.g. tcp/22)" },
		{ "sctp/22", "unknown protocol (expected tcp or udp)" },
		{ "/22", "unknown protocol (expected tcp or udp)" },
		{ "tcp /22", "unknown protocol (expected tcp or udp)" },
		{ "tcp/", "missing port number after '/'" },
		{ "tcp/ 22", "missing port number after '/'" },
		{ "tcp/-1", "missing port number after '/'" },
		{ "tcp/0", "port must be between 1 and 65535" },
		{ "tcp/65536", "port must be between 1 and 65535" },
		{ "tcp/123456", "port must be between 1 and 65535" },
		{ "tcp/22x", "invalid port (expected a number from 1 to 65535)" },
		{ "tcp/22/sshd",
		    "invalid port (expected a number from 1 to 65535)" },
		{ "tcp/22 a b", "unexpected text after the process name" },
		{ "tcp/22 abcdefghijklmnop",
		    "process name longer than 15 characters" },
		{ "tcp/22 ss\x01hd", "process name must be printable ASCII" },
		{ "tcp/22 n\xc3\xa9", "process name must be printable ASCII" },
	};
	struct listen_rule r;
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(rules_listen_parse(bad[i].in, &r, why,
		    sizeof(why)), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
	/* why is optional */
	assert_int_equal(rules_listen_parse("tcp/0", &r, NULL, 0), -EINVAL);
	assert_int_equal(rules_listen_parse(NULL, &r, NULL, 0), -EINVAL);
}

static void
test_listen_format(void **state)
{
	struct listen_rule r = { .proto = IPPROTO_UDP, .port = 53 };
	char buf[64], small[5];

	(void)state;
	assert_string_equal(rules_listen_format(&r, buf, sizeof(buf)),
	    "udp/53");
	memcpy(r.comm, "dnsmasq", 8);
	assert_string_equal(rules_listen_format(&r, buf, sizeof(buf)),
	    "udp/53 dnsmasq");
	/* Truncated, never overrun. */
	assert_string_equal(rules_listen_format(&r, small, sizeof(small)),
	    "udp/");
	r.proto = 132;
	assert_string_equal(rules_listen_format(&r, buf, sizeof(buf)),
	    "132/53 dnsmasq");
}

/* The matcher at its edges. */
static struct listen_rule rules[8];
static size_t nrules;

static int
setup_rules(void **state)
{
	static const char *const in[] = {
		"tcp/22 sshd", "tcp/80 nginx", "tcp/80 apache2",
		"tcp/443 nginx", "udp/53", "tcp/8080",
	};
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		if (rules_listen_parse(in[i], &rules[i], why,
		    sizeof(why)) < 0)
			return -1;
	nrules = i;
	return 0;
}

static void
test_listen_check(void **state)
{
	const struct listen_rule *m;

	(void)state;
	/* Exact entry. */
	m = NULL;
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 22,
	    "sshd", &m), RULES_ALLOWED);
	assert_ptr_equal(m, &rules[0]);
	/* The second of two entries for one port. */
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 80,
	    "apache2", &m), RULES_ALLOWED);
	assert_ptr_equal(m, &rules[2]);
	/* The port is allowed, but for another process: the first entry
	 * for that port comes back. */
	m = NULL;
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 80,
	    "python3", &m), RULES_PROCESS_NOT_ALLOWED);
	assert_ptr_equal(m, &rules[1]);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 22,
	    "nginx", &m), RULES_PROCESS_NOT_ALLOWED);
	assert_ptr_equal(m, &rules[0]);
	/* A prefix or an extension of the name is another process. */
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 443,
	    "ngin", NULL), RULES_PROCESS_NOT_ALLOWED);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 443,
	    "nginx2", NULL), RULES_PROCESS_NOT_ALLOWED);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 443,
	    "nginxnginxnginxnginx", NULL), RULES_PROCESS_NOT_ALLOWED);
	/* The process is unknown: a named entry does not cover it, an
	 * entry without a name does. */
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 22,
	    NULL, &m), RULES_PROCESS_NOT_ALLOWED);
	assert_ptr_equal(m, &rules[0]);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 22,
	    "", &m), RULES_PROCESS_NOT_ALLOWED);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_UDP, 53,
	    NULL, &m), RULES_ALLOWED);
	assert_ptr_equal(m, &rules[4]);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 8080,
	    "", &m), RULES_ALLOWED);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 8080,
	    "java", &m), RULES_ALLOWED);
	assert_ptr_equal(m, &rules[5]);
	/* udp is not tcp, and the other way round. */
	m = &rules[0];
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 53,
	    "named", &m), RULES_PORT_NOT_ALLOWED);
	assert_null(m);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_UDP, 22,
	    "sshd", &m), RULES_PORT_NOT_ALLOWED);
	assert_null(m);
	/* Ports at the edges. */
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 0,
	    "sshd", NULL), RULES_PORT_NOT_ALLOWED);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 65535,
	    "sshd", NULL), RULES_PORT_NOT_ALLOWED);
	assert_int_equal(rules_listen_check(rules, nrules, IPPROTO_TCP, 23,
	    "sshd", NULL), RULES_PORT_NOT_ALLOWED);
}

static void
test_listen_check_empty(void **state)
{
	const struct listen_rule *m = &rules[0];

	(void)state;
	assert_int_equal(rules_listen_check(NULL, 0, IPPROTO_TCP, 22, "sshd",
	    &m), RULES_PORT_NOT_ALLOWED);
	assert_null(m);
	assert_int_equal(rules_listen_check(rules, 0, IPPROTO_UDP, 53, NULL,
	    NULL), RULES_PORT_NOT_ALLOWED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_parse_good),
		cmocka_unit_test(test_listen_parse_bad),
		cmocka_unit_test(test_listen_format),
		cmocka_unit_test_setup(test_listen_check, setup_rules),
		cmocka_unit_test_setup(test_listen_check_empty, setup_rules),
	};

	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
