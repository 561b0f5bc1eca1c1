/* Subcommands answered by sockwatchd: status, alerts, reload, metrics; and
 * check-config, which needs no daemon. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/addr.h"
#include "../common/duration.h"
#include "../common/timeutil.h"
#include "../monitor/peers.h"
#include "../policy/config.h"
#include "cli.h"
#include "client.h"
#include "table.h"
#include "views.h"

enum { OPT_JSON = 256, OPT_SINCE, OPT_KIND, OPT_PEER, OPT_SORT };

/* Options that only say -h or --json (refused when ret_json is NULL). */
static int
simple_opts(int argc, char **argv, const char *help, int *ret_json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	optind = 1;
	if (ret_json != NULL)
		*ret_json = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			if (ret_json == NULL)
				return cli_usage_error(argv[0], "--json is not "
				    "an option of this command");
			*ret_json = 1;
			break;
		case 'h':
			fputs(help, stdout);
			exit(EXIT_OK);
		default:
			return cli_bad_option(argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument '%s'",
		    argv[optind]);
	return 0;
}


static json_int_t
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* What went wrong with the database, if anything: the daemon runs
 * without one, made a fresh one, or has ban writes waiting. */
static void
print_database(const json_t *db)
{
	const char *note = json_string_value(json_object_get(db, "note"));

	if (db == NULL)
		return;
	if (!json_is_true(json_object_get(db, "open")))
		printf("database:   NONE (bans in the kernel only): %s\n",
		    note ? note : "?");
	else if (note != NULL)
		printf("database:   %s\n", note);
	if (jint(db, "pending") > 0)
		printf("database:   %lld ban writes waiting (%s): in force in "
		    "the kernel, retrying\n", (long long)jint(db, "pending"),
		    json_string_value(json_object_get(db, "error")));
}

/* One line for each configured capture interface: up or down since
 * when, and the gaps it had. */
static void
status_interfaces(const json_t *ifs)
{
	const json_t *i;
	json_int_t gaps;
	size_t k;

	json_array_foreach(ifs, k, i) {
		gaps = jint(i, "gaps");
		printf("  %-9s %s since %s%s", json_string_value(
		    json_object_get(i, "interface")),
		    json_string_value(json_object_get(i, "state")),
		    json_string_value(json_object_get(i, "since")),
		    json_is_false(json_object_get(i, "exists")) ?
		    " (no such interface)" : "");
		if (gaps > 0)
			printf(", %lld gap%s (last %.1f s)", (long long)gaps,
			    gaps == 1 ? "" : "s", json_real_value(
			    json_object_get(i, "last_gap_s")));
		putchar('\n');
	}
}

/* One direction of CrowdSec's Local API: its state and three counts. */
static void
status_crowdsec_part(const char *what, const json_t *p, const char *k1,
    const char *k2, const char *k3)
{
	const char *st = json_string_value(json_object_get(p, "state")),
	    *err = json_string_value(json_object_get(p, "error"));

	if (st == NULL || strcmp(st, "off") == 0)
		return;
	printf("  %s %s: %lld %s, %lld %s, %lld %s, %lld errors%s%s\n", what,
	    st, (long long)jint(p, k1), k1, (long long)jint(p, k2), k2,
	    (long long)jint(p, k3), k3, (long long)jint(p, "errors"),
	    err != NULL ? "; last: " : "", err != NULL ? err : "");
}

/* CrowdSec's Local API, when either direction is on. */
static void
status_crowdsec(const json_t *cs)
{
	const json_t *d = json_object_get(cs, "decisions"),
	    *a = json_object_get(cs, "alerts");
	const char *ds = json_string_value(json_object_get(d, "state")),
	    *as = json_string_value(json_object_get(a, "state"));

	if (ds == NULL || as == NULL || (strcmp(ds, "off") == 0 &&
	    strcmp(as, "off") == 0))
		return;
	printf("crowdsec:   %s\n", json_string_value(json_object_get(cs,
	    "url")));
	status_crowdsec_part("decisions", d, "bans", "lifted", "refused");
	status_crowdsec_part("alerts", a, "pushed", "queued", "dropped");
	if (jint(a, "withdrawn") + jint(a, "withdraw_queued") +
	    jint(a, "withdraw_dropped") > 0)
		printf("  unblocked: %lld decisions of ours deleted, %lld "
		    "peers waiting, %lld given up\n",
		    (long long)jint(a, "withdrawn"),
		    (long long)jint(a, "withdraw_queued"),
		    (long long)jint(a, "withdraw_dropped"));
}

int
cmd_status(int argc, char **argv)
{
	json_t *resp, *rl, *sk, *cap, *st;
	char up[32];
	int json, r;

	if ((r = simple_opts(argc, argv, "usage: sockwatch status [--json]\n",
	    &json)) != 0)
		return r;
	if ((r = client_request("status", json_pack("{s:s}", "cmd",
	    "status"), &resp)) != EXIT_OK)
		return r;
	if (json) {
		json_object_del(resp, "ok");
		r = views_json(resp);
		json_decref(resp);
		return r;
	}
	sk = json_object_get(resp, "sockets");
	rl = json_object_get(resp, "last_reload");
	printf("sockwatchd %s, pid %lld, up %s (since %s)\n",
	    json_string_value(json_object_get(resp, "version")),
	    (long long)jint(resp, "pid"),
	    duration_format((uint64_t)jint(resp, "uptime_s") * 1000, up,
	    sizeof(up)), json_string_value(json_object_get(resp, "started")));
	printf("config:     %s\n",
	    json_string_value(json_object_get(resp, "config")));
	if (json_is_null(json_object_get(rl, "time")))
		printf("reload:     none since start\n");
	else if (json_is_true(json_object_get(rl, "ok")))
		printf("reload:     ok at %s\n",
		    json_string_value(json_object_get(rl, "time")));
	else
		printf("reload:     FAILED at %s: %s\n",
		    json_string_value(json_object_get(rl, "time")),
		    json_string_value(json_object_get(rl, "error")));
	printf("sockets:    %lld (tcp %lld, udp %lld, unix %lld), "
	    "listeners %lld\n", (long long)jint(sk, "total"),
	    (long long)jint(sk, "tcp"), (long long)jint(sk, "udp"),
	    (long long)jint(sk, "unix"), (long long)jint(resp, "listeners"));
	printf("alerts:     %lld since start\n",
	    (long long)jint(resp, "alerts"));
	st = json_object_get(resp, "store");
	if (json_is_true(json_object_get(json_object_get(resp, "database"),
	    "open")))
		printf("database:   %.1f MiB; alerts written %lld, pruned "
		    "%lld, dropped %lld; %lld errors\n",
		    (double)jint(st, "bytes") / (1024 * 1024),
		    (long long)jint(st, "written"),
		    (long long)jint(st, "pruned"),
		    (long long)jint(st, "dropped"),
		    (long long)jint(st, "errors"));
	cap = json_object_get(resp, "capture");
	if (json_array_size(json_object_get(cap, "interfaces")) > 0)
		printf("capture:    %lld packets, %lld dropped by the kernel, "
		    "%lld by interfaces; peers %lld of %lld (%lld evicted)\n",
		    (long long)jint(cap, "received"),
		    (long long)jint(cap, "dropped"),
		    (long long)jint(cap, "if_dropped"),
		    (long long)jint(cap, "peers"),
		    (long long)jint(cap, "max_peers"),
		    (long long)jint(cap, "peer_evictions"));
	else
		printf("capture:    off\n");
	status_interfaces(json_object_get(cap, "interface_state"));
	printf("clients:    %lld\n", (long long)jint(resp, "clients"));
	print_database(json_object_get(resp, "database"));
	status_crowdsec(json_object_get(resp, "crowdsec"));
	json_decref(resp);
	return EXIT_OK;
}

/* What alerts -f keeps: the same filters the history query applies. */
struct follow_filter {
	const char *kind;
	bool has_peer;
	struct cidr peer;
	int64_t since_ms;
};

static bool
follow_match(const struct follow_filter *f, const json_t *a)
{
	const char *s;
	struct addr peer;
	int64_t t;

	if (!json_is_object(a))
		return false;
	s = json_string_value(json_object_get(a, "kind"));
	if (f->kind != NULL && (s == NULL || strcmp(s, f->kind) != 0))
		return false;
	s = json_string_value(json_object_get(a, "peer"));
	if (f->has_peer && (s == NULL || addr_parse(s, &peer) < 0 ||
	    !cidr_contains(&f->peer, &peer)))
		return false;
	s = json_string_value(json_object_get(a, "time"));
	if (f->since_ms > 0 && (s == NULL || time_parse_rfc3339(s, &t) < 0 ||
	    t < f->since_ms))
		return false;
	return true;
}

static void
follow_print(const json_t *a, int json)
{
	if (json)
		json_dumpf(a, stdout, JSON_COMPACT);
	else
		printf("%s %s %s: %s",
		    json_string_value(json_object_get(a, "time")),
		    json_string_value(json_object_get(a, "kind")),
		    json_string_value(json_object_get(a, "severity")),
		    json_string_value(json_object_get(a, "message")));
	putchar('\n');
}

/* alerts -f: the recent alerts, then each new one as it is raised, until
 * the daemon goes away. */
static int
follow_alerts(json_t *req, const struct follow_filter *f, int json)
{
	struct client *c;
	json_t *resp = NULL, *ev, *a;
	const char *err;
	size_t i;
	int r;

	json_object_set_new(req, "cmd", json_string("subscribe"));
	if ((r = client_connect(&c)) != EXIT_OK) {
		json_decref(req);
		return r;
	}
	r = client_call(c, req, &resp);
	json_decref(req);
	if (r < 0 || !json_is_true(json_object_get(resp, "ok"))) {
		err = r < 0 ? strerror(-r) :
		    json_string_value(json_object_get(resp, "error"));
		fprintf(stderr, "sockwatch: alerts: cannot subscribe: %s\n",
		    err ? err : "the daemon refused the request");
		json_decref(resp);
		client_close(c);
		return EXIT_FAIL;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	json_array_foreach(json_object_get(resp, "recent"), i, a)
		if (follow_match(f, a))
			follow_print(a, json);
	json_decref(resp);
	while ((r = client_next(c, &ev)) == 0) {
		a = json_object_get(ev, "alert");
		if (strcmp(json_string_value(json_object_get(ev, "event")) ?: "",
		    "alert") == 0 && follow_match(f, a))
			follow_print(a, json);
		json_decref(ev);
	}
	client_close(c);
	fprintf(stderr, "sockwatch: sockwatchd closed the stream\n");
	return EXIT_FAIL;
}

static const char alerts_help[] =
    "usage: sockwatch alerts [-f] [--since DUR|TIME] [--kind K]\n"
    "                        [--peer ADDR[/LEN]] [-n N] [--json]\n"
    "  -f, --follow   print new alerts as they are raised\n"
    "  --since        only alerts newer than a duration ago (1h) or an\n"
    "                 RFC 3339 time\n"
    "  --kind K       only this kind (listener, portscan, ...)\n"
    "  --peer CIDR    only alerts about peers in this prefix\n"
    "  -n N           the newest N alerts (default 1000)\n";

int
cmd_alerts(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct follow_filter f = { 0 };
	json_t *req, *resp;
	int c, follow = 0, json = 0, r;
	uint64_t ms;
	long n = 0;
	char *end;

	if ((req = json_pack("{s:s}", "cmd", "alerts")) == NULL)
		return EXIT_FAIL;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":fn:h", longopts, NULL)) != -1) {
		r = 0;
		switch (c) {
		case 'f':
			follow = 1;
			break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 ||
			    n > 1000000)
				r = cli_usage_error(argv[0], "invalid -n '%s': "
				    "expected 1-1000000", optarg);
			else
				json_object_set_new(req, "limit",
				    json_integer(n));
			break;
		case OPT_SINCE:
			/* A duration back from now, or an RFC 3339 time. */
			if (time_parse_rfc3339(optarg, &f.since_ms) < 0) {
				if (duration_parse(optarg, &ms) < 0)
					r = cli_usage_error(argv[0], "invalid "
					    "--since '%s': expected a duration "
					    "(1h) or an RFC 3339 time", optarg);
				else
					f.since_ms = time_now_ms() -
					    (int64_t)ms;
			}
			json_object_set_new(req, "since", json_string(optarg));
			break;
		case OPT_KIND:
			f.kind = optarg;
			json_object_set_new(req, "kind", json_string(optarg));
			break;
		case OPT_PEER:
			if (cidr_parse(optarg, &f.peer) < 0)
				r = cli_usage_error(argv[0], "invalid --peer "
				    "'%s': expected an address or CIDR",
				    optarg);
			f.has_peer = true;
			json_object_set_new(req, "peer", json_string(optarg));
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			fputs(alerts_help, stdout);
			json_decref(req);
			return EXIT_OK;
		default:
			r = cli_bad_option(argv, c);
		}
		if (r != 0) {
			json_decref(req);
			return r;
		}
	}
	if (optind < argc) {
		json_decref(req);
		return cli_usage_error(argv[0], "unexpected argument '%s'",
		    argv[optind]);
	}
	if (follow) {
		/* -n: how many past alerts to show first (default 10). */
		json_object_del(req, "limit");
		json_object_del(req, "since");
		json_object_del(req, "kind");
		json_object_del(req, "peer");
		if (n > 0)
			json_object_set_new(req, "recent", json_integer(
			    n < 1024 ? n : 1024));
		return follow_alerts(req, &f, json);
	}
	r = client_request("alerts", req, &resp);
	if (r != EXIT_OK)
		return r;
	if (json_is_true(json_object_get(resp, "capped")))
		fprintf(stderr, "sockwatch: only the newest %lld alerts: the "
		    "daemon answers no more at once (narrow with --since, "
		    "--kind or --peer)\n", (long long)json_integer_value(
		    json_object_get(resp, "limit")));
	r = views_alerts(json_object_get(resp, "alerts"), json);
	json_decref(resp);
	return r;
}

int
cmd_reload(int argc, char **argv)
{
	json_t *resp;
	int r;

	if ((r = simple_opts(argc, argv, "usage: sockwatch reload\n",
	    NULL)) != 0)
		return r;
	if ((r = client_request("reload", json_pack("{s:s}", "cmd",
	    "reload"), &resp)) != EXIT_OK)
		return r;
	printf("configuration reloaded\n");
	json_decref(resp);
	return EXIT_OK;
}

int
cmd_metrics(int argc, char **argv)
{
	json_t *resp;
	int r;

	if ((r = simple_opts(argc, argv, "usage: sockwatch metrics\n"
	    "  Prometheus text exposition of the daemon's state.\n",
	    NULL)) != 0)
		return r;
	if ((r = client_request("metrics", json_pack("{s:s}", "cmd",
	    "metrics"), &resp)) != EXIT_OK)
		return r;
	fputs(json_string_value(json_object_get(resp, "text")) ?: "", stdout);
	json_decref(resp);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

int
cmd_check_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "print", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config_error err = { "" };
	struct config *cfg;
	const char *path = NULL;
	int c, print = 0, r;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			print = 1;
			break;
		case 'h':
			printf("usage: sockwatch check-config [-p] [FILE]\n"
			    "  Check FILE (default %s, or the built-in\n"
			    "  default when that does not exist, as "
			    "sockwatchd does);\n"
			    "  -p prints it back with every default filled "
			    "in.\n", CONFIG_DEFAULT_PATH);
			return EXIT_OK;
		default:
			return cli_bad_option(argv, c);
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument '%s'",
		    argv[optind]);
	/* The same choice sockwatchd makes without -c. */
	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	r = path ? config_load(path, &cfg, &err) :
	    config_load_default(&cfg, &err);
	if (r < 0) {
		fprintf(stderr, "sockwatch: %s\n", err.msg[0] ? err.msg :
		    strerror(-r));
		return EXIT_FAIL;
	}
	if (print)
		config_print(cfg, stdout);
	else
		printf("%s: ok\n", path ? path : "built-in default");
	config_free(cfg);
	return EXIT_OK;
}

static const char peers_help[] =
    "usage: sockwatch peers [-n N] [--sort packets|bytes|ports|syn] [--json]\n"
    "  The top talkers and suspects in sockwatchd's peer table now.\n"
    "  -n N     how many (default 20)\n"
    "  --sort   the ranking (default packets)\n";

int
cmd_peers(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum peers_sort by = PEERS_SORT_PACKETS;
	json_t *resp;
	int c, json = 0, r;
	long n = 20;
	char *end;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 ||
			    n > 100000)
				return cli_usage_error(argv[0], "invalid -n "
				    "'%s': expected 1-100000", optarg);
			break;
		case OPT_SORT:
			if (peers_sort_parse(optarg, &by) < 0)
				return cli_usage_error(argv[0], "invalid --sort "
				    "'%s': expected packets, bytes, ports or "
				    "syn", optarg);
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			fputs(peers_help, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument '%s'",
		    argv[optind]);
	if ((r = client_request("peers", json_pack("{s:s, s:I, s:s}", "cmd",
	    "peers", "limit", (json_int_t)n, "sort", peers_sort_name(by)),
	    &resp)) != EXIT_OK)
		return r;
	r = views_peers(json_object_get(resp, "peers"), json);
	json_decref(resp);
	return r;
}
