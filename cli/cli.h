/* The sockwatch command-line client: subcommands and shared exit codes. */
#ifndef SW_CLI_H
#define SW_CLI_H

#define EXIT_OK		0
#define EXIT_FAIL	1	/* the request failed (netlink, I/O, ...) */
#define EXIT_USAGE	2	/* bad option or value */
#define EXIT_NODAEMON	3	/* the daemon is not running */

/* Each subcommand gets argv with argv[0] set to its own name. */
int cmd_sockets(int argc, char **argv);
int cmd_listeners(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_peers(int argc, char **argv);
int cmd_bans(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_unblock(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* A getopt_long error (c is '?' or ':', opterr 0, optstring starting
 * with ':'): print it naming the option; returns EXIT_USAGE. */
int cli_bad_option(char **argv, int c);

/* Print "sockwatch: CMD: msg" and return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
