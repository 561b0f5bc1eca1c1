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
#include <unistd.h>

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
    "alerts_file =\n"
    "metrics_listen =\n"
    "control_group =\n"
    "max_clients = 64\n"
    "\n"
    "[listen]\n"
    "allow =\n"
    "action = alert\n";

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
	assert_null(cfg->daemon.alerts_file);
	assert_null(cfg->daemon.metrics_listen);
	assert_null(cfg->daemon.control_group);
	assert_int_equal(cfg->daemon.max_clients, 64);
	assert_int_equal(cfg->listen.nallow, 0);
	assert_int_equal(cfg->listen.action, ACTION_ALERT);
	out = print_config(cfg);
	assert_string_equal(out, defaults_printed);
	free(out);
	config_free(cfg);

	/* Sections without keys, and comments only. */
	out = good_print("; nothing\n[daemon]\n\n[listen]\n# done\n");
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

static const struct {
	const char *text;
	const char *msg;
} bad_configs[] = {
	/* unknown section, key; duplicate key */
	{ "[daemon]\n[deamon]\nsocket = /x\n",
	    "t.conf:2: [deamon]: unknown section (known: daemon, listen)" },
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
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
