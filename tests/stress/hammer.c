/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hammer.c: threads hammer the held-lock table via one or many handles; another process checks the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <lockspace.h>

#include "stress.h"

#define MAX_RES	    64
#define MAX_THREADS 256
#define MAX_HANDLES 64

/* state of a resource: generation << 20 | a writer << 19 | holders. Every
 * change bumps the generation, so two equal reads bracket a quiet span. */
#define ST_GEN	  (1ull << 20)
#define ST_WRITER (1ull << 19)
#define ST_COUNT  ((1ull << 19) - 1)

/* Shared with the observer process. */
struct board {
	atomic_ullong state[MAX_RES];
	atomic_int stop;
	atomic_long checks;	/* observer probes over a quiet held span */
	atomic_long mismatches; /* ... where the kernel disagreed */
	atomic_long free_left;	/* resources the kernel still shows locked at the end */
};

struct cfg {
	int threads, nres, nhandles, shared_pct;
	int fault; /* -F: drop each exclusive lock behind the library's back */
	long iter;
	double deadline;
};

static struct board *board;
static struct cfg cfg;
static struct lockspace *handles[MAX_HANDLES];
static char res[MAX_RES][32];
static char lockfile[MAX_RES][PATH_MAX];
static atomic_int wflag[MAX_RES], readers[MAX_RES];
static atomic_long granted, busy, violations;
static struct stress_errors errors;

/* The usage text: usage(usage_text) prints it and exits 2. */
static const char usage_text[] =
	"usage: hammer [-F] [-T THREADS] [-r RESOURCES] [-H HANDLES] [-n ITER] [-s SHARED%] [-t "
	"SECONDS] "
	"DIR...\n"
	"THREADS (default 16) threads take RESOURCES (default 8) literal resources ITER times each,\n"
	"through HANDLES handles per DIR (each DIR a spelling of one lockspace directory),\n"
	"nonblocking, waiting, or two at once; each checks an occupancy flag that must never be\n"
	"taken twice. A forked observer probes the lock files with F_GETLK: a resource held in\n"
	"here must be locked by this pid. With several handles, first checks that one never\n"
	"grants what another holds. -F injects a fault (open and close a held lock file) to show\n"
	"that the observer sees a dropped lock. Exit 0 clean, 1 on any violation or error, 2 on "
	"usage.\n";

static void violation(const char *what, int r)
{
	fprintf(stderr, "hammer: %s on %s\n", what, res[r]);
	atomic_fetch_add(&violations, 1);
}

static void enter(int r, int shared)
{
	if (shared) {
		atomic_fetch_add(&readers[r], 1);
		if (atomic_load(&wflag[r]))
			violation("shared hold granted while a thread holds it exclusively", r);
		atomic_fetch_add(&board->state[r], ST_GEN + 1);
	} else {
		if (atomic_exchange(&wflag[r], 1) != 0)
			violation("exclusive hold granted twice", r);
		if (atomic_load(&readers[r]) != 0)
			violation("exclusive hold granted while threads hold it shared", r);
		atomic_fetch_add(&board->state[r], ST_GEN + ST_WRITER + 1);
	}
}

static void leave(int r, int shared)
{
	/* One atomic step: the generation up, the holder down (no borrow: it was counted). */
	atomic_fetch_add(&board->state[r], ST_GEN - (shared ? 0 : ST_WRITER) - 1);
	if (shared)
		atomic_fetch_sub(&readers[r], 1);
	else if (atomic_exchange(&wflag[r], 0) != 1)
		violation("exclusive flag lost", r);
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	unsigned seed = (unsigned)id * 2654435761u + (unsigned)getpid();
	struct lockspace *ls = handles[id % cfg.nhandles];
	for (long i = 0; i < cfg.iter && now_s() < cfg.deadline; i++) {
		int r[2] = {rand_r(&seed) % cfg.nres, 0};
		int shared = rand_r(&seed) % 100 < cfg.shared_pct;
		unsigned flags = LOCKSPACE_LITERAL | (shared ? LOCKSPACE_SHARED : 0);
		int kind = rand_r(&seed) % 8, n = 1, rc;
		if (kind < 3) {
			rc = lockspace_acquire(ls, res[r[0]], flags);
		} else if (kind < 5) {
			rc = lockspace_acquire(ls, res[r[0]], flags | LOCKSPACE_WAIT);
		} else if (kind < 7) {
			const char *one[] = {res[r[0]]};
			rc = lockspace_acquire_many(ls, one, 1, flags | LOCKSPACE_WAIT, 10, NULL);
		} else {
			r[1] = (r[0] + 1 + rand_r(&seed) % (cfg.nres - 1)) % cfg.nres;
			const char *two[] = {res[r[0]], res[r[1]]};
			n = 2;
			rc = lockspace_acquire_many(ls, two, 2, flags | LOCKSPACE_WAIT, 10, NULL);
		}
		if (rc == -EBUSY || rc == -ETIMEDOUT) {
			atomic_fetch_add(&busy, 1);
			continue;
		}
		if (rc < 0) {
			note_error(&errors, "hammer", rc, "acquire");
			continue;
		}
		atomic_fetch_add(&granted, 1);
		for (int k = 0; k < n; k++)
			enter(r[k], shared);
		if (cfg.fault && !shared) {
			/* What a library without a held-lock table would do: open and
			 * close a held file, which drops the process's lock on it. */
			int fd = open(lockfile[r[0]], O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
		}
		for (int y = rand_r(&seed) % 4; y > 0; y--)
			sched_yield();
		for (int k = 0; k < n; k++) {
			leave(r[k], shared);
			rc = lockspace_release(ls, res[r[k]], LOCKSPACE_LITERAL);
			if (rc < 0)
				note_error(&errors, "hammer", rc, "release");
		}
	}
	return NULL;
}

/* F_GETLK on byte 0 of lock file @r: F_UNLCK, F_RDLCK or F_WRLCK (holder in *pid); -1 if unknown. */
static int probe(int *fds, int r, pid_t *pid)
{
	if (fds[r] < 0)
		fds[r] = open(lockfile[r], O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fds[r] < 0)
		return -1;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	if (fcntl(fds[r], F_GETLK, &fl) < 0)
		return -1;
	*pid = fl.l_pid;
	return fl.l_type;
}

/* The observer: another process, so its probes see what any other process would. */
static void observe(pid_t parent)
{
	int fds[MAX_RES];
	for (int r = 0; r < cfg.nres; r++)
		fds[r] = -1;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	struct timespec pause = {0, 50000};
	while (!atomic_load(&board->stop)) {
		/* A short pause per pass leaves the workers a CPU on a small machine. */
		nanosleep(&pause, NULL);
		for (int r = 0; r < cfg.nres; r++) {
			unsigned long long s1 = atomic_load(&board->state[r]);
			if ((s1 & ST_COUNT) == 0)
				continue;
			pid_t pid = 0;
			int type = probe(fds, r, &pid);
			unsigned long long s2 = atomic_load(&board->state[r]);
			if (s1 != s2)
				continue; /* the holders changed under the probe: proves nothing */
			atomic_fetch_add(&board->checks, 1);
			int want = (s1 & ST_WRITER) ? F_WRLCK : F_RDLCK;
			if ((type != want || pid != parent) && atomic_fetch_add(&board->mismatches, 1) < 5) {
				fprintf(stderr,
					"hammer: observer: %s is held %s by pid %d, but the kernel says %s "
					"by pid %d\n",
					res[r], want == F_WRLCK ? "exclusively" : "shared", (int)parent,
					type == F_WRLCK	  ? "write-locked"
					: type == F_RDLCK ? "read-locked"
					: type == F_UNLCK ? "unlocked"
							  : "unknown",
					(int)pid);
			}
		}
	}
	/* The parent has released everything: the kernel must agree. */
	for (int r = 0; r < cfg.nres; r++) {
		pid_t pid = 0;
		int type = probe(fds, r, &pid);
		if (type != F_UNLCK && type != -1) {
			fprintf(stderr, "hammer: observer: %s still locked by pid %d after the end\n", res[r],
				(int)pid);
			atomic_fetch_add(&board->free_left, 1);
		}
	}
	_exit(0);
}

/* Several handles on one directory: what one holds, no other may be granted. */
static int spelling_check(void)
{
	int bad = 0;
	for (int h = 1; h < cfg.nhandles; h++) {
		int rc = lockspace_acquire(handles[0], res[0], LOCKSPACE_LITERAL);
		if (rc < 0) {
			note_error(&errors, "hammer", rc, "spelling check acquire");
			return 1;
		}
		int x = lockspace_acquire(handles[h], res[0], LOCKSPACE_LITERAL);
		int s = lockspace_acquire(handles[h], res[0], LOCKSPACE_LITERAL | LOCKSPACE_SHARED);
		const char *one[] = {res[0]};
		int w = lockspace_acquire_many(handles[h], one, 1, LOCKSPACE_LITERAL | LOCKSPACE_WAIT, 50,
					       NULL);
		int rel = lockspace_release(handles[h], res[0], LOCKSPACE_LITERAL);
		if (x != -EBUSY || s != -EBUSY || w != -ETIMEDOUT || rel != -ENOENT) {
			fprintf(stderr,
				"hammer: handle %d granted what handle 0 holds: exclusive %d, shared %d, "
				"wait %d, "
				"release %d (want %d %d %d %d)\n",
				h, x, s, w, rel, -EBUSY, -EBUSY, -ETIMEDOUT, -ENOENT);
			bad = 1;
		}
		lockspace_release(handles[0], res[0], LOCKSPACE_LITERAL);
		/* Shared over shared shares one hold, across handles too. */
		int s0 = lockspace_acquire(handles[0], res[0], LOCKSPACE_LITERAL | LOCKSPACE_SHARED);
		int s1 = lockspace_acquire(handles[h], res[0], LOCKSPACE_LITERAL | LOCKSPACE_SHARED);
		int x2 = lockspace_acquire(handles[(h + 1) % cfg.nhandles], res[0], LOCKSPACE_LITERAL);
		if (s0 != 0 || s1 != 0 || x2 != -EBUSY) {
			fprintf(stderr,
				"hammer: shared over shared through handles 0 and %d: %d %d, exclusive %d\n",
				h, s0, s1, x2);
			bad = 1;
		}
		lockspace_release(handles[h], res[0], LOCKSPACE_LITERAL);
		lockspace_release(handles[0], res[0], LOCKSPACE_LITERAL);
	}
	return bad;
}

int main(int argc, char **argv)
{
	int per_dir = 1, opt;
	long limit = 120;
	cfg = (struct cfg){.threads = 16, .nres = 8, .iter = 2000, .shared_pct = 25};
	while ((opt = getopt(argc, argv, "T:r:H:n:s:t:F")) != -1) {
		switch (opt) {
		case 'T':
			cfg.threads = atoi(optarg);
			break;
		case 'r':
			cfg.nres = atoi(optarg);
			break;
		case 'H':
			per_dir = atoi(optarg);
			break;
		case 'n':
			cfg.iter = atol(optarg);
			break;
		case 's':
			cfg.shared_pct = atoi(optarg);
			break;
		case 't':
			limit = atol(optarg);
			break;
		case 'F':
			cfg.fault = 1;
			break;
		default:
			usage(usage_text);
		}
	}
	int ndirs = argc - optind;
	cfg.nhandles = ndirs * per_dir;
	if (ndirs < 1 || per_dir < 1 || cfg.nhandles > MAX_HANDLES || cfg.threads < 1 ||
	    cfg.threads > MAX_THREADS || cfg.nres < 2 || cfg.nres > MAX_RES || cfg.iter < 1 || limit < 1)
		usage(usage_text);

	for (int h = 0; h < cfg.nhandles; h++) {
		const char *dir = argv[optind + h % ndirs];
		int rc = lockspace_open(dir, 0, &handles[h]);
		if (rc < 0) {
			fprintf(stderr, "hammer: %s: %s\n", dir, lockspace_strerror(rc));
			return 1;
		}
		if (strcmp(lockspace_dir(handles[h]), lockspace_dir(handles[0])) != 0)
			fprintf(stderr, "hammer: note: %s opens %s, not %s\n", dir, lockspace_dir(handles[h]),
				lockspace_dir(handles[0]));
	}
	for (int r = 0; r < cfg.nres; r++) {
		char name[LOCKSPACE_NAME_LEN + 1];
		snprintf(res[r], sizeof(res[r]), "res-%d", r);
		if (lockspace_name(res[r], LOCKSPACE_LITERAL, name) < 0)
			return 1;
		snprintf(lockfile[r], sizeof(lockfile[r]), "%s/%s", lockspace_dir(handles[0]), name);
	}
	int bad = cfg.nhandles > 1 ? spelling_check() : 0;

	board = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED) {
		perror("hammer: mmap");
		return 1;
	}
	memset(board, 0, sizeof(*board));
	/* Forked before any thread runs, and it never calls the library. */
	pid_t self = getpid();
	fflush(NULL);
	pid_t obs = fork();
	if (obs < 0) {
		perror("hammer: fork");
		return 1;
	}
	if (obs == 0)
		observe(self);
	/* A wait that never ends must fail the run, not hang it. */
	alarm((unsigned)limit + 30);

	double t0 = now_s();
	cfg.deadline = t0 + (double)limit;
	pthread_t tid[MAX_THREADS];
	for (int i = 0; i < cfg.threads; i++)
		if (pthread_create(&tid[i], NULL, worker, (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "hammer: cannot create thread %d\n", i);
			return 1;
		}
	for (int i = 0; i < cfg.threads; i++)
		pthread_join(tid[i], NULL);
	double elapsed = now_s() - t0;
	int left = 0;
	for (int h = 0; h < cfg.nhandles; h++)
		left += lockspace_release_all(handles[h]);
	atomic_store(&board->stop, 1);
	int status = 1;
	while (waitpid(obs, &status, 0) < 0 && errno == EINTR)
		;
	for (int h = 0; h < cfg.nhandles; h++)
		lockspace_close(handles[h]);

	long g = atomic_load(&granted);
	int timed_out = elapsed >= (double)limit;
	printf("threads=%d resources=%d handles=%d iterations=%ld granted=%ld busy=%ld errors=%ld "
	       "violations=%ld left_held=%d observer_checks=%ld observer_mismatches=%ld still_locked=%ld "
	       "elapsed=%.3fs acquires_per_s=%.0f%s\n",
	       cfg.threads, cfg.nres, cfg.nhandles, cfg.iter, g, atomic_load(&busy),
	       atomic_load(&errors.count), atomic_load(&violations), left, atomic_load(&board->checks),
	       atomic_load(&board->mismatches), atomic_load(&board->free_left), elapsed,
	       elapsed > 0 ? (double)g / elapsed : 0.0, timed_out ? " (deadline)" : "");
	if (bad || atomic_load(&errors.count) || atomic_load(&violations) || left ||
	    atomic_load(&board->mismatches) || atomic_load(&board->free_left) || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || g == 0)
		return 1;
	return 0;
}
