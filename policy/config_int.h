/* Internals of the configuration module: config.c (the key table, the
 * line reader, loading and printing) and cfgvalue.c (how each kind of
 * value is parsed and printed, and the [deny] file reader). Not for other
 * modules: they use config.h. */
#ifndef SW_CONFIG_INT_H
#define SW_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CFG_EMBEDDED	"<embedded>"
#define CFG_RAW_MAX	4096	/* longest line read at all */
#define CFG_LIST_MAX	4096	/* entries in one list */
#define CFG_WHY_MAX	256
#define CFG_WIDTH	78	/* config_print wraps lists here */
#define CFG_INDENT	"    "

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

struct cfg_key;

/* How one kind of value is parsed and printed. */
struct cfg_type {
	/* Parse val into the field; for a list, append the entries of one
	 * line. 0, or -EINVAL/-ENOMEM with a reason in why. */
	int (*parse)(const struct cfg_key *k, struct config *cfg,
	    const char *val, char *why, size_t whylen);
	/* The value (item i of a list) as text; "" when unset. */
	const char *(*format)(const struct cfg_key *k,
	    const struct config *cfg, size_t i, char *buf, size_t len);
	/* Lists only: how many items; and empty the list before a key
	 * replaces a default. NULL for single values. */
	size_t (*count)(const struct cfg_key *k, const struct config *cfg);
	void (*reset)(const struct cfg_key *k, struct config *cfg);
};

struct cfg_key {
	const char *section;
	const char *name;
	const struct cfg_type *type;
	size_t off;			/* offsetof(struct config, ...) */
	size_t noff;			/* lists: offset of the size_t count */
	size_t loff;			/* address files: offset of the list */
	uint64_t min, max;		/* numbers, durations; path length */
	bool optional;			/* may be empty: off / none */
	const char *const *names;	/* enums, NULL-terminated */
	const char *def;		/* default in file syntax; NULL: empty */
};

#define CFG_COUNT(cfg, k)	((size_t *)(void *)((char *)(cfg) + (k)->noff))
#define CFG_CCOUNT(cfg, k) \
	((const size_t *)(const void *)((const char *)(cfg) + (k)->noff))
#define CFG_FIELD(cfg, k, T)	((T *)(void *)((char *)(cfg) + (k)->off))
#define CFG_CFIELD(cfg, k, T) \
	((const T *)(const void *)((const char *)(cfg) + (k)->off))

extern const struct cfg_type cfg_path;
extern const struct cfg_type cfg_log;
extern const struct cfg_type cfg_duration;
extern const struct cfg_type cfg_uint;
extern const struct cfg_type cfg_enum;
extern const struct cfg_type cfg_addrport;
extern const struct cfg_type cfg_group;
extern const struct cfg_type cfg_bool;
extern const struct cfg_type cfg_interfaces;
extern const struct cfg_type cfg_names;
extern const struct cfg_type cfg_ports;
extern const struct cfg_type cfg_listen_allow;
extern const struct cfg_type cfg_cidrs;
extern const struct cfg_type cfg_deny_file;
extern const struct cfg_type cfg_url;
extern const struct cfg_type cfg_token;
extern const struct cfg_type cfg_secret_file;

void cfg_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Would an indented line starting so read as "key = value"? */
bool cfg_looks_like_key(const char *s);
void cfg_free_names(char **names, size_t n);
/* Wiped before it is freed: a key is not left in the heap. */
void cfg_free_secret(char *s);
void cfg_reset_interfaces(const struct cfg_key *k, struct config *cfg);

#endif
