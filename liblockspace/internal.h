/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h: what the files of liblockspace share and nothing outside sees. */
#ifndef LOCKSPACE_INTERNAL_H
#define LOCKSPACE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lockspace.h"

#define LSI_HOLDERS_DIR	 LOCKSPACE_HOLDERS_DIR
#define LSI_RECORD_MAGIC "virlock-holder 1"
#define LSI_RECORD_MAX	 (16u << 20) /* a record larger than this is garbage */
#define LSI_CONTENT_MAX	 4096	     /* PATH_MAX: a lock file larger than this is corrupt */

/* A control socket's abstract name: "virlock/" and 128 random bits in hex. */
#define LSI_CONTROL_PREFIX   "virlock/"
#define LSI_CONTROL_NAME_LEN (sizeof(LSI_CONTROL_PREFIX) - 1 + 32)

/* Argument checks at the top of a public call: a flag it does not accept is
 * the caller's mistake (-EINVAL), never silently ignored; a timeout is -1
 * (for ever) or a number of milliseconds. */
#define LSI_FLAGS_OK(flags, accepted) (((flags) & ~(unsigned)(accepted)) == 0)
#define LSI_TIMEOUT_OK(ms)	      ((ms) >= -1)
/* The flags of the calls that name a resource. */
#define LSI_NAME_FLAGS (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME | LOCKSPACE_LOOKUP)
/* The flags lockspace_name() and lockspace_canonical() take besides. */
#define LSI_HASH_FLAGS LOCKSPACE_SHA256
/* The acquire calls take LOCKSPACE_LOOKUP and ignore it (lsi_resolve()). */
#define LSI_ACQUIRE_FLAGS (LOCKSPACE_SHARED | LOCKSPACE_WAIT | LSI_NAME_FLAGS)

struct lockspace {
	int dirfd;     /* the lockspace directory, -1 in direct mode */
	char *dir;     /* its canonical path, NULL in direct mode */
	dev_t dir_dev; /* its device and inode: which handles share a lockspace */
	ino_t dir_ino;
	unsigned hash; /* LOCKSPACE_SHA256 (LOCKSPACE_OPEN_SHA256) or 0 for MD5 */
	uid_t dir_uid; /* its owner and group: .holders must have the same */
	gid_t dir_gid;
	int group;		     /* setgid and group-writable: files are 0660 */
	pthread_mutex_t record_lock; /* serialises label changes of this handle */
	/* The record's state, under records.c's mutex (records.c says why): */
	int recording;	   /* lockspace_set_owner() was called, or lsi_record_start() */
	int owner_pending; /* lockspace_set_owner() is claiming its label */
	pid_t record_pid;  /* the process the record describes */
	int auto_record;   /* recording without lockspace_set_owner() (sanlock) */
	char *owner;
	pid_t child;
	int child_kernel;		   /* the record says "kernel-child 1" (lockspace_set_owner()) */
	struct lsi_entry *label;	   /* the table entry of the claimed label's file, NULL if none */
	char *label_owner;		   /* the label it claims */
	pid_t label_pid;		   /* the process that claimed it (a forked child holds nothing) */
	const struct lsi_backend *backend; /* never NULL; fcntl unless the directory says */
	char *backend_config;		   /* what a non-fcntl backend keeps (its lockspace name) */
	int control_fd;			   /* lockspace_control_listen()'s socket, if control_pid */
	pid_t control_pid;		   /* the process that made it; 0 for none */
	int control_file;		   /* it is the file <pid>.sock, not the abstract name */
	char control_name[LSI_CONTROL_NAME_LEN + 1]; /* its abstract name, "" for the file */
};

/* ---- name.c ---- */
/* Fill @out with the name and *content with the bytes a lock file holds
 * (malloc'd; NULL with LOCKSPACE_BYNAME), hashed as @ls names resources. */
int lsi_resolve(const struct lockspace *ls, const char *resource, unsigned flags,
		char out[LOCKSPACE_NAME_LEN + 1], char **content);
/* The same, honouring LOCKSPACE_LOOKUP (lsi_resolve() ignores it: for locking). */
int lsi_resolve_lookup(const struct lockspace *ls, const char *resource, unsigned flags,
		       char out[LOCKSPACE_NAME_LEN + 1], char **content);
/* md5 hex of @len bytes into @out (33 bytes). */
void lsi_md5_hex(const void *data, size_t len, char out[LOCKSPACE_NAME_LEN + 1]);
/* The hex digest of @len bytes by the hash of a name of @name_len digits
 * (SHA-256 for 64, else MD5): what verifies a lock file's content. */
void lsi_name_hash(size_t name_len, const void *data, size_t len, char out[LOCKSPACE_NAME_LEN + 1]);
/* A valid name packed into its bytes, its length in digits/2 last so that two
 * packed names compare equal only when of one length, and back. */
#define LSI_DIGEST_SIZE (LOCKSPACE_NAME_LEN / 2 + 1)
void lsi_name_pack(const char *name, unsigned char out[LSI_DIGEST_SIZE]);
void lsi_name_unpack(const unsigned char in[LSI_DIGEST_SIZE], char out[LOCKSPACE_NAME_LEN + 1]);

/* ---- table.c: the process-wide table of held lock files ---- */
struct lsi_ref {
	struct lockspace *ls;
	unsigned count;
};

/* A holder may keep tens of thousands of entries for hours: one allocation
 * each, the first hold and the resource string inside it. */
struct lsi_entry {
	struct lsi_entry *next;	 /* hash chain */
	struct lsi_entry *rnext; /* chain of the index by resource string */
	dev_t dev;
	ino_t ino;
	time_t since;
	struct lsi_ref *refs; /* &one, or an array when several handles hold it */
	struct lsi_ref one;
	int *spare; /* descriptors of this file opened by racing probes:
		     * closing them would drop the lock, so they wait here */
	int fd;	    /* the one descriptor that holds the lock */
	unsigned nrefs;
	unsigned nspare;
	unsigned shared : 1;
	unsigned pending : 1;		       /* being locked by some thread, not held yet */
	unsigned rflags : 4;		       /* LOCKSPACE_LITERAL / BYNAME of the resource string */
	unsigned char digest[LSI_DIGEST_SIZE]; /* the name, packed (lsi_name_pack) */
	char resource[];		       /* the string the first acquire named it by ("" if none) */
};

void lsi_table_lock(void);
void lsi_table_unlock(void);
/* The entry indexed by @resource (and @rflags) that @ls holds, or NULL. */
struct lsi_entry *lsi_table_find_resource(const char *resource, unsigned rflags, const struct lockspace *ls);
/* Wait for a change of the table (a release) until @deadline
 * (CLOCK_MONOTONIC), or for ever when it is NULL: then a caught signal
 * whose handler has no SA_RESTART ends it, as it ends F_SETLKW.
 * Returns 0, -ETIMEDOUT or -EINTR. Called with the table locked. */
int lsi_table_wait(const struct timespec *deadline);
void lsi_table_broadcast(void);
size_t lsi_table_count(void);
/* The count, read without the table's lock: 0 means that at that moment the
 * process held no lock file (an entry is added before its file is locked). */
size_t lsi_table_count_unlocked(void);
struct lsi_entry *lsi_table_find(dev_t dev, ino_t ino);
/* Add a pending entry for @fd, indexed by @resource (NULL: not indexed) and
 * @rflags once it is no longer pending; NULL on ENOMEM. */
struct lsi_entry *lsi_table_insert(dev_t dev, ino_t ino, int fd, int shared, const char *resource,
				   unsigned rflags);
/* Unlink @e from the table, close its descriptors (dropping the lock), free it. */
void lsi_table_drop(struct lsi_entry *e);
/* Keep @fd open with @e until @e is dropped. Returns 0 or -ENOMEM. */
int lsi_entry_stash(struct lsi_entry *e, int fd);
/* Add one hold of @ls. Returns 0 or -ENOMEM. */
int lsi_entry_ref(struct lsi_entry *e, struct lockspace *ls);
/* Count of holds @ls has on @e. */
unsigned lsi_entry_refs_of(const struct lsi_entry *e, const struct lockspace *ls);
/* Remove one hold of @ls; drop the entry when none is left. Returns 0 or -ENOENT. */
int lsi_entry_unref(struct lsi_entry *e, struct lockspace *ls, int all);
/* Call @fn on every entry (table locked); @fn may drop the entry it is given. */
void lsi_table_each(void (*fn)(struct lsi_entry *e, void *arg), void *arg);
/* Close a lock file descriptor this process opened without holding it: if
 * the table holds that file (a race), stash it instead. Table unlocked. */
void lsi_close_unheld(int fd);

/* ---- lockfile.c ---- */
/* Open the lock file @name (the resource path in direct mode); create it
 * unless @create is 0 or in direct mode. Returns fd or -errno (-EBADMSG for
 * a file that is neither regular nor, in direct mode, a block device). */
int lsi_lockfile_open(const struct lockspace *ls, const char *name, const char *content, int shared,
		      int create, struct stat *st);
/* After locking: does @name still name the inode @st? 1 yes, 0 no; its
 * link count now in *@nlink (a hand-off marker makes it 2). */
int lsi_lockfile_still_named(const struct lockspace *ls, const char *name, const char *content,
			     const struct stat *st, nlink_t *nlink);

/* ---- handoff.c: the hand-off markers of an fcntl lockspace ---- */
/* Is the second link of the lock file @name (@st) a hand-off marker? 1 or 0. */
int lsi_handoff_marked(const struct lockspace *ls, const char *name, const struct stat *st);
/* Make the marker of @name (held, @st) with a new random state in *@state. */
int lsi_handoff_mark(const struct lockspace *ls, const char *name, const struct stat *st, uint64_t *state);
/* Once an acquire holds the lock file @name (@st) with a second link, or
 * expects a state (@t->expect): a plain one removes the markers; an
 * expecting one only checks that its own is there (-ECANCELED if not) and
 * removes it with lsi_handoff_consume() once it holds every resource.
 * 0 or -errno. */
struct lsi_target;
int lsi_handoff_take(const struct lockspace *ls, const struct lsi_target *t, const struct stat *st);
/* Remove the marker of @t (expecting, held): 0 or -errno. */
int lsi_handoff_consume(struct lockspace *ls, const struct lsi_target *t);
/* Prune: is the holders file @file a marker whose lock file is gone? 1, 0. */
int lsi_handoff_orphan(const struct lockspace *ls, int dfd, const char *file);
/* acquire.c: lockspace_acquire_many(), with the states of a hand-off (NULL: none). */
int lsi_acquire(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags, int timeout_ms,
		const uint64_t *states, size_t *failed);
/* Verify the content of a locked file (write it if empty and @content).
 * Returns 0 or -EBADMSG. */
int lsi_lockfile_verify(int fd, const char *name, const char *content);
/* Read a lock file's content: 0 (and *path malloc'd) if it hashes to @name,
 * -ENODATA if empty, -EBADMSG otherwise (*path then holds what was read,
 * or NULL), or -errno. */
int lsi_lockfile_read(int fd, const char *name, char **path);

/* ---- backend_fcntl.c: the POSIX lock on byte 0 of a lock file ---- */
/* Lock byte 0 of @fd. @wait: 0 try once, 1 wait; @deadline NULL for ever.
 * Returns 0, -EBUSY, -ETIMEDOUT, -EINTR, -EDEADLK or -errno. */
int lsi_fcntl_lock(int fd, int shared, int wait, const struct timespec *deadline);
/* Who holds byte 0 of @fd, as another process sees it. */
int lsi_fcntl_probe(int fd, enum lockspace_state *state, pid_t *pid);

/* ---- backend.h has the lock mechanism ---- */
/* lockspace.c: -ESTALE if the directory of the fcntl handle @ls has become
 * a lockspace of another backend since it was opened, 0 if not, or -errno
 * if its .backend cannot be read to tell (-EMFILE, -EACCES). */
int lsi_backend_changed(const struct lockspace *ls);

/* ---- endpoint.c: a holder's control socket ---- */
/* The name of this process's abstract control socket for @ls ("" for
 * none) that its record publishes: "virlock/" and 32 random hex digits. */
const char *lsi_control_name(const struct lockspace *ls);
/* Close the handle's control socket and, in the process that made it,
 * remove its file (lockspace_close(), once locks and label are let go). */
void lsi_control_drop(struct lockspace *ls);

/* ---- records.c: holder records ---- */
/* Does the directory @st (.holders, or a host's directory in it) fit @ls? */
int lsi_holders_fit(const struct lockspace *ls, const struct stat *st);
struct lsi_claim {
	char name[LOCKSPACE_NAME_LEN + 1];
	int shared;
	time_t since;
};

struct lsi_record {
	pid_t pid;
	unsigned long long start;
	char *owner;
	pid_t child;
	int child_kernel; /* "kernel-child 1": the child is the kernel's, read when live */
	struct lsi_claim *claims;
	size_t nclaims;
	struct lsi_claim *waits; /* "wait" lines: leases the process waits for (sanlock) */
	size_t nwaits;
	int auto_record; /* "auto 1": kept without lockspace_set_owner(), no control socket */
	int live;	 /* the process runs and its start time matches */
	int unknown;	 /* the process runs but its /proc entry is hidden (hidepid) */
	char *command;	 /* /proc/<pid>/comm when live */
	time_t mtime;	 /* when the record was last written */
};

/* ---- claims.c: the records' claims by name ---- */
struct lsi_claim_ref {
	const char *name;
	const struct lsi_record *rec;
	const struct lsi_claim *claim;
	size_t seq; /* its place in the records' order */
};
struct lsi_claims {
	struct lsi_claim_ref *refs; /* sorted by name, then seq */
	size_t n;
};
/* Index the claims of @recs[0..@nrecs) (which must outlive @c). Returns 0 or -ENOMEM. */
int lsi_claims_index(struct lsi_claims *c, const struct lsi_record *recs, size_t nrecs);
/* The claims on @name, in the records' order: *@n of them from the result. */
const struct lsi_claim_ref *lsi_claims_of(const struct lsi_claims *c, const char *name, size_t *n);
void lsi_claims_free(struct lsi_claims *c);

struct lsi_comm;

/* What a claim's record is worth, as the backend judges it. */
enum lsi_verdict { LSI_CLAIM_STALE, LSI_CLAIM_HOLDS, LSI_CLAIM_UNCONFIRMED };

/* An owner of a resource as its backend sees it (a process, or a host). */
struct lsi_owner {
	/* pid (0: unknown), mode, since and the host fields; flags:
	 * LOCKSPACE_HOLDER_SELF, _REMOTE, and _STALE for an owner that holds
	 * nothing any more (listed with the stale claims). */
	struct lockspace_holder h;
	int late;  /* listed after the records' claims, else before them */
	int cover; /* dropped when a claim names it (enum lsi_cover) */
};
enum lsi_cover {
	LSI_COVER_NONE,
	LSI_COVER_PID,	 /* by a holder of its pid listed before it */
	LSI_COVER_CLAIM, /* by any claim that holds (a host's unknown process) */
};

/* What a backend sees of one resource: its owners, and the host whose
 * processes the holder records' claims on it are of (0, NULL: none). */
struct lsi_owners {
	const struct lsi_owner *o;
	size_t n;
	unsigned host_id;
	unsigned long long generation;
	const char *host_name;
};

/* The join of a resource's owners with the records' claims on it, one per
 * report: its buffers and the commands of the pids it saw are reused from
 * one resource to the next. */
struct lsi_join {
	const struct lsi_claims *claims;
	/* The backend's verdict on the claim of @rec on the resource. */
	int (*verdict)(void *arg, const struct lsi_record *rec, const struct lsi_claim *claim);
	void *arg;
	struct lockspace_holder *holders, *stale;
	size_t cap_holders, cap_stale;
	struct lsi_comm *comms[256];
};
/* The holders (the owners and the claims that hold) into j->holders[0..*@nh)
 * and the rest into j->stale[0..*@ns): the owners before the claims, then
 * the claims in the records' order, then the late owners. Returns 0 or -ENOMEM. */
int lsi_join(struct lsi_join *j, const char *name, const struct lsi_owners *ow, size_t *nh, size_t *ns);
/* /proc/<pid>/comm, read once per join; NULL if unknown. */
const char *lsi_join_command(struct lsi_join *j, pid_t pid);
void lsi_join_free(struct lsi_join *j);

/* Parse a record; returns 0 or -EBADMSG. @out must be freed with lsi_record_free. */
int lsi_record_parse(const char *buf, size_t len, struct lsi_record *out);
/* Open the record file @file of the records directory @dfd: a descriptor or -errno. */
int lsi_record_open(int dfd, const char *file);
/* Read (bounded: a regular file of at most LSI_RECORD_MAX bytes) and parse
 * the record open on @fd: 0, -EBADMSG or -ENOMEM. */
int lsi_record_read(int fd, struct lsi_record *r);
/* The abstract name of the control socket that the record @fd of a process
 * started at @start (0: unknown) gives into @name ("" for none). Returns 0. */
int lsi_record_control(int fd, unsigned long long start, char name[LSI_CONTROL_NAME_LEN + 1]);
/* What a file of a records directory is, by its name; the one place that
 * names them. The pid it belongs to goes to *@pid (not for labels). */
enum lsi_holders_file {
	LSI_HF_OTHER,  /* not ours: left alone */
	LSI_HF_RECORD, /* <pid>: a holder record (records.c) */
	LSI_HF_TEMP,   /* .<pid>.tmp: a record being written (also <pid>.tmp, .<pid>, .<pid>.sock) */
	LSI_HF_SOCKET, /* <pid>.sock: its control socket (LOCKSPACE_CONTROL_SUFFIX) */
	LSI_HF_LABEL,  /* owner.<md5 of the label>: a label file (label.c) */
};
enum lsi_holders_file lsi_holders_file(const char *name, pid_t *pid);
void lsi_record_free(struct lsi_record *r);
/* Load every record under .holders (liveness filled in). */
int lsi_records_load(const struct lockspace *ls, struct lsi_record **out, size_t *n);
/* Load the records of another host's directory .holders/@sub, whose
 * processes this host cannot see: live and unknown stay 0. */
int lsi_records_load_sub(const struct lockspace *ls, const char *sub, struct lsi_record **out, size_t *n);
/* Make @ls keep a record of this process from now on, owner or not. */
void lsi_record_start(struct lockspace *ls);
void lsi_records_free(struct lsi_record *r, size_t n);
/* Rewrite this handle's record if it records. Returns 0 or -errno. */
int lsi_record_sync(struct lockspace *ls);
/* Remove this handle's record (and nothing else). */
void lsi_record_remove(struct lockspace *ls);
/* Process start time in clock ticks, 0 if the process does not exist. */
unsigned long long lsi_proc_start(pid_t pid);
/* The same for this process, read from /proc once per process. */
unsigned long long lsi_self_start(void);
/* Whether the process @pid that started at @start (clock ticks) still runs:
 * gone only when kill(pid, 0) says ESRCH, or /proc/PID/stat is readable and
 * shows another start time (a reused pid) or a zombie; alive but with its
 * /proc entry hidden (hidepid, or kill() refused with EPERM) is unknown.
 * A @start of 0 matches any start time. */
enum lsi_pid_state { LSI_PID_GONE, LSI_PID_LIVE, LSI_PID_UNKNOWN };
enum lsi_pid_state lsi_pid_judge(pid_t pid, unsigned long long start);
/* /proc/<pid>/comm, malloc'd, NULL if unknown. */
char *lsi_proc_comm(pid_t pid);
/* This host's .holders directory; @how: LSI_HOLDERS_CREATE creates it (mode
 * 0700, or 02770 in a group lockspace); LSI_HOLDERS_OWN opens it to delete
 * this process's own files, also after the host left or lost its daemon. */
#define LSI_HOLDERS_CREATE 1
#define LSI_HOLDERS_OWN	   2
int lsi_holders_dir(const struct lockspace *ls, int how);
/* The path of this host's records directory (see lsi_holders_dir()),
 * malloc'd in *@path: for socket addresses and messages. Returns 0,
 * -EOPNOTSUPP (direct mode), -ENOTCONN (a sanlock host that has not
 * joined), another error of the backend, or -ENOMEM. */
int lsi_holders_path(const struct lockspace *ls, char **path);

/* ---- label.c: owner labels, claimed with a lock on <holders>/owner.<md5> ---- */
#define LSI_LABEL_PREFIX   "owner."
#define LSI_LABEL_FILE_LEN (sizeof(LSI_LABEL_PREFIX) + LOCKSPACE_NAME_LEN)
/* 1 if @owner is a label set_owner accepts. */
int lsi_label_valid(const char *owner);
/* Make @owner (NULL: none) the label @ls claims: 0, -EBUSY, -ETIMEDOUT,
 * -EINTR or -errno. Keeps the claim it has for the same label. */
int lsi_label_set(struct lockspace *ls, const char *owner, int wait, const struct timespec *deadline);
/* Let the claim of @ls go. */
void lsi_label_drop(struct lockspace *ls);

/* ---- proclocks.c: waiters (and holders), from /proc/locks ---- */
struct lsi_waiter {
	unsigned major, minor;
	unsigned long long ino;
	pid_t pid;
	int blocked; /* 1 waits for the lock, 0 holds it */
};
/* One lock line of /proc/locks or of a "lock:" line of /proc/PID/fdinfo/FD. */
struct lsi_lock_line {
	enum lockspace_file_lock_type type;
	enum lockspace_state mode;
	int pid; /* -1 for OFD locks, 0 for a pid of another pid namespace */
	unsigned major, minor;
	unsigned long long ino, start, end; /* @end is the last byte; see @to_eof */
	int to_eof;
	int blocked;
};
/* Parse one such line (a leading "lock:\t" already skipped): 1 and *@out
 * filled, or 0 for a line of another kind (a lease) or garbage. */
int lsi_parse_lock_line(const char *line, struct lsi_lock_line *out);
/* The whole text of /proc/locks, malloc'd in *@text. Returns 0 or -errno. */
int lsi_read_proc_locks(char **text, size_t *len);
/* Parse the text of /proc/locks; keep the POSIX locks and waiters on byte 0.
 * *out is malloc'd, sorted by inode, blocked, pid, without duplicates.
 * Returns 0, -ENOMEM. Garbage lines are skipped. */
int lsi_parse_proc_locks(const char *text, size_t len, struct lsi_waiter **out, size_t *n);
/* Read and parse /proc/locks. */
int lsi_read_waiters(struct lsi_waiter **out, size_t *n);
/* Whether the process @pid holds a POSIX read lock on byte 0 of the file
 * @dev:@ino, from the "lock:" lines of /proc/@pid/fdinfo/ (Linux 4.1+): a
 * cost of the process's open files, not of every lock on the host.
 * Returns 1, 0, or -errno when its fdinfo cannot be read (another user's
 * process, a /proc mounted with hidepid). */
int lsi_fdinfo_read_lock(pid_t pid, dev_t dev, unsigned long long ino);

/* ---- cluster.c: holders on other hosts of a cluster filesystem ---- */
/* 1 if the OCFS2 cluster stack @stack (the content of
 * /sys/fs/ocfs2/cluster_stack: "pcmk", "o2cb\n") shares fcntl locks
 * between nodes: a userspace stack does, o2cb does not; NULL or "": 0. */
int lsi_ocfs2_stack_shares(const char *stack);
/* The same for this host's live stack; 0 when it cannot be read. */
int lsi_ocfs2_shares(void);
/* 1 if the filesystem of statfs(2) type @f_type shares its fcntl locks
 * between hosts (NFS, GFS2, CephFS, OCFS2 on a userspace cluster stack),
 * else 0. */
int lsi_fs_cluster(long f_type);
/* Where the holder that F_GETLK names as *@pid, on a filesystem of type
 * @f_type, of the file @file (NULL unknown), runs: 1 on another host (a pid
 * of 0 or less, or of no process here, on a cluster filesystem), 0 on this
 * host, -1 unknown (no pid on a host-local filesystem). On CephFS, which
 * negates every holder's pid, a negative pid whose negation is a process
 * here that has @file open is that process: *@pid is set to it and 0
 * returned. Costs a kill(pid, 0) for a positive pid on a cluster
 * filesystem, a walk of /proc/<-pid>/fd for a negative one on CephFS. */
int lsi_holder_remote(pid_t *pid, long f_type, const struct stat *file);

/* ---- probe.c: the fcntl backend's report verbs (see backend.h) ---- */
struct lsi_report;
int lsi_fcntl_view_open(struct lockspace *ls, const struct lsi_report *rep, void **view);
int lsi_fcntl_owners(void *view, const char *name, const char *direct_path, int always,
		     struct lockspace_info *info, struct lsi_owners *out);
int lsi_fcntl_verdict(void *view, const struct lsi_record *r, const struct lsi_claim *claim);
/* The size of the slot of lsi_fcntl_look(). */
size_t lsi_fcntl_look_size(void);
int lsi_fcntl_look(const void *view, const char *name, void *slot, int own_fds);
int lsi_fcntl_look_owners(void *view, const char *name, void *slot, struct lockspace_info *info,
			  struct lsi_owners *out);
void lsi_fcntl_look_free(void *slot);
void lsi_fcntl_view_close(void *view);
int lsi_fcntl_probe_one(struct lockspace *ls, const char *name, const char *direct,
			enum lockspace_state *state, pid_t *pid);

/* ---- clock.c ---- */
/* Monotonic deadline @ms from now into @ts. */
void lsi_deadline(struct timespec *ts, int ms);
/* Milliseconds left until @ts (0 if past). */
long lsi_ms_left(const struct timespec *ts);

#endif
