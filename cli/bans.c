/* Bans: list them, block and unblock peers. Blocking answers only once
 * the kernel has the ban in its table; when the database has not taken
 * it yet (locked, full), the answer says so and the daemon retries. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/addr.h"
#include "../common/duration.h"
#include "../exporter/control.h"
#include "cli.h"
#include "client.h"
#include "views.h"

#define BLOCK_CHUNK	8192	/* peers per request at most; fewer when
				 * they would not fit a request line */
#define BLOCK_LINE_MAX	256	/* longest line of a -f list */
#define BLOCK_ECHO_MAX	10	/* longer lists print a count */

enum { OPT_JSON = 256, OPT_FOR, OPT_PERMANENT, OPT_REASON, OPT_FORCE };

static const char bans_help[] = "usage: sockwatch bans [--json]\n"
    "  The bans in force: address, reason, source, created, time left,\n"
    "  earlier bans of the peer, and the sockets ended when it was banned.\n";

int
cmd_bans(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *resp;
	int c, json = 0, r;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			fputs(bans_help, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument '%s'",
		    argv[optind]);
	if ((r = client_request("bans", json_pack("{s:s}", "cmd", "bans"),
	    &resp)) != EXIT_OK)
		return r;
	r = views_bans(json_object_get(resp, "bans"), json);
	if (!json && !json_is_true(json_object_get(resp, "enforced")))
		fprintf(stderr, "sockwatch: bans: the daemon is not enforcing "
		    "bans (see its log): they are recorded only\n");
	json_decref(resp);
	return r;
}

/* Peers from the arguments, or from a file ("-" for stdin) with one
 * address or prefix per line and '#' comments. */
static int
read_list(const char *cmd, const char *path, json_t *out)
{
	char *line = NULL, *p, *end;
	size_t cap = 0, lineno = 0;
	struct cidr c;
	FILE *f;
	int r = 0;

	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (f == NULL) {
		fprintf(stderr, "sockwatch: %s: %s: %s\n", cmd, path,
		    strerror(errno));
		return EXIT_FAIL;
	}
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = line + strspn(line, " \t\r\n");
		end = p + strcspn(p, " \t\r\n");
		*end = '\0';
		if (*p == '\0')
			continue;
		if (strlen(p) > BLOCK_LINE_MAX || cidr_parse(p, &c) < 0) {
			r = cli_usage_error(cmd, "%s:%zu: invalid address or "
			    "CIDR '%.64s'", path, lineno, p);
			break;
		}
		json_array_append_new(out, json_string(p));
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return r;
}

static int
args_list(const char *cmd, int argc, char **argv, json_t *out)
{
	struct cidr c;
	int i;

	for (i = 0; i < argc; i++) {
		if (cidr_parse(argv[i], &c) < 0)
			return cli_usage_error(cmd, "invalid address or CIDR "
			    "'%s' (expected e.g. 198.18.0.1, 198.18.0.0/24 or "
			    "2001:db8::/64)", argv[i]);
		json_array_append_new(out, json_string(argv[i]));
	}
	return 0;
}

/* Send the peers in chunks, each one request line as long as the
 * daemon takes (fewer requests, each of which costs a connection and a
 * transaction): a peer is its text, two quotes and a comma, and the
 * rest of the request is base's. Each is answered after the kernel
 * acknowledged it. Prints what was refused. */
static int
send_chunks(const char *cmd, json_t *base, json_t *peers, json_t *done,
    size_t *ret_refused, size_t *ret_blocked)
{
	json_t *req, *chunk, *resp, *v;
	size_t i, n = json_array_size(peers), k, end, room, line;
	int r;

	*ret_refused = 0;
	if (ret_blocked != NULL)
		*ret_blocked = 0;
	/* The base, its "peers" key and brackets, and the newline. */
	line = json_dumpb(base, NULL, 0, JSON_COMPACT) + 16;
	room = line < CONTROL_MAX_LINE ? CONTROL_MAX_LINE - line : 0;
	for (i = 0; i < n; i = end) {
		size_t used = 0;

		chunk = json_array();
		for (end = i; end < n && end < i + BLOCK_CHUNK; end++) {
			v = json_array_get(peers, end);
			used += json_string_length(v) + 3;
			if (used > room && end > i)
				break;
			json_array_append(chunk, v);
		}
		req = json_deep_copy(base);
		json_object_set_new(req, "peers", chunk);
		if ((r = client_request(cmd, req, &resp)) != EXIT_OK)
			return r;
		json_array_foreach(json_object_get(resp, "refused"), k, v) {
			fprintf(stderr, "sockwatch: %s: %s\n", cmd,
			    json_string_value(v));
			(*ret_refused)++;
		}
		json_array_foreach(json_object_get(resp, "failed"), k, v) {
			fprintf(stderr, "sockwatch: %s: %s\n", cmd,
			    json_string_value(v));
			(*ret_refused)++;
		}
		/* In force in the kernel; the database has not caught up. */
		if ((v = json_object_get(resp, "database")) != NULL &&
		    json_is_string(v))
			fprintf(stderr, "sockwatch: %s: warning: in force, but "
			    "not yet in the database (%s)%s\n", cmd,
			    json_string_value(v), strncmp(json_string_value(v),
			    "no database", 11) == 0 ? "" :
			    ": the daemon retries");
		if (done != NULL)
			json_array_extend(done, json_object_get(resp, "bans"));
		if (ret_blocked != NULL)
			*ret_blocked += json_array_size(json_object_get(resp,
			    "bans")) + (size_t)json_integer_value(
			    json_object_get(resp, "blocked"));
		json_decref(resp);
	}
	return EXIT_OK;
}

static const char block_help[] =
    "usage: sockwatch block [--for DUR | --permanent] [--reason TEXT]\n"
    "           [--force] [--json] ADDR[/LEN]... | -f FILE\n"
    "  Ban peers now: into table inet sockwatch, their connections ended.\n"
    "  --for DUR      how long (default: [bans] default)\n"
    "  --permanent    until unblocked\n"
    "  --reason TEXT  recorded with the ban\n"
    "  --force        block a peer that holds a session to a protected\n"
    "                 process ([bans] protect)\n"
    "  -f FILE        one address or prefix per line ('-': stdin)\n"
    "  Own, loopback and [allow] addresses are never blocked. Root only.\n";

int
cmd_block(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "for", required_argument, NULL, OPT_FOR },
		{ "permanent", no_argument, NULL, OPT_PERMANENT },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *base, *peers, *done;
	const char *file = NULL;
	uint64_t len = 0;
	size_t refused = 0, blocked = 0;
	int c, json = 0, r;

	base = json_pack("{s:s}", "cmd", "block");
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FOR:
			if (duration_parse(optarg, &len) < 0 || len < 1000) {
				json_decref(base);
				return cli_usage_error(argv[0], "invalid "
				    "duration '%s' (e.g. 30m, 1h, 7d; at least "
				    "1s)", optarg);
			}
			json_object_set_new(base, "for_ms", json_integer(
			    (json_int_t)len));
			break;
		case OPT_PERMANENT:
			json_object_set_new(base, "permanent", json_true());
			break;
		case OPT_REASON:
			json_object_set_new(base, "reason",
			    json_string(optarg));
			break;
		case OPT_FORCE:
			json_object_set_new(base, "force", json_true());
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			json_decref(base);
			fputs(block_help, stdout);
			return EXIT_OK;
		default:
			json_decref(base);
			return cli_bad_option(argv, c);
		}
	}
	if (json_object_get(base, "for_ms") != NULL &&
	    json_object_get(base, "permanent") != NULL) {
		json_decref(base);
		return cli_usage_error(argv[0], "--for and --permanent "
		    "exclude each other");
	}
	if ((file == NULL) == (optind == argc)) {
		json_decref(base);
		return cli_usage_error(argv[0], "give addresses or -f FILE "
		    "(one of them)");
	}
	peers = json_array();
	r = file ? read_list(argv[0], file, peers) :
	    args_list(argv[0], argc - optind, argv + optind, peers);
	done = json_array();
	if (r == 0 && json_array_size(peers) == 0)
		r = cli_usage_error(argv[0], "%s: no addresses", file);
	/* A long list is answered with counts, not echoed. */
	if (!json && json_array_size(peers) > BLOCK_ECHO_MAX)
		json_object_set_new(base, "brief", json_true());
	if (r == 0)
		r = send_chunks(argv[0], base, peers, done, &refused,
		    &blocked);
	if (r == EXIT_OK && json)
		r = views_json(done);
	else if (r == EXIT_OK && json_array_size(peers) <= BLOCK_ECHO_MAX)
		r = views_bans(done, 0);
	else if (r == EXIT_OK)
		printf("%zu of %zu peers blocked\n", blocked,
		    json_array_size(peers));
	json_decref(base);
	json_decref(peers);
	json_decref(done);
	return r != EXIT_OK ? r : refused > 0 ? EXIT_FAIL : EXIT_OK;
}

static const char unblock_help[] =
    "usage: sockwatch unblock ADDR[/LEN]... | -f FILE\n"
    "  Lift bans (exactly as they were given: a prefix ban is lifted by\n"
    "  its prefix). Root only.\n";

int
cmd_unblock(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *base, *peers;
	const char *file = NULL;
	size_t failed = 0;
	int c, r;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'h':
			fputs(unblock_help, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(argv, c);
		}
	}
	if ((file == NULL) == (optind == argc))
		return cli_usage_error(argv[0], "give addresses or -f FILE "
		    "(one of them)");
	peers = json_array();
	r = file ? read_list(argv[0], file, peers) :
	    args_list(argv[0], argc - optind, argv + optind, peers);
	base = json_pack("{s:s}", "cmd", "unblock");
	if (r == 0 && json_array_size(peers) == 0)
		r = cli_usage_error(argv[0], "%s: no addresses", file);
	if (r == 0)
		r = send_chunks(argv[0], base, peers, NULL, &failed, NULL);
	json_decref(base);
	json_decref(peers);
	return r != EXIT_OK ? r : failed > 0 ? EXIT_FAIL : EXIT_OK;
}
