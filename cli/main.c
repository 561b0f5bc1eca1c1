/* sockwatch: dispatch a subcommand from the table. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "cli.h"

#define SOCKWATCH_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "sockets", cmd_sockets, "list sockets (like ss)" },
	{ "listeners", cmd_listeners,
	    "list listening sockets and the programs behind them" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sockwatch [-h] [--version] COMMAND [ARGS]\n\n"
	    "commands:\n");
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
main(int argc, char **argv)
{
	size_t i;

	log_init("sockwatch", 1, 0);
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
