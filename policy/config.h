/* The configuration file (INI, parsed with inih) as an immutable struct.
 * A reload parses into a new struct and swaps only if it is valid. */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/addr.h"

#define CONFIG_DEFAULT_PATH "/etc/sockwatch/sockwatch.conf"
/* Most entries a [deny] file may hold. */
#define CONFIG_DENY_FILE_MAX	1000000

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
		uint64_t full_scan_ms;	/* 0: a full dump every scan */
		char *alerts_file;	/* NULL: off */
		char *metrics_listen;	/* NULL: off; "host:port" */
		char *control_group;	/* NULL: none */
		char *user;		/* the unprivileged processes' user */
		unsigned int max_clients;
		char **interfaces;	/* capture devices; "any": all of them */
		size_t ninterfaces;	/* 0: capture off (interfaces = none) */
		unsigned int max_peers;	/* peer table entries */
		uint64_t alerts_keep_ms; /* stored alerts' age; 0: forever */
		unsigned int alerts_max; /* stored alerts; 0: no limit */
	} daemon;
	struct {
		struct listen_rule *allow;
		size_t nallow;		/* 0: the listener audit is off */
		enum config_action action;
	} listen;
	/* The traffic detectors (policy/traffic.h). Each has the action its
	 * alerts ask for, the ban length that action would use, and a window:
	 * what it counts over, and the least time between two of its alerts
	 * about the same peer (or listener). */
	struct {
		bool enabled;
		unsigned int ports;	/* alert above this many distinct ports */
		unsigned int hosts;	/* ... or local addresses, in window */
		uint64_t window_ms;
		enum config_action action;
		uint64_t ban_ms;
	} portscan;
	struct {
		bool enabled;
		unsigned int rate;	/* SYNs per second to one listener */
		uint64_t window_ms;	/* alerts: at most one per window */
		enum config_action action;
		uint64_t ban_ms;
	} synflood;
	struct {
		bool enabled;
		unsigned int connections; /* alert above this many new ones */
		unsigned int attempts;	/* ... failed logins seen in packets */
		unsigned int log_attempts; /* ... failures read from the log */
		char *log;		/* NULL: none; "journal" or a file */
		uint16_t *ports;	/* to one of these ports, in window */
		size_t nports;
		uint64_t window_ms;
		enum config_action action;
		uint64_t ban_ms;
	} bruteforce;
	struct {
		struct cidr *peers;	/* peers = ... */
		size_t npeers;
		char *file;		/* NULL: none */
		struct cidr *file_peers; /* the entries of file, read at load */
		size_t nfile_peers;
		uint64_t window_ms;	/* alerts: at most one per peer per window */
		enum config_action action;
		uint64_t ban_ms;
	} deny;
	struct {
		struct cidr *peers;	/* never alerted for, never blocked */
		size_t npeers;
	} allow;
	/* The ban manager (policy/bans.h) and nftables (policy/nft.h). */
	struct {
		bool enforce;		/* no: record bans, block nothing */
		uint64_t default_ms;	/* a ban with no length of its own */
		uint64_t recidive_window_ms;
		unsigned int escalate;	/* factor for a repeat offender */
		uint64_t max_ms;	/* cap of escalated lengths */
		char **protect;		/* process names whose sessions */
		size_t nprotect;	/* keep a peer from automatic bans */
		struct cidr *protect_peers;	/* never banned automatically */
		size_t nprotect_peers;
		unsigned int rate;	/* automatic bans a second, at most */
		bool kill_connections;	/* SOCK_DESTROY the peer's sockets */
		unsigned int aggregate_v4;	/* prefix length; 0: off */
		unsigned int aggregate_v6;
		unsigned int aggregate_threshold;
		uint64_t reconcile_interval_ms;
	} bans;
	/* Outbound connections refused in the output chain. */
	struct {
		struct cidr *deny;
		size_t ndeny;
		char *file;		/* NULL: none */
		struct cidr *file_peers;
		size_t nfile_peers;
	} connect;
	/* CrowdSec's Local API (daemon/crowdsec.c): decisions pulled as a
	 * bouncer, our alerts pushed as an agent. */
	struct {
		char *url;		/* its base, ending in '/' */
		char *bouncer_key_file;	/* NULL: no decisions pulled */
		char *bouncer_key;	/* the file's content, read at load */
		char *machine_id;	/* NULL: no alerts pushed */
		char *machine_password_file;
		char *machine_password;	/* the file's content */
		uint64_t poll_interval_ms;
	} crowdsec;
};

/* Errors name the file, line, section and key:
 * "FILE:LINE: [section] key: message". */
struct config_error {
	char msg[512];
};

/* Parse a file. On error returns -EINVAL (or -errno if unreadable) and
 * fills err; *ret_cfg is untouched. A [deny] file is read here too, so a
 * file that cannot be read or has a bad line fails the whole load. */
int config_load(const char *path, struct config **ret_cfg,
    struct config_error *err);
/* Parse text held in memory; name is used in messages. */
int config_load_string(const char *text, const char *name,
    struct config **ret_cfg, struct config_error *err);
/* The shipped etc/sockwatch.conf, compiled in. */
int config_load_default(struct config **ret_cfg, struct config_error *err);
void config_free(struct config *cfg);
/* Zero the secrets read from key files in this copy (a child that has no
 * use for them: they become ""). */
void config_wipe_secrets(struct config *cfg);

/* Print in canonical INI form: every key, defaults included. */
int config_print(const struct config *cfg, FILE *f);

const char *config_action_name(enum config_action a);

#endif
