/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fakeholder.c: test helper that plays a hostile holder (or client) on a lockspace's control socket. */
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "helper.h"

#define FH_MAX_CONN 64

static const char usage_text[] =
	"usage: fakeholder holder MODE LOCKSPACE NAME[:NAME...] [OWNER]\n"
	"       fakeholder client MODE SOCKET\n"
	"       fakeholder squat NAME [full]\n"
	"holder: take a raw fcntl write lock on byte 0 of each LOCKSPACE/NAME (which must exist),\n"
	"  listen on LOCKSPACE/.holders/<pid>.sock (and, with OWNER, write a holder record\n"
	"  naming OWNER), print \"ready\", then answer every connection as MODE says until\n"
	"  SIGTERM, SIGINT or SIGHUP:\n"
	"  garbage  a line of binary junk     long    4096 bytes and no newline\n"
	"  silent   nothing, connection kept  close   close at once, unread\n"
	"  nul      \"ok\", a NUL byte, junk    badcode \"err 5 text\" (a positive code)\n"
	"  lie      \"ok\" (and release nothing)\n"
	"client: connect to SOCKET and send MODE's request, print the answer line (or\n"
	"  \"<eof>\"), within 10 seconds:\n"
	"  garbage  binary junk and a newline half    half a line, then hang up\n"
	"  nul      \"ping\", NUL, \"\\n\"                  huge    2 MiB and no newline\n"
	"  silent   nothing for 3 seconds          ping    \"ping\\n\"\n"
	"  A SOCKET that starts with @ is an abstract name (the @ stands for its NUL byte).\n"
	"squat: listen on the abstract name NAME (without its @) before its holder does,\n"
	"  print \"ready\", then for each connection print \"request: LINE\" for what the\n"
	"  client sent within a second (\"no request\" if nothing) and answer \"ok\",\n"
	"  until SIGTERM, SIGINT or SIGHUP. With full: a backlog of one, filled by a\n"
	"  connection of its own, never accepted (a client's connect blocks).\n"
	"Exit status: 0 done, 1 error, 2 usage.\n";

static int die(const char *what)
{
	return fail("fakeholder", what, errno);
}

static void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Read what the client sent, up to its newline, for at most one second. */
static void drain_request(int fd)
{
	char buf[4096];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			return;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0 || memchr(buf, '\n', (size_t)n))
			return;
	}
}

/* Answer one connection; returns 1 if it must stay open (silent). */
static int answer(int fd, const char *mode)
{
	static const char junk[] = "\x01\xfe\xff garbage \x1b[31m answer\n";
	static const char nul[] = "ok\0trailing junk\n";
	if (strcmp(mode, "close") == 0)
		return 0;
	if (strcmp(mode, "silent") == 0)
		return 1;
	drain_request(fd);
	if (strcmp(mode, "garbage") == 0) {
		send_all(fd, junk, sizeof(junk) - 1);
	} else if (strcmp(mode, "long") == 0) {
		char buf[4096];
		memset(buf, 'A', sizeof(buf));
		send_all(fd, buf, sizeof(buf));
	} else if (strcmp(mode, "nul") == 0) {
		send_all(fd, nul, sizeof(nul) - 1);
	} else if (strcmp(mode, "badcode") == 0) {
		static const char bad[] = "err 5 text\n";
		send_all(fd, bad, sizeof(bad) - 1);
	} else if (strcmp(mode, "lie") == 0) {
		send_all(fd, "ok\n", strlen("ok\n"));
	}
	return 0;
}

static unsigned long long self_start(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++; /* the space before field 3 */
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

static int write_record(const char *name, const char *owner)
{
	char file[32];
	snprintf(file, sizeof(file), "%d", (int)getpid());
	FILE *f = fopen(file, "wx");
	if (!f)
		return die("record");
	fprintf(f, "virlock-holder 1\npid %d\nstart %llu\nowner %s\nlock %s exclusive %lld\n", (int)getpid(),
		self_start(), owner, name, (long long)time(NULL));
	return fclose(f) == 0 ? 0 : die("record");
}

/* The next connection on the listening @s, or -1 once a stop signal comes on @sfd. */
static int next_client(int sfd, int s)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = s, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (p[0].revents)
			return -1;
		if (!(p[1].revents & POLLIN))
			continue;
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			return c;
	}
}

static int holder(const char *mode, const char *dir, const char *name, const char *owner)
{
	if (chdir(dir) < 0)
		return die(dir);
	/* NAME may be several files joined with ':', each locked by this process. */
	char names[4096];
	snprintf(names, sizeof(names), "%s", name);
	int lfd[16], nl = 0;
	for (char *save = NULL, *n = strtok_r(names, ":", &save); n && nl < 16;
	     n = strtok_r(NULL, ":", &save)) {
		lfd[nl] = open(n, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (lfd[nl] < 0)
			return die(n);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
		if (fcntl(lfd[nl++], F_SETLK, &fl) < 0)
			return die("lock");
	}
	if ((mkdir(".holders", 0700) < 0 && errno != EEXIST) || chdir(".holders") < 0)
		return die(".holders");
	if (owner && write_record(names, owner))
		return 1;
	int sfd = stop_signals_fd();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%d.sock", (int)getpid());
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sfd < 0 || s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0)
		return die("socket");
	if (announce("fakeholder"))
		return 1;
	int kept[FH_MAX_CONN], nkept = 0;
	for (int c; (c = next_client(sfd, s)) >= 0;) {
		if (answer(c, mode) && nkept < FH_MAX_CONN)
			kept[nkept++] = c;
		else
			close(c);
	}
	for (int i = 0; i < nkept; i++)
		close(kept[i]);
	unlink(sa.sun_path);
	if (owner) {
		char file[32];
		snprintf(file, sizeof(file), "%d", (int)getpid());
		unlink(file);
	}
	while (nl > 0)
		close(lfd[--nl]);
	return 0;
}

/* @path's address: a file, or with a leading @ an abstract name. 0 or -1. */
static int address(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	*len = sizeof(*sa);
	if (path[0] == '@') {
		sa->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	}
	return 0;
}

/* Take the abstract name @name first, and tell what its clients send; or,
 * with @full, fill its backlog and accept nothing. */
static int squat(const char *name, int full)
{
	char at[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	struct sockaddr_un sa;
	socklen_t len;
	snprintf(at, sizeof(at), "@%s", name);
	if (address(at, &sa, &len) < 0)
		return die(name);
	int sfd = stop_signals_fd();
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sfd < 0 || s < 0 || bind(s, (struct sockaddr *)&sa, len) < 0 || listen(s, full ? 0 : 16) < 0)
		return die("socket");
	int own = full ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
	if (full && (own < 0 || connect(own, (struct sockaddr *)&sa, len) < 0))
		return die("connect");
	if (announce("fakeholder"))
		return 1;
	if (full) {
		struct pollfd p = {.fd = sfd, .events = POLLIN};
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		return 0;
	}
	for (int c; (c = next_client(sfd, s)) >= 0;) {
		char buf[256];
		struct pollfd cp = {.fd = c, .events = POLLIN};
		ssize_t n = poll(&cp, 1, 1000) > 0 ? recv(c, buf, sizeof(buf) - 1, MSG_DONTWAIT) : 0;
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			printf("request: %s\n", buf);
		} else {
			puts("no request");
		}
		fflush(stdout);
		send_all(c, "ok\n", 3);
		close(c);
	}
	return 0;
}

static int client(const char *mode, const char *path)
{
	struct sockaddr_un sa;
	socklen_t salen;
	if (address(path, &sa, &salen) < 0)
		return die(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, salen) < 0)
		return die(path);
	if (strcmp(mode, "garbage") == 0) {
		static const char junk[] = "\xff\xfe\x01 release \x1b ../../etc/passwd %zz\n";
		send_all(fd, junk, sizeof(junk) - 1);
	} else if (strcmp(mode, "nul") == 0) {
		static const char nul[] = "ping\0\n";
		send_all(fd, nul, sizeof(nul) - 1);
	} else if (strcmp(mode, "half") == 0) {
		send_all(fd, "release-a", strlen("release-a"));
		close(fd);
		puts("<eof>");
		return 0;
	} else if (strcmp(mode, "huge") == 0) {
		char *buf = malloc(2u << 20);
		if (!buf)
			return die("malloc");
		memset(buf, 'x', 2u << 20);
		send_all(fd, buf, 2u << 20);
		free(buf);
	} else if (strcmp(mode, "silent") == 0) {
		poll(NULL, 0, 3000);
	} else if (strcmp(mode, "ping") == 0) {
		send_all(fd, "ping\n", strlen("ping\n"));
	} else {
		usage(usage_text);
	}
	char buf[1100];
	size_t len = 0;
	while (len < sizeof(buf) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	puts(len ? buf : "<eof>");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && argc <= 6 && strcmp(argv[1], "holder") == 0)
		return holder(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	if (argc == 4 && strcmp(argv[1], "client") == 0)
		return client(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "squat") == 0)
		return squat(argv[2], 0);
	if (argc == 4 && strcmp(argv[1], "squat") == 0 && strcmp(argv[3], "full") == 0)
		return squat(argv[2], 1);
	usage(usage_text);
}
