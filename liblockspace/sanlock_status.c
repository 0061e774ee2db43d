/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_status.c: this host in a sanlock lockspace: daemon, host id and name, io timeout, watchdog. */
#include <errno.h>
#include <string.h>

#include "internal.h"

#ifdef HAVE_SANLOCK
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sanlock_backend.h"
#include "sanlock_delta.h"

/* Where wdmd listens (its WDMD_RUN_DIR, fixed when it is built). */
#define SS_WDMD_SOCKET "/run/wdmd/wdmd.sock"
#define SS_CONF	       "/etc/sanlock/sanlock.conf"

/* Read the small file @path into @buf (NUL-terminated): its length or -errno. */
static ssize_t ss_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	return n;
}

/* Does the daemon run without a watchdog? 1 yes (-w 0 on its command line,
 * or use_watchdog = 0 in its configuration and no -w), 0 no, -1 unknown. */
static int ss_watchdog_off(void)
{
	const char *run = getenv("SANLOCK_RUN_DIR"); /* as libsanlock_client finds the daemon */
	char path[4096], buf[4096];
	snprintf(path, sizeof(path), "%s/sanlock.pid", run && *run ? run : "/run/sanlock");
	if (ss_read(path, buf, sizeof(buf)) <= 0)
		return -1;
	long pid = strtol(buf, NULL, 10);
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	ssize_t n = pid > 0 ? ss_read(path, buf, sizeof(buf)) : -EINVAL;
	if (n <= 0)
		return -1;
	/* The arguments, NUL-separated: "-w" "0" or "-w0" (the last -w counts). */
	int off = -1;
	for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
		char *next = a + strlen(a) + 1;
		if (strncmp(a, "-w", 2) == 0 && (a[2] || next < buf + n))
			off = strcmp(a[2] ? a + 2 : next, "0") == 0;
	}
	if (off >= 0)
		return off;
	if (ss_read(SS_CONF, buf, sizeof(buf)) > 0)
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			int v;
			if (sscanf(line, " use_watchdog = %d", &v) == 1)
				return v == 0;
		}
	return 0;
}

/* Does wdmd answer on its socket? */
static int ss_wdmd(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", SS_WDMD_SOCKET);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

int lockspace_sanlock_status(struct lockspace *ls, struct lockspace_sanlock_status *st)
{
	if (!ls || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if (strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) != 0)
		return -EOPNOTSUPP;
	int off = ss_watchdog_off();
	st->watchdog = off > 0	   ? LOCKSPACE_WATCHDOG_OFF
		       : ss_wdmd() ? LOCKSPACE_WATCHDOG_ON
		       : off == 0  ? LOCKSPACE_WATCHDOG_MISSING
				   : LOCKSPACE_WATCHDOG_UNKNOWN;
	int err = lsi_sl_daemon();
	if (err == -ECONNREFUSED)
		return 0;
	if (err)
		return err;
	st->daemon = 1;
	uint64_t id = 0, generation = 0;
	err = lsi_sl_self(ls, &id, &generation);
	if (err == -ENOTCONN)
		return 0;
	if (err)
		return err;
	st->host_id = (unsigned)id;
	st->generation = generation;
	struct lsi_delta d;
	if (lsi_delta_read(ls, (unsigned)id, &d) == 0) {
		snprintf(st->host_name, sizeof(st->host_name), "%s", d.host_name);
		st->io_timeout = d.io_timeout;
	}
	return 0;
}
#else
int lockspace_sanlock_status(struct lockspace *ls, struct lockspace_sanlock_status *st)
{
	if (!ls || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	return -EOPNOTSUPP;
}
#endif
