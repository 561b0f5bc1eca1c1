/* The namespace's socket counters (sockstat.h).
 *
 * What each one catches: "sockets: used" moves on every socket created or
 * freed, of any family (sk_alloc); TCP/UDP "inuse" when one is hashed or
 * unhashed (listen, bind, connect, close); "tw" when a TIME-WAIT socket
 * comes or goes (its end sends no destroy notification); ActiveOpens and
 * PassiveOpens never go down, so a connection made is seen even when a
 * close evens out the gauges. What none catches: a socket that changes
 * in place (an unbound listener disconnected and listening again on a
 * new port, a UDP socket connected elsewhere, a TCP socket between
 * FIN-WAIT-1 and its end) while another change evens out "inuse"; the
 * caller's forced dump bounds those. */
#include "sockstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* snmp is about 1.5 KB, but its IcmpMsg lines grow by a column for each
 * ICMP type ever sent or received, which anyone who can send us ICMP
 * chooses: at 256 types in and out it is 8 KB, at most about 20 KB. */
#define SOCKSTAT_TEXT_MAX	65536

static const struct sockstat_field {
	enum sockstat_file file;
	const char *prefix;		/* the line's, colon included */
	const char *name;
} sockstat_fields[SOCKSTAT_NFIELDS] = {
	{ SOCKSTAT_V4, "sockets:", "used" },
	{ SOCKSTAT_V4, "TCP:", "inuse" },
	{ SOCKSTAT_V4, "TCP:", "tw" },
	{ SOCKSTAT_V4, "UDP:", "inuse" },
	{ SOCKSTAT_V6, "TCP6:", "inuse" },
	{ SOCKSTAT_V6, "UDP6:", "inuse" },
	{ SOCKSTAT_SNMP, "Tcp:", "ActiveOpens" },
	{ SOCKSTAT_SNMP, "Tcp:", "PassiveOpens" },
	{ SOCKSTAT_SNMP, "Tcp:", "AttemptFails" },
	{ SOCKSTAT_SNMP, "Tcp:", "EstabResets" },
	{ SOCKSTAT_SNMP, "Tcp:", "CurrEstab" },
};

static const char *const sockstat_names[SOCKSTAT_NFILES] = {
	"sockstat", "sockstat6", "snmp",
};

/* The line of text that starts with prefix, after from; NULL if none. */
static const char *
sockstat_line(const char *text, const char *from, const char *prefix)
{
	size_t len = strlen(prefix);
	const char *p = from;

	while (p != NULL && *p != '\0') {
		if ((p == text || p[-1] == '\n') && strncmp(p, prefix,
		    len) == 0)
			return p + len;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

/* The idx'th blank-separated word of the line at p (0 is the first),
 * as its start and length; -EINVAL when the line has fewer. */
static int
sockstat_word(const char *p, unsigned int idx, const char **ret,
    size_t *ret_len)
{
	size_t n;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0' || *p == '\n')
			return -EINVAL;
		n = strcspn(p, " \t\n");
		if (idx-- == 0)
			break;
		p += n;
	}
	*ret = p;
	*ret_len = n;
	return 0;
}

static int
sockstat_number(const char *p, size_t len, uint64_t *ret)
{
	char *end;

	if (len == 0 || *p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	*ret = strtoull(p, &end, 10);
	if (errno != 0 || (size_t)(end - p) != len)
		return -EINVAL;
	return 0;
}

/* The word index of name on the line at p; -EINVAL when absent. */
static int
sockstat_index(const char *p, const char *name, unsigned int *ret)
{
	size_t len, nlen = strlen(name);
	const char *w;
	unsigned int i;

	for (i = 0; sockstat_word(p, i, &w, &len) == 0; i++)
		if (len == nlen && memcmp(w, name, len) == 0) {
			*ret = i;
			return 0;
		}
	return -EINVAL;
}

/* One field: "PREFIX: name value name value" in sockstat{,6}; a line of
 * names then a line of values under the same prefix in snmp. */
static int
sockstat_field(enum sockstat_file f, const char *text,
    const struct sockstat_field *fd, uint64_t *ret)
{
	const char *line, *vals, *w;
	unsigned int i;
	size_t len;
	int r;

	if ((line = sockstat_line(text, text, fd->prefix)) == NULL)
		return -EINVAL;
	if ((r = sockstat_index(line, fd->name, &i)) < 0)
		return r;
	if (f == SOCKSTAT_SNMP) {
		if ((vals = sockstat_line(text, line, fd->prefix)) == NULL)
			return -EINVAL;
	} else {
		vals = line;
		i++;
	}
	if ((r = sockstat_word(vals, i, &w, &len)) < 0)
		return r;
	return sockstat_number(w, len, ret);
}

int
sockstat_parse(enum sockstat_file f, const char *text, struct sockstat *st)
{
	size_t i;
	int r;

	for (i = 0; i < SOCKSTAT_NFIELDS; i++) {
		if (sockstat_fields[i].file != f)
			continue;
		if ((r = sockstat_field(f, text, &sockstat_fields[i],
		    &st->v[i])) < 0)
			return r;
	}
	return 0;
}

static int
sockstat_slurp(const char *path, char *buf, size_t size)
{
	ssize_t n;
	size_t got = 0;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while (got < size - 1) {
		n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (r == 0 && got == size - 1)
		r = -EFBIG;
	buf[got] = '\0';
	close(fd);
	return r;
}

int
sockstat_read(const char *dir, struct sockstat *ret)
{
	char path[256], *text;
	struct sockstat st;
	int f, r = 0;

	if ((text = malloc(SOCKSTAT_TEXT_MAX)) == NULL)
		return -ENOMEM;
	memset(&st, 0, sizeof(st));
	for (f = 0; f < SOCKSTAT_NFILES; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sockstat_names[f]);
		r = sockstat_slurp(path, text, SOCKSTAT_TEXT_MAX);
		if (r == -ENOENT && f == SOCKSTAT_V6) {
			r = 0;
			continue;
		}
		if (r < 0 || (r = sockstat_parse(f, text, &st)) < 0)
			break;
	}
	free(text);
	if (r == 0)
		*ret = st;
	return r;
}

bool
sockstat_equal(const struct sockstat *a, const struct sockstat *b)
{
	return memcmp(a->v, b->v, sizeof(a->v)) == 0;
}
