/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lockhold.c: test helper that holds locks (through liblockspace or raw fcntl) until it is told to stop. */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include "helper.h"

static const char usage_text[] =
	"usage: lockhold [-s] [-w] [-t MS] [-l] [-b] [-R] [-o OWNER] [-c CHILD] [-i] [-D] [-2] [-H] DIR "
	"RESOURCE...\n"
	"       lockhold -F [-O] [-s] [-w] [-i] FILE\n"
	"Take the locks (-F: a raw fcntl lock on byte 0 of FILE, no library; -O an OFD lock),\n"
	"print \"ready\",\n"
	"then hold them until SIGTERM, SIGINT or SIGHUP (with -i also EOF on stdin).\n"
	"  -s shared  -w wait  -t MS wait at most MS  -l literal  -b by name\n"
	"  -R write a holder record  -o OWNER record with an owner  -c CHILD record a child\n"
	"  -D then open and close each lock file: POSIX drops the locks, the record stays\n"
	"  -2 take the last RESOURCE through a second handle of DIR\n"
	"  -H print \"handoff TOKEN\" before \"ready\": the hand-off state of the\n"
	"     locks as held (lockspace_handoff()), without releasing them\n"
	"Exit status: 0 released, 75 busy or timed out, 1 other error, 2 usage.\n";

/* Announce "ready", then block until a stop signal arrives, or EOF on stdin
 * with @use_stdin. The stop signals are blocked before the announcement: a
 * SIGTERM sent as soon as "ready" is read must end the wait, not the process. */
static int announce_and_wait(int use_stdin)
{
	int sfd = stop_signals_fd();
	if (sfd < 0)
		return sfd;
	if (announce("lockhold")) {
		close(sfd);
		return -EIO;
	}
	struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
	for (;;) {
		if (poll(pfd, use_stdin ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents) {
			char buf[256];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0 && !(n < 0 && errno == EINTR))
				break;
		}
	}
	close(sfd);
	return 0;
}

static int raw_lock(const char *file, int shared, int wait, int ofd, int use_stdin)
{
	int fd = open(file, (shared ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail("lockhold", file, errno);
	struct flock fl = {
		.l_type = shared ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	int rc;
	int cmd = ofd ? (wait ? F_OFD_SETLKW : F_OFD_SETLK) : (wait ? F_SETLKW : F_SETLK);
	while ((rc = fcntl(fd, cmd, &fl)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		int busy = errno == EAGAIN || errno == EACCES;
		fail("lockhold", file, errno);
		close(fd);
		return busy ? 75 : 1;
	}
	rc = announce_and_wait(use_stdin) < 0;
	close(fd);
	return rc;
}

/* Print "handoff TOKEN" for @res[0..@n), held through @ls: their hand-off state as held. */
static int print_handoff(struct lockspace *ls, const char *const *res, size_t n, unsigned flags)
{
	struct lockspace_handoff_item *items = calloc(n, sizeof(*items));
	char *token = NULL;
	int err = items ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		err = lockspace_name(res[i], flags & (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME), items[i].name);
		if (!err)
			err = lockspace_handoff(ls, res[i], flags & (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME),
						&items[i].state);
	}
	if (!err)
		err = lockspace_handoff_format(lockspace_backend(ls), items, n, &token);
	if (!err && (printf("handoff %s\n", token) < 0 || fflush(stdout) == EOF))
		err = -errno;
	free(token);
	free(items);
	return err < 0 ? fail("lockhold", "handoff", err), err : 0;
}

int main(int argc, char **argv)
{
	unsigned flags = 0;
	int timeout = -1, record = 0, raw = 0, ofd = 0, use_stdin = 0, drop = 0, second = 0, handoff = 0, opt;
	const char *owner = NULL;
	pid_t child = 0;
	while ((opt = getopt(argc, argv, "swt:lbRo:c:iFOD2H")) != -1) {
		if (lock_option(opt, &flags))
			continue;
		switch (opt) {
		case 't':
			timeout = atoi(optarg);
			break;
		case 'R':
			record = 1;
			break;
		case 'o':
			owner = optarg;
			record = 1;
			break;
		case 'c':
			child = (pid_t)atoi(optarg);
			record = 1;
			break;
		case 'i':
			use_stdin = 1;
			break;
		case 'F':
			raw = 1;
			break;
		case 'O':
			ofd = 1;
			break;
		case 'D':
			drop = 1;
			break;
		case '2':
			second = 1;
			break;
		case 'H':
			handoff = 1;
			break;
		default:
			usage(usage_text);
		}
	}
	if (raw) {
		if (optind + 1 != argc)
			usage(usage_text);
		return raw_lock(argv[optind], !!(flags & LOCKSPACE_SHARED), !!(flags & LOCKSPACE_WAIT), ofd,
				use_stdin);
	}
	if (optind + 2 > argc)
		usage(usage_text);

	struct lockspace *ls;
	int err = lockspace_open(argv[optind], 0, &ls);
	if (err < 0) {
		fprintf(stderr, "lockhold: lockspace %s: %s\n", argv[optind], lockspace_strerror(err));
		return 1;
	}
	if (record && (err = lockspace_set_owner(ls, owner, child)) < 0) {
		fail("lockhold", "set_owner", err);
		lockspace_close(ls);
		return 1;
	}
	const char *const *res = (const char *const *)&argv[optind + 1];
	size_t n = (size_t)(argc - optind - 1), failed = 0;
	size_t n1 = second && n > 1 ? n - 1 : n;
	struct lockspace *ls2 = NULL;
	err = lockspace_acquire_many(ls, res, n1, flags, timeout, &failed);
	if (err == 0 && n1 < n) {
		failed = n1;
		err = lockspace_open(argv[optind], 0, &ls2);
		if (err == 0)
			err = lockspace_acquire(ls2, res[n1], flags);
	}
	if (err < 0) {
		fail("lockhold", res[failed < n ? failed : 0], err);
		lockspace_close(ls2);
		lockspace_close(ls);
		return err == -EBUSY || err == -ETIMEDOUT ? 75 : 1;
	}
	for (size_t i = 0; drop && i < n; i++) {
		char name[LOCKSPACE_NAME_LEN + 1], file[4096];
		if (lockspace_name(res[i], flags & (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME), name) < 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", argv[optind], name);
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd); /* closing any descriptor of the file drops our locks on it */
	}
	if (handoff && print_handoff(ls, res, n1, flags) < 0) {
		lockspace_close(ls2);
		lockspace_close(ls);
		return 1;
	}
	int rc = announce_and_wait(use_stdin) < 0;
	lockspace_close(ls2);
	lockspace_close(ls);
	return rc;
}
