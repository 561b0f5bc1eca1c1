/* sockwatch: dispatch a subcommand from the table. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "cli.h"
#include "client.h"

#define SOCKWATCH_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "sockets", cmd_sockets, "list sockets (like ss)" },
	{ "listeners", cmd_listeners,
	    "list listening sockets and the programs behind them" },
	{ "status", cmd_status, "the daemon's state" },
	{ "alerts", cmd_alerts, "alert history; -f follows new alerts" },
	{ "reload", cmd_reload, "make the daemon reload its configuration" },
	{ "metrics", cmd_metrics, "Prometheus metrics from the daemon" },
	{ "peers", cmd_peers, "the busiest and most suspicious peers now" },
	{ "bans", cmd_bans, "the bans in force" },
	{ "block", cmd_block, "ban peers now (root)" },
	{ "unblock", cmd_unblock, "lift bans (root)" },
	{ "top", cmd_top, "a live view of the daemon in a terminal" },
	{ "analyze", cmd_analyze, "run the detectors over a capture file" },
	{ "check-config", cmd_check_config, "check a configuration file" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sockwatch [-h] [--version] [-S SOCKET] COMMAND "
	    "[ARGS]\n\n"
	    "  -S SOCKET  the daemon's control socket (default: "
	    "$SOCKWATCH_SOCKET,\n             else %s)\n\ncommands:\n",
	    CLIENT_DEFAULT_SOCKET);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nRun 'sockwatch COMMAND -h' for a command's options.\n");
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sockwatch: %s%s%s\n", cmd ? cmd : "",
	    cmd ? ": " : "", msg);
	return EXIT_USAGE;
}

int
cli_bad_option(char **argv, int c)
{
	if (c == ':')
		return cli_usage_error(argv[0], "option '%s' needs a value",
		    argv[optind - 1]);
	if (optopt != 0)
		return cli_usage_error(argv[0], "unknown option '-%c'", optopt);
	return cli_usage_error(argv[0], "unknown option '%s'",
	    argv[optind - 1]);
}

int
main(int argc, char **argv)
{
	size_t i;

	log_init("sockwatch", 1, 0);
	/* Global options come before the command. */
	while (argc >= 2 && (strcmp(argv[1], "-S") == 0 ||
	    strncmp(argv[1], "--socket=", 9) == 0)) {
		if (argv[1][1] == '-') {
			client_set_path(argv[1] + 9);
			argc -= 1;
			argv += 1;
			continue;
		}
		if (argc < 3)
			return cli_usage_error(NULL, "option '-S' needs a "
			    "value");
		client_set_path(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("sockwatch %s\n", SOCKWATCH_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
