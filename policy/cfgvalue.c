/* The configuration's value types: how each kind of value (paths,
 * durations, numbers, enums, addresses, groups, booleans and the lists)
 * is parsed from the file and printed back, and the [deny] file reader.
 * The key table that uses them is in config.c. */
#include "config_int.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/stat.h>

#include "../common/addr.h"
#include "../common/duration.h"
#include "rules.h"

/* ---- value types ------------------------------------------------------ */

void
cfg_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int
cfg_set_string(char **field, const char *val)
{
	char *s = NULL;

	if (val != NULL && *val != '\0') {
		s = strdup(val);
		if (s == NULL)
			return -ENOMEM;
	}
	free(*field);
	*field = s;
	return 0;
}

static const char *
cfg_format_string(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	const char *s = *CFG_CFIELD(cfg, k, char *);

	(void)i, (void)buf, (void)len;
	return s != NULL ? s : "";
}

/* An absolute path; k->max is its longest length in bytes. */
static int
cfg_parse_path(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	size_t i, len = strlen(val);

	if (len == 0) {
		if (k->optional)
			return cfg_set_string(CFG_FIELD(cfg, k, char *), NULL);
		cfg_why(why, whylen, "a path is required");
		return -EINVAL;
	}
	if (val[0] != '/') {
		cfg_why(why, whylen, "'%.64s' is not an absolute path", val);
		return -EINVAL;
	}
	if (val[len - 1] == '/') {
		cfg_why(why, whylen, "'%.64s' names a directory, not a file",
		    val);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f) {
			cfg_why(why, whylen,
			    "control character in path");
			return -EINVAL;
		}
	}
	if (len > k->max) {
		cfg_why(why, whylen, "path longer than %llu bytes",
		    (unsigned long long)k->max);
		return -EINVAL;
	}
	return cfg_set_string(CFG_FIELD(cfg, k, char *), val);
}

const struct cfg_type cfg_path = {
	.parse = cfg_parse_path,
	.format = cfg_format_string,
};

/* [bruteforce] log: "journal", or an absolute path. */
static int
cfg_parse_log(const struct cfg_key *k, struct config *cfg, const char *val,
    char *why, size_t whylen)
{
	if (strcmp(val, "journal") == 0)
		return cfg_set_string(CFG_FIELD(cfg, k, char *), val);
	if (val[0] != '\0' && val[0] != '/') {
		cfg_why(why, whylen, "'%.64s' is neither journal nor an "
		    "absolute path", val);
		return -EINVAL;
	}
	return cfg_parse_path(k, cfg, val, why, whylen);
}

const struct cfg_type cfg_log = {
	.parse = cfg_parse_log,
	.format = cfg_format_string,
};

static int
cfg_parse_duration(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	char lo[32], hi[32];
	uint64_t ms;
	int r;

	r = duration_parse(val, &ms);
	if (r == -EINVAL) {
		cfg_why(why, whylen,
		    "invalid duration '%.64s' (expected e.g. 2s, 500ms)", val);
		return -EINVAL;
	}
	if (r < 0 || ms < k->min || ms > k->max) {
		cfg_why(why, whylen,
		    "'%.64s' is out of range (must be between %s and %s)", val,
		    duration_format(k->min, lo, sizeof(lo)),
		    duration_format(k->max, hi, sizeof(hi)));
		return -EINVAL;
	}
	*CFG_FIELD(cfg, k, uint64_t) = ms;
	return 0;
}

static const char *
cfg_format_duration(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	(void)i;
	return duration_format(*CFG_CFIELD(cfg, k, uint64_t), buf, len);
}

const struct cfg_type cfg_duration = {
	.parse = cfg_parse_duration,
	.format = cfg_format_duration,
};

/* A decimal number into an unsigned int. */
static int
cfg_parse_uint(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; val[i] >= '0' && val[i] <= '9'; i++) {
		if (n > UINT_MAX)
			break;
		n = n * 10 + (uint64_t)(val[i] - '0');
	}
	if (i == 0 || (val[i] != '\0' && n <= UINT_MAX)) {
		cfg_why(why, whylen, "invalid number '%.64s'", val);
		return -EINVAL;
	}
	if (n > UINT_MAX || n < k->min || n > k->max) {
		cfg_why(why, whylen,
		    "%.64s is out of range (must be between %llu and %llu)",
		    val, (unsigned long long)k->min,
		    (unsigned long long)k->max);
		return -EINVAL;
	}
	*CFG_FIELD(cfg, k, unsigned int) = (unsigned int)n;
	return 0;
}

static const char *
cfg_format_uint(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	(void)i;
	snprintf(buf, len, "%u", *CFG_CFIELD(cfg, k, unsigned int));
	return buf;
}

const struct cfg_type cfg_uint = {
	.parse = cfg_parse_uint,
	.format = cfg_format_uint,
};

/* One of k->names, stored as the index into an int-sized enum. */
_Static_assert(sizeof(enum config_action) == sizeof(int),
    "enums are stored as int");

static int
cfg_parse_enum(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	size_t off = 0;
	int i;

	for (i = 0; k->names[i] != NULL; i++) {
		if (strcmp(val, k->names[i]) == 0) {
			memcpy(CFG_FIELD(cfg, k, int), &i, sizeof(i));
			return 0;
		}
	}
	off = (size_t)snprintf(why, whylen, "invalid %s '%.64s' (expected ",
	    k->name, val);
	for (i = 0; k->names[i] != NULL && off < whylen; i++)
		off += (size_t)snprintf(why + off, whylen - off, "%s%s",
		    i == 0 ? "" : k->names[i + 1] == NULL ? " or " : ", ",
		    k->names[i]);
	if (off < whylen)
		snprintf(why + off, whylen - off, ")");
	return -EINVAL;
}

static const char *
cfg_format_enum(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	int v, n;

	(void)i, (void)buf, (void)len;
	memcpy(&v, CFG_CFIELD(cfg, k, int), sizeof(v));
	for (n = 0; k->names[n] != NULL; n++)
		if (n == v)
			return k->names[n];
	return "";
}

const struct cfg_type cfg_enum = {
	.parse = cfg_parse_enum,
	.format = cfg_format_enum,
};

static bool
cfg_parse_port(const char *s, uint16_t *ret_port)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 6; i++)
		n = n * 10 + (unsigned long)(s[i] - '0');
	if (i == 0 || s[i] != '\0' || n < 1 || n > 65535)
		return false;
	*ret_port = (uint16_t)n;
	return true;
}

/* "host:port" with a literal address, IPv6 in brackets; stored in the
 * canonical form addr_format_port() prints. */
static int
cfg_parse_addrport(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	char host[ADDR_STRLEN], canon[ADDR_STRLEN];
	const char *orig = val, *end, *port;
	struct addr a;
	uint16_t p;
	size_t hlen;

	if (*val == '\0' && k->optional)
		return cfg_set_string(CFG_FIELD(cfg, k, char *), NULL);
	if (val[0] == '[') {
		end = strchr(val, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		port = end + 2;
		val++;
	} else {
		end = strrchr(val, ':');
		if (end == NULL)
			goto bad;
		if (memchr(val, ':', (size_t)(end - val)) != NULL) {
			cfg_why(why, whylen, "'%.64s': put an IPv6 address in "
			    "brackets, e.g. [::1]:9464", val);
			return -EINVAL;
		}
		port = end + 1;
	}
	hlen = (size_t)(end - val);
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, val, hlen);
	host[hlen] = '\0';
	if (addr_parse(host, &a) < 0) {
		cfg_why(why, whylen, "'%.64s' is not an IP address (expected "
		    "e.g. 127.0.0.1:9464 or [::1]:9464)", host);
		return -EINVAL;
	}
	if (!cfg_parse_port(port, &p)) {
		cfg_why(why, whylen, "invalid port '%.16s' (must be between 1 "
		    "and 65535)", port);
		return -EINVAL;
	}
	addr_format_port(&a, p, canon, sizeof(canon));
	return cfg_set_string(CFG_FIELD(cfg, k, char *), canon);
bad:
	cfg_why(why, whylen, "invalid address '%.64s' (expected host:port, "
	    "e.g. 127.0.0.1:9464 or [::1]:9464)", orig);
	return -EINVAL;
}

const struct cfg_type cfg_addrport = {
	.parse = cfg_parse_addrport,
	.format = cfg_format_string,
};

/* A group name as groupadd accepts it; whether it exists is checked
 * where it is used. */
static int
cfg_parse_group(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	size_t i, len = strlen(val);
	bool ok = len <= 32;

	if (len == 0 && k->optional)
		return cfg_set_string(CFG_FIELD(cfg, k, char *), NULL);
	for (i = 0; ok && i < len; i++) {
		char c = val[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_')
			continue;
		if (i > 0 && ((c >= '0' && c <= '9') || c == '-' ||
		    c == '.'))
			continue;
		if (i > 0 && i == len - 1 && c == '$')
			continue;
		ok = false;
	}
	if (!ok || len == 0) {
		cfg_why(why, whylen, "invalid %s name '%.64s' (letters, "
		    "digits, '_', '-', '.', not starting with a digit; at "
		    "most 32 characters)", strcmp(k->name, "user") == 0 ?
		    "user" : "group", val);
		return -EINVAL;
	}
	return cfg_set_string(CFG_FIELD(cfg, k, char *), val);
}

const struct cfg_type cfg_group = {
	.parse = cfg_parse_group,
	.format = cfg_format_string,
};

/* yes/no (true/false and on/off are read too; yes/no is printed). */
static int
cfg_parse_bool(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	static const char *const yes[] = { "yes", "true", "on" };
	static const char *const no[] = { "no", "false", "off" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcmp(val, yes[i]) == 0) {
			*CFG_FIELD(cfg, k, bool) = true;
			return 0;
		}
		if (strcmp(val, no[i]) == 0) {
			*CFG_FIELD(cfg, k, bool) = false;
			return 0;
		}
	}
	cfg_why(why, whylen, "invalid value '%.64s' (expected yes or no)",
	    val);
	return -EINVAL;
}

static const char *
cfg_format_bool(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	(void)i, (void)buf, (void)len;
	return *CFG_CFIELD(cfg, k, bool) ? "yes" : "no";
}

const struct cfg_type cfg_bool = {
	.parse = cfg_parse_bool,
	.format = cfg_format_bool,
};

/* ---- generic lists ------------------------------------------------------ */

/* Split one line of a comma-separated list and hand each entry, trimmed,
 * to add(). A line may end with a comma (the list goes on, indented, on
 * the next line); an empty entry elsewhere is an error. */
static int
cfg_list_split(const struct cfg_key *k, struct config *cfg, const char *val,
    int (*add)(const struct cfg_key *k, struct config *cfg,
    const char *entry, char *why, size_t whylen),
    char *why, size_t whylen)
{
	char entry[CFG_RAW_MAX];
	const char *p = val, *comma;
	size_t len;
	int r;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			if (comma == NULL)
				return 0;
			cfg_why(why, whylen, "empty entry (two commas in a "
			    "row, or a comma first?)");
			return -EINVAL;
		}
		if (len >= sizeof(entry))
			len = sizeof(entry) - 1;
		memcpy(entry, p, len);
		entry[len] = '\0';
		/* config_print writes entries after ", " or at the start
		 * of an indented line: they must read back as entries. */
		if (*entry == ';' || *entry == '#' ||
		    cfg_looks_like_key(entry)) {
			cfg_why(why, whylen, "entry '%.64s' would read back "
			    "as a %s where a list continues", entry,
			    *entry == ';' || *entry == '#' ? "comment" :
			    "key");
			return -EINVAL;
		}
		if (*CFG_CCOUNT(cfg, k) >= CFG_LIST_MAX) {
			cfg_why(why, whylen, "more than %d entries",
			    CFG_LIST_MAX);
			return -EINVAL;
		}
		r = add(k, cfg, entry, why, whylen);
		if (r < 0)
			return r;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* Append one element of size `size` to the list of k. */
static int
cfg_list_append(const struct cfg_key *k, struct config *cfg,
    const void *elem, size_t size)
{
	void **list = CFG_FIELD(cfg, k, void *);
	size_t *n = CFG_COUNT(cfg, k);
	char *grown;

	grown = reallocarray(*list, *n + 1, size);
	if (grown == NULL)
		return -ENOMEM;
	memcpy(grown + *n * size, elem, size);
	*list = grown;
	(*n)++;
	return 0;
}

/* Append a copy of the string entry to the string list of k. */
static int
cfg_list_append_copy(const struct cfg_key *k, struct config *cfg,
    const char *entry)
{
	char *copy = strdup(entry);
	int r;

	if (copy == NULL)
		return -ENOMEM;
	r = cfg_list_append(k, cfg, &copy, sizeof(copy));
	if (r < 0)
		free(copy);
	return r;
}

static size_t
cfg_count_list(const struct cfg_key *k, const struct config *cfg)
{
	return *CFG_CCOUNT(cfg, k);
}

static void
cfg_reset_list(const struct cfg_key *k, struct config *cfg)
{
	void **list = CFG_FIELD(cfg, k, void *);

	free(*list);
	*list = NULL;
	*CFG_COUNT(cfg, k) = 0;
}

/* [daemon] interfaces: device names, or "any" (all), or "none" (no
 * capture). While parsing, "none" is kept as an entry so that it can be
 * refused next to names on any line; cfg_finish() empties the list. */
static int
cfg_add_interface(const struct cfg_key *k, struct config *cfg,
    const char *entry, char *why, size_t whylen)
{
	char **names = cfg->daemon.interfaces;
	size_t n = cfg->daemon.ninterfaces, i, len = strlen(entry);
	bool special = strcmp(entry, "any") == 0 ||
	    strcmp(entry, "none") == 0;

	if (len >= IFNAMSIZ || strcmp(entry, ".") == 0 ||
	    strcmp(entry, "..") == 0 || strpbrk(entry, "/: \t") != NULL) {
		cfg_why(why, whylen, "invalid interface name '%.64s' (at most "
		    "%d characters, no '/', ':' or blanks)", entry,
		    IFNAMSIZ - 1);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)entry[i] < 0x20 || entry[i] == 0x7f) {
			cfg_why(why, whylen, "control character in interface "
			    "name");
			return -EINVAL;
		}
	}
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], entry) == 0) {
			cfg_why(why, whylen, "duplicate entry '%s'", entry);
			return -EINVAL;
		}
		if (special || strcmp(names[i], "any") == 0 ||
		    strcmp(names[i], "none") == 0) {
			cfg_why(why, whylen, "'%s' cannot be combined with "
			    "other interfaces", special ? entry : names[i]);
			return -EINVAL;
		}
	}
	return cfg_list_append_copy(k, cfg, entry);
}

static int
cfg_parse_interfaces(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	return cfg_list_split(k, cfg, val, cfg_add_interface, why, whylen);
}

static const char *
cfg_format_interfaces(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	(void)k, (void)buf, (void)len;
	if (cfg->daemon.ninterfaces == 0)
		return "none";
	return cfg->daemon.interfaces[i];
}

static size_t
cfg_count_interfaces(const struct cfg_key *k, const struct config *cfg)
{
	(void)k;
	return cfg->daemon.ninterfaces > 0 ? cfg->daemon.ninterfaces : 1;
}

void
cfg_reset_interfaces(const struct cfg_key *k, struct config *cfg)
{
	size_t i;

	(void)k;
	for (i = 0; i < cfg->daemon.ninterfaces; i++)
		free(cfg->daemon.interfaces[i]);
	free(cfg->daemon.interfaces);
	cfg->daemon.interfaces = NULL;
	cfg->daemon.ninterfaces = 0;
}

const struct cfg_type cfg_interfaces = {
	.parse = cfg_parse_interfaces,
	.format = cfg_format_interfaces,
	.count = cfg_count_interfaces,
	.reset = cfg_reset_interfaces,
};

/* A list of process names (as in /proc/PID/comm: at most 15 bytes),
 * each at most once. */
static int
cfg_add_name(const struct cfg_key *k, struct config *cfg, const char *entry,
    char *why, size_t whylen)
{
	char *const *names = *(char **const *)(const void *)
	    ((const char *)cfg + k->off);
	size_t n = *CFG_CCOUNT(cfg, k), i, len = strlen(entry);

	if (len > 15) {
		cfg_why(why, whylen, "process name '%.64s' is longer than "
		    "15 characters (the kernel's limit)", entry);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)entry[i] < 0x20 || entry[i] == 0x7f ||
		    entry[i] == '/') {
			cfg_why(why, whylen, "invalid character in process "
			    "name '%.64s'", entry);
			return -EINVAL;
		}
	}
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], entry) == 0) {
			cfg_why(why, whylen, "duplicate entry '%s'", entry);
			return -EINVAL;
		}
	}
	return cfg_list_append_copy(k, cfg, entry);
}

static int
cfg_parse_names(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	return cfg_list_split(k, cfg, val, cfg_add_name, why, whylen);
}

static const char *
cfg_format_names(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	(void)buf, (void)len;
	return (*(char **const *)(const void *)((const char *)cfg +
	    k->off))[i];
}

void
cfg_free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
cfg_reset_names(const struct cfg_key *k, struct config *cfg)
{
	char ***names = CFG_FIELD(cfg, k, char **);

	cfg_free_names(*names, *CFG_COUNT(cfg, k));
	*names = NULL;
	*CFG_COUNT(cfg, k) = 0;
}

const struct cfg_type cfg_names = {
	.parse = cfg_parse_names,
	.format = cfg_format_names,
	.count = cfg_count_list,
	.reset = cfg_reset_names,
};

/* A list of ports, 1 to 65535, each at most once. */
static int
cfg_add_port(const struct cfg_key *k, struct config *cfg, const char *entry,
    char *why, size_t whylen)
{
	const uint16_t *ports = *CFG_CFIELD(cfg, k, uint16_t *);
	size_t n = *CFG_CCOUNT(cfg, k), i;
	uint16_t port;

	if (!cfg_parse_port(entry, &port)) {
		cfg_why(why, whylen, "invalid port '%.64s' (must be between 1 "
		    "and 65535)", entry);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (ports[i] == port) {
			cfg_why(why, whylen, "duplicate entry '%u'", port);
			return -EINVAL;
		}
	}
	return cfg_list_append(k, cfg, &port, sizeof(port));
}

static int
cfg_parse_ports(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	return cfg_list_split(k, cfg, val, cfg_add_port, why, whylen);
}

static const char *
cfg_format_ports(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%u", (*CFG_CFIELD(cfg, k, uint16_t *))[i]);
	return buf;
}

const struct cfg_type cfg_ports = {
	.parse = cfg_parse_ports,
	.format = cfg_format_ports,
	.count = cfg_count_list,
	.reset = cfg_reset_list,
};

/* [listen] allow: comma-separated "proto/port [comm]" entries. */
static int
cfg_add_listen_rule(const struct cfg_key *k, struct config *cfg,
    const char *entry, char *why, size_t whylen)
{
	char reason[128], fmt[64];
	struct listen_rule r;
	size_t i;

	if (rules_listen_parse(entry, &r, reason, sizeof(reason)) < 0) {
		cfg_why(why, whylen, "invalid entry '%.64s': %s", entry,
		    reason);
		return -EINVAL;
	}
	for (i = 0; i < cfg->listen.nallow; i++) {
		const struct listen_rule *o = &cfg->listen.allow[i];

		if (o->proto == r.proto && o->port == r.port &&
		    strcmp(o->comm, r.comm) == 0) {
			cfg_why(why, whylen, "duplicate entry '%s'",
			    rules_listen_format(&r, fmt, sizeof(fmt)));
			return -EINVAL;
		}
	}
	return cfg_list_append(k, cfg, &r, sizeof(r));
}

static int
cfg_parse_listen_allow(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	return cfg_list_split(k, cfg, val, cfg_add_listen_rule, why, whylen);
}

static const char *
cfg_format_listen_allow(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	(void)k;
	return rules_listen_format(&cfg->listen.allow[i], buf, len);
}

const struct cfg_type cfg_listen_allow = {
	.parse = cfg_parse_listen_allow,
	.format = cfg_format_listen_allow,
	.count = cfg_count_list,
	.reset = cfg_reset_list,
};

/* A list of addresses and CIDR prefixes. Host bits below the prefix
 * length are cleared (198.18.7.1/15 is 198.18.0.0/15); a prefix may appear
 * once. */
static int
cfg_add_cidr(const struct cfg_key *k, struct config *cfg, const char *entry,
    char *why, size_t whylen)
{
	const struct cidr *list = *CFG_CFIELD(cfg, k, struct cidr *);
	size_t n = *CFG_CCOUNT(cfg, k), i;
	char buf[ADDR_STRLEN];
	struct cidr c;

	if (cidr_parse(entry, &c) < 0) {
		cfg_why(why, whylen, "invalid address or CIDR '%.64s' "
		    "(expected e.g. 198.18.0.1, 198.18.0.0/15 or "
		    "2001:db8::/32)", entry);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (list[i].len == c.len && addr_equal(&list[i].addr,
		    &c.addr)) {
			cfg_why(why, whylen, "duplicate entry '%s'",
			    cidr_format(&c, buf, sizeof(buf)));
			return -EINVAL;
		}
	}
	return cfg_list_append(k, cfg, &c, sizeof(c));
}

static int
cfg_parse_cidrs(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	return cfg_list_split(k, cfg, val, cfg_add_cidr, why, whylen);
}

/* A host prefix prints as a bare address. */
static const char *
cfg_format_cidrs(const struct cfg_key *k, const struct config *cfg,
    size_t i, char *buf, size_t len)
{
	const struct cidr *c = &(*CFG_CFIELD(cfg, k, struct cidr *))[i];

	if (c->len == (c->addr.family == AF_INET ? 32u : 128u))
		return addr_format(&c->addr, buf, len);
	return cidr_format(c, buf, len);
}

const struct cfg_type cfg_cidrs = {
	.parse = cfg_parse_cidrs,
	.format = cfg_format_cidrs,
	.count = cfg_count_list,
	.reset = cfg_reset_list,
};

/* ---- the [deny] file ---------------------------------------------------- */

#define CFG_DENY_LINE_MAX	1024

static bool
cfg_deny_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One line of a deny file: an address or CIDR first, or nothing but a
 * comment. What follows the first word after blank space (a "# note",
 * "; SBL123", a count in a second column) is a comment; a second address
 * there is refused, as a range format we would misread. 1: *ret_cidr
 * set; 0: nothing on the line; -EINVAL with why. */
static int
cfg_deny_line(char *line, struct cidr *ret_cidr, char *why, size_t whylen)
{
	char *p = line, *word, *rest;
	struct addr a;

	while (cfg_deny_blank(*p))
		p++;
	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	word = p;
	while (*p != '\0' && !cfg_deny_blank(*p) && *p != '#' && *p != ';')
		p++;
	rest = p;
	while (cfg_deny_blank(*rest))
		rest++;
	*p = '\0';
	if (cidr_parse(word, ret_cidr) < 0) {
		cfg_why(why, whylen, "invalid address or CIDR '%.64s'", word);
		return -EINVAL;
	}
	if (rest != p && *rest != '\0' && *rest != '#' && *rest != ';') {
		p = rest;
		while (*p != '\0' && !cfg_deny_blank(*p))
			p++;
		*p = '\0';
		if (addr_parse(rest, &a) == 0) {
			cfg_why(why, whylen, "'%.64s %.64s': address ranges "
			    "are not supported (write ADDRESS/LENGTH)", word,
			    rest);
			return -EINVAL;
		}
	}
	return 1;
}

/* One line of f into buf (size bytes): 1 with its length (newline
 * included), 0 at the end, -E2BIG when longer than size - 1 bytes. A
 * bounded read, so that a file with no newline (a device, a binary)
 * cannot make us allocate without end. */
static int
cfg_deny_getline(FILE *f, char *buf, size_t size, size_t *ret_len)
{
	size_t n = 0;
	int c;

	while ((c = getc_unlocked(f)) != EOF) {
		if (n == size - 1)
			return -E2BIG;
		buf[n++] = (char)c;
		if (c == '\n')
			break;
	}
	buf[n] = '\0';
	*ret_len = n;
	return n > 0;
}

/* Read a whole deny file into a new array. 0, or -EINVAL/-errno with
 * "PATH:LINE: message" (or "PATH: message") in why. */
static int
cfg_deny_read(const char *path, struct cidr **ret_list, size_t *ret_n,
    char *why, size_t whylen)
{
	char msg[CFG_WHY_MAX], line[CFG_DENY_LINE_MAX + 1];
	struct cidr *list = NULL, *grown, c;
	size_t n = 0, cap = 0, lineno = 0, len;
	FILE *f;
	int r, e;

	f = fopen(path, "re");
	if (f == NULL) {
		r = -errno;
		cfg_why(why, whylen, "%s: cannot open: %s", path,
		    strerror(-r));
		return r;
	}
	for (;;) {
		errno = 0;
		r = cfg_deny_getline(f, line, sizeof(line), &len);
		if (r == 0)
			break;
		lineno++;
		if (r < 0) {
			cfg_why(why, whylen, "%s:%zu: line longer than %d "
			    "characters", path, lineno, CFG_DENY_LINE_MAX);
			r = -EINVAL;
			goto out;
		}
		if (memchr(line, '\0', len) != NULL) {
			cfg_why(why, whylen, "%s:%zu: NUL byte in line", path,
			    lineno);
			r = -EINVAL;
			goto out;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		r = cfg_deny_line(lineno == 1 && strncmp(line, "\xef\xbb\xbf",
		    3) == 0 ? line + 3 : line, &c, msg, sizeof(msg));
		if (r < 0) {
			cfg_why(why, whylen, "%s:%zu: %s", path, lineno, msg);
			goto out;
		}
		if (r == 0)
			continue;
		if (n >= CONFIG_DENY_FILE_MAX) {
			cfg_why(why, whylen, "%s:%zu: more than %d entries",
			    path, lineno, CONFIG_DENY_FILE_MAX);
			r = -EINVAL;
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			grown = reallocarray(list, cap, sizeof(*list));
			if (grown == NULL) {
				cfg_why(why, whylen, "out of memory");
				r = -ENOMEM;
				goto out;
			}
			list = grown;
		}
		list[n++] = c;
	}
	if (ferror(f)) {
		e = errno != 0 ? errno : EIO;
		cfg_why(why, whylen, "%s: read error: %s", path, strerror(e));
		r = -e;
		goto out;
	}
	*ret_list = list;
	*ret_n = n;
	list = NULL;
	r = 0;
out:
	free(list);
	fclose(f);
	return r;
}

/* An address file ([deny] file, [connect] file): an absolute path, read
 * at once into the list at k->loff (count at k->noff). */
static int
cfg_parse_deny_file(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	struct cidr *list = NULL, **field;
	const char *path;
	size_t n = 0;
	int r;

	r = cfg_parse_path(k, cfg, val, why, whylen);
	path = *CFG_CFIELD(cfg, k, char *);
	if (r < 0 || path == NULL)
		return r;
	r = cfg_deny_read(path, &list, &n, why, whylen);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	field = (struct cidr **)(void *)((char *)cfg + k->loff);
	free(*field);
	*field = list;
	*CFG_COUNT(cfg, k) = n;
	return 0;
}

const struct cfg_type cfg_deny_file = {
	.parse = cfg_parse_deny_file,
	.format = cfg_format_string,
};

/* ---- [crowdsec] ---------------------------------------------------------- */

/* An http:// or https:// base URL; a missing final '/' is added, so that
 * paths are appended to it as they are. */
static int
cfg_parse_url(const struct cfg_key *k, struct config *cfg, const char *val,
    char *why, size_t whylen)
{
	char buf[CFG_RAW_MAX];
	size_t i, len = strlen(val), skip;

	if (strncmp(val, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(val, "https://", 8) == 0)
		skip = 8;
	else {
		cfg_why(why, whylen, "'%.64s' is not an http:// or https:// "
		    "URL", val);
		return -EINVAL;
	}
	if (len == skip || val[skip] == '/') {
		cfg_why(why, whylen, "'%.64s' names no host", val);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)val[i] <= 0x20 || val[i] == 0x7f) {
			cfg_why(why, whylen, "space or control character in "
			    "the URL");
			return -EINVAL;
		}
	}
	/* Credentials in it would be logged and shown by the status: the
	 * API takes its key and password from their files. */
	if (memchr(val + skip, '@', strcspn(val + skip, "/?#")) != NULL) {
		cfg_why(why, whylen, "a user or password in the URL (the keys "
		    "go in bouncer_key_file and machine_password_file)");
		return -EINVAL;
	}
	if (len + 1 > k->max) {
		cfg_why(why, whylen, "URL longer than %llu bytes",
		    (unsigned long long)k->max - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s%s", val, val[len - 1] == '/' ? "" :
	    "/");
	return cfg_set_string(CFG_FIELD(cfg, k, char *), buf);
}

const struct cfg_type cfg_url = {
	.parse = cfg_parse_url,
	.format = cfg_format_string,
};

/* A name sent to a server as it is: printable ASCII, no blanks, at most
 * k->max bytes. */
static int
cfg_parse_token(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	size_t i, len = strlen(val);

	if (len == 0 && k->optional)
		return cfg_set_string(CFG_FIELD(cfg, k, char *), NULL);
	for (i = 0; i < len; i++) {
		if ((unsigned char)val[i] <= 0x20 ||
		    (unsigned char)val[i] >= 0x7f || val[i] == '"' ||
		    val[i] == '\\') {
			cfg_why(why, whylen, "invalid character in '%.64s' "
			    "(printable ASCII, no blanks or quotes)", val);
			return -EINVAL;
		}
	}
	if (len == 0 || len > k->max) {
		cfg_why(why, whylen, "must be 1 to %llu characters",
		    (unsigned long long)k->max);
		return -EINVAL;
	}
	return cfg_set_string(CFG_FIELD(cfg, k, char *), val);
}

const struct cfg_type cfg_token = {
	.parse = cfg_parse_token,
	.format = cfg_format_string,
};

#define CFG_SECRET_MAX	4096

void
cfg_free_secret(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* Read a key file: a regular file that others cannot read (a key anyone
 * on the host can read is no key), one line of printable ASCII. Opened
 * without waiting (a FIFO would hang the start or a reload until someone
 * writes to it) and not through a symbolic link (the file checked is the
 * file named). */
static int
cfg_secret_read(const char *path, char **ret, char *why, size_t whylen)
{
	char buf[CFG_SECRET_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len, i;
	int fd, r = -EINVAL;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    O_NOFOLLOW)) < 0) {
		if (errno == ELOOP)
			cfg_why(why, whylen, "%.128s is a symbolic link; "
			    "refusing it (name the file itself)", path);
		else
			cfg_why(why, whylen, "cannot open %.128s: %s", path,
			    strerror(errno));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cfg_why(why, whylen, "%.128s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & S_IROTH) {
		cfg_why(why, whylen, "%.128s is readable by everyone; refusing "
		    "it (chmod o-r %.128s)", path, path);
		goto out;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0 || (size_t)n > CFG_SECRET_MAX) {
		cfg_why(why, whylen, n < 0 ? "cannot read %.128s" :
		    "%.128s is longer than 4096 bytes", path);
		goto out;
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 ||
		    (unsigned char)buf[i] >= 0x7f)
			break;
	if (len == 0 || i < len) {
		cfg_why(why, whylen, "%.128s: %s", path, len == 0 ?
		    "empty" : "not one line of printable text");
		goto out;
	}
	if ((*ret = strdup(buf)) == NULL)
		r = -ENOMEM;
	else
		r = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

/* A key file ([crowdsec] bouncer_key_file, machine_password_file): an
 * absolute path, read at once into the string at k->loff. */
static int
cfg_parse_secret_file(const struct cfg_key *k, struct config *cfg,
    const char *val, char *why, size_t whylen)
{
	char **field = (char **)(void *)((char *)cfg + k->loff);
	char *secret = NULL;
	const char *path;
	int r;

	r = cfg_parse_path(k, cfg, val, why, whylen);
	path = *CFG_CFIELD(cfg, k, char *);
	if (r == 0 && path != NULL)
		r = cfg_secret_read(path, &secret, why, whylen);
	if (r < 0)
		return r;
	cfg_free_secret(*field);
	*field = secret;
	return 0;
}

const struct cfg_type cfg_secret_file = {
	.parse = cfg_parse_secret_file,
	.format = cfg_format_string,
};
