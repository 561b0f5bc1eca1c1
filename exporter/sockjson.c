#include "sockjson.h"

#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

char *
sockjson_escape(const char *in, size_t inlen, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	if (len == 0)
		return buf;
	for (i = 0; i < inlen && o + 5 < len; i++) {
		c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
		} else if (c == '\\') {
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		}
	}
	buf[o] = '\0';
	return buf;
}

char *
sockjson_path(const struct sock_info *s, char *buf, size_t len)
{
	if (len < 2) {
		if (len == 1)
			buf[0] = '\0';
		return buf;
	}
	if (s->path_len == 0) {
		snprintf(buf, len, "*");
		return buf;
	}
	if (s->path[0] == '\0') {
		buf[0] = '@';
		sockjson_escape(s->path + 1, s->path_len - 1u, buf + 1,
		    len - 1);
		return buf;
	}
	/* Filesystem paths end at the first NUL. */
	return sockjson_escape(s->path, strnlen(s->path, s->path_len), buf,
	    len);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/* The inverse of sockjson_path. */
static int
path_unescape(const char *in, struct sock_info *s)
{
	size_t o = 0;
	unsigned int v;

	if (*in == '@') {
		s->path[o++] = '\0';
		in++;
	}
	while (*in != '\0') {
		if (o >= sizeof(s->path))
			return -EINVAL;
		if (in[0] == '\\' && in[1] == '\\') {
			s->path[o++] = '\\';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'x') {
			if (!isxdigit((unsigned char)in[2]) ||
			    !isxdigit((unsigned char)in[3]))
				return -EINVAL;
			v = (unsigned int)(hexval(in[2]) << 4 | hexval(in[3]));
			s->path[o++] = (char)v;
			in += 4;
		} else
			s->path[o++] = *in++;
	}
	s->path_len = (uint8_t)o;
	return 0;
}

json_t *
sockjson_encode(const struct sock_info *s, const struct proc_owner *owners,
    size_t nowners, bool with_processes)
{
	char buf[4 * SOCKDIAG_PATH_MAX + 2], ifname[IF_NAMESIZE];
	char comm[4 * PROC_COMM_MAX + 1];
	json_t *j, *procs;
	size_t i;

	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
	    "proto", sockdiag_proto_name(s),
	    "family", sockdiag_family_name(s),
	    "state", sockdiag_state_name(s),
	    "recv_q", (json_int_t)s->rq,
	    "send_q", (json_int_t)s->wq,
	    "uid", (json_int_t)s->uid,
	    "inode", (json_int_t)s->inode,
	    "cookie", (json_int_t)s->cookie);
	if (j == NULL)
		return NULL;
	if (s->family == AF_UNIX) {
		json_object_set_new(j, "local_addr", json_null());
		json_object_set_new(j, "local_port", json_null());
		json_object_set_new(j, "remote_addr", json_null());
		json_object_set_new(j, "remote_port", json_null());
		json_object_set_new(j, "interface", json_null());
		json_object_set_new(j, "path", s->path_len > 0 ?
		    json_string(sockjson_path(s, buf, sizeof(buf))) :
		    json_null());
		json_object_set_new(j, "type",
		    json_string(sockdiag_unix_type_name(s)));
		json_object_set_new(j, "peer_inode",
		    s->peer_inode ? json_integer(s->peer_inode) : json_null());
	} else {
		json_object_set_new(j, "local_addr",
		    json_string(addr_format(&s->laddr, buf, sizeof(buf))));
		json_object_set_new(j, "local_port", json_integer(s->lport));
		json_object_set_new(j, "remote_addr",
		    json_string(addr_format(&s->raddr, buf, sizeof(buf))));
		json_object_set_new(j, "remote_port", json_integer(s->rport));
		json_object_set_new(j, "path", json_null());
		json_object_set_new(j, "type", json_null());
		json_object_set_new(j, "peer_inode", json_null());
		if (s->ifindex != 0 && if_indextoname(s->ifindex, ifname))
			json_object_set_new(j, "interface", json_string(ifname));
		else if (s->ifindex != 0)
			json_object_set_new(j, "interface",
			    json_sprintf("if%u", s->ifindex));
		else
			json_object_set_new(j, "interface", json_null());
	}
	if (!with_processes) {
		json_object_set_new(j, "processes", json_null());
		return j;
	}
	procs = json_array();
	for (i = 0; procs != NULL && i < nowners; i++) {
		sockjson_escape(owners[i].comm, strlen(owners[i].comm), comm,
		    sizeof(comm));
		json_array_append_new(procs, json_pack("{s:i, s:s, s:i}",
		    "pid", (int)owners[i].pid, "comm", comm,
		    "fd", owners[i].fd));
	}
	if (procs == NULL || json_object_set_new(j, "processes", procs) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
get_uint(const json_t *j, const char *key, uint64_t max, uint64_t *ret)
{
	json_t *v = json_object_get(j, key);
	json_int_t n;

	if (!json_is_integer(v))
		return -EINVAL;
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return -EINVAL;
	*ret = (uint64_t)n;
	return 0;
}

static int
decode_state(const char *name, struct sock_info *s)
{
	uint32_t mask;
	unsigned int i;

	if (sockdiag_state_parse(name, &mask) < 0)
		return -EINVAL;
	for (i = 1; i < 32; i++)
		if (mask & (1U << i)) {
			s->state = (uint8_t)i;
			return 0;
		}
	return -EINVAL;
}

int
sockjson_decode(const json_t *j, struct sock_info *s,
    struct proc_owner *owners, size_t max, size_t *ret_nowners)
{
	const char *proto, *family, *state, *str;
	json_t *procs, *p;
	uint64_t v[6];
	size_t i, n = 0;

	memset(s, 0, sizeof(*s));
	if (json_unpack((json_t *)j, "{s:s, s:s, s:s}", "proto", &proto,
	    "family", &family, "state", &state) < 0)
		return -EINVAL;
	if (get_uint(j, "recv_q", UINT32_MAX, &v[0]) < 0 ||
	    get_uint(j, "send_q", UINT32_MAX, &v[1]) < 0 ||
	    get_uint(j, "uid", UINT32_MAX, &v[2]) < 0 ||
	    get_uint(j, "inode", UINT32_MAX, &v[3]) < 0 ||
	    get_uint(j, "cookie", INT64_MAX, &v[4]) < 0)
		return -EINVAL;
	s->rq = (uint32_t)v[0];
	s->wq = (uint32_t)v[1];
	s->uid = (uint32_t)v[2];
	s->inode = (uint32_t)v[3];
	s->cookie = v[4];
	if (strcmp(proto, "tcp") == 0)
		s->proto = IPPROTO_TCP;
	else if (strcmp(proto, "udp") == 0)
		s->proto = IPPROTO_UDP;
	else if (strcmp(proto, "unix") != 0)
		return -EINVAL;
	if (decode_state(state, s) < 0)
		return -EINVAL;
	if (strcmp(family, "unix") == 0) {
		s->family = AF_UNIX;
		str = json_string_value(json_object_get(j, "type"));
		if (str == NULL)
			return -EINVAL;
		s->type = strcmp(str, "stream") == 0 ? SOCK_STREAM :
		    strcmp(str, "dgram") == 0 ? SOCK_DGRAM :
		    strcmp(str, "seqpacket") == 0 ? SOCK_SEQPACKET : 0;
		if ((str = json_string_value(json_object_get(j, "path")))
		    != NULL && path_unescape(str, s) < 0)
			return -EINVAL;
		if (json_is_integer(json_object_get(j, "peer_inode")) &&
		    get_uint(j, "peer_inode", UINT32_MAX, &v[5]) == 0)
			s->peer_inode = (uint32_t)v[5];
	} else {
		if (strcmp(family, "inet") != 0 && strcmp(family, "inet6"))
			return -EINVAL;
		if ((str = json_string_value(json_object_get(j,
		    "local_addr"))) == NULL || addr_parse(str, &s->laddr) < 0)
			return -EINVAL;
		if ((str = json_string_value(json_object_get(j,
		    "remote_addr"))) == NULL || addr_parse(str, &s->raddr) < 0)
			return -EINVAL;
		s->family = s->laddr.family;
		if (get_uint(j, "local_port", 65535, &v[0]) < 0 ||
		    get_uint(j, "remote_port", 65535, &v[1]) < 0)
			return -EINVAL;
		s->lport = (uint16_t)v[0];
		s->rport = (uint16_t)v[1];
		s->type = s->proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
		if ((str = json_string_value(json_object_get(j,
		    "interface"))) != NULL)
			s->ifindex = if_nametoindex(str);
	}
	procs = json_object_get(j, "processes");
	if (procs != NULL && !json_is_array(procs) && !json_is_null(procs))
		return -EINVAL;
	json_array_foreach(procs, i, p) {
		json_int_t pid, fd;
		const char *comm;

		if (json_unpack(p, "{s:I, s:s, s:I}", "pid", &pid, "comm",
		    &comm, "fd", &fd) < 0)
			return -EINVAL;
		if (n < max) {
			owners[n].pid = (pid_t)pid;
			owners[n].fd = (int)fd;
			owners[n].comm = comm;
		}
		n++;
	}
	*ret_nowners = n < max ? n : max;
	return 0;
}

static const struct {
	const char *name;
	unsigned int bit;
} proto_names[] = {
	{ "tcp", SOCKDIAG_TCP }, { "udp", SOCKDIAG_UDP },
	{ "unix", SOCKDIAG_UNIX },
}, family_names[] = {
	{ "inet", SOCKDIAG_INET4 }, { "inet6", SOCKDIAG_INET6 },
};

static const char *const state_list[] = {
	"established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2",
	"time-wait", "close", "close-wait", "last-ack", "listen", "closing",
};

json_t *
sockjson_query_encode(const struct sockdiag_query *q, bool processes)
{
	json_t *j, *protos, *fams, *states;
	char buf[ADDR_STRLEN];
	uint32_t mask;
	size_t i;

	protos = json_array();
	fams = json_array();
	states = json_array();
	for (i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (q->protos & proto_names[i].bit)
			json_array_append_new(protos,
			    json_string(proto_names[i].name));
	for (i = 0; i < sizeof(family_names) / sizeof(family_names[0]); i++)
		if (q->families & family_names[i].bit)
			json_array_append_new(fams,
			    json_string(family_names[i].name));
	for (i = 0; i < sizeof(state_list) / sizeof(state_list[0]); i++)
		if (sockdiag_state_parse(state_list[i], &mask) == 0 &&
		    (q->states & mask))
			json_array_append_new(states,
			    json_string(state_list[i]));
	j = json_pack("{s:o, s:o, s:o, s:b}", "protos", protos,
	    "families", fams, "states", states, "processes", processes);
	if (j == NULL)
		return NULL;
	json_object_set_new(j, "port", q->port >= 0 ? json_integer(q->port) :
	    json_null());
	json_object_set_new(j, "peer", q->has_peer ? json_string(cidr_format(
	    &q->peer, buf, sizeof(buf))) : json_null());
	return j;
}

/* Set the bits of the names in array arr (or every bit if absent). */
static int
names_decode(const json_t *arr, const void *table, size_t n,
    unsigned int *ret, const char *what, const char **ret_error)
{
	const struct { const char *name; unsigned int bit; } *t = table;
	json_t *v;
	size_t i, k;

	*ret = 0;
	if (arr == NULL || json_is_null(arr)) {
		for (k = 0; k < n; k++)
			*ret |= t[k].bit;
		return 0;
	}
	if (!json_is_array(arr)) {
		*ret_error = what;
		return -EINVAL;
	}
	json_array_foreach(arr, i, v) {
		for (k = 0; k < n; k++)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), t[k].name) == 0)
				break;
		if (k == n) {
			*ret_error = what;
			return -EINVAL;
		}
		*ret |= t[k].bit;
	}
	return 0;
}

int
sockjson_query_decode(const json_t *req, struct sockdiag_query *q,
    bool *ret_processes, const char **ret_error)
{
	json_t *v, *s;
	uint32_t mask;
	size_t i;

	memset(q, 0, sizeof(*q));
	q->port = -1;
	if (names_decode(json_object_get(req, "protos"), proto_names, 3,
	    &q->protos, "protos must be a list of tcp, udp, unix",
	    ret_error) < 0 ||
	    names_decode(json_object_get(req, "families"), family_names, 2,
	    &q->families, "families must be a list of inet, inet6",
	    ret_error) < 0)
		return -EINVAL;
	v = json_object_get(req, "states");
	if (v == NULL || json_is_null(v)) {
		q->states = SOCKDIAG_STATES_ALL;
	} else if (!json_is_array(v)) {
		*ret_error = "states must be a list of state names";
		return -EINVAL;
	} else {
		json_array_foreach(v, i, s) {
			if (!json_is_string(s) || sockdiag_state_parse(
			    json_string_value(s), &mask) < 0) {
				*ret_error = "unknown state name in states";
				return -EINVAL;
			}
			q->states |= mask;
		}
	}
	v = json_object_get(req, "port");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 65535) {
			*ret_error = "port must be an integer 0-65535";
			return -EINVAL;
		}
		q->port = (int)json_integer_value(v);
	}
	v = json_object_get(req, "peer");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || cidr_parse(json_string_value(v),
		    &q->peer) < 0) {
			*ret_error = "peer must be an address or CIDR";
			return -EINVAL;
		}
		q->has_peer = true;
	}
	v = json_object_get(req, "processes");
	*ret_processes = json_is_true(v);
	if (v != NULL && !json_is_boolean(v)) {
		*ret_error = "processes must be true or false";
		return -EINVAL;
	}
	return 0;
}
