#include "sockout.h"

#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define OWNERS_MAX 16

char *
sockout_escape(const char *in, size_t inlen, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

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
sockout_path(const struct sock_info *s, char *buf, size_t len)
{
	if (s->path_len == 0) {
		snprintf(buf, len, "*");
		return buf;
	}
	if (s->path[0] == '\0') {
		buf[0] = '@';
		sockout_escape(s->path + 1, s->path_len - 1u, buf + 1,
		    len - 1);
		return buf;
	}
	/* Filesystem paths end at the first NUL. */
	return sockout_escape(s->path, strnlen(s->path, s->path_len), buf,
	    len);
}

/* "sshd(812),sshd(900)" */
static void
owners_text(const struct procmap *pm, uint32_t inode, char *buf, size_t len)
{
	struct proc_owner o[OWNERS_MAX];
	char comm[4 * PROC_COMM_MAX + 1];
	size_t n, i, off = 0;
	int k;

	buf[0] = '\0';
	n = procmap_lookup(pm, inode, o, OWNERS_MAX);
	for (i = 0; i < n && i < OWNERS_MAX; i++) {
		sockout_escape(o[i].comm, strlen(o[i].comm), comm,
		    sizeof(comm));
		k = snprintf(buf + off, len - off, "%s%s(%d)", i ? "," : "",
		    comm, (int)o[i].pid);
		if (k < 0 || (size_t)k >= len - off)
			return;
		off += (size_t)k;
	}
	if (n > OWNERS_MAX)
		snprintf(buf + off, len - off, ",+%zu", n - OWNERS_MAX);
}

static const char *
sock_ifname(const struct sock_info *s, char *buf)
{
	if (s->ifindex == 0)
		return NULL;
	if (if_indextoname(s->ifindex, buf) == NULL)
		snprintf(buf, IF_NAMESIZE, "if%u", s->ifindex);
	return buf;
}

static void
sock_ends(const struct sock_info *s, char *local, size_t llen, char *peer,
    size_t plen)
{
	if (s->family == AF_UNIX) {
		sockout_path(s, local, llen);
		if (s->peer_inode != 0)
			snprintf(peer, plen, "%u", s->peer_inode);
		else
			snprintf(peer, plen, "*");
		return;
	}
	addr_format_port(&s->laddr, s->lport, local, llen);
	addr_format_port(&s->raddr, s->rport, peer, plen);
}

static const struct table_col sockets_cols[] = {
	{ "Netid", TABLE_LEFT },
	{ "State", TABLE_LEFT },
	{ "Recv-Q", TABLE_RIGHT },
	{ "Send-Q", TABLE_RIGHT },
	{ "Local Address:Port", TABLE_LEFT },
	{ "Peer Address:Port", TABLE_LEFT },
	{ "Uid", TABLE_RIGHT },
	{ "Inode", TABLE_RIGHT },
	{ "Cookie", TABLE_RIGHT },
	{ "Interface", TABLE_LEFT },
	{ "Process", TABLE_LEFT },
};

static const struct table_col listeners_cols[] = {
	{ "Proto", TABLE_LEFT },
	{ "Local Address:Port", TABLE_LEFT },
	{ "Recv-Q", TABLE_RIGHT },
	{ "Send-Q", TABLE_RIGHT },
	{ "Uid", TABLE_RIGHT },
	{ "Inode", TABLE_RIGHT },
	{ "Process", TABLE_LEFT },
};

static int
sockout_table_fill(struct table *t, const struct socklist *l,
    const struct sockout_opts *o)
{
	char local[4 * SOCKDIAG_PATH_MAX + 2], peer[ADDR_STRLEN];
	char procs[OWNERS_MAX * (4 * PROC_COMM_MAX + 16)];
	char ifname[IF_NAMESIZE];
	const struct sock_info *s;
	const char *ifn;
	size_t i;
	int r = 0;

	for (i = 0; i < l->n && r == 0; i++) {
		s = &l->v[i];
		sock_ends(s, local, sizeof(local), peer, sizeof(peer));
		if (o->view == SOCKOUT_LISTENERS) {
			r |= table_add(t, sockdiag_proto_name(s));
			r |= table_add(t, local);
		} else {
			r |= table_add(t, sockdiag_proto_name(s));
			r |= table_add(t, sockdiag_state_name(s));
		}
		r |= table_addf(t, "%u", s->rq);
		r |= table_addf(t, "%u", s->wq);
		if (o->view == SOCKOUT_SOCKETS) {
			r |= table_add(t, local);
			r |= table_add(t, peer);
		}
		if (o->extended || o->view == SOCKOUT_LISTENERS) {
			r |= table_addf(t, "%u", s->uid);
			r |= table_addf(t, "%u", s->inode);
		}
		if (o->extended && o->view == SOCKOUT_SOCKETS) {
			r |= table_addf(t, "%llu",
			    (unsigned long long)s->cookie);
			ifn = sock_ifname(s, ifname);
			r |= table_add(t, ifn ? ifn : "*");
		}
		if (o->procs != NULL) {
			owners_text(o->procs, s->inode, procs, sizeof(procs));
			r |= table_add(t, procs);
		}
	}
	return r ? -ENOMEM : 0;
}

int
sockout_text(FILE *f, const struct socklist *l, const struct sockout_opts *o)
{
	struct table_col cols[16];
	struct table *t;
	size_t n = 0, i;
	int r;

	if (o->view == SOCKOUT_LISTENERS) {
		for (i = 0; i < 6; i++)
			cols[n++] = listeners_cols[i];
	} else {
		for (i = 0; i < 6; i++)
			cols[n++] = sockets_cols[i];
		if (o->extended)
			for (i = 6; i < 10; i++)
				cols[n++] = sockets_cols[i];
	}
	if (o->procs != NULL)
		cols[n++] = sockets_cols[10];
	if ((t = table_new(cols, n)) == NULL)
		return -ENOMEM;
	r = sockout_table_fill(t, l, o);
	if (r == 0)
		r = table_print(t, f);
	table_free(t);
	return r;
}

static json_t *
owners_json(const struct procmap *pm, uint32_t inode)
{
	struct proc_owner o[OWNERS_MAX];
	char comm[4 * PROC_COMM_MAX + 1];
	json_t *arr;
	size_t n, i;

	arr = json_array();
	n = procmap_lookup(pm, inode, o, OWNERS_MAX);
	for (i = 0; i < n && i < OWNERS_MAX; i++) {
		sockout_escape(o[i].comm, strlen(o[i].comm), comm,
		    sizeof(comm));
		json_array_append_new(arr, json_pack("{s:i, s:s, s:i}",
		    "pid", (int)o[i].pid, "comm", comm, "fd", o[i].fd));
	}
	return arr;
}

static json_t *
sock_json(const struct sock_info *s, const struct sockout_opts *o)
{
	char buf[4 * SOCKDIAG_PATH_MAX + 2], ifname[IF_NAMESIZE];
	const char *ifn;
	json_t *j;

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
		if (s->path_len > 0)
			json_object_set_new(j, "path",
			    json_string(sockout_path(s, buf, sizeof(buf))));
		else
			json_object_set_new(j, "path", json_null());
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
		ifn = sock_ifname(s, ifname);
		json_object_set_new(j, "interface",
		    ifn ? json_string(ifn) : json_null());
	}
	json_object_set_new(j, "processes", o->procs ?
	    owners_json(o->procs, s->inode) : json_array());
	return j;
}

int
sockout_json(FILE *f, const struct socklist *l, const struct sockout_opts *o)
{
	json_t *arr, *j;
	size_t i;
	int r = 0;

	if ((arr = json_array()) == NULL)
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		if ((j = sock_json(&l->v[i], o)) == NULL ||
		    json_array_append_new(arr, j) < 0) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (json_dumpf(arr, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
	    fputc('\n', f) == EOF)
		r = -EIO;
out:
	json_decref(arr);
	return r;
}
