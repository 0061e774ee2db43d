/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_api_checks.c: every call refuses flags it does not take, missing pointers and bad timeouts. */
#include "testlib.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#define UNKNOWN_FLAG 0x80000000u

static char dir[PATH_MAX], res[PATH_MAX], lockfile[PATH_MAX];

static int count_rec(const struct lockspace_record *rec, void *arg)
{
	(void)rec;
	(*(int *)arg)++;
	return 0;
}

static int count_info(const struct lockspace_info *info, void *arg)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

static void count_pruned(const char *what, void *arg)
{
	(void)what;
	(*(int *)arg)++;
}

static void test_open_flags(void)
{
	char sub[PATH_MAX];
	struct lockspace *ls = (struct lockspace *)1;
	tu_join(sub, tu_scratch_dir, "never");
	is_int(lockspace_open(sub, 0xff00, &ls), -EINVAL, "lockspace_open() with unknown flags: -EINVAL");
	ok(ls == NULL, "and *out is NULL");
	ok(access(sub, F_OK) < 0, "and the directory is not made");
	is_int(lockspace_init(sub, NULL, 0, UNKNOWN_FLAG), -EINVAL,
	       "lockspace_init() with an unknown flag: -EINVAL");
	ok(access(sub, F_OK) < 0, "and the directory is not made either");
	is_int(lockspace_default_dir(NULL), -EINVAL, "lockspace_default_dir(NULL): -EINVAL");
}

static void test_name_pointers(void)
{
	char out[LOCKSPACE_NAME_LEN + 1];
	char *canon = (char *)1;
	is_int(lockspace_canonical("/x", 0, NULL), -EINVAL, "lockspace_canonical() with out NULL: -EINVAL");
	is_int(lockspace_canonical(res, LOCKSPACE_WAIT, &canon), -EINVAL,
	       "lockspace_canonical() with a flag it does not take: -EINVAL");
	ok(canon == NULL, "and *out is NULL");
	is_int(lockspace_canonical(NULL, 0, &canon), -EINVAL, "lockspace_canonical(NULL): -EINVAL");
	is_int(lockspace_name(res, 0, NULL), -EINVAL, "lockspace_name() with out NULL: -EINVAL");
	is_int(lockspace_name(NULL, 0, out), -EINVAL, "lockspace_name() of NULL: -EINVAL");
	is_int(lockspace_name(res, LOCKSPACE_SHARED, out), -EINVAL, "lockspace_name() with SHARED: -EINVAL");
	is_int(lockspace_name(res, UNKNOWN_FLAG, out), -EINVAL,
	       "lockspace_name() with an unknown flag: -EINVAL");
	is_int(lockspace_name(res, LOCKSPACE_LOOKUP, out), 0, "lockspace_name() with LOOKUP still works");
}

static void test_acquire_flags(struct lockspace *ls)
{
	const char *one[1] = {res};
	size_t failed = 42;
	enum lockspace_state state;
	pid_t pid;
	is_int(lockspace_acquire(ls, res, LOCKSPACE_DRY_RUN), -EINVAL, "acquire with DRY_RUN: -EINVAL");
	is_int(lockspace_acquire(ls, res, UNKNOWN_FLAG), -EINVAL, "acquire with 0x80000000: -EINVAL");
	is_int(lockspace_acquire(ls, res, LOCKSPACE_ALL | LOCKSPACE_SHARED), -EINVAL,
	       "acquire with ALL: -EINVAL");
	ok(access(lockfile, F_OK) < 0, "no lock file was made by the refused acquires");
	is_int(lockspace_acquire_many(ls, one, 1, LOCKSPACE_WAIT, -2, &failed), -EINVAL,
	       "acquire_many with WAIT and timeout -2: -EINVAL (not a wait for ever)");
	is_int((int)failed, 42, "*failed is left alone: no resource failed");
	is_int(lockspace_acquire_many(ls, one, 1, 0, -5, NULL), -EINVAL,
	       "acquire_many with timeout -5: -EINVAL");
	ok(access(lockfile, F_OK) < 0, "still no lock file");
	is_int(lockspace_acquire_many(ls, one, 1, LOCKSPACE_WAIT, 0, NULL), 0, "timeout 0 is a valid wait");
	is_int(lockspace_release(ls, res, LOCKSPACE_SHARED), -EINVAL, "release with SHARED: -EINVAL");
	is_int(lockspace_release(ls, res, UNKNOWN_FLAG), -EINVAL, "release with an unknown flag: -EINVAL");
	is_int(lockspace_probe(ls, res, 0, &state, &pid), 0, "probe");
	ok(state == LOCKSPACE_STATE_EXCLUSIVE && pid == getpid(), "the refused releases released nothing");
	is_int(lockspace_release(ls, res, 0), 0, "a plain release");
}

static void test_walk_flags(struct lockspace *ls)
{
	int n = 0;
	enum lockspace_state state;
	pid_t pid;
	is_int(lockspace_foreach(ls, LOCKSPACE_SHARED, count_info, &n), -EINVAL,
	       "foreach with SHARED: -EINVAL");
	is_int(lockspace_foreach(ls, UNKNOWN_FLAG, count_info, &n), -EINVAL,
	       "foreach with an unknown flag: -EINVAL");
	is_int(lockspace_foreach(ls, LOCKSPACE_ALL, NULL, NULL), -EINVAL,
	       "foreach without a callback: -EINVAL");
	is_int(n, 0, "the refused walks called nothing");
	is_int(lockspace_inspect(ls, res, LOCKSPACE_DRY_RUN, count_info, &n), -EINVAL,
	       "inspect with DRY_RUN: -EINVAL");
	is_int(lockspace_inspect(ls, res, LOCKSPACE_WAITERS, count_info, &n), 0,
	       "inspect with WAITERS is fine");
	is_int(n, 1, "and reports the resource");
	is_int(lockspace_probe(ls, res, LOCKSPACE_WAIT, &state, &pid), -EINVAL, "probe with WAIT: -EINVAL");
	is_int(lockspace_records(ls, NULL, NULL), -EINVAL, "lockspace_records() without a callback: -EINVAL");
}

static void test_prune_flags(struct lockspace *ls)
{
	int removed = 0;
	ok(access(lockfile, F_OK) == 0, "a free lock file is there to prune");
	is_int(lockspace_prune(ls, UNKNOWN_FLAG, count_pruned, &removed), -EINVAL,
	       "prune with an unknown flag: -EINVAL");
	is_int(lockspace_prune(ls, LOCKSPACE_DRY_RUN | LOCKSPACE_SHARED, count_pruned, &removed), -EINVAL,
	       "prune with DRY_RUN and SHARED: -EINVAL");
	is_int(removed, 0, "nothing reported removed");
	ok(access(lockfile, F_OK) == 0, "and the free lock file is still there");
	is_int(lockspace_prune(ls, LOCKSPACE_DRY_RUN, NULL, NULL), 1, "a dry run counts it");
	ok(access(lockfile, F_OK) == 0, "and keeps it");
}

static void test_label_checks(struct lockspace *ls)
{
	is_int(lockspace_claim_owner(ls, "api", LOCKSPACE_WAIT, -2), -EINVAL,
	       "claim_owner with timeout -2: -EINVAL");
	is_int(lockspace_claim_owner(ls, "api", 0, -2), -EINVAL, "and without WAIT too");
	is_int(lockspace_claim_owner(ls, "api", LOCKSPACE_SHARED, 0), -EINVAL,
	       "claim_owner with SHARED: -EINVAL");
	pid_t pid;
	is_int(lockspace_owner_pid(ls, "api", &pid), -ENOENT, "the refused claims claimed nothing");
}

/* A second handle of one lockspace cannot keep the process's record too:
 * it would rewrite it with its own locks only. */
static void test_second_recorder(void)
{
	char lnk[PATH_MAX];
	struct lockspace *a, *b, *c;
	tu_join(lnk, tu_scratch_dir, "ls-link");
	if (symlink(dir, lnk) < 0 || lockspace_open(dir, 0, &a) < 0 || lockspace_open(dir, 0, &b) < 0 ||
	    lockspace_open(lnk, 0, &c) < 0) {
		ok(0, "three handles on one lockspace");
		return;
	}
	is_int(lockspace_set_owner(a, "first", 0), 0, "the first handle keeps a record");
	is_int(lockspace_acquire(a, res, 0), 0, "and takes a lock");
	is_int(lockspace_set_owner(b, "second", 0), -EALREADY, "set_owner on a second handle: -EALREADY");
	is_int(lockspace_set_owner(c, NULL, 0), -EALREADY, "also through another spelling of the directory");
	is_int(lockspace_set_owner(a, "first-again", 0), 0, "the first handle may set its owner again");
	pid_t pid = 0;
	is_int(lockspace_owner_pid(a, "second", &pid), -ENOENT, "the refused label is not claimed");
	ok(strcmp(lockspace_strerror(-EALREADY), strerrordesc_np(EALREADY)) != 0,
	   "lockspace_strerror() explains it");

	static struct tu_infos l;
	char name[LOCKSPACE_NAME_LEN + 1];
	tu_name(res, 0, name);
	is_int(lockspace_foreach(a, 0, tu_collect, &l), 0, "foreach");
	const struct tu_holder *h = tu_holder_of(tu_find(&l, name), getpid());
	ok(h && (h->flags & LOCKSPACE_HOLDER_RECORD) && strcmp(h->owner, "first-again") == 0,
	   "the first handle's lock keeps its record and label");
	int n = 0;
	is_int(lockspace_records(a, count_rec, &n), 0, "lockspace_records()");
	is_int(n, 1, "one record for the process");

	lockspace_close(a);
	is_int(lockspace_set_owner(b, "second", 0), 0, "once the first is closed, another handle may record");
	is_int(lockspace_set_owner(c, NULL, 0), -EALREADY, "and the third is refused then");
	lockspace_close(c);
	lockspace_close(b);
	unlink(lnk);
}

/* The control socket: made, reached and removed by the library. */
static void test_control_socket(void)
{
	struct lockspace *ls, *direct;
	int fd = -1, again = -1;
	char sock[PATH_MAX], name[32];
	if (lockspace_open(dir, 0, &ls) < 0 || lockspace_open(NULL, 0, &direct) < 0) {
		ok(0, "handles for the control socket");
		return;
	}
	is_int(lockspace_control_listen(NULL, &fd), -EINVAL, "control_listen(NULL): -EINVAL");
	is_int(lockspace_control_listen(ls, NULL), -EINVAL, "control_listen() without fd: -EINVAL");
	is_int(lockspace_control_listen(direct, &fd), -EOPNOTSUPP,
	       "control_listen() in direct mode: -EOPNOTSUPP");
	is_int(lockspace_control_connect(ls, getpid(), -2), -EINVAL,
	       "control_connect() with timeout -2: -EINVAL");
	is_int(lockspace_control_connect(ls, 0, 0), -EINVAL, "control_connect() to pid 0: -EINVAL");
	is_int(lockspace_control_connect(direct, getpid(), 0), -EOPNOTSUPP,
	       "control_connect() in direct mode: -EOPNOTSUPP");
	is_int(lockspace_control_connect(ls, getpid(), 0), -ENOENT, "nobody listens yet: -ENOENT");
	is_int(lockspace_control_listen(ls, &fd), 0, "control_listen()");
	is_int(lockspace_control_listen(ls, &again), 0, "control_listen() again");
	ok(fd >= 0 && again == fd, "gives the same descriptor");
	snprintf(name, sizeof(name), ".holders/%d" LOCKSPACE_CONTROL_SUFFIX, (int)getpid());
	tu_join(sock, dir, name);
	struct stat st;
	ok(lstat(sock, &st) < 0 && errno == ENOENT,
	   "the socket is an abstract name: no file <records>/<pid>.sock");
	is_int(lockspace_control_connect(ls, getpid(), 0), -ENOENT,
	       "its name is published only in a record: none yet, -ENOENT");
	is_int(lockspace_set_owner(ls, NULL, 0), 0, "a record, with the name");
	int c = lockspace_control_connect(ls, getpid(), 1000);
	ok(c >= 0, "control_connect() to this process's socket");
	if (c >= 0)
		close(c);
	lockspace_close(direct);
	lockspace_close(ls);
	if (lockspace_open(dir, 0, &ls) < 0) {
		ok(0, "a handle after the close");
		return;
	}
	is_int(lockspace_control_connect(ls, getpid(), 0), -ENOENT,
	       "lockspace_close() stops listening: -ENOENT");
	lockspace_close(ls);
}

/* The abstract name that a control socket of this process in @dir had
 * when it was made of things anyone can know: the lockspace directory's
 * device and inode, the pid and its start time. */
static socklen_t control_name(struct sockaddr_un *sa)
{
	struct stat st;
	char buf[1024];
	unsigned long long start = 0;
	int fd = open("/proc/self/stat", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	char *p = n > 0 ? (buf[n] = '\0', strrchr(buf, ')')) : NULL;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	if (stat(dir, &st) < 0)
		tu_bail("stat");
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int len =
		snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "virlock/%llx:%llx/%d/%llu",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, (int)getpid(), start);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
}

/* The "control @NAME" line of this process's record in @dir into @line
 * (without its newline), and the record's mode: 0, or -1 without one. */
static int record_control_line(char *line, size_t size, mode_t *mode)
{
	char name[32], path[PATH_MAX], buf[4096];
	snprintf(name, sizeof(name), ".holders/%d", (int)getpid());
	tu_join(path, dir, name);
	int fd = open(path, O_RDONLY);
	struct stat st;
	ssize_t n = fd >= 0 && fstat(fd, &st) == 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*mode = st.st_mode & 07777;
	char *p = strstr(buf, "\ncontrol ");
	if (!p)
		return -1;
	p++;
	snprintf(line, size, "%.*s", (int)strcspn(p, "\n"), p);
	return 0;
}

/* Another process binds the name it can predict first: the holder listens
 * on a random name that only its record gives, and a client reaches it
 * there, never the squatter; a record without the name sends it to the
 * file, never to a guessed name. */
static void test_control_squatter(void)
{
	struct lockspace *ls;
	struct sockaddr_un sa;
	socklen_t len = control_name(&sa);
	int ready[2];
	if (lockspace_open(dir, 0, &ls) < 0 || pipe(ready) < 0) {
		ok(0, "a handle for the squatter test");
		return;
	}
	pid_t squatter = fork();
	if (squatter == 0) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		char byte = s >= 0 && bind(s, (struct sockaddr *)&sa, len) == 0 && listen(s, 8) == 0;
		if (write(ready[1], &byte, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char byte = 0;
	ok(squatter > 0 && read(ready[0], &byte, 1) == 1 && byte,
	   "a squatter binds the predictable name first");
	int fd = -1;
	is_int(lockspace_set_owner(ls, NULL, 0), 0, "a record");
	is_int(lockspace_control_listen(ls, &fd), 0, "control_listen() with that name taken");
	char name[32], sock[PATH_MAX], line[128] = "";
	snprintf(name, sizeof(name), ".holders/%d" LOCKSPACE_CONTROL_SUFFIX, (int)getpid());
	tu_join(sock, dir, name);
	struct stat st;
	ok(lstat(sock, &st) < 0 && errno == ENOENT, "it makes no file <records>/<pid>.sock");
	mode_t mode = 0;
	ok(record_control_line(line, sizeof(line), &mode) == 0, "its record has a control line");
	ok(strlen(line) == strlen("control @virlock/") + 32 && strncmp(line, "control @virlock/", 17) == 0 &&
		   strspn(line + 17, "0123456789abcdef") == 32,
	   "control @virlock/ and 32 hex digits: %s", line);
	is_int((int)mode, 0600, "in a record closed to others");
	ok(strcmp(line + 9, sa.sun_path + 1) != 0, "not the squatter's name");
	int c = lockspace_control_connect(ls, getpid(), 1000);
	ok(c >= 0, "control_connect() reaches the holder on the name from its record");
	int a = c >= 0 ? accept(fd, NULL, NULL) : -1;
	ok(a >= 0, "the holder has the connection");
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);
	/* A record without the line: a holder of an earlier version. */
	char rec[PATH_MAX], text[4096];
	snprintf(name, sizeof(name), ".holders/%d", (int)getpid());
	tu_join(rec, dir, name);
	ssize_t n = tu_read_file(rec, text, sizeof(text) - 1);
	char *cut = n > 0 ? (text[n] = '\0', strstr(text, "\ncontrol ")) : NULL;
	char stale[4096 + 16];
	const char *st_line = strstr(text, "\nstart ");
	/* The same record with another start time: of an earlier process of this pid. */
	snprintf(stale, sizeof(stale), "%.*s\nstart 1%s", st_line ? (int)(st_line - text) : 0, text,
		 st_line ? strchr(st_line + 1, '\n') : "");
	if (cut)
		memmove(cut + 1, cut + 2 + strlen(line), strlen(cut + 2 + strlen(line)) + 1);
	ok(cut && tu_write_file(rec, text, strlen(text)) == 0 && !strstr(text, "control"),
	   "the record rewritten without the line");
	is_int(lockspace_control_connect(ls, getpid(), 1000), -ENOENT,
	       "without a name in the record: its file, none here (-ENOENT), never the squatter");
	ok(st_line && tu_write_file(rec, stale, strlen(stale)) == 0 && strstr(stale, "\ncontrol @"),
	   "a record with the name and another start time");
	is_int(lockspace_control_connect(ls, getpid(), 1000), -ENOENT,
	       "names nothing of this process: its file, none here (-ENOENT)");
	kill(squatter, SIGKILL);
	waitpid(squatter, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	lockspace_close(ls);
}

static struct lockspace *shared_ls;

static void set_up(void)
{
	tu_lockspace_dir(dir);
	tu_join(res, tu_scratch_dir, "r.img");
	tu_touch(res);
	tu_lockfile(lockfile, dir, res, 0);
	if (lockspace_open(dir, 0, &shared_ls) < 0)
		tu_bail("lockspace_open");
}

static void test_handle_calls(void)
{
	test_acquire_flags(shared_ls);
	test_walk_flags(shared_ls);
	test_prune_flags(shared_ls);
	test_label_checks(shared_ls);
	lockspace_close(shared_ls);
}

TU_MAIN(set_up, test_open_flags, test_name_pointers, test_handle_calls, test_second_recorder,
	test_control_socket, test_control_squatter)
