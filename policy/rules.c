/* Policy rules: [listen] allow entries and their lookup. */
#include "rules.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *
rules_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	}
	return NULL;
}

static int
rules_fail(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
	return -EINVAL;
}

static bool
rules_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* The kernel's comm is at most 15 bytes; we accept what can be typed in
 * the config and compared exactly: printable ASCII without spaces. */
static bool
rules_comm_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

int
rules_listen_parse(const char *s, struct listen_rule *ret_rule,
    char *why, size_t whylen)
{
	struct listen_rule r;
	const char *p, *q;
	unsigned long port = 0;
	size_t n;

	if (s == NULL)
		return rules_fail(why, whylen, "empty entry");
	memset(&r, 0, sizeof(r));
	p = s;
	while (rules_is_space(*p))
		p++;
	if (*p == '\0')
		return rules_fail(why, whylen, "empty entry");

	/* proto */
	q = strchr(p, '/');
	if (q == NULL)
		return rules_fail(why, whylen,
		    "missing '/' (expected proto/port, e.g. tcp/22)");
	if (q - p == 3 && strncasecmp(p, "tcp", 3) == 0)
		r.proto = IPPROTO_TCP;
	else if (q - p == 3 && strncasecmp(p, "udp", 3) == 0)
		r.proto = IPPROTO_UDP;
	else
		return rules_fail(why, whylen,
		    "unknown protocol (expected tcp or udp)");

	/* port: 1 to 5 decimal digits, 1..65535 */
	p = q + 1;
	for (n = 0; p[n] >= '0' && p[n] <= '9'; n++) {
		if (n >= 5)
			return rules_fail(why, whylen,
			    "port must be between 1 and 65535");
		port = port * 10 + (unsigned long)(p[n] - '0');
	}
	if (n == 0)
		return rules_fail(why, whylen,
		    "missing port number after '/'");
	if (port < 1 || port > 65535)
		return rules_fail(why, whylen,
		    "port must be between 1 and 65535");
	r.port = (uint16_t)port;
	p += n;
	if (*p != '\0' && !rules_is_space(*p))
		return rules_fail(why, whylen,
		    "invalid port (expected a number from 1 to 65535)");

	/* optional comm */
	while (rules_is_space(*p))
		p++;
	for (n = 0; p[n] != '\0' && !rules_is_space(p[n]); n++) {
		if (!rules_comm_char(p[n]))
			return rules_fail(why, whylen,
			    "process name must be printable ASCII");
	}
	if (n >= sizeof(r.comm))
		return rules_fail(why, whylen,
		    "process name longer than 15 characters");
	memcpy(r.comm, p, n);
	r.comm[n] = '\0';
	p += n;
	while (rules_is_space(*p))
		p++;
	if (*p != '\0')
		return rules_fail(why, whylen,
		    "unexpected text after the process name");

	*ret_rule = r;
	return 0;
}

char *
rules_listen_format(const struct listen_rule *r, char *buf, size_t len)
{
	const char *proto = rules_proto_name(r->proto);
	char num[8];

	if (len == 0)
		return buf;
	if (proto == NULL) {
		snprintf(num, sizeof(num), "%u", (unsigned int)r->proto);
		proto = num;
	}
	if (r->comm[0] != '\0')
		snprintf(buf, len, "%s/%u %.*s", proto, (unsigned int)r->port,
		    (int)sizeof(r->comm), r->comm);
	else
		snprintf(buf, len, "%s/%u", proto, (unsigned int)r->port);
	return buf;
}

enum rules_verdict
rules_listen_check(const struct listen_rule *rules, size_t n, uint8_t proto,
    uint16_t port, const char *comm, const struct listen_rule **ret_rule)
{
	const struct listen_rule *first = NULL;
	size_t i;

	if (comm == NULL)
		comm = "";
	for (i = 0; i < n; i++) {
		const struct listen_rule *r = &rules[i];

		if (r->proto != proto || r->port != port)
			continue;
		if (first == NULL)
			first = r;
		/* An unknown process never matches a named entry. */
		if (r->comm[0] == '\0' ||
		    (comm[0] != '\0' &&
		    strncmp(r->comm, comm, sizeof(r->comm)) == 0 &&
		    strlen(comm) < sizeof(r->comm))) {
			if (ret_rule != NULL)
				*ret_rule = r;
			return RULES_ALLOWED;
		}
	}
	if (ret_rule != NULL)
		*ret_rule = first;
	return first != NULL ? RULES_PROCESS_NOT_ALLOWED :
	    RULES_PORT_NOT_ALLOWED;
}
