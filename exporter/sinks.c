#include "sinks.h"

#include "../common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

/* Alerts between two ticks stay in memory; a burst bigger than this is
 * written out early by stdio. */
#define SINKS_FILE_BUF (256 * 1024)
#define SINKS_NO_GID ((gid_t)-1)

struct sinks {
	char *path;			/* NULL: no file */
	FILE *fp;			/* NULL after a failed reopen */
	gid_t gid;			/* the file's group, or SINKS_NO_GID */
	int use_syslog;
	uint64_t errors;
};


/*
 * The file is 0640 and, with a group, that group's, whatever the umask
 * (the daemon's is 077) and whatever it was before: the mode and group
 * are set on the descriptor, so they land on the file we opened, and
 * O_NOFOLLOW refuses a symbolic link in its place (-ELOOP). Only a
 * regular file is changed (not /dev/stdout, say). Without CAP_CHOWN the
 * group must be one of ours.
 */
static int
file_protect(int fd, gid_t gid, const char **ret_step)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return 0;
	*ret_step = "giving it to the control group: ";
	if (gid != SINKS_NO_GID && sb.st_gid != gid &&
	    fchown(fd, (uid_t)-1, gid) < 0)
		return -errno;
	*ret_step = "making it 0640: ";
	if ((sb.st_mode & 07777) != 0640 && fchmod(fd, 0640) < 0)
		return -errno;
	*ret_step = "";
	return 0;
}

/* 0, or -errno and in *ret_step what failed ("" for opening). */
static int
file_open(const char *path, gid_t gid, FILE **ret_fp, const char **ret_step)
{
	FILE *fp;
	int fd, r;

	*ret_step = "";
	if ((r = util_mkdir_parents(path, 0750)) < 0)
		return r;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	if ((r = file_protect(fd, gid, ret_step)) < 0) {
		close(fd);
		return r;
	}
	fp = fdopen(fd, "a");
	if (fp == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	setvbuf(fp, NULL, _IOFBF, SINKS_FILE_BUF);
	*ret_fp = fp;
	return 0;
}

/* Flush and close; 0 or -errno. */
static int
file_close(FILE *fp)
{
	int r = 0;

	if (fflush(fp) != 0)
		r = -errno;
	if (fclose(fp) != 0 && r == 0)
		r = -errno;
	return r;
}

int
sinks_open(const char *alerts_file, const char *group, int use_syslog,
    struct sinks **ret_sinks, char *err, size_t errlen)
{
	const char *step = "";
	struct sinks *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	s->use_syslog = use_syslog;
	s->gid = SINKS_NO_GID;
	if (alerts_file != NULL && *alerts_file != '\0') {
		s->path = strdup(alerts_file);
		if (s->path == NULL) {
			r = -ENOMEM;
			goto fail;
		}
		if (group != NULL && (r = util_group_gid(group,
		    &s->gid)) < 0) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: group \"%s\": %s",
				    alerts_file, group, r == -ENOENT ?
				    "no such group" : strerror(-r));
			goto out;
		}
		if ((r = file_open(s->path, s->gid, &s->fp, &step)) < 0)
			goto fail;
	}
	*ret_sinks = s;
	return 0;
fail:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s%s", alerts_file ? alerts_file :
		    "sinks", step, strerror(-r));
out:
	if (s != NULL)
		free(s->path);
	free(s);
	return r;
}

void
sinks_close(struct sinks *s)
{
	if (s == NULL)
		return;
	if (s->fp != NULL)
		file_close(s->fp);
	free(s->path);
	free(s);
}

/* Copy src into the line, control characters and non-ASCII as '?', so
 * that one alert is one syslog line. */
static void
put_clean(char **p, char *end, const char *src, size_t max)
{
	size_t i;

	for (i = 0; i < max && src[i] != '\0' && *p + 1 < end; i++) {
		unsigned char c = (unsigned char)src[i];

		*(*p)++ = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	**p = '\0';
}

static void
put_fmt(char **p, char *end, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
put_fmt(char **p, char *end, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*p + 1 >= end)
		return;
	va_start(ap, fmt);
	n = vsnprintf(*p, (size_t)(end - *p), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*p += (size_t)n < (size_t)(end - *p) ? (size_t)n :
	    (size_t)(end - *p) - 1;
}

char *
sinks_format_line(const struct alert *a, char *buf, size_t len)
{
	char abuf[ADDR_STRLEN], *p = buf, *end = buf + len;

	if (len == 0)
		return buf;
	*p = '\0';
	put_fmt(&p, end, "alert ");
	put_clean(&p, end, a->kind, sizeof(a->kind));
	put_fmt(&p, end, " %s id=%llu peer=%s", alert_severity_name(a->severity),
	    (unsigned long long)a->id, a->has_peer ?
	    addr_format(&a->peer, abuf, sizeof(abuf)) : "-");
	put_fmt(&p, end, " local=%s", a->has_local ?
	    addr_format_port(&a->local_addr, a->local_port, abuf,
	    sizeof(abuf)) : "-");
	if (a->has_process) {
		put_fmt(&p, end, " process=");
		put_clean(&p, end, a->comm, sizeof(a->comm));
		put_fmt(&p, end, "[%ld] uid=%lu", (long)a->pid,
		    (unsigned long)a->uid);
	}
	put_fmt(&p, end, " action=");
	put_clean(&p, end, a->action, sizeof(a->action));
	put_fmt(&p, end, ": ");
	put_clean(&p, end, a->message, sizeof(a->message));
	return buf;
}

static int
syslog_priority(enum alert_severity sev)
{
	switch (sev) {
	case ALERT_CRITICAL:
		return LOG_CRIT;
	case ALERT_WARNING:
		return LOG_WARNING;
	default:
		return LOG_NOTICE;
	}
}

void
sinks_alert(struct sinks *s, const struct alert *a)
{
	char line[1024], *text;
	json_t *j;
	size_t n;

	if (s->use_syslog) {
		sinks_format_line(a, line, sizeof(line));
		syslog(LOG_DAEMON | syslog_priority(a->severity), "%s", line);
	}
	if (s->path == NULL)
		return;
	if (s->fp == NULL) {
		/* The last reopen failed: this line is lost. */
		s->errors++;
		return;
	}
	j = alert_to_json(a);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL) {
		s->errors++;
		return;
	}
	n = strlen(text);
	text[n] = '\n';		/* replaces the NUL; written by length */
	if (fwrite(text, 1, n + 1, s->fp) != n + 1) {
		s->errors++;
		clearerr(s->fp);
	}
	free(text);
}

int
sinks_flush(struct sinks *s)
{
	int r;

	if (s->fp == NULL)
		return 0;
	if (fflush(s->fp) != 0) {
		r = -errno;
		s->errors++;
		clearerr(s->fp);
		return r;
	}
	return 0;
}

int
sinks_reopen(struct sinks *s)
{
	const char *step;
	int r = 0, r2;

	if (s->path == NULL)
		return 0;
	if (s->fp != NULL) {
		if ((r = file_close(s->fp)) < 0)
			s->errors++;
		s->fp = NULL;
	}
	if ((r2 = file_open(s->path, s->gid, &s->fp, &step)) < 0) {
		s->fp = NULL;
		s->errors++;
		return r2;
	}
	return r;
}

uint64_t
sinks_errors(const struct sinks *s)
{
	return s->errors;
}
