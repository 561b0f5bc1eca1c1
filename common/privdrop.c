/* Dropping privileges (privdrop.h): the order is the one that works for
 * root and for a user started with ambient capabilities alike. The
 * bounding set goes first (it needs CAP_SETPCAP, lost with uid 0), then
 * the groups, the gid and the uid, then whatever capabilities are left. */
#define _GNU_SOURCE
#include "privdrop.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static const char *privdrop_role = "";

void
privdrop_set_role(const char *role)
{
	privdrop_role = role;
}

bool
privdrop_fail_here(const char *step)
{
	const char *s = getenv("SOCKWATCHD_FAIL_STEP");
	size_t n = strlen(privdrop_role);

	if (s == NULL)
		return false;
	if (n > 0 && strncmp(s, privdrop_role, n) == 0 && s[n] == ':')
		s += n + 1;
	return strcmp(s, step) == 0;
}

/* Run one step: the seam first, then the call's own result. */
#define PRIVDROP_STEP(name, call) do {					\
	*ret_step = (name);						\
	if (privdrop_fail_here(name))					\
		return -EPERM;						\
	if ((call) != 0)						\
		return errno > 0 ? -errno : -EPERM;			\
} while (0)

int
privdrop_lookup(const char *name, struct privdrop_user *ret)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -ENOENT;
	if (pw.pw_uid == 0)
		return -EINVAL;
	ret->uid = pw.pw_uid;
	ret->gid = pw.pw_gid;
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	return 0;
}

static bool
privdrop_have(capng_type_t set, int cap)
{
	return capng_get_caps_process() == 0 &&
	    capng_have_capability(set, (unsigned int)cap);
}

/* Without CAP_SETGID, setgroups is refused: then the process must have
 * no supplementary group but gid (a service started as the user). */
static int
privdrop_groups(gid_t gid)
{
	gid_t g[64];
	int n, i;

	if (privdrop_have(CAPNG_EFFECTIVE, CAP_SETGID))
		return setgroups(1, &gid);
	if ((n = getgroups(64, g)) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (g[i] != gid) {
			errno = EPERM;
			return -1;
		}
	return 0;
}

static int
privdrop_bounds(void)
{
	if (!privdrop_have(CAPNG_EFFECTIVE, CAP_SETPCAP))
		return 0;		/* cannot, and nothing in it can be used */
	capng_clear(CAPNG_SELECT_BOUNDS);
	return capng_apply(CAPNG_SELECT_BOUNDS) == 0 ? 0 : -1;
}

/* Every capability set empty, ambient included. */
static int
privdrop_clear_caps(void)
{
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0)
		return -1;
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/* Once dropped, uid 0 and every capability must stay out of reach. */
static int
privdrop_verify(const struct privdrop_user *u)
{
	uid_t r, e, s;

	if (setuid(0) == 0 || seteuid(0) == 0 || getresuid(&r, &e, &s) != 0 ||
	    r != u->uid || e != u->uid || s != u->uid ||
	    capng_get_caps_process() != 0 ||
	    capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
privdrop_user(const struct privdrop_user *u, const char **ret_step)
{
	PRIVDROP_STEP("bounding set", privdrop_bounds());
	PRIVDROP_STEP("setgroups", privdrop_groups(u->gid));
	PRIVDROP_STEP("setresgid", setresgid(u->gid, u->gid, u->gid));
	PRIVDROP_STEP("setresuid", setresuid(u->uid, u->uid, u->uid));
	PRIVDROP_STEP("capng_apply", privdrop_clear_caps());
	PRIVDROP_STEP("verify", privdrop_verify(u));
	return 0;
}

static int
privdrop_keep(const int *caps, size_t n)
{
	bool bounds = privdrop_have(CAPNG_EFFECTIVE, CAP_SETPCAP);
	bool have[CAP_LAST_CAP + 1] = { false };
	size_t i;

	for (i = 0; i < n; i++)
		if (caps[i] >= 0 && caps[i] <= CAP_LAST_CAP)
			have[caps[i]] = privdrop_have(CAPNG_PERMITTED, caps[i]);
	capng_clear(bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS);
	for (i = 0; i <= CAP_LAST_CAP; i++) {
		if (!have[i])
			continue;
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
		    (bounds ? CAPNG_BOUNDING_SET : 0), (unsigned int)i) != 0)
			return -1;
	}
	if (capng_apply(bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS) != 0)
		return -1;
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

int
privdrop_caps(const int *caps, size_t n, const char **ret_step)
{
	PRIVDROP_STEP("capng_apply", privdrop_keep(caps, n));
	return 0;
}

int
privdrop_no_new_privs(const char **ret_step)
{
	PRIVDROP_STEP("PR_SET_NO_NEW_PRIVS",
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	return 0;
}
