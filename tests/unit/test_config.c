#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/addr.h"
#include "../../policy/config.h"
#include "../../policy/rules.h"

/* The unit tests run from the top of the tree (make unit). */
#define SHIPPED		"etc/sockwatch.conf"
#define FULL_CONF	"tests/data/config/full.conf"
#define FULL_GOLDEN	"tests/data/config/full.golden"

static char *
print_config(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(config_print(cfg, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *
read_text(const char *path)
{
	char *buf;
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (run from the top of the tree)",
		    path);
	buf = calloc(1, 65536);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	assert_true(n < 65535);
	fclose(f);
	return buf;
}

/* Parse text that must be good; returns its printed form. */
static char *
good_print(const char *text)
{
	struct config_error err;
	struct config *cfg = NULL;
	char *out;
	int r;

	r = config_load_string(text, "t.conf", &cfg, &err);
	if (r != 0)
		fail_msg("unexpected error %d: %s", r, err.msg);
	out = print_config(cfg);
	config_free(cfg);
	return out;
}

static const char *const defaults_printed =
    "[daemon]\n"
    "socket = /run/sockwatch/sockwatch.sock\n"
    "database = /var/lib/sockwatch/sockwatch.db\n"
    "scan_interval = 2s\n"
    "full_scan_interval = 30s\n"
    "alerts_file =\n"
    "metrics_listen =\n"
    "control_group =\n"
    "user = sockwatch\n"
    "max_clients = 64\n"
    "interfaces = any\n"
    "max_peers = 100000\n"
    "alerts_keep = 30d\n"
    "alerts_max = 1000000\n"
    "\n"
    "[listen]\n"
    "allow =\n"
    "action = alert\n"
    "\n"
    "[portscan]\n"
    "enabled = yes\n"
    "ports = 20\n"
    "hosts = 16\n"
    "window = 10s\n"
    "action = alert\n"
    "ban = 1h\n"
    "\n"
    "[synflood]\n"
    "enabled = yes\n"
    "rate = 500\n"
    "window = 10s\n"
    "action = alert\n"
    "ban = 1h\n"
    "\n"
    "[bruteforce]\n"
    "enabled = yes\n"
    "connections = 10\n"
    "attempts = 6\n"
    "log =\n"
    "log_attempts = 2\n"
    "ports = 22\n"
    "window = 1m\n"
    "action = alert\n"
    "ban = 1h\n"
    "\n"
    "[deny]\n"
    "peers =\n"
    "file =\n"
    "window = 1m\n"
    "action = alert\n"
    "ban = 1h\n"
    "\n"
    "[allow]\n"
    "peers =\n"
    "\n"
    "[bans]\n"
    "enforce = yes\n"
    "default = 1h\n"
    "recidive_window = 1d\n"
    "escalate = 2\n"
    "max = 7d\n"
    "protect = sshd\n"
    "protect_peers =\n"
    "rate = 20\n"
    "kill_connections = yes\n"
    "aggregate_v4 = 0\n"
    "aggregate_v6 = 0\n"
    "aggregate_threshold = 8\n"
    "reconcile_interval = 30s\n"
    "\n"
    "[connect]\n"
    "deny =\n"
    "file =\n"
    "\n"
    "[crowdsec]\n"
    "url = http://127.0.0.1:8080/\n"
    "bouncer_key_file =\n"
    "machine_id =\n"
    "machine_password_file =\n"
    "poll_interval = 10s\n";

static void
test_config_defaults(void **state)
{
	struct config_error err;
	struct config *cfg = NULL;
	char *out;

	(void)state;
	assert_int_equal(config_load_string("", "empty.conf", &cfg, &err), 0);
	assert_string_equal(cfg->path, "empty.conf");
	assert_string_equal(cfg->daemon.socket,
	    "/run/sockwatch/sockwatch.sock");
	assert_string_equal(cfg->daemon.database,
	    "/var/lib/sockwatch/sockwatch.db");
	assert_int_equal(cfg->daemon.scan_interval_ms, 2000);
	assert_int_equal(cfg->daemon.full_scan_ms, 30000);
	assert_null(cfg->daemon.alerts_file);
	assert_null(cfg->daemon.metrics_listen);
	assert_null(cfg->daemon.control_group);
	assert_string_equal(cfg->daemon.user, "sockwatch");
	assert_int_equal(cfg->daemon.max_clients, 64);
	assert_int_equal(cfg->listen.nallow, 0);
	assert_int_equal(cfg->listen.action, ACTION_ALERT);
	assert_int_equal(cfg->daemon.ninterfaces, 1);
	assert_string_equal(cfg->daemon.interfaces[0], "any");
	assert_int_equal(cfg->daemon.max_peers, 100000);
	assert_int_equal(cfg->daemon.alerts_keep_ms, 30ULL * 86400000);
	assert_int_equal(cfg->daemon.alerts_max, 1000000);
	assert_true(cfg->portscan.enabled);
	assert_int_equal(cfg->portscan.ports, 20);
	assert_int_equal(cfg->portscan.hosts, 16);
	assert_int_equal(cfg->portscan.window_ms, 10000);
	assert_int_equal(cfg->portscan.action, ACTION_ALERT);
	assert_int_equal(cfg->portscan.ban_ms, 3600000);
	assert_true(cfg->synflood.enabled);
	assert_int_equal(cfg->synflood.rate, 500);
	assert_int_equal(cfg->synflood.window_ms, 10000);
	assert_int_equal(cfg->synflood.ban_ms, 3600000);
	assert_true(cfg->bruteforce.enabled);
	assert_int_equal(cfg->bruteforce.connections, 10);
	assert_int_equal(cfg->bruteforce.nports, 1);
	assert_int_equal(cfg->bruteforce.ports[0], 22);
	assert_int_equal(cfg->bruteforce.window_ms, 60000);
	assert_int_equal(cfg->deny.npeers, 0);
	assert_null(cfg->deny.file);
	assert_int_equal(cfg->deny.nfile_peers, 0);
	assert_int_equal(cfg->deny.window_ms, 60000);
	assert_int_equal(cfg->allow.npeers, 0);
	assert_true(cfg->bans.enforce);
	assert_int_equal(cfg->bans.default_ms, 3600000);
	assert_int_equal(cfg->bans.recidive_window_ms, 86400000);
	assert_int_equal(cfg->bans.escalate, 2);
	assert_int_equal(cfg->bans.max_ms, 7 * 86400000ULL);
	assert_int_equal(cfg->bans.nprotect, 1);
	assert_string_equal(cfg->bans.protect[0], "sshd");
	assert_true(cfg->bans.kill_connections);
	assert_int_equal(cfg->bans.aggregate_v4, 0);
	assert_int_equal(cfg->bans.reconcile_interval_ms, 30000);
	assert_int_equal(cfg->connect.ndeny, 0);
	assert_null(cfg->connect.file);
	out = print_config(cfg);
	assert_string_equal(out, defaults_printed);
	free(out);
	config_free(cfg);

	/* Sections without keys, and comments only. */
	out = good_print("; nothing\n[daemon]\n\n[listen]\n# done\n"
	    "[portscan]\n[synflood]\n[bruteforce]\n[deny]\n[allow]\n");
	assert_string_equal(out, defaults_printed);
	free(out);
	config_free(NULL);
}

static void
test_config_shipped(void **state)
{
	struct config_error err;
	struct config *cfg = NULL, *file = NULL;
	char *a, *b, buf[64];

	(void)state;
	assert_int_equal(config_load_default(&cfg, &err), 0);
	assert_string_equal(cfg->path, "<embedded>");
	assert_string_equal(cfg->daemon.socket,
	    "/run/sockwatch/sockwatch.sock");
	assert_string_equal(cfg->daemon.database,
	    "/var/lib/sockwatch/sockwatch.db");
	assert_int_equal(cfg->daemon.scan_interval_ms, 2000);
	assert_string_equal(cfg->daemon.alerts_file,
	    "/var/log/sockwatch/alerts.jsonl");
	assert_string_equal(cfg->daemon.metrics_listen, "127.0.0.1:9464");
	/* The group may not exist on a fresh host. */
	assert_null(cfg->daemon.control_group);
	assert_int_equal(cfg->daemon.max_clients, 64);
	assert_int_equal(cfg->listen.nallow, 4);
	assert_string_equal(rules_listen_format(&cfg->listen.allow[0], buf,
	    sizeof(buf)), "tcp/22 sshd");
	assert_string_equal(rules_listen_format(&cfg->listen.allow[3], buf,
	    sizeof(buf)), "udp/53");
	assert_int_equal(cfg->listen.action, ACTION_ALERT);
	assert_int_equal(cfg->daemon.ninterfaces, 1);
	assert_string_equal(cfg->daemon.interfaces[0], "any");
	assert_int_equal(cfg->daemon.max_peers, 100000);
	assert_int_equal(cfg->daemon.alerts_keep_ms, 30ULL * 86400000);
	assert_int_equal(cfg->daemon.alerts_max, 1000000);
	assert_true(cfg->portscan.enabled);
	assert_int_equal(cfg->portscan.ports, 20);
	assert_true(cfg->synflood.enabled);
	assert_int_equal(cfg->synflood.rate, 500);
	assert_true(cfg->bruteforce.enabled);
	assert_int_equal(cfg->bruteforce.nports, 1);
	assert_int_equal(cfg->bruteforce.ports[0], 22);
	assert_int_equal(cfg->bruteforce.window_ms, 60000);
	assert_int_equal(cfg->deny.npeers, 0);
	assert_null(cfg->deny.file);
	assert_int_equal(cfg->allow.npeers, 0);

	/* The embedded text is etc/sockwatch.conf. */
	assert_int_equal(config_load(SHIPPED, &file, &err), 0);
	assert_string_equal(file->path, SHIPPED);
	a = print_config(cfg);
	b = print_config(file);
	assert_string_equal(a, b);
	free(a);
	free(b);
	config_free(file);
	config_free(cfg);
}

static void
test_config_golden(void **state)
{
	struct config_error err;
	struct config *cfg = NULL;
	char *out, *golden, *again;

	(void)state;
	if (config_load(FULL_CONF, &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	out = print_config(cfg);
	golden = read_text(FULL_GOLDEN);
	assert_string_equal(out, golden);
	/* The printed form reads back to itself. */
	again = good_print(out);
	assert_string_equal(again, out);
	free(again);
	free(golden);
	free(out);
	config_free(cfg);
}

static void
test_config_syntax(void **state)
{
	struct config_error err;
	struct config *cfg = NULL;
	char buf[64];

	(void)state;
	/* BOM, CRLF, "key: value", inline comments, a repeated section,
	 * indented keys, a value that is only a comment, continuations. */
	assert_int_equal(config_load_string(
	    "\xef\xbb\xbf[daemon]\r\n"
	    "socket: /run/x.sock\r\n"
	    "alerts_file = ; off\r\n"
	    "\tscan_interval = 500ms ; fast\r\n"
	    "[listen]\n"
	    "allow =\n"
	    "    tcp/22 sshd,\n"
	    "\n"
	    "    ; a comment inside the list\n"
	    "    udp/53 ; and after an entry\n"
	    "\ttcp/8080, udp/9 a=b\n"
	    "  action = block\n"
	    "[daemon]\n"
	    "max_clients=1\n"
	    "control_group = _sock.watch-2$\n"
	    "metrics_listen = [2001:DB8:0::1]:65535\n",
	    "t.conf", &cfg, &err), 0);
	assert_string_equal(cfg->daemon.socket, "/run/x.sock");
	assert_null(cfg->daemon.alerts_file);
	assert_int_equal(cfg->daemon.scan_interval_ms, 500);
	assert_int_equal(cfg->daemon.max_clients, 1);
	assert_string_equal(cfg->daemon.control_group, "_sock.watch-2$");
	assert_string_equal(cfg->daemon.metrics_listen, "[2001:db8::1]:65535");
	assert_int_equal(cfg->listen.nallow, 4);
	assert_string_equal(rules_listen_format(&cfg->listen.allow[1], buf,
	    sizeof(buf)), "udp/53");
	assert_int_equal(cfg->listen.allow[2].port, 8080);
	/* An entry with '=' in it continues the list; "action =" does not. */
	assert_string_equal(cfg->listen.allow[3].comm, "a=b");
	assert_int_equal(cfg->listen.action, ACTION_BLOCK);
	config_free(cfg);

	/* Edges of the ranges are inside. */
	assert_int_equal(config_load_string("[daemon]\nscan_interval = 1h\n"
	    "max_clients = 1024\nmetrics_listen = 0.0.0.0:1\n", "t.conf",
	    &cfg, &err), 0);
	assert_int_equal(cfg->daemon.scan_interval_ms, 3600000);
	assert_int_equal(cfg->daemon.max_clients, 1024);
	assert_string_equal(cfg->daemon.metrics_listen, "0.0.0.0:1");
	config_free(cfg);
	assert_int_equal(config_load_string("[daemon]\nscan_interval = 100ms\n"
	    "[listen]\nallow =\naction = block\n", "t.conf", &cfg, &err), 0);
	assert_int_equal(cfg->daemon.scan_interval_ms, 100);
	assert_int_equal(cfg->listen.nallow, 0);
	assert_int_equal(cfg->listen.action, ACTION_BLOCK);
	config_free(cfg);
}

static void
test_config_interfaces(void **state)
{
	struct config_error err;
	struct config *cfg = NULL;
	char *out;

	(void)state;
	/* "none": no capture, an empty list, printed back as "none". */
	assert_int_equal(config_load_string("[daemon]\ninterfaces = none\n",
	    "t.conf", &cfg, &err), 0);
	assert_int_equal(cfg->daemon.ninterfaces, 0);
	assert_null(cfg->daemon.interfaces);
	out = print_config(cfg);
	assert_non_null(strstr(out, "\ninterfaces = none\n"));
	config_free(cfg);
	free(out);
	out = good_print("[daemon]\ninterfaces = none\n");
	assert_non_null(strstr(out, "\ninterfaces = none\n"));
	free(out);

	/* Alerts kept forever, without a limit: 0, printed back as such. */
	assert_int_equal(config_load_string("[daemon]\nalerts_keep = 0\n"
	    "alerts_max = 0\n", "t.conf", &cfg, &err), 0);
	assert_int_equal(cfg->daemon.alerts_keep_ms, 0);
	assert_int_equal(cfg->daemon.alerts_max, 0);
	out = print_config(cfg);
	assert_non_null(strstr(out, "\nalerts_keep = 0s\nalerts_max = 0\n"));
	config_free(cfg);
	free(out);

	/* A list, continued; "any" alone. */
	assert_int_equal(config_load_string("[daemon]\ninterfaces = eth0,\n"
	    "  wlan0\n", "t.conf", &cfg, &err), 0);
	assert_int_equal(cfg->daemon.ninterfaces, 2);
	assert_string_equal(cfg->daemon.interfaces[1], "wlan0");
	config_free(cfg);
	assert_int_equal(config_load_string("[daemon]\ninterfaces = any\n",
	    "t.conf", &cfg, &err), 0);
	assert_int_equal(cfg->daemon.ninterfaces, 1);
	assert_string_equal(cfg->daemon.interfaces[0], "any");
	config_free(cfg);

	/* Booleans and an empty port list (brute force then watches none). */
	assert_int_equal(config_load_string("[portscan]\nenabled = false\n"
	    "[synflood]\nenabled = off\n[bruteforce]\nenabled = on\n"
	    "ports =\n", "t.conf", &cfg, &err), 0);
	assert_false(cfg->portscan.enabled);
	assert_false(cfg->synflood.enabled);
	assert_true(cfg->bruteforce.enabled);
	assert_int_equal(cfg->bruteforce.nports, 0);
	out = print_config(cfg);
	assert_non_null(strstr(out, "[bruteforce]\nenabled = yes\n"
	    "connections = 10\nattempts = 6\nlog =\nlog_attempts = 2\n"
	    "ports =\n"));
	assert_non_null(strstr(out, "[synflood]\nenabled = no\n"));
	free(out);
	config_free(cfg);
}

static char *
write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/sockwatch-deny-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Load "[deny]\nfile = PATH\n"; returns the result, cfg on success. */
static int
load_deny(const char *path, struct config **ret_cfg, struct config_error *err)
{
	char text[256];

	snprintf(text, sizeof(text), "[deny]\nfile = %s\n", path);
	return config_load_string(text, "t.conf", ret_cfg, err);
}

static void
test_config_deny_file(void **state)
{
	static const char list[] =
	    "\xef\xbb\xbf# a FireHOL-style header\n"
	    "; Spamhaus DROP style\r\n"
	    "\n"
	    "   \t\n"
	    "198.18.0.0/15 ; SBL123456\r\n"
	    "192.0.2.1\n"
	    "  203.0.113.0/24   # indented, with a comment\n"
	    "2001:db8::/32\t17\n"
	    "198.51.100.7\t3\t2024-01-01\n"
	    "198.19.0.0/16#no blank before the comment\n"
	    "2001:db8:1::1";	/* no newline at the end */
	static const struct {
		const char *text;
		const char *msg;	/* after "PATH:" */
	} bad[] = {
		{ "192.0.2.1\nexample.com\n",
		    "2: invalid address or CIDR 'example.com'" },
		{ "# x\n\n198.18.0.0/33\n",
		    "3: invalid address or CIDR '198.18.0.0/33'" },
		{ "198.18.0.0 198.18.0.255 24\n",
		    "1: '198.18.0.0 198.18.0.255': address ranges are not "
		    "supported (write ADDRESS/LENGTH)" },
		{ "198.18.0.0-198.18.0.255\n",
		    "1: invalid address or CIDR '198.18.0.0-198.18.0.255'" },
		{ "1.2.3.4\n5.6.7.8,\n",
		    "2: invalid address or CIDR '5.6.7.8,'" },
	};
	struct config_error err;
	struct config *cfg = NULL;
	char want[600], buf[ADDR_STRLEN], *path, *out;
	size_t i;

	(void)state;
	path = write_temp(list, sizeof(list) - 1);
	if (load_deny(path, &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg->deny.file, path);
	assert_int_equal(cfg->deny.nfile_peers, 7);
	assert_string_equal(cidr_format(&cfg->deny.file_peers[0], buf,
	    sizeof(buf)), "198.18.0.0/15");
	assert_string_equal(cidr_format(&cfg->deny.file_peers[1], buf,
	    sizeof(buf)), "192.0.2.1/32");
	assert_string_equal(cidr_format(&cfg->deny.file_peers[3], buf,
	    sizeof(buf)), "2001:db8::/32");
	assert_string_equal(cidr_format(&cfg->deny.file_peers[4], buf,
	    sizeof(buf)), "198.51.100.7/32");
	assert_string_equal(cidr_format(&cfg->deny.file_peers[5], buf,
	    sizeof(buf)), "198.19.0.0/16");
	assert_string_equal(cidr_format(&cfg->deny.file_peers[6], buf,
	    sizeof(buf)), "2001:db8:1::1/128");
	/* The path is printed, not the entries. */
	out = print_config(cfg);
	snprintf(want, sizeof(want), "[deny]\npeers =\nfile = %s\n", path);
	assert_non_null(strstr(out, want));
	free(out);
	config_free(cfg);
	unlink(path);
	free(path);

	/* A bad line fails the whole load, naming the list's file and line;
	 * *ret_cfg stays as it was (the running config stays in force). */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_temp(bad[i].text, strlen(bad[i].text));
		cfg = (struct config *)&err;
		assert_int_equal(load_deny(path, &cfg, &err), -EINVAL);
		assert_ptr_equal(cfg, (struct config *)&err);
		snprintf(want, sizeof(want), "t.conf:2: [deny] file: %s:%s",
		    path, bad[i].msg);
		if (strcmp(err.msg, want) != 0)
			fail_msg("case %zu:\n  got      '%s'\n  expected '%s'",
			    i, err.msg, want);
		unlink(path);
		free(path);
	}

	/* A NUL byte, a line too long. */
	path = write_temp("1.2.3.4\n5.6\0.7.8\n", 16);
	assert_int_equal(load_deny(path, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "t.conf:2: [deny] file: %s:2: NUL byte "
	    "in line", path);
	assert_string_equal(err.msg, want);
	unlink(path);
	free(path);
	{
		char longline[1100];

		memset(longline, ' ', sizeof(longline));
		memcpy(longline, "1.2.3.4", 7);
		longline[sizeof(longline) - 1] = '\n';
		path = write_temp(longline, sizeof(longline));
		assert_int_equal(load_deny(path, &cfg, &err), -EINVAL);
		snprintf(want, sizeof(want), "t.conf:2: [deny] file: %s:1: "
		    "line longer than 1024 characters", path);
		assert_string_equal(err.msg, want);
		unlink(path);
		free(path);
	}
	/* No newline ever: refused after the first 1024 bytes, not read
	 * (and allocated) without end. */
	assert_int_equal(load_deny("/dev/zero", &cfg, &err), -EINVAL);
	assert_string_equal(err.msg, "t.conf:2: [deny] file: /dev/zero:1: "
	    "line longer than 1024 characters");
	/* An empty file is an empty list. */
	assert_int_equal(load_deny("/dev/null", &cfg, &err), 0);
	assert_int_equal(cfg->deny.nfile_peers, 0);
	assert_null(cfg->deny.file_peers);
	config_free(cfg);
	/* A directory. */
	assert_int_equal(load_deny("/tmp", &cfg, &err), -EINVAL);
	assert_string_equal(err.msg, "t.conf:2: [deny] file: /tmp: read "
	    "error: Is a directory");
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 entries, as a big public list has: read well under a second. */
static void
test_config_deny_file_big(void **state)
{
	struct config_error err;
	struct config *cfg = NULL;
	size_t cap = 100000 * 48, len = 0, i;
	char *text, *path;
	double t0, t1;
	uint32_t x = 2463534242u;

	(void)state;
	text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text, cap, "# generated\n");
	for (i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		if (i % 10 == 9)
			len += (size_t)snprintf(text + len, cap - len,
			    "2001:db8:%x:%x::/64\n", x >> 16, x & 0xffff);
		else if (i % 3 == 0)
			len += (size_t)snprintf(text + len, cap - len,
			    "%u.%u.%u.0/24 ; SBL%zu\n", x >> 24,
			    (x >> 16) & 255, (x >> 8) & 255, i);
		else
			len += (size_t)snprintf(text + len, cap - len,
			    "%u.%u.%u.%u\n", x >> 24, (x >> 16) & 255,
			    (x >> 8) & 255, x & 255);
	}
	path = write_temp(text, len);
	free(text);
	t0 = now_seconds();
	if (load_deny(path, &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	t1 = now_seconds();
	assert_int_equal(cfg->deny.nfile_peers, 100000);
	print_message("[ MEASURE  ] config with a 100,000-line deny file "
	    "(%zu bytes): %.1f ms\n", len, (t1 - t0) * 1e3);
	assert_true(t1 - t0 < 1.0);
	config_free(cfg);
	unlink(path);
	free(path);
}

static const struct {
	const char *text;
	const char *msg;
} bad_configs[] = {
	/* unknown section, key; duplicate key */
	{ "[daemon]\n[deamon]\nsocket = /x\n",
	    "t.conf:2: [deamon]: unknown section (known: daemon, listen, "
	    "portscan, synflood, bruteforce, deny, allow, bans, connect, "
	    "crowdsec)" },
	{ "[bans]\nprotect = sshd, averyveryverylongname\n",
	    "t.conf:2: [bans] protect: process name 'averyveryverylongname' "
	    "is longer than 15 characters (the kernel's limit)" },
	{ "[bans]\nprotect = sshd,\n  sshd\n",
	    "t.conf:3: [bans] protect: duplicate entry 'sshd'" },
	/* Entries config_print could not write back: "eth0, ;o" and an
	 * indented "#x" are comments, an indented "ct = sshd" is a key
	 * (found by tests/fuzz/fuzz_config) */
	{ "[daemon]\ninterfaces = eth0,;o\n",
	    "t.conf:2: [daemon] interfaces: entry ';o' would read back as a "
	    "comment where a list continues" },
	{ "[bans]\nprotect = sshd,#x\n",
	    "t.conf:2: [bans] protect: entry '#x' would read back as a "
	    "comment where a list continues" },
	{ "[bans]\nprotect = sshd, x y,ct = sshd\n",
	    "t.conf:2: [bans] protect: entry 'ct = sshd' would read back as "
	    "a key where a list continues" },
	{ "[bans]\nescalate = 0\n",
	    "t.conf:2: [bans] escalate: 0 is out of range (must be between "
	    "1 and 100)" },
	{ "[connect]\ndeny = 198.18.0.0/33\n",
	    "t.conf:2: [connect] deny: invalid address or CIDR "
	    "'198.18.0.0/33' (expected e.g. 198.18.0.1, 198.18.0.0/15 or "
	    "2001:db8::/32)" },
	{ "[connect]\nfile = /nonexistent/x\n",
	    "t.conf:2: [connect] file: /nonexistent/x: cannot open: No such "
	    "file or directory" },
	{ "[daemon]\nsocket = /x\nsokcet = /y\n",
	    "t.conf:3: [daemon] sokcet: unknown key" },
	{ "[listen]\nsocket = /x\n",
	    "t.conf:2: [listen] socket: unknown key (it belongs in [daemon])" },
	{ "[daemon]\nsocket = /x\n; later\n[listen]\n[daemon]\nsocket = /y\n",
	    "t.conf:6: [daemon] socket: duplicate key (first set on line 2)" },
	{ "[listen]\nallow = tcp/22\nallow = udp/53\n",
	    "t.conf:3: [listen] allow: duplicate key (first set on line 2)" },
	{ "[daemon]\nSocket = /x\n",
	    "t.conf:2: [daemon] Socket: unknown key" },
	/* syntax */
	{ "socket = /x\n",
	    "t.conf:1: socket: key before the first [section]" },
	{ "[daemon\n", "t.conf:1: section header without ']'" },
	{ "[daemon] x\n",
	    "t.conf:1: [daemon]: unexpected text after the section header" },
	{ "[daemon]\nsocket\n",
	    "t.conf:2: [daemon]: expected 'key = value', '[section]' or "
	    "a comment" },
	{ "[daemon]\n= /x\n", "t.conf:2: [daemon]: missing key name before "
	    "'='" },
	{ "[daemon]\nsocket = /x\n    /y\n",
	    "t.conf:3: [daemon] socket: only a list continues on an indented "
	    "line" },
	/* durations */
	{ "[daemon]\nscan_interval = fast\n",
	    "t.conf:2: [daemon] scan_interval: invalid duration 'fast' "
	    "(expected e.g. 2s, 500ms)" },
	{ "[daemon]\nscan_interval = 2s ; two\nmax_clients = 3\n"
	    "scan_interval =\n",
	    "t.conf:4: [daemon] scan_interval: duplicate key (first set on "
	    "line 2)" },
	{ "[daemon]\nscan_interval =\n",
	    "t.conf:2: [daemon] scan_interval: invalid duration '' "
	    "(expected e.g. 2s, 500ms)" },
	{ "[daemon]\nscan_interval = 99ms\n",
	    "t.conf:2: [daemon] scan_interval: '99ms' is out of range (must "
	    "be between 100ms and 1h)" },
	{ "[daemon]\nscan_interval = 1h1ms\n",
	    "t.conf:2: [daemon] scan_interval: '1h1ms' is out of range (must "
	    "be between 100ms and 1h)" },
	{ "[daemon]\nscan_interval = 99999999999999999999s\n",
	    "t.conf:2: [daemon] scan_interval: '99999999999999999999s' is out "
	    "of range (must be between 100ms and 1h)" },
	/* numbers */
	{ "[daemon]\nmax_clients = 0\n",
	    "t.conf:2: [daemon] max_clients: 0 is out of range (must be "
	    "between 1 and 1024)" },
	{ "[daemon]\nmax_clients = 1025\n",
	    "t.conf:2: [daemon] max_clients: 1025 is out of range (must be "
	    "between 1 and 1024)" },
	{ "[daemon]\nmax_clients = 18446744073709551617\n",
	    "t.conf:2: [daemon] max_clients: 18446744073709551617 is out of "
	    "range (must be between 1 and 1024)" },
	{ "[daemon]\nmax_clients = -1\n",
	    "t.conf:2: [daemon] max_clients: invalid number '-1'" },
	{ "[daemon]\nmax_clients = 6 4\n",
	    "t.conf:2: [daemon] max_clients: invalid number '6 4'" },
	{ "[daemon]\nmax_clients =\n",
	    "t.conf:2: [daemon] max_clients: invalid number ''" },
	/* paths */
	{ "[daemon]\nsocket = run/sockwatch.sock\n",
	    "t.conf:2: [daemon] socket: 'run/sockwatch.sock' is not an "
	    "absolute path" },
	{ "[daemon]\ndatabase =\n",
	    "t.conf:2: [daemon] database: a path is required" },
	{ "[daemon]\nalerts_file = /var/log/\n",
	    "t.conf:2: [daemon] alerts_file: '/var/log/' names a directory, "
	    "not a file" },
	{ "[daemon]\nsocket = /run/0123456789012345678901234567890123456789"
	    "01234567890123456789012345678901234567890123456789"
	    "01234567890123456789\n",
	    "t.conf:2: [daemon] socket: path longer than 107 bytes" },
	/* metrics_listen */
	{ "[daemon]\nmetrics_listen = localhost:9464\n",
	    "t.conf:2: [daemon] metrics_listen: 'localhost' is not an IP "
	    "address (expected e.g. 127.0.0.1:9464 or [::1]:9464)" },
	{ "[daemon]\nmetrics_listen = ::1:9464\n",
	    "t.conf:2: [daemon] metrics_listen: '::1:9464': put an IPv6 "
	    "address in brackets, e.g. [::1]:9464" },
	{ "[daemon]\nmetrics_listen = 127.0.0.1\n",
	    "t.conf:2: [daemon] metrics_listen: invalid address '127.0.0.1' "
	    "(expected host:port, e.g. 127.0.0.1:9464 or [::1]:9464)" },
	{ "[daemon]\nmetrics_listen = [::1]9464\n",
	    "t.conf:2: [daemon] metrics_listen: invalid address '[::1]9464' "
	    "(expected host:port, e.g. 127.0.0.1:9464 or [::1]:9464)" },
	{ "[daemon]\nmetrics_listen = 127.0.0.1:0\n",
	    "t.conf:2: [daemon] metrics_listen: invalid port '0' (must be "
	    "between 1 and 65535)" },
	{ "[daemon]\nmetrics_listen = [::1]:65536\n",
	    "t.conf:2: [daemon] metrics_listen: invalid port '65536' (must be "
	    "between 1 and 65535)" },
	{ "[daemon]\nmetrics_listen = 127.0.0.1:http\n",
	    "t.conf:2: [daemon] metrics_listen: invalid port 'http' (must be "
	    "between 1 and 65535)" },
	{ "[daemon]\nmetrics_listen = 256.0.0.1:9464\n",
	    "t.conf:2: [daemon] metrics_listen: '256.0.0.1' is not an IP "
	    "address (expected e.g. 127.0.0.1:9464 or [::1]:9464)" },
	/* control_group */
	{ "[daemon]\nuser = root user\n",
	    "t.conf:2: [daemon] user: invalid user name 'root user' "
	    "(letters, digits, '_', '-', '.', not starting with a digit; at "
	    "most 32 characters)" },
	{ "[daemon]\ncontrol_group = 1000\n",
	    "t.conf:2: [daemon] control_group: invalid group name '1000' "
	    "(letters, digits, '_', '-', '.', not starting with a digit; at "
	    "most 32 characters)" },
	{ "[daemon]\ncontrol_group = sock watch\n",
	    "t.conf:2: [daemon] control_group: invalid group name 'sock "
	    "watch' (letters, digits, '_', '-', '.', not starting with a "
	    "digit; at most 32 characters)" },
	{ "[daemon]\ncontrol_group = abcdefghijabcdefghijabcdefghijabc\n",
	    "t.conf:2: [daemon] control_group: invalid group name "
	    "'abcdefghijabcdefghijabcdefghijabc' (letters, digits, '_', '-', "
	    "'.', not starting with a digit; at most 32 characters)" },
	/* [listen] allow */
	{ "[listen]\nallow = tcp/22 sshd, tcp/0 nginx\n",
	    "t.conf:2: [listen] allow: invalid entry 'tcp/0 nginx': port must "
	    "be between 1 and 65535" },
	{ "[listen]\nallow = tcp/22 sshd, icmp/1\n",
	    "t.conf:2: [listen] allow: invalid entry 'icmp/1': unknown "
	    "protocol (expected tcp or udp)" },
	{ "[listen]\nallow = tcp/22 sshd nginx\n",
	    "t.conf:2: [listen] allow: invalid entry 'tcp/22 sshd nginx': "
	    "unexpected text after the process name" },
	{ "[listen]\nallow = tcp/22 a-very-long-process\n",
	    "t.conf:2: [listen] allow: invalid entry 'tcp/22 "
	    "a-very-long-process': process name longer than 15 characters" },
	{ "[listen]\nallow = tcp/22,, udp/53\n",
	    "t.conf:2: [listen] allow: empty entry (two commas in a row, or "
	    "a comma first?)" },
	{ "[listen]\nallow = , udp/53\n",
	    "t.conf:2: [listen] allow: empty entry (two commas in a row, or "
	    "a comma first?)" },
	{ "[listen]\nallow = tcp/22 sshd, udp/53,\n  TCP/22 sshd\n",
	    "t.conf:3: [listen] allow: duplicate entry 'tcp/22 sshd'" },
	{ "[listen]\nallow = tcp/22,\n  tcp/80 nginx,\n  tcp/80 ngin x\n",
	    "t.conf:4: [listen] allow: invalid entry 'tcp/80 ngin x': "
	    "unexpected text after the process name" },
	{ "[listen]\nallow = tcp/22\n  acton = block\n",
	    "t.conf:3: [listen] acton: unknown key" },
	{ "[listen]\nallow = tcp/22\n  tcp/80 a=b c\n",
	    "t.conf:3: [listen] allow: invalid entry 'tcp/80 a=b c': "
	    "unexpected text after the process name" },
	/* [listen] action */
	{ "[listen]\naction = drop\n",
	    "t.conf:2: [listen] action: invalid action 'drop' (expected alert "
	    "or block)" },
	{ "[listen]\naction = Alert\n",
	    "t.conf:2: [listen] action: invalid action 'Alert' (expected "
	    "alert or block)" },
	{ "[listen]\naction =\n",
	    "t.conf:2: [listen] action: invalid action '' (expected alert or "
	    "block)" },
	/* [daemon] interfaces, max_peers */
	{ "[daemon]\ninterfaces =\n",
	    "t.conf:2: [daemon] interfaces: no interface (use 'any' for all "
	    "of them, or 'none' for no capture)" },
	{ "[daemon]\ninterfaces = eth0, none\n",
	    "t.conf:2: [daemon] interfaces: 'none' cannot be combined with "
	    "other interfaces" },
	{ "[daemon]\ninterfaces = none,\n  eth0\n",
	    "t.conf:3: [daemon] interfaces: 'none' cannot be combined with "
	    "other interfaces" },
	{ "[daemon]\ninterfaces = any, eth0\n",
	    "t.conf:2: [daemon] interfaces: 'any' cannot be combined with "
	    "other interfaces" },
	{ "[daemon]\ninterfaces = eth0, eth1, eth0\n",
	    "t.conf:2: [daemon] interfaces: duplicate entry 'eth0'" },
	{ "[daemon]\ninterfaces = eth0 eth1\n",
	    "t.conf:2: [daemon] interfaces: invalid interface name 'eth0 eth1' "
	    "(at most 15 characters, no '/', ':' or blanks)" },
	{ "[daemon]\ninterfaces = eth0:1\n",
	    "t.conf:2: [daemon] interfaces: invalid interface name 'eth0:1' "
	    "(at most 15 characters, no '/', ':' or blanks)" },
	{ "[daemon]\ninterfaces = a-very-long-name\n",
	    "t.conf:2: [daemon] interfaces: invalid interface name "
	    "'a-very-long-name' (at most 15 characters, no '/', ':' or "
	    "blanks)" },
	{ "[daemon]\ninterfaces = ..\n",
	    "t.conf:2: [daemon] interfaces: invalid interface name '..' (at "
	    "most 15 characters, no '/', ':' or blanks)" },
	{ "[daemon]\nmax_peers = 0\n",
	    "t.conf:2: [daemon] max_peers: 0 is out of range (must be "
	    "between 1 and 10000000)" },
	{ "[daemon]\nmax_peers = 10000001\n",
	    "t.conf:2: [daemon] max_peers: 10000001 is out of range (must be "
	    "between 1 and 10000000)" },
	/* [daemon] alerts_keep, alerts_max */
	{ "[daemon]\nalerts_keep = 30 days\n",
	    "t.conf:2: [daemon] alerts_keep: invalid duration '30 days' "
	    "(expected e.g. 2s, 500ms)" },
	{ "[daemon]\n\nalerts_keep = 3651d\n",
	    "t.conf:3: [daemon] alerts_keep: '3651d' is out of range (must be "
	    "between 0s and 3650d)" },
	{ "[daemon]\nalerts_keep =\n",
	    "t.conf:2: [daemon] alerts_keep: invalid duration '' (expected "
	    "e.g. 2s, 500ms)" },
	{ "[daemon]\nalerts_max = -1\n",
	    "t.conf:2: [daemon] alerts_max: invalid number '-1'" },
	{ "[daemon]\nalerts_max = 1000000001\n",
	    "t.conf:2: [daemon] alerts_max: 1000000001 is out of range (must "
	    "be between 0 and 1000000000)" },
	/* detectors */
	{ "[portscan]\nenabled = maybe\n",
	    "t.conf:2: [portscan] enabled: invalid value 'maybe' (expected "
	    "yes or no)" },
	{ "[portscan]\nenabled = Yes\n",
	    "t.conf:2: [portscan] enabled: invalid value 'Yes' (expected "
	    "yes or no)" },
	{ "[portscan]\nports = 0\n",
	    "t.conf:2: [portscan] ports: 0 is out of range (must be between "
	    "1 and 65535)" },
	{ "[portscan]\nhosts = 65536\n",
	    "t.conf:2: [portscan] hosts: 65536 is out of range (must be "
	    "between 1 and 65535)" },
	{ "[portscan]\nwindow = 999ms\n",
	    "t.conf:2: [portscan] window: '999ms' is out of range (must be "
	    "between 1s and 1h)" },
	{ "[portscan]\naction = drop\n",
	    "t.conf:2: [portscan] action: invalid action 'drop' (expected "
	    "alert or block)" },
	{ "[portscan]\nban = 366d\n",
	    "t.conf:2: [portscan] ban: '366d' is out of range (must be "
	    "between 1s and 365d)" },
	{ "[portscan]\nban = 0\n",
	    "t.conf:2: [portscan] ban: '0' is out of range (must be between "
	    "1s and 365d)" },
	{ "[portscan]\nrate = 5\n",
	    "t.conf:2: [portscan] rate: unknown key (it belongs in "
	    "[synflood] or [bans])" },
	{ "[bans]\nrate = 0\n",
	    "t.conf:2: [bans] rate: 0 is out of range (must be between 1 "
	    "and 100000)" },
	{ "[bans]\nprotect_peers = 198.18.0.1, gateway\n",
	    "t.conf:2: [bans] protect_peers: invalid address or CIDR "
	    "'gateway' (expected e.g. 198.18.0.1, 198.18.0.0/15 or "
	    "2001:db8::/32)" },
	{ "[synflood]\nrate = 0\n",
	    "t.conf:2: [synflood] rate: 0 is out of range (must be between 1 "
	    "and 10000000)" },
	{ "[synflood]\nsources = 5\n",
	    "t.conf:2: [synflood] sources: unknown key" },
	{ "[bruteforce]\nattempts = 0\n",
	    "t.conf:2: [bruteforce] attempts: 0 is out of range (must be "
	    "between 1 and 65535)" },
	{ "[bruteforce]\nlog = auth.log\n",
	    "t.conf:2: [bruteforce] log: 'auth.log' is neither journal nor an "
	    "absolute path" },
	{ "[bruteforce]\nports = 22, ssh\n",
	    "t.conf:2: [bruteforce] ports: invalid port 'ssh' (must be "
	    "between 1 and 65535)" },
	{ "[bruteforce]\nports = 22,\n  0\n",
	    "t.conf:3: [bruteforce] ports: invalid port '0' (must be between "
	    "1 and 65535)" },
	{ "[bruteforce]\nports = 22, 2222, 22\n",
	    "t.conf:2: [bruteforce] ports: duplicate entry '22'" },
	{ "[bruteforce]\nports = 22,,23\n",
	    "t.conf:2: [bruteforce] ports: empty entry (two commas in a row, "
	    "or a comma first?)" },
	{ "[bruteforce]\nwindow = 2d\n",
	    "t.conf:2: [bruteforce] window: '2d' is out of range (must be "
	    "between 1s and 1d)" },
	/* [deny], [allow] */
	{ "[deny]\npeers = 198.18.0.0/15, 198.18.0.0/33\n",
	    "t.conf:2: [deny] peers: invalid address or CIDR '198.18.0.0/33' "
	    "(expected e.g. 198.18.0.1, 198.18.0.0/15 or 2001:db8::/32)" },
	{ "[deny]\npeers = example.com\n",
	    "t.conf:2: [deny] peers: invalid address or CIDR 'example.com' "
	    "(expected e.g. 198.18.0.1, 198.18.0.0/15 or 2001:db8::/32)" },
	{ "[deny]\npeers = 198.18.0.0/15,\n  198.19.1.2/15\n",
	    "t.conf:3: [deny] peers: duplicate entry '198.18.0.0/15'" },
	{ "[deny]\nfile = deny.txt\n",
	    "t.conf:2: [deny] file: 'deny.txt' is not an absolute path" },
	{ "[deny]\nfile = /nonexistent/deny.txt\n",
	    "t.conf:2: [deny] file: /nonexistent/deny.txt: cannot open: No "
	    "such file or directory" },
	{ "[deny]\nfile = /\n",
	    "t.conf:2: [deny] file: '/' names a directory, not a file" },
	{ "[listen]\nban = 1h\n",
	    "t.conf:2: [listen] ban: unknown key (it belongs in [portscan], "
	    "[synflood], [bruteforce] or [deny])" },
	{ "[deny]\nattempts = 3\n",
	    "t.conf:2: [deny] attempts: unknown key (it belongs in "
	    "[bruteforce])" },
	{ "[allow]\npeers = 2001:db8::/129\n",
	    "t.conf:2: [allow] peers: invalid address or CIDR "
	    "'2001:db8::/129' (expected e.g. 198.18.0.1, 198.18.0.0/15 or "
	    "2001:db8::/32)" },
	{ "[allow]\nwindow = 1m\n",
	    "t.conf:2: [allow] window: unknown key (it belongs in [portscan], "
	    "[synflood], [bruteforce] or [deny])" },
	{ "[allow]\nfile = /dev/null\n",
	    "t.conf:2: [allow] file: unknown key (it belongs in [deny] or "
	    "[connect])" },
	{ "[crowdsec]\nurl = ftp://x/\n",
	    "t.conf:2: [crowdsec] url: 'ftp://x/' is not an http:// or "
	    "https:// URL" },
	{ "[crowdsec]\nurl = http:///v1\n",
	    "t.conf:2: [crowdsec] url: 'http:///v1' names no host" },
	/* The password is not echoed. */
	{ "[crowdsec]\nurl = http://u:secret@198.18.0.1:8080/\n",
	    "t.conf:2: [crowdsec] url: a user or password in the URL (the "
	    "keys go in bouncer_key_file and machine_password_file)" },
	{ "[crowdsec]\nmachine_id = a b\n",
	    "t.conf:2: [crowdsec] machine_id: invalid character in 'a b' "
	    "(printable ASCII, no blanks or quotes)" },
	{ "[crowdsec]\nmachine_id = host1\n",
	    "t.conf:2: [crowdsec] machine_id: needs machine_password_file "
	    "too" },
	{ "[crowdsec]\nbouncer_key_file = /nonexistent/key\n",
	    "t.conf:2: [crowdsec] bouncer_key_file: cannot open "
	    "/nonexistent/key: No such file or directory" },
	{ "[crowdsec]\nbouncer_key_file = /\n",
	    "t.conf:2: [crowdsec] bouncer_key_file: '/' names a directory, "
	    "not a file" },
	{ "[crowdsec]\npoll_interval = 100ms\n",
	    "t.conf:2: [crowdsec] poll_interval: '100ms' is out of range "
	    "(must be between 1s and 1h)" },
	/* Only the first error is reported. */
	{ "[daemon]\nmax_clients = 0\nscan_interval = x\n[nope]\n",
	    "t.conf:2: [daemon] max_clients: 0 is out of range (must be "
	    "between 1 and 1024)" },
};

static void
check_bad_configs(void)
{
	struct config_error err;
	struct config *cfg;
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		cfg = (struct config *)&err;	/* must stay untouched */
		memset(&err, 0, sizeof(err));
		r = config_load_string(bad_configs[i].text, "t.conf", &cfg,
		    &err);
		if (r != -EINVAL)
			fail_msg("case %zu: r=%d, expected -EINVAL; msg '%s'", i,
			    r, err.msg);
		assert_ptr_equal(cfg, (struct config *)&err);
		if (strcmp(err.msg, bad_configs[i].msg) != 0)
			fail_msg("case %zu:\n  got      '%s'\n  expected '%s'",
			    i, err.msg, bad_configs[i].msg);
	}
}

static void
test_config_errors(void **state)
{
	(void)state;
	check_bad_configs();
}

static void
test_config_long_line(void **state)
{
	struct config_error err;
	struct config *cfg = NULL;
	char text[8192], *p = text, *end = text + sizeof(text);
	int i;

	(void)state;
	/* One line too long for inih: an error, not two lines. */
	p += snprintf(p, (size_t)(end - p), "[listen]\nallow = tcp/1");
	for (i = 2; i < 60; i++)
		p += snprintf(p, (size_t)(end - p), ", tcp/%d", i);
	snprintf(p, (size_t)(end - p), "\n");
	assert_int_equal(config_load_string(text, "t.conf", &cfg, &err),
	    -EINVAL);
	assert_true(strncmp(err.msg, "t.conf:2: [listen]: line longer than ",
	    37) == 0);

	/* The same list on continuation lines is fine, and prints wrapped
	 * so that it reads back. */
	p = text;
	p += snprintf(p, (size_t)(end - p), "[listen]\nallow = tcp/1");
	for (i = 2; i < 300; i++)
		p += snprintf(p, (size_t)(end - p), "%s tcp/%d",
		    i % 10 == 0 ? ",\n  " : ",", i);
	snprintf(p, (size_t)(end - p), "\n");
	assert_int_equal(config_load_string(text, "t.conf", &cfg, &err), 0);
	assert_int_equal(cfg->listen.nallow, 299);
	p = print_config(cfg);
	config_free(cfg);
	{
		char *again = good_print(p), *line, *save = NULL;

		assert_string_equal(again, p);
		for (line = strtok_r(again, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			assert_true(strlen(line) <= 78);
		free(again);
	}
	free(p);

	/* A single value must fit on one line as config_print writes it:
	 * this line fits inih, "database = <value>" would not. */
	memset(text, 0, sizeof(text));
	memcpy(text, "[daemon]\ndatabase:/", 19);
	memset(text + 19, 'x', 187);
	strcat(text, "\n");
	assert_int_equal(config_load_string(text, "t.conf", &cfg, &err),
	    -EINVAL);
	assert_string_equal(err.msg, "t.conf:2: [daemon] database: value "
	    "longer than 187 characters");
	text[19 + 186] = '\n';
	text[19 + 187] = '\0';
	assert_int_equal(config_load_string(text, "t.conf", &cfg, &err), 0);
	config_free(cfg);

	/* A line longer than anything we read is an error too. */
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, "[daemon]\nsocket = /", 19);
	assert_int_equal(config_load_string(text, "t.conf", &cfg, &err),
	    -EINVAL);
	assert_string_equal(err.msg,
	    "t.conf:2: [daemon]: line longer than 4095 characters");
}

static void
test_config_file_errors(void **state)
{
	char path[] = "/tmp/sockwatch-test-XXXXXX", want[512];
	struct config_error err;
	struct config *cfg = NULL, *keep;
	int fd;

	(void)state;
	/* Errors name the file as given. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[daemon]\n\n; x\nscan_interval = 1y\n",
	    33), 33);
	close(fd);
	assert_int_equal(config_load(path, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: [daemon] scan_interval: invalid "
	    "duration '1y' (expected e.g. 2s, 500ms)", path);
	assert_string_equal(err.msg, want);

	/* A NUL byte. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[daemon]\nsocket = /x\0y\n", 23), 23);
	close(fd);
	assert_int_equal(config_load(path, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	assert_string_equal(err.msg, want);
	unlink(path);

	/* Unreadable: missing, a directory. *ret_cfg stays as it was. */
	keep = (struct config *)&err;
	cfg = keep;
	assert_int_equal(config_load(path, &cfg, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	assert_string_equal(err.msg, want);
	assert_ptr_equal(cfg, keep);
	assert_int_equal(config_load("/", &cfg, &err), -EISDIR);
	assert_string_equal(err.msg, "/: read error: Is a directory");
	assert_ptr_equal(cfg, keep);
	/* err may be NULL. */
	assert_int_equal(config_load(path, &cfg, NULL), -ENOENT);
	assert_int_equal(config_load_string("[x]\n", NULL, &cfg, NULL),
	    -EINVAL);
	assert_int_equal(config_load_string(NULL, NULL, &cfg, &err), -EINVAL);
	assert_ptr_equal(cfg, keep);
}

/* Debian's inih turns its build options into run-time variables. Where
 * they exist, the file must mean the same under each setting, as it
 * would with an inih built that way. */
#pragma weak ini_allow_multiline
#pragma weak ini_stop_on_first_error
#pragma weak ini_allow_inline_comments
#pragma weak ini_allow_no_value
#pragma weak ini_allow_bom
extern bool ini_allow_multiline, ini_stop_on_first_error,
    ini_allow_inline_comments, ini_allow_no_value, ini_allow_bom;

static void
check_same_meaning(void)
{
	struct config *cfg = NULL;
	struct config_error err;
	char *out, *golden;

	assert_int_equal(config_load(FULL_CONF, &cfg, &err), 0);
	out = print_config(cfg);
	golden = read_text(FULL_GOLDEN);
	assert_string_equal(out, golden);
	free(golden);
	free(out);
	config_free(cfg);
	out = good_print("\xef\xbb\xbf[listen]\nallow = tcp/1,\n  tcp/2\n");
	free(out);
	check_bad_configs();
}

static void
test_config_inih_builds(void **state)
{
	bool *opts[] = {
		&ini_allow_multiline, &ini_stop_on_first_error,
		&ini_allow_inline_comments, &ini_allow_no_value,
		&ini_allow_bom,
	};
	bool saved[sizeof(opts) / sizeof(opts[0])];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (opts[i] == NULL)
			skip();		/* an inih without these */
		saved[i] = *opts[i];
	}
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		*opts[i] = !saved[i];
		check_same_meaning();
		*opts[i] = saved[i];
	}
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		*opts[i] = !saved[i];
	check_same_meaning();
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		*opts[i] = saved[i];
}

/* Key files: read at load, refused when others can read them (naming
 * the file), or when empty or not one line of text. */
static void
test_config_crowdsec_keys(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		mode_t mode;
		const char *why;	/* NULL: taken */
	} cases[] = {
		{ "0123abcd\n", 9, 0600, NULL },
		{ "0123abcd", 8, 0640, NULL },
		{ "0123abcd\n", 9, 0604, "is readable by everyone; refusing "
		    "it (chmod o-r " },
		{ "0123abcd\n", 9, 0644, "is readable by everyone" },
		{ "\n", 1, 0600, ": empty" },
		{ "ab\ncd\n", 6, 0600, ": not one line of printable text" },
		{ "ab\0cd", 5, 0600, ": not one line of printable text" },
	};
	struct config_error err;
	struct config *cfg;
	char text[512], *key, *pw;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		key = write_temp(cases[i].text, cases[i].len);
		assert_int_equal(chmod(key, cases[i].mode), 0);
		snprintf(text, sizeof(text), "[crowdsec]\nbouncer_key_file = "
		    "%s\n", key);
		cfg = NULL;
		r = config_load_string(text, "t.conf", &cfg, &err);
		if (cases[i].why == NULL) {
			if (r != 0)
				fail_msg("case %zu: %s", i, err.msg);
			assert_string_equal(cfg->crowdsec.bouncer_key,
			    "0123abcd");
			assert_string_equal(cfg->crowdsec.bouncer_key_file, key);
			config_free(cfg);
		} else {
			assert_int_equal(r, -EINVAL);
			assert_null(cfg);
			/* The message names the file. */
			if (strstr(err.msg, key) == NULL ||
			    strstr(err.msg, cases[i].why) == NULL)
				fail_msg("case %zu: '%s'", i, err.msg);
		}
		unlink(key);
		free(key);
	}
	/* An agent: its name and its password. */
	pw = write_temp("s3cret-pw\n", 10);
	snprintf(text, sizeof(text), "[crowdsec]\nmachine_id = host-1\n"
	    "machine_password_file = %s\n", pw);
	assert_int_equal(config_load_string(text, "t.conf", &cfg, &err), 0);
	assert_string_equal(cfg->crowdsec.machine_id, "host-1");
	assert_string_equal(cfg->crowdsec.machine_password, "s3cret-pw");
	assert_null(cfg->crowdsec.bouncer_key);
	config_free(cfg);
	snprintf(text, sizeof(text), "[crowdsec]\nmachine_password_file = "
	    "%s\n", pw);
	assert_int_equal(config_load_string(text, "t.conf", &cfg, &err),
	    -EINVAL);
	assert_string_equal(err.msg, "t.conf:2: [crowdsec] "
	    "machine_password_file: needs machine_id too");
	unlink(pw);
	free(pw);
}

/* Key files that are not regular files are refused at once, naming the
 * file: a FIFO (opening it for reading would wait for a writer: the alarm
 * fails the test if it does), a device, a symbolic link (even to a good
 * key file). */
static void
test_config_crowdsec_key_kinds(void **state)
{
	struct config_error err;
	struct config *cfg = NULL;
	char dir[] = "/tmp/sw-keys.XXXXXX", fifo[64], link[64], text[512];
	char *key;
	const struct {
		const char *path, *why;
	} cases[] = {
		{ fifo, "is not a regular file" },
		{ "/dev/null", "is not a regular file" },
		{ link, "is a symbolic link; refusing it" },
	};
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	key = write_temp("0123abcd\n", 9);
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(symlink(key, link), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[crowdsec]\nbouncer_key_file = "
		    "%s\n", cases[i].path);
		alarm(5);
		assert_int_equal(config_load_string(text, "t.conf", &cfg,
		    &err), -EINVAL);
		alarm(0);
		assert_null(cfg);
		if (strstr(err.msg, cases[i].path) == NULL ||
		    strstr(err.msg, cases[i].why) == NULL)
			fail_msg("case %zu: '%s'", i, err.msg);
	}
	unlink(link);
	unlink(fifo);
	unlink(key);
	rmdir(dir);
	free(key);
}

static void
test_config_action_name(void **state)
{
	(void)state;
	assert_string_equal(config_action_name(ACTION_ALERT), "alert");
	assert_string_equal(config_action_name(ACTION_BLOCK), "block");
	assert_string_equal(config_action_name((enum config_action)7),
	    "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_shipped),
		cmocka_unit_test(test_config_golden),
		cmocka_unit_test(test_config_syntax),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_long_line),
		cmocka_unit_test(test_config_file_errors),
		cmocka_unit_test(test_config_inih_builds),
		cmocka_unit_test(test_config_action_name),
		cmocka_unit_test(test_config_crowdsec_keys),
		cmocka_unit_test(test_config_crowdsec_key_kinds),
		cmocka_unit_test(test_config_interfaces),
		cmocka_unit_test(test_config_deny_file),
		cmocka_unit_test(test_config_deny_file_big),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
