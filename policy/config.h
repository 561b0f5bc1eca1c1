/* The configuration file (INI, parsed with inih) as an immutable struct.
 * A reload parses into a new struct and swaps only if it is valid. */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/sockwatch/sockwatch.conf"

enum config_action { ACTION_ALERT, ACTION_BLOCK };

/* One [listen] allow entry: "tcp/22 sshd" or "udp/53". */
struct listen_rule {
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
	char comm[16];			/* empty: any process */
};

struct config {
	char *path;			/* file it came from ("<embedded>") */
	struct {
		char *socket;
		char *database;
		uint64_t scan_interval_ms;
		char *alerts_file;	/* NULL: off */
		char *metrics_listen;	/* NULL: off; "host:port" */
		char *control_group;	/* NULL: none */
		unsigned int max_clients;
	} daemon;
	struct {
		struct listen_rule *allow;
		size_t nallow;		/* 0: the listener audit is off */
		enum config_action action;
	} listen;
};

/* Errors name the file, line, section and key:
 * "FILE:LINE: [section] key: message". */
struct config_error {
	char msg[512];
};

/* Parse a file. On error returns -EINVAL (or -errno if unreadable) and
 * fills err; *ret_cfg is untouched. */
int config_load(const char *path, struct config **ret_cfg,
    struct config_error *err);
/* Parse text held in memory; name is used in messages. */
int config_load_string(const char *text, const char *name,
    struct config **ret_cfg, struct config_error *err);
/* The shipped etc/sockwatch.conf, compiled in. */
int config_load_default(struct config **ret_cfg, struct config_error *err);
void config_free(struct config *cfg);

/* Print in canonical INI form: every key, defaults included. */
int config_print(const struct config *cfg, FILE *f);

const char *config_action_name(enum config_action a);

#endif
