/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* testlib.h: scratch directories, helper processes, lock probes and collectors for the unit tests
 * (compiled once, in testlib.c, and linked into every unit test). */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockspace.h"
#include "tap.h"

/*
 * Rules every test keeps: the test process never opens a lock file it holds
 * (closing that descriptor would drop its own lock), so lock files are read
 * and probed from forked children; nothing sleeps to synchronise, every wait
 * for another process has a deadline, and helper children die on their own
 * when the test forgets them or dies.
 */

#define TU_UNUSED __attribute__((unused))

/* Longest wait for another process to answer before the test gives up. */
#define TU_DEADLINE_MS 15000
/* Longest a helper child waits for its next order before exiting by itself. */
#define TU_CHILD_LIFE_MS 30000
/* Whole-program watchdog: a hung test dies of SIGALRM instead of hanging make check. */
#define TU_WATCHDOG_S 120
/* What tu_answer() returns when the child said nothing in time. */
#define TU_NOANSWER (-100000)

/* Orders to a helper child. */
enum { TU_CMD_QUIT = 1, TU_CMD_RELEASE_ALL, TU_CMD_CLOSE, TU_CMD_GO };

/* ---- the program: TU_MAIN(step, ...) ---- */

/* The scratch directory TU_MAIN makes (canonical, under $TMPDIR) and removes at the end. */
extern char tu_scratch_dir[PATH_MAX];

/*
 * The main() of a unit test: tu_init(), a scratch directory in tu_scratch_dir,
 * then each step (a void function: a set-up or a group of tests) in order,
 * the scratch directory removed, the plan printed; the exit status is
 * tap_done()'s. A test that needs another shape writes its own main().
 */
#define TU_MAIN(...)                                                                                         \
	int main(void)                                                                                       \
	{                                                                                                    \
		static void (*const tu_steps_[])(void) = {__VA_ARGS__};                                      \
		return tu_main(tu_steps_, sizeof(tu_steps_) / sizeof(tu_steps_[0]));                         \
	}

/* What TU_MAIN runs: n steps between the set-up and the plan. */
int tu_main(void (*const *steps)(void), size_t n);

/* Print "Bail out! why" and exit 1: the test cannot go on. */
__attribute__((noreturn)) void tu_bail(const char *why);

/* The watchdog (TU_WATCHDOG_S), umask 022, SIGPIPE ignored. */
void tu_init(void);

/* CLOCK_MONOTONIC in milliseconds. */
long long tu_now_ms(void);

/* ---- files ---- */

/* dir + "/" + name into buf (PATH_MAX bytes); returns buf. */
char *tu_join(char *buf, const char *dir, const char *name);

/* Make a scratch directory under $TMPDIR (canonical path into buf, PATH_MAX). */
int tu_scratch(char *buf);

/* Remove a tree, not following symlinks. */
void tu_rmrf(const char *path);

/* Create or truncate path with exactly these bytes. */
int tu_write_file(const char *path, const void *data, size_t len);

/* Read a file that this process does NOT hold a lock on (NUL-terminated). */
ssize_t tu_read_file(const char *path, char *buf, size_t size);

/* Create an empty file (a resource to lock). */
int tu_touch(const char *path);

/* Make the symlink path -> target, or bail out: the tests that follow need it. */
void tu_symlink(const char *target, const char *path);

/* The comm of this process, as /proc/<pid>/comm gives it (children of fork share it). */
void tu_comm(char *buf, size_t size);

/* ---- talking to helper children over pipes ---- */

/* Send one int: 0 or -EPIPE. */
int tu_send(int fd, int v);

/* Receive one int within timeout_ms: 0, -ETIMEDOUT, or -EPIPE (closed). */
int tu_recv(int fd, int *v, int timeout_ms);

/* Send a whole buffer (length first), for file contents read by a child. */
int tu_send_buf(int fd, const void *buf, int len);

struct tu_child {
	pid_t pid;
	int to;	  /* write orders here */
	int from; /* read answers here */
};

/* A helper child's body: read orders from rd, answer on wr; returns its exit status. */
typedef int (*tu_child_fn)(int rd, int wr, void *arg);

/* Fork a helper child running fn(rd, wr, arg); it dies with the test (or after TU_WATCHDOG_S). */
int tu_spawn(struct tu_child *c, tu_child_fn fn, void *arg);

/* The child's next answer, or TU_NOANSWER after timeout_ms or on EOF. */
int tu_answer_within(struct tu_child *c, int timeout_ms);

/* The child's next answer, or TU_NOANSWER after TU_DEADLINE_MS or on EOF. */
int tu_answer(struct tu_child *c);

/* Child side: wait for the next order; -1 on EOF or when the child lived too long. */
int tu_order(int rd);

/* Wait for the child to end (killing it after the deadline); its exit status or 128+signal. */
int tu_reap(struct tu_child *c);

/* Tell a helper child to quit and reap it. */
int tu_stop(struct tu_child *c);

/* ---- a child that holds locks through its own handle ---- */

struct tu_hold_spec {
	const char *dir; /* NULL: direct mode */
	const char *res[8];
	size_t n;
	unsigned flags;
	int timeout_ms;	   /* for LOCKSPACE_WAIT */
	const char *owner; /* lockspace_set_owner() first if not NULL */
	pid_t owner_child;
	int wait_go;  /* wait for TU_CMD_GO before acquiring (answers 0 when ready) */
	int no_close; /* on TU_CMD_QUIT exit without lockspace_close(): the record stays */
};

/* Start a holder child; its first answer (tu_answer) is the acquire's result. */
int tu_hold_start(struct tu_child *c, const struct tu_hold_spec *s);

/* Start a holder child and return the acquire's result (TU_NOANSWER if none). */
int tu_hold(struct tu_child *c, const struct tu_hold_spec *s);

/* One resource, one flag set, in a child that keeps it: the acquire's result. */
int tu_hold1(struct tu_child *c, const char *dir, const char *res, unsigned flags);

/* Try an acquire in another process, which then exits: the acquire's result. */
int tu_try_elsewhere(const char *dir, const char *res, unsigned flags);

/* ---- probing locks from another process ---- */

struct tu_lk {
	int type; /* F_UNLCK, F_RDLCK, F_WRLCK */
	pid_t pid;
	long long start, len;
};

/* F_GETLK (as a would-be writer) on [start, start+len) of path, from another process. */
int tu_probe_range(const char *path, long long start, long long len, struct tu_lk *lk);

/* The lock on byte 0 of path as another process sees it: F_UNLCK, F_RDLCK, F_WRLCK or -errno. */
int tu_state(const char *path, pid_t *pid);

/* "free", "shared", "exclusive" or "error". */
const char *tu_type_name(int type);

/* Assert that another process sees path locked as type by pid (pid -1: any; ignored for F_UNLCK). */
#define tu_sees(path, type, pid, ...)                                                                        \
	do {                                                                                                 \
		pid_t tu_p_ = 0;                                                                             \
		int tu_t_ = tu_state((path), &tu_p_);                                                        \
		int tu_ok_ = tu_t_ == (type) && ((type) == F_UNLCK || (pid) < 0 || tu_p_ == (pid));          \
		ok(tu_ok_, __VA_ARGS__);                                                                     \
		if (!tu_ok_)                                                                                 \
			printf("#   another process sees %s (%d) by pid %d, want %s by pid %d\n",            \
			       tu_type_name(tu_t_), tu_t_, (int)tu_p_, tu_type_name(type), (int)(pid));      \
	} while (0)

/* ---- a child that reads a file (so the test never opens a lock file it holds) ---- */

/* Read up to size-1 bytes of path in another process; length or -errno. */
ssize_t tu_read_elsewhere(const char *path, char *buf, size_t size);

/* ---- running a call in a child, so that a hang is a failure, not a hung suite ---- */

typedef int (*tu_call_fn)(void *arg);

/* Run fn(arg) in a child; its result, or TU_NOANSWER if it did not return within timeout_ms. */
int tu_run(tu_call_fn fn, void *arg, int timeout_ms);

/* Fork a helper child running fn(rd, wr, arg) and reap it after its first answer: that answer, or
 * TU_NOANSWER (the child killed) if none came within timeout_ms; -errno if it could not start. */
int tu_run_child(tu_child_fn fn, void *arg, int timeout_ms);

/* ---- independent oracles: md5sum(1), /proc/locks, inotify ---- */

/* MD5 of bytes by md5sum(1), lowercase hex into out[33]; scratch is a writable directory. */
int tu_md5sum(const char *scratch, const void *bytes, size_t len, char out[33]);
/* The same by sha256sum(1): 64 hex digits. */
int tu_sha256sum(const char *scratch, const void *bytes, size_t len, char out[65]);

/* 1 if /proc/locks shows pid blocked waiting for a POSIX lock on path's inode. */
int tu_proc_waiting(pid_t pid, const char *path);

/* An inotify descriptor reporting opens of path (IN_OPEN); -errno on failure. */
int tu_watch_opens(const char *path);

/* Number of opens reported since the last call. */
int tu_opens(int fd);

/* ---- collecting what lockspace_foreach()/lockspace_inspect() report ---- */

#define TU_MAX_INFO    64
#define TU_MAX_HOLDERS 8
#define TU_MAX_WAITERS 8

struct tu_holder {
	pid_t pid;
	int mode;
	unsigned flags;
	int has_owner;
	char owner[64];
	int has_command;
	char command[32];
	pid_t child;
	time_t since;
};

struct tu_info {
	char name[LOCKSPACE_NAME_LEN + 1];
	char lockfile[PATH_MAX];
	int has_path;
	char path[PATH_MAX];
	int integrity;
	int state;
	size_t nholders;
	struct tu_holder h[TU_MAX_HOLDERS];
	size_t nwaiters;
	pid_t w[TU_MAX_WAITERS];
	size_t nstale;
	struct tu_holder s[TU_MAX_HOLDERS];
};

struct tu_infos {
	size_t n;
	int stop_after; /* return stop_value after this many calls (0: never) */
	int stop_value;
	struct tu_info e[TU_MAX_INFO];
};

/* A lockspace_foreach()/lockspace_inspect() callback: copies each report into arg (struct tu_infos). */
int tu_collect(const struct lockspace_info *info, void *arg);

/* The collected entry for name, or NULL. */
const struct tu_info *tu_find(const struct tu_infos *l, const char *name);

/* The holder entry of pid in e, or NULL. */
const struct tu_holder *tu_holder_of(const struct tu_info *e, pid_t pid);

/* The stale record of pid in e, or NULL. */
const struct tu_holder *tu_stale_of(const struct tu_info *e, pid_t pid);

/* ---- names and lock files ---- */

/* Name of a resource (no handle), aborting the assertion chain on failure is up to the caller. */
int tu_name(const char *res, unsigned flags, char out[LOCKSPACE_NAME_LEN + 1]);

/* The lockspace directory the tests use: tu_scratch_dir/ls into buf (PATH_MAX), made mode 0700. */
char *tu_lockspace_dir(char *buf);

/* A resource to lock: tu_scratch_dir + "/" + the base name printf(fmt, ...) gives, into res (PATH_MAX),
 * made empty; with lf, its lock file in dir into lf (PATH_MAX). */
__attribute__((format(printf, 4, 5))) void tu_resource(char *res, char *lf, const char *dir, const char *fmt,
						       ...);

/* The lock file of res in dir into buf (PATH_MAX); "" when res has no name. */
char *tu_lockfile(char *buf, const char *dir, const char *res, unsigned flags);

#endif
