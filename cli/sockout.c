#include "sockout.h"

#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../exporter/sockjson.h"
#include "table.h"

#define OWNERS_MAX SOCKJSON_OWNERS_MAX

/* The processes holding the i-th socket of the list. */
static size_t
sock_owners(const struct sockout_opts *o, const struct sock_info *s,
    size_t i, struct proc_owner *out, size_t max)
{
	if (o->procs != NULL)
		return procmap_lookup(o->procs, s->inode, out, max);
	if (o->owners != NULL)
		return o->owners(o->owners_arg, i, out, max);
	return 0;
}

/* "sshd(812),sshd(900)" */
static void
owners_text(const struct sockout_opts *opts, const struct sock_info *s,
    size_t idx, char *buf, size_t len)
{
	struct proc_owner o[OWNERS_MAX];
	char comm[4 * PROC_COMM_MAX + 1];
	size_t n, i, off = 0;
	int k;

	buf[0] = '\0';
	n = sock_owners(opts, s, idx, o, OWNERS_MAX);
	for (i = 0; i < n && i < OWNERS_MAX; i++) {
		sockjson_escape(o[i].comm, strlen(o[i].comm), comm,
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
	char path[4 * SOCKDIAG_PATH_MAX + 2];

	/* As ss does: "path inode" and "* peer-inode", so pairs match up. */
	if (s->family == AF_UNIX) {
		snprintf(local, llen, "%s %u", sockjson_path(s, path,
		    sizeof(path)), s->inode);
		snprintf(peer, plen, "* %u", s->peer_inode);
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
	char local[4 * SOCKDIAG_PATH_MAX + 16], peer[ADDR_STRLEN];
	char procs[OWNERS_MAX * (4 * PROC_COMM_MAX + 16)];
	char ifname[IF_NAMESIZE];
	const struct sock_info *s;
	const char *ifn;
	size_t i;
	int r = 0;

	for (i = 0; i < l->n && r == 0; i++) {
		s = &l->v[i];
		sock_ends(s, local, sizeof(local), peer, sizeof(peer));
		r |= table_add(t, sockdiag_proto_name(s));
		if (o->view == SOCKOUT_LISTENERS)
			r |= table_add(t, local);
		else
			r |= table_add(t, sockdiag_state_name(s));
		r |= table_add_u64(t, s->rq);
		r |= table_add_u64(t, s->wq);
		if (o->view == SOCKOUT_SOCKETS) {
			r |= table_add(t, local);
			r |= table_add(t, peer);
		}
		if (o->extended || o->view == SOCKOUT_LISTENERS) {
			r |= table_add_u64(t, s->uid);
			r |= table_add_u64(t, s->inode);
		}
		if (o->extended && o->view == SOCKOUT_SOCKETS) {
			r |= table_add_u64(t, s->cookie);
			ifn = sock_ifname(s, ifname);
			r |= table_add(t, ifn ? ifn : "*");
		}
		if (o->procs != NULL || o->owners != NULL) {
			owners_text(o, s, i, procs, sizeof(procs));
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
	if (o->procs != NULL || o->owners != NULL)
		cols[n++] = sockets_cols[10];
	if ((t = table_new(cols, n)) == NULL)
		return -ENOMEM;
	r = sockout_table_fill(t, l, o);
	if (r == 0)
		r = table_print(t, f);
	table_free(t);
	return r;
}

int
sockout_json(FILE *f, const struct socklist *l, const struct sockout_opts *o)
{
	struct proc_owner owners[OWNERS_MAX];
	json_t *arr, *j;
	size_t i, n;
	int r = 0;

	if ((arr = json_array()) == NULL)
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		n = sock_owners(o, &l->v[i], i, owners, OWNERS_MAX);
		j = sockjson_encode(&l->v[i], owners,
		    n < OWNERS_MAX ? n : OWNERS_MAX,
		    o->procs != NULL || o->owners != NULL);
		if (j == NULL ||
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
