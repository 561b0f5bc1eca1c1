/* Dropping privileges, every step checked. A step that fails is named in
 * *ret_step ("setgroups", "setresgid", "setresuid", "capng_apply",
 * "PR_SET_NO_NEW_PRIVS", ...) and the caller must not go on: these
 * functions never leave a process half dropped without saying so.
 *
 * Test seam: when $SOCKWATCHD_FAIL_STEP names a step ("setresuid"), or a
 * process's role and a step ("inspector:setresuid"), that step fails with
 * EPERM as if the kernel had refused it (it can only make a drop fail,
 * never skip one). */
#ifndef SW_PRIVDROP_H
#define SW_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privdrop_user {
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Look up a user by name. 0, or -ENOENT (no such user) / -EINVAL (uid 0:
 * an unprivileged process must not be root). */
int privdrop_lookup(const char *name, struct privdrop_user *ret);

/* Become u (no supplementary groups), keep no capability in any set
 * (effective, permitted, inheritable, ambient; the bounding set too when
 * we may change it), then make sure uid 0 cannot be had back. 0, or
 * -errno with *ret_step. */
int privdrop_user(const struct privdrop_user *u, const char **ret_step);

/* Stay who we are but keep only the capabilities in caps (CAP_*); the
 * bounding set is cut to them when we may change it. 0, or -errno with
 * *ret_step. */
int privdrop_caps(const int *caps, size_t n, const char **ret_step);

/* prctl(PR_SET_NO_NEW_PRIVS): no exec can give privilege back. */
int privdrop_no_new_privs(const char **ret_step);

/* The seam: true when $SOCKWATCHD_FAIL_STEP is step, or ROLE:step. */
bool privdrop_fail_here(const char *step);
/* This process's role for the seam ("parent", "inspector", ...). */
void privdrop_set_role(const char *role);

#endif
