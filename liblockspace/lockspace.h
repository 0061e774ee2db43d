/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lockspace.h: the public contract of liblockspace, fcntl lock files named by MD5 (or SHA-256). */
#ifndef LOCKSPACE_H
#define LOCKSPACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOCKSPACE_VERSION_MAJOR 0
#define LOCKSPACE_VERSION_MINOR 1
#define LOCKSPACE_VERSION_PATCH 0

#if defined(__GNUC__) && defined(LOCKSPACE_BUILDING)
#define LOCKSPACE_API __attribute__((visibility("default")))
#else
#define LOCKSPACE_API
#endif

/*
 * Overview
 * --------
 * A lockspace is a directory of lock files. The lock file of a resource is
 * <dir>/<name>, where <name> is the 32 lowercase hex digits of the MD5 of the
 * resource's canonical path (realpath(3)), or of the string as given with
 * LOCKSPACE_LITERAL. The file holds exactly the hashed bytes, so that
 * md5(content) == name verifies it. A lock is a POSIX fcntl() lock on byte 0:
 * a write lock for exclusive, a read lock for shared.
 *
 * A handle opened with LOCKSPACE_OPEN_SHA256 names resources as libvirt's
 * virtlockd names the lock files of its file_lockspace_dir: the 64 lowercase
 * hex digits of the SHA-256 of the path as spelled (made absolute, symbolic
 * links not resolved, nothing normalised). virtlockd leaves its files empty
 * and locks byte 0 of them the same way, so both see each other's locks.
 * A name is 32 or 64 hex digits; a lock file's content is verified with the
 * hash its name's length says.
 *
 * POSIX locks belong to the process, and the kernel drops them all when the
 * process closes any descriptor of the file. liblockspace therefore keeps one
 * process-wide table of held lock files, keyed by device and inode: it never
 * opens a lock file the process already holds, and it never closes a
 * descriptor of a held file. A second acquire of a held resource, from any
 * handle, any thread or any spelling of the directory, answers -EBUSY (or, for
 * shared over shared, shares the hold) without touching the file.
 *
 * Return convention: every call that can fail returns 0 or a negative errno.
 * Each call checks its arguments first: a flag it does not accept, a NULL
 * pointer it needs, or a timeout other than -1 or >= 0 is -EINVAL, before
 * anything is done.
 * -EBUSY means "held by someone else" (an outcome, not a fault); -ETIMEDOUT a
 * wait that expired; -EBADMSG a corrupt lock file or holder record. Nothing
 * prints, exits or aborts. lockspace_strerror() explains every code.
 *
 * Threads: every call is thread-safe; a handle may be shared between threads.
 * fork(): the child holds no locks (the kernel does not inherit them) and its
 * table starts empty; handles inherited by the child hold nothing there.
 * Descriptors are opened O_CLOEXEC, so exec'd programs inherit none.
 */

/** Length of an MD5 name (the default) in hex digits. */
#define LOCKSPACE_MD5_NAME_LEN 32
/** Length of a SHA-256 name (LOCKSPACE_OPEN_SHA256, LOCKSPACE_SHA256). */
#define LOCKSPACE_SHA256_NAME_LEN 64
/** The longest name in hex digits, without the terminating NUL: buffers for
 *  a name are LOCKSPACE_NAME_LEN + 1 bytes. */
#define LOCKSPACE_NAME_LEN LOCKSPACE_SHA256_NAME_LEN

/** Flags of lockspace_open(). */
enum lockspace_open_flags {
	/** Fail with -ENOENT instead of creating a missing directory. */
	LOCKSPACE_OPEN_NOCREATE = 1u << 0,
	/** Create missing parent directories too (mode 0755), as for a default. */
	LOCKSPACE_OPEN_PARENTS = 1u << 1,
	/** Name resources by SHA-256 of the path as spelled, as virtlockd's
	 *  file_lockspace_dir (see the overview); fcntl and direct mode only. */
	LOCKSPACE_OPEN_SHA256 = 1u << 2,
};

/** Flags of the resource calls; each call documents those it accepts and
 *  answers -EINVAL to any other. */
enum lockspace_flags {
	/** Take a shared (read) lock instead of an exclusive (write) lock. */
	LOCKSPACE_SHARED = 1u << 0,
	/** Wait for a busy resource instead of answering -EBUSY. */
	LOCKSPACE_WAIT = 1u << 1,
	/** Hash the resource string as given; do not canonicalise it. */
	LOCKSPACE_LITERAL = 1u << 2,
	/** The resource argument is a lock file name (32 or 64 hex digits), not a path. */
	LOCKSPACE_BYNAME = 1u << 3,
	/** lockspace_foreach(), lockspace_inspect(): also list blocked waiters
	 *  (reads /proc/locks: its cost grows with every lock on the host). */
	LOCKSPACE_WAITERS = 1u << 4,
	/** lockspace_foreach(): also report free lock files. */
	LOCKSPACE_ALL = 1u << 5,
	/** lockspace_prune(): report what would be removed, remove nothing. */
	LOCKSPACE_DRY_RUN = 1u << 6,
	/** lockspace_name(), lockspace_canonical(), lockspace_inspect(): a
	 *  path that no longer exists (realpath(3) fails with ENOENT) is still
	 *  named as it was while it existed: its parent directory's realpath
	 *  and its last component, or, if the parent is gone too, the path made
	 *  absolute and normalised lexically. A dangling symbolic link (the path
	 *  itself, or a directory on its way) is followed: its text, relative to
	 *  the link's directory, is named by the same rule, at most 40 links in
	 *  all (-ELOOP beyond, as the kernel). For finding the lock of a deleted
	 *  file, also through a link to it. The acquire and release calls
	 *  ignore it: what is locked must exist. */
	LOCKSPACE_LOOKUP = 1u << 7,
	/** lockspace_name(), lockspace_canonical(): name as a handle opened
	 *  with LOCKSPACE_OPEN_SHA256 does: SHA-256 of the path made absolute,
	 *  symbolic links not resolved, nothing normalised (virtlockd hashes
	 *  the disk path as the domain XML spells it). The path must exist
	 *  unless LOCKSPACE_LOOKUP. Handle calls take it from the handle. */
	LOCKSPACE_SHA256 = 1u << 8,
};

struct lockspace;

/** Return the library's run-time version as "MAJOR.MINOR.PATCH". Static string. */
LOCKSPACE_API const char *lockspace_version(void);

/**
 * Explain a return code of this library (negative errno) in one short phrase.
 * Returns a static string; never NULL. Thread-safe.
 */
LOCKSPACE_API const char *lockspace_strerror(int code);

/**
 * Compute the default lockspace directory: /var/lib/virlock/lockspace for
 * root, else $XDG_RUNTIME_DIR/virlock, else /tmp/virlock-$UID. (A program may
 * let its users choose another, as virlock does with $VIRLOCK_LOCKSPACE; the
 * library reads no such variable.)
 * On success *out is a malloc'd string the caller frees. -ENOMEM on failure,
 * -EINVAL if @out is NULL.
 */
LOCKSPACE_API int lockspace_default_dir(char **out);

/**
 * Open a lockspace handle.
 * @dir:   the lockspace directory, or NULL for direct mode, where each
 *         resource file itself is locked (never created, written or
 *         truncated). A missing directory is created with mode 0700 unless
 *         LOCKSPACE_OPEN_NOCREATE; its parent must exist unless
 *         LOCKSPACE_OPEN_PARENTS. A symlink to a directory is resolved first.
 * @flags: enum lockspace_open_flags (any other bit: -EINVAL).
 * @out:   receives the handle; set to NULL on failure.
 * Returns 0, or -ENOENT (missing, NOCREATE or no parent), -ENOTDIR (not a
 * directory), -EPERM (writable by others, sticky bit or not, owned by
 * another non-root user, or group-writable without the setgid bit; or its
 * .holders, left by an earlier run, does not fit it: another owner than the
 * directory's and root, writable by others, or in a group lockspace not of
 * the group with mode 2770), -EOPNOTSUPP (LOCKSPACE_OPEN_SHA256 on a sanlock
 * lockspace), -EACCES, -ENOMEM, or another negative errno.
 * Nothing is made in a refused directory.
 */
LOCKSPACE_API int lockspace_open(const char *dir, unsigned flags, struct lockspace **out);

/**
 * Release every lock the handle holds, delete its holder record, and free it.
 * Accepts NULL. Locks held through other handles are not affected.
 */
LOCKSPACE_API void lockspace_close(struct lockspace *ls);

/** The canonical lockspace directory, or NULL in direct mode. Owned by @ls. */
LOCKSPACE_API const char *lockspace_dir(const struct lockspace *ls);

/**
 * Backends. A lockspace directory uses one lock mechanism for all its
 * resources, recorded in the directory itself (<dir>/.backend; absent means
 * fcntl), so that every call and every host sharing the directory agrees:
 *  - "fcntl": the lock files described above (the default; what a first
 *    lockspace_open() makes).
 *  - "sanlock": <dir>/<name> is a 1 MiB sanlock resource lease (disk Paxos,
 *    coordinated by the sanlock daemon on every host sharing the directory,
 *    as libvirt's sanlock driver names them), created and initialised on
 *    first use; <dir>/.lockspace.lease is the sanlock lockspace (host id
 *    delta leases). Leases are held by the calling process, which registers
 *    with the daemon on its first acquire: the daemon frees them when the
 *    process dies. lockspace_foreach() and lockspace_inspect() report the
 *    owners the lease records: each with its host id and generation, and
 *    with its pid and record where the owner is this host (pid 0 for
 *    another host). Only a library built with libsanlock has it.
 */
#define LOCKSPACE_BACKEND_FCNTL	  "fcntl"
#define LOCKSPACE_BACKEND_SANLOCK "sanlock"

/** The backend of @ls: "fcntl" (also in direct mode) or "sanlock". Static string. */
LOCKSPACE_API const char *lockspace_backend(const struct lockspace *ls);

/**
 * This host's id in @ls: *@host_id gets the sanlock host id it joined the
 * lockspace as, or 0 in an fcntl lockspace and in direct mode (hosts are not
 * told apart there). A sanlock call asks the daemon: it does not block for
 * long. Returns 0, -EINVAL, -ENOTCONN (a sanlock host that has not joined,
 * or left), or another error of the sanlock daemon (-ECONNREFUSED: it does
 * not run).
 */
LOCKSPACE_API int lockspace_host_id(struct lockspace *ls, unsigned *host_id);

/**
 * Make @dir a lockspace of @backend explicitly and, for sanlock, join this
 * host to it. Blocks: joining a sanlock lockspace takes a few seconds (about
 * three io timeouts; the lockspace is written with a 1 s io timeout).
 * @dir:     the lockspace directory (created as lockspace_open() would).
 * @backend: LOCKSPACE_BACKEND_FCNTL (or NULL) or LOCKSPACE_BACKEND_SANLOCK.
 *           For sanlock, a directory that is not one yet gets its lockspace
 *           lease written (only if it holds no lock files); one that is
 *           (made by another host sharing it) is only joined.
 * @host_id: sanlock: this host's id, 1-2000, different on every host that
 *           shares the directory; 0 for fcntl.
 * @flags:   enum lockspace_open_flags (any other bit: -EINVAL).
 * Returns 0 if made (and joined), 1 if it was already a lockspace of that
 * backend (sanlock: now joined, or joined already with @host_id), or the
 * errors of lockspace_open() and: -EINVAL (unknown backend, bad host id),
 * -EEXIST (a lockspace of another backend, or joined with another host id),
 * -ENOTEMPTY (an fcntl lockspace with lock files cannot become sanlock),
 * -EOPNOTSUPP (built without sanlock), -ENOPKG (libsanlock_client.so.1,
 * opened on first use, is not installed), -ECONNREFUSED (the sanlock daemon is
 * not running), -EADDRINUSE (the host id is in use by another live host),
 * -EIO (the storage failed, or does not do O_DIRECT, which sanlock needs).
 */
LOCKSPACE_API int lockspace_init(const char *dir, const char *backend, unsigned host_id, unsigned flags);

/** What lockspace_init_notify() tells its callback about a sanlock join. */
enum lockspace_join_event {
	/** The join starts now; it takes up to @seconds. */
	LOCKSPACE_JOIN_START = 1,
	/** The join starts now, but the host id's delta lease is still held by
	 *  @host_name (generation @generation), which stopped renewing it
	 *  without leaving: sanlock first waits for that lease to expire, so
	 *  the join takes up to @seconds (unless @host_name is this host's own
	 *  daemon restarted under the same name, which takes the id back at
	 *  once). */
	LOCKSPACE_JOIN_EXPIRY = 2,
	/** Refused: @host_name renews the host id's delta lease now; the call
	 *  returns -EADDRINUSE without asking the daemon to join. */
	LOCKSPACE_JOIN_IN_USE = 3,
};

/** One event of lockspace_init_notify(); valid only during the callback. */
struct lockspace_join {
	enum lockspace_join_event event;
	unsigned host_id;
	unsigned seconds;	       /* START, EXPIRY: the longest the join should take */
	const char *host_name;	       /* EXPIRY, IN_USE: the daemon named in the delta lease */
	unsigned long long generation; /* EXPIRY, IN_USE: its generation there */
};

/** Callback of lockspace_init_notify(). */
typedef void (*lockspace_join_fn)(const struct lockspace_join *join, void *arg);

/**
 * lockspace_init(), telling @fn (which may be NULL) what the sanlock join
 * does before it blocks: once, with LOCKSPACE_JOIN_START or
 * LOCKSPACE_JOIN_EXPIRY, when the join really starts (after every check
 * that can refuse at once), or with LOCKSPACE_JOIN_IN_USE before it returns
 * -EADDRINUSE. Not called for fcntl, for a host that has joined already, or
 * when the call fails before a join starts.
 * Before joining it reads the host id's delta lease in the lockspace lease:
 * released or never taken, the join starts; taken, it reads it again for up
 * to three of the owner's io timeouts (a live owner renews every two): if the
 * owner renewed it, the host id is in use (-EADDRINUSE at once, not after
 * sanlock's wait of a minute or more); if not, the join waits for it to
 * expire (LOCKSPACE_JOIN_EXPIRY).
 * A failed call leaves nothing it made: the lockspace lease and .backend
 * file it wrote, and the directory (and parents) it created, are removed.
 * Returns as lockspace_init().
 */
LOCKSPACE_API int lockspace_init_notify(const char *dir, const char *backend, unsigned host_id,
					unsigned flags, lockspace_join_fn fn, void *arg);

/**
 * Make this host leave the sanlock lockspace @dir (the daemon's
 * rem_lockspace). Blocks for a second or two.
 * Returns 0, -ENOTCONN (this host has not joined it), -EBUSY (leases of
 * this host are still held in it), -EOPNOTSUPP (not a sanlock lockspace, or
 * built without sanlock), -ECONNREFUSED (daemon not running), or the errors
 * of lockspace_open().
 */
LOCKSPACE_API int lockspace_leave(const char *dir);

/**
 * Compute the name of @resource into @out (LOCKSPACE_NAME_LEN + 1 bytes: 32
 * hex digits, or 64 with LOCKSPACE_SHA256, and NUL).
 * @flags: LOCKSPACE_LITERAL hashes the string as given; LOCKSPACE_BYNAME
 *         checks that @resource is a valid name and copies it (lowercased);
 *         LOCKSPACE_SHA256 names it by SHA-256 of the path as spelled;
 *         LOCKSPACE_LOOKUP names a path that no longer exists as it was
 *         named while it existed (no -ENOENT then, unless @resource ends
 *         in "." or "..").
 *         No other flag.
 * Returns 0, -EINVAL (@resource or @out NULL, empty resource, not a name
 * with BYNAME, or another flag), -ENAMETOOLONG, -ENOENT (path does not
 * exist), -ELOOP, or another errno from realpath(3). Needs no handle: the
 * name of a resource is the same in every lockspace of one hash.
 */
LOCKSPACE_API int lockspace_name(const char *resource, unsigned flags, char out[LOCKSPACE_NAME_LEN + 1]);

/**
 * Canonicalise @resource as lockspace_name() would hash it: *out is a
 * malloc'd copy of the realpath (or of @resource with LOCKSPACE_LITERAL; with
 * LOCKSPACE_LOOKUP, of what a path that no longer exists was; with
 * LOCKSPACE_SHA256, of the path made absolute, links not resolved).
 * @flags: LOCKSPACE_LITERAL, LOCKSPACE_LOOKUP, LOCKSPACE_SHA256; no other.
 * Returns 0 or the errors of lockspace_name() (-EINVAL also when @out is
 * NULL, or with LOCKSPACE_BYNAME).
 */
LOCKSPACE_API int lockspace_canonical(const char *resource, unsigned flags, char **out);

/** Return 1 if @s is 32 or 64 hex digits (either case), else 0. */
LOCKSPACE_API int lockspace_valid_name(const char *s);

/**
 * Acquire @resource; the same as lockspace_acquire_many() with one resource
 * and no timeout (LOCKSPACE_WAIT then waits for ever).
 */
LOCKSPACE_API int lockspace_acquire(struct lockspace *ls, const char *resource, unsigned flags);

/**
 * Acquire @n resources all-or-nothing, in name order (so that two callers
 * never deadlock each other), and keep them until released.
 * @flags:      LOCKSPACE_SHARED, LOCKSPACE_WAIT, LOCKSPACE_LITERAL,
 *              LOCKSPACE_BYNAME (LOCKSPACE_LOOKUP is ignored); no other.
 * @timeout_ms: with LOCKSPACE_WAIT, the longest total wait in milliseconds,
 *              or -1 for ever; unused without it, but -1 or >= 0 all the
 *              same (-EINVAL otherwise).
 * @failed:     if not NULL, on failure receives the index in @resources of
 *              the resource that failed.
 * Blocks only with LOCKSPACE_WAIT. A wait for ever blocks in F_SETLKW (the
 * kernel lists the caller as a waiter) and returns -EINTR if a signal handler
 * installed without SA_RESTART interrupts it; a finite wait retries every few
 * milliseconds (at most 20) until the deadline, whatever signals are caught.
 * Inside one process a wait for a resource held through another handle or
 * thread sleeps until that one releases it or the deadline passes; a wait
 * for ever there also returns -EINTR when a caught signal's handler has no
 * SA_RESTART, as F_SETLKW does (one caught just before the wait begins does
 * not end it).
 * A resource named twice in one call (two spellings of one path, or one
 * name twice; in direct mode also two hard links of one file: the same
 * device and inode) is -EINVAL, with *@failed the index of its second naming
 * (the first such repeat in @resources), before anything is taken. The first
 * mistake in @resources order wins: a repeat among the resources before the
 * first that does not resolve is -EINVAL, else that one's error (both
 * backends). One held by
 * this process already is busy, except shared over shared, which shares
 * the hold (reference-counted: the lock is dropped by the last release).
 * Returns 0 with every resource held, or on failure with none of them held:
 * -EBUSY, -ETIMEDOUT, -EINTR, -EDEADLK (the kernel saw a deadlock), -EBADMSG
 * (a corrupt lock file: content does not hash to its name, or not a regular
 * file), -ELOOP (the lock file is a symlink), -ENOENT, -EACCES, -EMFILE (out
 * of descriptors), -ENOMEM, -EINVAL, -ESTALE (the directory became a sanlock
 * lockspace after @ls was opened: open it again; the handle never makes a
 * lock file there, see lockspace(3)).
 * In a sanlock lockspace: a wait retries about every 500 ms (a wait for ever returns -EINTR when a caught
 * signal interrupts a pause), shared over shared in one process is busy too, and also -ECONNREFUSED (daemon
 * not running), -ENOTCONN (this host has not joined the lockspace), -ENOPKG (libsanlock_client.so.1 is not
 * installed), -EIO (storage), -EBADMSG (the lease file is not a lease of this lockspace: a stray fcntl lock
 * file, an empty, truncated or foreign file, a directory), -ELOOP (it is a symbolic link). There every
 * acquiring handle keeps a holder record, whether or not lockspace_set_owner() was called (the daemon
 * names no holder process), and a waiting acquire says so in it ("wait" lines), rewriting it at each try.
 */
LOCKSPACE_API int lockspace_acquire_many(struct lockspace *ls, const char *const *resources, size_t n,
					 unsigned flags, int timeout_ms, size_t *failed);

/**
 * Release one hold of @resource taken through @ls.
 * @flags: LOCKSPACE_LITERAL or LOCKSPACE_BYNAME, as for the acquire
 *         (LOCKSPACE_LOOKUP is ignored); no other.
 * Returns 0, or -ENOENT if @ls does not hold it, -ENOLINK (sanlock: the
 * daemon went away, so the lease was lost already; the hold is forgotten),
 * or the errors of lockspace_name().
 */
LOCKSPACE_API int lockspace_release(struct lockspace *ls, const char *resource, unsigned flags);

/** Release every hold of @ls. Returns the number of holds released (>= 0). */
LOCKSPACE_API int lockspace_release_all(struct lockspace *ls);

/**
 * Watching what is held. fcntl locks live exactly as long as the process:
 * nothing can take them away. sanlock leases are kept by the sanlock daemon
 * for this process: when the daemon dies or is restarted, its connection
 * with the process ends and the leases expire on the shared storage while
 * the process runs on (without the wdmd watchdog nothing resets the host);
 * when the daemon revokes them (its lockspace lease failed), it sends the
 * process SIGTERM (again and again), then SIGKILL. A holder that must never run without its
 * leases polls the descriptor below, and asks lockspace_lost() when it turns
 * ready and when a SIGTERM comes (with the sender's pid, e.g. the
 * ssi_pid of a signalfd read), then stops what it protects.
 *
 * Every call that talks to the daemon runs with SIGPIPE blocked in the
 * calling thread and consumes the SIGPIPE it raised itself, so that a call
 * after the daemon went away returns -ENOLINK, never kills the caller.
 */

/**
 * A descriptor that turns readable (POLLIN or POLLHUP) when the locks this
 * process holds in @ls's backend may have been lost: with sanlock, the
 * process's registration with the daemon, made by its first acquire (the
 * same for every handle and thread of the process). Poll it; never read or
 * close it. It stays valid until the process exits or forks (the child
 * holds nothing), or until the locks were lost and every hold of them
 * released: the next acquire then registers anew with the daemon (one
 * started again meanwhile) and the descriptor changes; ask again after it.
 * Returns the descriptor (>= 0), -ENOENT when there is nothing to watch
 * (fcntl and direct mode; sanlock before the process's first acquire), or
 * -EINVAL (@ls NULL). The daemon also answers acquires and releases on this
 * connection: a poller may wake while another thread calls the daemon (a
 * spurious wake-up) and must call lockspace_lost() to know. May wait for a
 * call to the daemon in progress on another thread; does not block otherwise.
 */
LOCKSPACE_API int lockspace_watch_fd(struct lockspace *ls);

/**
 * Are the locks this process holds in @ls's backend still held?
 * @sender: the pid that sent a signal the caller received, to learn whether
 *          it came from the backend (the sanlock daemon revoking the
 *          leases), or 0.
 * Returns 0 (held, as far as this process can tell: always for fcntl),
 * 1 (lost, and @sender is the daemon: the signal is its revocation, which it
 * repeats until it sends SIGKILL; never pass it on as a request to stop),
 * -ENOLINK (lost: the daemon's connection ended or the daemon revoked the
 * leases; once lost, always lost: every later release returns -ENOLINK too
 * and forgets the hold; with none left, the next acquire starts afresh), or
 * -EINVAL. May wait for a call to the daemon in progress on another thread;
 * does not block otherwise.
 */
LOCKSPACE_API int lockspace_lost(struct lockspace *ls, pid_t sender);

/** The longest owner label, in bytes. */
#define LOCKSPACE_OWNER_MAX 1024

/**
 * Describe this process in the lockspace's holder records
 * (<dir>/.holders/<pid>), so that list and inspect can show who holds what:
 * @owner is a free label (NULL for none; not empty, at most
 * LOCKSPACE_OWNER_MAX bytes, no newline or carriage return), @child the pid of a
 * supervised child (0 for none), or LOCKSPACE_CHILD_STARTING just before the
 * process starts its one child, whose pid is not known yet, so that the
 * record is in place before the child runs; then call again with the
 * child's pid once it is known. Where the record may say so (an fcntl
 * lockspace, whose records only this host reads; a kernel that lists a
 * process's children in /proc/PID/task/PID/children; the caller is the
 * main thread and has no child yet) it says "kernel-child 1", and readers
 * take the child from the kernel, from the moment it exists: the second
 * call then writes nothing (a rewrite by a rename over the record costs a
 * flush of its data on ext4) and the next rewrite names the pid. Elsewhere
 * the record names no child until the second call. From this call on, every acquire and release
 * through @ls rewrites the record atomically; lockspace_close() deletes it.
 * A label has at most one live holder: this call claims @owner as
 * lockspace_claim_owner() does without LOCKSPACE_WAIT (keeping a claim @ls
 * already has for it, and letting go of a claim of another label), and
 * answers -EBUSY, recording nothing, when another process or handle has it.
 * The record is the process's: it lists the locks of every handle of this
 * process in the same lockspace directory, under this handle's label. So
 * one handle per lockspace per process labels it: while another handle
 * has (through set_owner()), this call answers -EALREADY, claiming and
 * recording nothing; once that handle is closed, another may. Returns 0, -EINVAL, -EBUSY, -EALREADY,
 * -EOPNOTSUPP (direct mode), -ENOMEM, or an errno from writing the record.
 */
LOCKSPACE_API int lockspace_set_owner(struct lockspace *ls, const char *owner, pid_t child);

/** lockspace_set_owner()'s @child for a child about to be started (not -1,
 * which a failed fork() gives: that is -EINVAL). */
#define LOCKSPACE_CHILD_STARTING ((pid_t)-2)

/**
 * Claim the owner label @owner for @ls, without writing a record (a later
 * lockspace_set_owner() with the same label keeps the claim). The claim is
 * an exclusive fcntl lock on owner.<md5 of @owner> in this host's records
 * directory (see LOCKSPACE_CONTROL_SUFFIX; in a sanlock lockspace labels
 * are therefore unique per host), kept until lockspace_close(), a
 * set_owner() of another label, or the death of the process: the kernel,
 * not a record, decides who owns a label. Letting go of a label removes its
 * file (still locked); lockspace_prune() removes those a dead process left. After fork() the child claims
 * nothing.
 * Without LOCKSPACE_WAIT a busy label file is given up to 100 ms, since a
 * prune, or a holder letting go, holds a label file only while it unlinks
 * it; a file unlinked or free meanwhile is claimed anew, at its path.
 * @flags:      LOCKSPACE_WAIT to wait while another holder has the label;
 *              no other.
 * @timeout_ms: with LOCKSPACE_WAIT, the longest wait in milliseconds, or -1
 *              for ever (F_SETLKW: a caught signal without SA_RESTART
 *              returns -EINTR); -1 or >= 0 also without it.
 * Returns 0 (claimed, or claimed already by @ls), -EBUSY (another process,
 * or another handle of this one, has it), -ETIMEDOUT, -EINTR, -EINVAL (not a
 * valid label), -EOPNOTSUPP (direct mode), -EBADMSG (the label file is not a
 * regular file), or another negative errno.
 */
LOCKSPACE_API int lockspace_claim_owner(struct lockspace *ls, const char *owner, unsigned flags,
					int timeout_ms);

/**
 * Which process owns the label @owner: an F_GETLK probe of its label file
 * (never a record, which a crash may leave behind). *@pid gets the pid
 * (getpid() once a claim of this process is made; while another thread is
 * still making one, the process the kernel shows holding the label, or a
 * wait of up to a second for that claim to settle). Never waits for
 * another process.
 * Returns 0, -ENOENT (no live process claims it), -EINVAL, -EOPNOTSUPP
 * (direct mode), -EBADMSG (the label file is not a regular file), or
 * another negative errno (-EACCES: the records directory is not readable).
 */
LOCKSPACE_API int lockspace_owner_pid(struct lockspace *ls, const char *owner, pid_t *pid);

/** Lock state of a lock file. */
enum lockspace_state {
	LOCKSPACE_STATE_FREE = 0,
	LOCKSPACE_STATE_SHARED = 1,
	LOCKSPACE_STATE_EXCLUSIVE = 2,
};

/** What is known of one holder; see lockspace_holder.flags. */
enum lockspace_holder_flags {
	/** A holder record of the live process names this lock. */
	LOCKSPACE_HOLDER_RECORD = 1u << 0,
	/** The kernel shows this pid holding the lock, but it has no record. */
	LOCKSPACE_HOLDER_NORECORD = 1u << 1,
	/** A record names this lock, but its process is gone, its pid was
	 *  reused, or the kernel does not show it holding the lock: the
	 *  record is stale. Only entries of lockspace_info.stale have it. */
	LOCKSPACE_HOLDER_STALE = 1u << 2,
	/** The holder is this very process. */
	LOCKSPACE_HOLDER_SELF = 1u << 3,
	/** A live record claims a share of a shared lock, but the kernel
	 *  could not be asked whether this process holds it (its
	 *  /proc/<pid>/fdinfo is not readable: another user's process, or a
	 *  /proc mounted with hidepid). Only entries of lockspace_info.stale
	 *  have it, instead of LOCKSPACE_HOLDER_STALE: never counted as a
	 *  holder, and not stale either (prune keeps its record). */
	LOCKSPACE_HOLDER_UNCONFIRMED = 1u << 4,
	/** The holder is on another host: sanlock, see host_id and host_name;
	 *  fcntl on a cluster filesystem (NFS, GFS2, OCFS2, CephFS), a lock
	 *  that F_GETLK reports with no pid of this host (0, negative, or no
	 *  process here), with host_id 0 and host_name NULL: which host is not
	 *  known. Its pid (0 here) and record are that host's, unknown here. */
	LOCKSPACE_HOLDER_REMOTE = 1u << 5,
};

/** One holder of a lock (or, in lockspace_info.stale, one stale claim of it:
 *  then @mode is the mode the record claims, not a lock anybody holds). */
struct lockspace_holder {
	pid_t pid;		   /* holder process (0 if unknown, e.g. on another host) */
	enum lockspace_state mode; /* shared or exclusive */
	unsigned flags;		   /* enum lockspace_holder_flags */
	const char *command;	   /* /proc/<pid>/comm, NULL if unknown */
	const char *owner;	   /* record's owner label, NULL if none */
	pid_t child;		   /* record's supervised child, 0 if none */
	time_t since;		   /* when the record says it was taken, 0 if unknown */
	/* sanlock: the host id that owns the lease, as the lease records it (also
	 * for a holder on another host, whose pid is 0); 0 for fcntl. */
	unsigned host_id;
	/* sanlock: that host's generation, which the daemon counts up each time
	 * the host id joins the lockspace (a new generation is a restarted
	 * host); 0 for fcntl. */
	unsigned long long generation;
	/* sanlock: the name of the daemon on that host (sanlock daemon -e NAME,
	 * or the name it made itself), as that host id's delta lease in
	 * <dir>/.lockspace.lease records it; NULL if it cannot be read, for an
	 * owner of an older generation than the host id's current one (the
	 * delta lease names only the current one's daemon), and for fcntl. */
	const char *host_name;
};

/** One lock file, as lockspace_foreach() and lockspace_inspect() report it. */
struct lockspace_info {
	char name[LOCKSPACE_NAME_LEN + 1];
	const char *lockfile;	    /* full path of the lock file */
	const char *path;	    /* recorded content (the resource), NULL if empty (virtlockd's
				       files always are) or unread */
	int integrity;		    /* 0 verified, -ENODATA empty, -EBADMSG corrupt, other -errno */
	enum lockspace_state state; /* as the kernel says now */
	/* The holders the kernel confirms, and only those: the pid F_GETLK
	 * names, this process if it holds the lock, a further shared holder
	 * whose record is live (pid and start time match) and whose lock the
	 * kernel shows (in /proc/locks with LOCKSPACE_WAITERS, else in the
	 * "lock:" lines of its /proc/<pid>/fdinfo); and the holders
	 * /proc/locks shows without a record. A record only labels them. */
	size_t nholders;
	const struct lockspace_holder *holders;
	size_t nwaiters; /* only with LOCKSPACE_WAITERS */
	const pid_t *waiters;
	/* The records that claim this lock but are not confirmed, never
	 * counted in @holders: flagged LOCKSPACE_HOLDER_STALE when their
	 * process is gone, its pid was reused, or the kernel does not show it
	 * holding the lock in the claimed mode; LOCKSPACE_HOLDER_UNCONFIRMED
	 * when the kernel cannot be asked (see that flag).
	 * lockspace_prune() removes the records of ended processes. In a
	 * sanlock lockspace: the records of this host whose process is gone or
	 * no longer holds the lease as its daemon says, and the lost owners of
	 * the lease (with pid 0 and their host_id and generation, which is
	 * older than that host's current one: it joined again since, so the
	 * lease is free, as the daemon and lockspace_prune() treat it). */
	size_t nstale;
	const struct lockspace_holder *stale;
	/* sanlock: the host id of each of @waiters (the pid is that host's),
	 * NULL for fcntl. */
	const unsigned *waiter_hosts;
	/* sanlock: the name of the daemon of each of @waiter_hosts (as
	 * lockspace_holder.host_name), an entry NULL when its delta lease cannot
	 * be read; the array NULL for fcntl. */
	const char *const *waiter_host_names;
};

/**
 * Callback of lockspace_foreach() and lockspace_inspect(). @info and all it
 * points to are valid only during the call. Return 0 to go on; any other value
 * stops the walk and is returned by the walking call.
 */
typedef int (*lockspace_info_fn)(const struct lockspace_info *info, void *arg);

/**
 * Report the lock files of the lockspace, in directory order: held ones, and
 * free ones too with LOCKSPACE_ALL (stale record claims of a free file show
 * only then, in lockspace_info.stale). One pass over the directory with an
 * F_GETLK probe per file (lock files this process holds are reported from the
 * table, never opened), joined with the holder records. F_GETLK names one
 * holder per lock; another holder of a shared lock is known from its live
 * record, confirmed by the "lock:" lines of its /proc/<pid>/fdinfo (a cost
 * per such holder, never per lock on the host). With LOCKSPACE_WAITERS,
 * /proc/locks is read once to list blocked waiters; a shared holder known
 * from its record must then appear there instead, and the holders it shows that the probe and the records did
 * not (further shared holders without a record) are added. Names not of 32 or 64 hex digits are skipped.
 * In a sanlock lockspace the lease's owners (host id and generation) are read from the lease:
 * an owner on this host is shown with the pid of the live record whose process this host's daemon
 * says holds it (sanlock_inquire), an owner on another host with pid 0 and LOCKSPACE_HOLDER_REMOTE,
 * and an owner whose generation is older than its host's current one is lost (in @stale; a lease
 * with no other owner is free). Waiters come from the "wait" lines of the records: this host's
 * of live processes, another host's of records rewritten in the last 10 seconds (a waiter there
 * rewrites its record every half second; the hosts' clocks must agree that closely).
 * @flags: LOCKSPACE_ALL, LOCKSPACE_WAITERS; no other.
 * Returns 0, a callback's non-zero value, -EOPNOTSUPP in direct mode,
 * -ESTALE (the directory became a sanlock lockspace after @ls was opened;
 * lockspace_inspect() too), or a negative errno if the directory cannot be
 * read.
 */
LOCKSPACE_API int lockspace_foreach(struct lockspace *ls, unsigned flags, lockspace_info_fn fn, void *arg);

/**
 * A tuning knob of lockspace_foreach(), read from the environment at each
 * call: in an fcntl lockspace of 512 lock files or more, the files are
 * looked at (open, F_GETLK, read, close) by several threads at once, at most
 * as many as the CPUs the process may run on (sched_getaffinity), and 4;
 * LOCKSPACE_SCAN_THREADS=N says N instead (1: the calling thread alone,
 * at most 64; 0 or not a number: the default). The threads block every signal, close what they open in a
 * descriptor table of their own that holds only the lockspace directory's
 * (so no close drops a lock of the process), and live only during the
 * call; the callback is called from the calling thread alone, in directory
 * order, either way. The directory is read 1024 names at a time, and the
 * memory of a walk does not grow with the number of files. A callback that
 * forks should end the walk in the child (the directory's offset is the
 * parent's too), and must fork through fork(), whose handlers tell the walk
 * (a raw clone() would leave the child waiting for the workers). Such a
 * walk defers a cancellation of the calling thread until it returns.
 */
#define LOCKSPACE_SCAN_THREADS_ENV "LOCKSPACE_SCAN_THREADS"

/**
 * Report one resource, waiters included: @resource is a path (or, with
 * LOCKSPACE_LITERAL, a string; with LOCKSPACE_BYNAME, a name; with
 * LOCKSPACE_LOOKUP, a path that may no longer exist; LOCKSPACE_WAITERS is
 * accepted and always implied; no other flag). Calls @fn once.
 * Returns 0, a callback's value, -ENOENT (no lock file), or the errors of
 * lockspace_name(). In direct mode the resource file itself is probed.
 */
LOCKSPACE_API int lockspace_inspect(struct lockspace *ls, const char *resource, unsigned flags,
				    lockspace_info_fn fn, void *arg);

/**
 * Probe one resource's lock without reading /proc/locks or any record: the
 * cheap question "who holds it?", for a loop or a check after the fact.
 * @resource as for lockspace_inspect() (LOCKSPACE_LITERAL, LOCKSPACE_BYNAME,
 * LOCKSPACE_LOOKUP; no other flag). If this process holds the lock (through
 * any handle), *state is the mode it holds and *pid is getpid(), from the
 * process-wide table, without opening the file. Otherwise one F_GETLK: *state
 * is free, shared or exclusive and *pid the one holder the kernel names (of a
 * shared lock, any one of its holders; 0 if free, on another host of a
 * cluster filesystem, or a holder the kernel gives no pid of this host for,
 * such as an open file description lock). In direct mode the resource file
 * itself is probed.
 * Does not block.
 * Returns 0, -ENOENT (no lock file), -EOPNOTSUPP (a sanlock lockspace: use
 * lockspace_inspect()), -EINVAL, or the errors of lockspace_name().
 */
LOCKSPACE_API int lockspace_probe(struct lockspace *ls, const char *resource, unsigned flags,
				  enum lockspace_state *state, pid_t *pid);

/** One live holder record, as lockspace_records() reports it: what a process
 *  that called lockspace_set_owner() says of itself. The holders of a lock
 *  are those the kernel confirms (struct lockspace_holder); a record only
 *  labels them. */
struct lockspace_record {
	pid_t pid;
	pid_t child;	   /* 0 if none */
	const char *owner; /* NULL if none */
	size_t nlocks;	   /* locks the record lists */
	const char *const *names;
};

/** Callback of lockspace_records(); same contract as lockspace_info_fn. */
typedef int (*lockspace_record_fn)(const struct lockspace_record *rec, void *arg);

/**
 * Report the live holder records of the lockspace (stale ones are skipped),
 * of processes that called lockspace_set_owner(): the records a sanlock
 * lockspace keeps of every other holder are skipped too (see
 * lockspace_foreach() for those). Returns 0, a callback's value, -EOPNOTSUPP in direct mode, or -errno.
 */
LOCKSPACE_API int lockspace_records(struct lockspace *ls, lockspace_record_fn fn, void *arg);

/**
 * The holder records directory in a lockspace directory: <dir>/.holders
 * (with a subdirectory per host in a sanlock lockspace, below). Only the
 * library reads and writes it; a program names it, to say what is wrong
 * with it, say, when lockspace_open() answers -EPERM for it.
 */
#define LOCKSPACE_HOLDERS_DIR ".holders"

/**
 * Control sockets. This host's records directory holds its holders'
 * records, label files and control sockets (<pid>, owner.<md5 of the label>
 * and <pid>.sock): <dir>/.holders, or in a sanlock lockspace
 * <dir>/.holders/h<host id>, since hosts that share the directory must not
 * share pids; only the library reads and writes it. A holder process that
 * others may ask to do things (to release locks, say) listens on a stream
 * socket: the abstract (Linux) name "virlock/" and 32 random hex digits
 * (128 bits from getrandom()), which makes no file and which nobody can
 * guess: the library publishes it only in the holder's record (the line
 * "control @NAME"), which only the users allowed to talk to the holder may
 * read; or, where the environment says LOCKSPACE_CONTROL=file (for clients
 * in another network namespace, which do not see abstract names), the file
 * <records directory>/<pid> followed by this suffix. The library makes it,
 * connects to it, and removes it (lockspace_close() of the handle that made
 * it, or lockspace_prune() with the record of a process that is gone); what
 * is said over it is the program's own protocol.
 */
#define LOCKSPACE_CONTROL_SUFFIX ".sock"

/**
 * Listen on this process's control socket for @ls: a fresh random abstract
 * name (drawn once more if taken), which @ls's record publishes (rewritten
 * now if it has one; otherwise with its first, lockspace_set_owner() say:
 * a holder without a record cannot be reached), or with
 * LOCKSPACE_CONTROL=file the file in @ls's
 * records directory (made if missing, as for a record), replacing a file
 * that a dead process left under this pid. A socket file is closed to other
 * users (mode 0600 through the umask). *@fd gets a non-blocking, close-on-exec
 * listening descriptor to poll and accept(2) on; the handle owns it: never
 * close it. lockspace_close() closes it and removes any file, after it has
 * released the locks and the label, so that a client that finds no socket
 * finds them free. A second call returns the same descriptor. After fork()
 * the child's handle has none (the file is its parent's).
 * Returns 0, -EINVAL, -EOPNOTSUPP (direct mode), -ENOTCONN (a sanlock host
 * that has not joined), -EPERM (a records directory that does not fit the
 * lockspace), or another negative errno.
 */
LOCKSPACE_API int lockspace_control_listen(struct lockspace *ls, int *fd);

/**
 * Connect to the control socket of holder @pid in @ls: the abstract name
 * that @pid's record gives, or where the record gives none (a holder with
 * LOCKSPACE_CONTROL=file, or of an earlier version) its file in the records
 * directory; never a name guessed. Pass only a pid the kernel confirms as a
 * holder (F_GETLK on a lock or label file, or a live record): as a defence
 * in depth the peer must be that very pid (SO_PEERCRED), and run as the
 * caller's user or root (root reaches every user's holders). Blocks only
 * while the holder's backlog is full, up to @timeout_ms (-1 for ever).
 * Returns a non-blocking, close-on-exec descriptor that the caller closes,
 * or -ENOENT or -ECONNREFUSED (no one listens there), -ENETUNREACH (@pid
 * runs, in another network namespace, where its abstract name cannot be
 * reached), -ETIMEDOUT, -ESRCH (the socket is not @pid's: a planted file,
 * or another process on the name), -EACCES (@pid runs as another user, or
 * its record or file is closed to us, or /proc hides @pid and it has no
 * socket we can reach), -EBADMSG (@pid's record belongs to another user
 * than @pid: in a group lockspace, another member replaced it), -ENOTCONN,
 * -EOPNOTSUPP (direct mode), -EINVAL, or another negative errno.
 */
LOCKSPACE_API int lockspace_control_connect(struct lockspace *ls, pid_t pid, int timeout_ms);

/**
 * The path of holder @pid's control socket file (whether or not it exists:
 * a holder on its abstract name has none), for messages that tell the user
 * which file to check. *@path is malloc'd; the
 * caller frees it. Does not block.
 * Returns 0, -EINVAL, -EOPNOTSUPP (direct mode), -ENOTCONN (a sanlock host
 * that has not joined), another error of the sanlock daemon, or -ENOMEM.
 */
LOCKSPACE_API int lockspace_control_path(struct lockspace *ls, pid_t pid, char **path);

/** Callback of lockspace_prune(): @what is a lock file or record path. */
typedef void (*lockspace_prune_fn)(const char *what, void *arg);

/**
 * Remove free lock files and stale holder records (with any file of the same
 * pid under .holders/). A lock file is removed only while this call holds its
 * exclusive lock, and acquirers re-check the path after locking, so a
 * concurrent acquire either keeps its file or retries on a new one. In a
 * sanlock lockspace the same holds of lease files, with the exclusive lease
 * (an acquirer checks that the lease file now at the path names this host as
 * an owner), and only this host's holder records are judged; a host that has
 * not joined gets -ENOTCONN.
 * A file that cannot be judged (not a regular file, or in a sanlock
 * lockspace not a lease of it, or unreadable) is kept, and the others are
 * pruned all the same; lockspace_prune_files() reports such files.
 * A stray fcntl lock file in a sanlock lockspace (made by an fcntl handle
 * of an older version) is pruned as a lock file: removed while free.
 * @flags: LOCKSPACE_DRY_RUN; no other. @fn (may be NULL) is called for each
 * removal.
 * Returns the number of files removed (or that would be), or -errno for the
 * lockspace as a whole (-ESTALE: it became a sanlock lockspace after @ls
 * was opened; -ENOTCONN; -ENOMEM...).
 */
LOCKSPACE_API int lockspace_prune(struct lockspace *ls, unsigned flags, lockspace_prune_fn fn, void *arg);

/** Callback of lockspace_prune_files(): @what is a lock file or record
 *  path; @err is 0 when it was removed (with LOCKSPACE_DRY_RUN: would be),
 *  or why it was kept without being judged: -EBADMSG (not a lock file, or
 *  in a sanlock lockspace not a lease of this lockspace: a directory, a
 *  FIFO, an empty, truncated or foreign file), -ELOOP (a symbolic link),
 *  -EACCES, -EIO or another negative errno. */
typedef void (*lockspace_prune_file_fn)(const char *what, int err, void *arg);

/**
 * lockspace_prune(), telling also of each file kept because it could not be
 * judged (see lockspace_prune_file_fn), so that one such file is that
 * file's problem and never stops the prune of the others. Same returns.
 */
LOCKSPACE_API int lockspace_prune_files(struct lockspace *ls, unsigned flags, lockspace_prune_file_fn fn,
					void *arg);

/*
 * Locks on a resource file itself, whoever took them: QEMU's image locks,
 * another program's fcntl or flock(2) locks, and this library's own in
 * direct mode. They are not lock files of a lockspace; this is the question
 * "is another process using the image?".
 */

/** The kind of a lock on a file, as the kernel tells them apart. */
enum lockspace_file_lock_type {
	LOCKSPACE_FILE_LOCK_POSIX = 1, /* fcntl(F_SETLK): owned by the process */
	LOCKSPACE_FILE_LOCK_OFD = 2,   /* fcntl(F_OFD_SETLK): owned by the open file (QEMU's) */
	LOCKSPACE_FILE_LOCK_FLOCK = 3, /* flock(2): the whole file */
};

/**
 * QEMU's block-layer permissions, as bits (BLK_PERM_* of QEMU's
 * include/block/block-common.h). QEMU's file driver (block/file-posix.c)
 * takes a shared OFD lock on byte LOCKSPACE_QEMU_PERM_BASE + n of an image
 * for each permission n (bit 1 << n) it holds, and on byte
 * LOCKSPACE_QEMU_SHARED_BASE + n for each it refuses to share with others.
 */
enum lockspace_qemu_perm {
	LOCKSPACE_QEMU_CONSISTENT_READ = 1u << 0,
	LOCKSPACE_QEMU_WRITE = 1u << 1,
	LOCKSPACE_QEMU_WRITE_UNCHANGED = 1u << 2,
	LOCKSPACE_QEMU_RESIZE = 1u << 3,
};
#define LOCKSPACE_QEMU_PERM_BASE   100
#define LOCKSPACE_QEMU_SHARED_BASE 200
#define LOCKSPACE_QEMU_NPERMS	   4

/**
 * The word QEMU's messages use for permission @perm (one bit of enum
 * lockspace_qemu_perm): "consistent-read", "write", "write-unchanged",
 * "resize"; NULL for anything else. Static storage; does not block.
 */
LOCKSPACE_API const char *lockspace_qemu_perm_name(unsigned perm);

/**
 * Decode the QEMU permissions that a fcntl or OFD lock on bytes @start to
 * @end (inclusive; @to_eof: to the end of the file, @end ignored) stands
 * for: the bits of the permissions it holds in *@perms and of those it
 * refuses to share in *@unshared. QEMU locks only bytes within
 * LOCKSPACE_QEMU_PERM_BASE + 0..3 and LOCKSPACE_QEMU_SHARED_BASE + 0..3, and
 * before QEMU 6.2 + 4 too (graph-mod, a permission it no longer has, which
 * decodes to no bit; the kernel merges neighbours of one holder into one
 * range): any other range, a whole-file lock among them, is not QEMU's and
 * decodes to 0 and 0.
 * Returns 1 when the range is QEMU's, else 0. @perms and @unshared may be NULL.
 */
LOCKSPACE_API int lockspace_qemu_decode(unsigned long long start, unsigned long long end, int to_eof,
					unsigned *perms, unsigned *unshared);

/** One locked byte range of a file. */
struct lockspace_file_range {
	unsigned long long start;
	unsigned long long end;	   /* last byte, inclusive; 0 when @to_eof */
	int to_eof;		   /* 1: the range runs to the end of the file, whatever it grows to */
	enum lockspace_state mode; /* shared (read lock) or exclusive (write lock) */
};

/** The locks of one kind that one process holds on the file. */
struct lockspace_file_lock {
	pid_t pid;				   /* the holding process (one that has the file open) */
	const char *command;			   /* /proc/<pid>/comm, NULL if unknown */
	enum lockspace_file_lock_type type;	   /* posix, ofd or flock */
	enum lockspace_state mode;		   /* exclusive if any range is, else shared */
	size_t nranges;				   /* at least 1 */
	const struct lockspace_file_range *ranges; /* in byte order */
	int qemu;		/* 1 if a range lies in QEMU's bytes (see lockspace_qemu_decode()) */
	unsigned qemu_perms;	/* enum lockspace_qemu_perm bits held */
	unsigned qemu_unshared; /* enum lockspace_qemu_perm bits refused to others */
};

/** What lockspace_file_locks() found. */
struct lockspace_file_locks {
	size_t nlocks;
	const struct lockspace_file_lock *locks; /* by pid, then type */
	/* Processes whose open files could not be read (another user's, when
	 * the caller is not root): their locks are missing from @locks. */
	size_t unreadable;
	/* 1 if @locks may miss holders: @unreadable is not 0, or the kernel
	 * shows a lock on the file that no readable process holds (a /proc
	 * mounted with hidepid, or a holder in another pid namespace). */
	int incomplete;
};

/** Flags of lockspace_file_locks(). */
enum lockspace_file_locks_flags {
	/** Tell flock(2) locks by trying a shared flock(2) lock on the file
	 *  (LOCK_SH | LOCK_NB, let go of at once), not by reading /proc/locks:
	 *  cheap however many locks the host holds, for a check on every
	 *  acquire. It sees only exclusive flock(2) locks when there is no
	 *  fcntl or OFD lock, and holds a shared one for an instant (another
	 *  process's LOCK_EX | LOCK_NB at that instant fails). */
	LOCKSPACE_FLOCK_PROBE = 1u << 0,
	/** The caller locks the file through no descriptor of its own (only,
	 *  if at all, through lockspace handles): the look opens and closes
	 *  the file without first searching the process's descriptors for one
	 *  open on it, a cost per descriptor the process has, which a holder
	 *  of thousands of lock files would pay on every look. */
	LOCKSPACE_NO_OWN_FD = 1u << 1,
};

/**
 * Report every lock that any process holds on the file @path itself (not a
 * lock file: the resource), one entry per holder process and kind, with its
 * ranges and, for QEMU's bytes, the permissions they mean. Holders are found
 * through the "lock:" lines of /proc/<pid>/fdinfo/<fd> (Linux 4.1+; F_GETLK
 * names no pid for OFD locks), matched by device and inode: a scan of every
 * process's open files. It runs only when a lock is there: an F_OFD_GETLK
 * probe of the whole file (no side effect) tells of fcntl and OFD locks, and
 * /proc/locks, read when the probe finds none, of flock(2) locks (that read
 * stalls the host's fcntl() callers a moment; see lockspace_foreach(); or
 * see LOCKSPACE_FLOCK_PROBE). A file that this process holds through a
 * lockspace handle (direct mode) is not opened again, since closing that
 * descriptor would drop the lock: the lock's own descriptor is asked about
 * every byte but byte 0, its lock's, and a shared lock of ours always
 * leads to the scan. Nor is a file that the caller has open itself (found
 * among its descriptors, unless LOCKSPACE_NO_OWN_FD): that descriptor is
 * asked, and /proc/locks read for flock(2) locks, whatever the flags.
 * Follows symbolic links. Does not block on any lock.
 * @flags: LOCKSPACE_FLOCK_PROBE, LOCKSPACE_NO_OWN_FD, or 0. *@out is malloc'd: free it with
 * lockspace_file_locks_free().
 * Returns 0, -EINVAL (unknown flags, NULL arguments), -ENOMEM, the -errno
 * of stat(@path) (-ENOENT...), or -errno when /proc cannot be read.
 */
LOCKSPACE_API int lockspace_file_locks(const char *path, unsigned flags, struct lockspace_file_locks **out);

/** Free what lockspace_file_locks() returned; NULL is accepted. */
LOCKSPACE_API void lockspace_file_locks_free(struct lockspace_file_locks *fl);

/*
 * Whether a lockspace can protect anything: where its locks reach (the
 * filesystem that holds it, as /proc/self/mountinfo describes it) and, for
 * sanlock, this host's standing in it. What virlock check reports.
 */

/** Where the fcntl locks taken on a filesystem are seen. */
enum lockspace_reach {
	/** A filesystem type the library does not know: find out. */
	LOCKSPACE_REACH_UNKNOWN = 0,
	/** By the processes of this host only: a local filesystem, or a
	 *  shared one mounted so that it keeps its locks on the host (NFS
	 *  nolock or local_lock=posix|all, GFS2 or OCFS2 localflocks, a FUSE
	 *  filesystem that leaves locks to the kernel, such as sshfs). */
	LOCKSPACE_REACH_HOST = 1,
	/** By every host that mounts the filesystem (NFS with its lock
	 *  protocol, GFS2, OCFS2, CephFS, GlusterFS, Lustre with flock). */
	LOCKSPACE_REACH_CLUSTER = 2,
	/** Nowhere: the filesystem refuses locks (Lustre noflock). */
	LOCKSPACE_REACH_NONE = 3,
};

/** One mount, as /proc/self/mountinfo describes it, and what it means for locks. */
struct lockspace_mount {
	char *mount_point;     /* where it is mounted, octal escapes (\040) decoded */
	char *root;	       /* the directory of the filesystem mounted there ("/" but in a bind mount) */
	char *fstype;	       /* "ext4", "nfs4", "fuse.sshfs" */
	char *source;	       /* "/dev/vda1", "server:/export", "none" */
	char *mount_options;   /* the mount's own: "rw,relatime" */
	char *super_options;   /* the filesystem's: "rw,vers=4.2,...,local_lock=none" */
	unsigned major, minor; /* its device, as stat(2)'s st_dev */
	enum lockspace_reach reach;
	/* Other hosts can reach its files (a network or cluster filesystem, or
	 * a FUSE one over the network): then locks that stay on this host do
	 * not protect what the lockspace is shared for. */
	int shared;
	/* NFSv2/v3: locks go through the NLM protocol (lockd), and this host
	 * needs rpc.statd for them to be recovered after a crash of either side. */
	int needs_statd;
	const char *why;    /* static: why the locks reach so, one phrase */
	const char *advice; /* static: what to do about it, or NULL */
};

/**
 * Find the mount that holds @path (a lockspace directory, or any file): the
 * mount of /proc/self/mountinfo whose mount point is the longest prefix of
 * @path's real path among those of @path's device (so that a bind mount or
 * a filesystem mounted over another is told apart; a device that no mount
 * shows, as a btrfs subvolume not mounted by itself, falls back to the
 * longest prefix of any device), and judge its locks.
 * *@out is malloc'd; free it with lockspace_mount_free(). Reads /proc; does
 * not block. Returns 0, -EINVAL, -ENOMEM, the -errno of realpath(3) or
 * stat(2) of @path, -ENOENT (no mount holds it: /proc not mounted?),
 * or -errno when /proc/self/mountinfo cannot be read.
 */
LOCKSPACE_API int lockspace_mount(const char *path, struct lockspace_mount **out);

/** Free what lockspace_mount() returned; NULL is accepted. */
LOCKSPACE_API void lockspace_mount_free(struct lockspace_mount *m);

/** Whether this host's sanlock daemon fences it (resets it through the
 *  watchdog when it can no longer renew its host id lease in time). */
enum lockspace_watchdog {
	LOCKSPACE_WATCHDOG_UNKNOWN = 0, /* the daemon's settings cannot be read */
	LOCKSPACE_WATCHDOG_ON = 1,	/* it uses wdmd, and wdmd answers */
	LOCKSPACE_WATCHDOG_OFF = 2,	/* it runs without one (-w 0, use_watchdog = 0) */
	LOCKSPACE_WATCHDOG_MISSING = 3, /* it would use wdmd, which does not answer */
};

/** This host in a sanlock lockspace, as lockspace_sanlock_status() finds it. */
struct lockspace_sanlock_status {
	int daemon;		       /* 1: the sanlock daemon answers; 0: it does not run */
	unsigned host_id;	       /* the id this host joined with; 0: it has not joined */
	unsigned long long generation; /* of that host id; 0 unknown (the first seconds after a join) */
	char host_name[49];	       /* the daemon's name in the id's delta lease; "" unknown */
	unsigned io_timeout;	       /* seconds, as the delta lease records it; 0 unknown */
	enum lockspace_watchdog watchdog;
};

/**
 * Ask this host's sanlock daemon (the one of $SANLOCK_RUN_DIR, default
 * /run/sanlock, as libsanlock_client does) about the sanlock lockspace @ls,
 * and read this host's delta lease from <dir>/.lockspace.lease. The
 * watchdog is judged from the daemon's command line (-w 0), from
 * /etc/sanlock/sanlock.conf (use_watchdog = 0) and by connecting to wdmd's
 * socket (/run/wdmd/wdmd.sock). Does not block for long (a read of one
 * sector with O_DIRECT). A daemon that does not run is not an error: @st
 * says so. Returns 0, -EINVAL, -EOPNOTSUPP (not a sanlock lockspace, or
 * built without sanlock), -ENOPKG (libsanlock_client.so.1 is not installed),
 * or another error of the daemon.
 */
LOCKSPACE_API int lockspace_sanlock_status(struct lockspace *ls, struct lockspace_sanlock_status *st);

/* ---- Hand-off: a resource passed to a known next holder (VM migration) ---- */

/**
 * Prepare the hand-off of @resource, which @ls holds exclusively, before
 * releasing it, and give in *@state the state a lockspace_acquire_expect()
 * of the next holder (on this host or, with shared storage, another) must
 * find: only an acquire that passes this state takes it; any other acquire
 * in between, of any host, makes the expecting one fail with -ECANCELED.
 * The caller releases the resource afterwards (lockspace_release()).
 * - fcntl lockspace: a random non-zero number, kept in a hand-off marker,
 *   <lockspace>/.holders/handoff.<name>.<16 hex digits of the state>, a hard
 *   link to the lock file (whose content stays its path). Every acquire
 *   that finds the lock file with a second link, once it holds the lock,
 *   removes the marker (the expecting one only when it is its own): the
 *   plain acquire pays nothing while there is no marker. A marker no
 *   acquire consumed stays, and keeps the lock file from lockspace_prune(),
 *   until the next acquire; prune removes one whose lock file is gone.
 *   A second hand-off of the resource replaces the marker.
 * - sanlock lockspace: the lease version (lver) the holder's acquire left on
 *   disk, which every acquire of the lease, of any host, raises (a prune
 *   too: it acquires each free lease it removes), in the low 32 bits, and
 *   32 bits of the lease file's identity, a random number written in it
 *   when it is made (0 in a lease file of an older version), above: a
 *   lease file pruned and made again starts its versions again. -EOVERFLOW
 *   for a version past 32 bits.
 * @flags: LOCKSPACE_LITERAL or LOCKSPACE_BYNAME, as for the acquire.
 * Returns 0, -ENOENT (@ls does not hold it), -EINVAL (held shared, or bad
 * arguments), -EOPNOTSUPP (direct mode), or -errno (the marker could not be
 * made: -EACCES, -EIO... ; sanlock: the lease could not be read). Does not
 * block on any lock.
 */
LOCKSPACE_API int lockspace_handoff(struct lockspace *ls, const char *resource, unsigned flags,
				    uint64_t *state);

/**
 * lockspace_acquire_many() that takes each resource only if it is still in
 * the state @states[i] (from lockspace_handoff() of the holder before), all
 * or none. A resource somebody else acquired since its hand-off fails with
 * -ECANCELED, and *@failed its index: when released again at once; when
 * another process still holds it, in an fcntl lockspace as a busy one does
 * with lockspace_acquire_many() (-EBUSY, or a wait, then -ECANCELED), in a
 * sanlock lockspace at once (its version tells); when this process holds
 * it already (through any handle), at once. On any failure
 * nothing is taken and, in an fcntl lockspace, every marker is left as it
 * was: they are consumed only once every resource is held. The same flags,
 * timeout and other errors as lockspace_acquire_many(); a wait waits while
 * the resource is held (the previous holder may not have released it yet).
 * Returns 0 with every resource held, the hand-off markers consumed;
 * -EINVAL (@states NULL, or a state of 0, which no hand-off gives),
 * -EOPNOTSUPP (direct mode).
 */
LOCKSPACE_API int lockspace_acquire_expect(struct lockspace *ls, const char *const *resources, size_t n,
					   unsigned flags, int timeout_ms, const uint64_t *states,
					   size_t *failed);

/** One resource of a hand-off token: its lock name and its state. */
struct lockspace_handoff_item {
	char name[LOCKSPACE_NAME_LEN + 1];
	uint64_t state;
};

/**
 * Write in *@out (malloc'd, NUL-terminated, one word of printable ASCII)
 * the token of the hand-off of @items[0..@n) in a lockspace of @backend
 * (LOCKSPACE_BACKEND_FCNTL or LOCKSPACE_BACKEND_SANLOCK):
 * "vlh1:" then "f" or "s", then for each item in name order ":NAME=STATE"
 * with STATE in hexadecimal (no leading zeros). A script passes it whole
 * from the source to the target. Returns 0, -EINVAL (@n 0, an invalid
 * name, a zero state, a name twice, another backend) or -ENOMEM.
 */
LOCKSPACE_API int lockspace_handoff_format(const char *backend, const struct lockspace_handoff_item *items,
					   size_t n, char **out);

/**
 * Parse @token (lockspace_handoff_format()) into *@items (malloc'd, *@n
 * of them, in name order). Returns 0, -EINVAL (malformed: not that shape,
 * a state of 0 or over 16 hex digits, a name twice or out of order),
 * -EXDEV (well formed, but of a lockspace of another backend than
 * @backend), or -ENOMEM.
 */
LOCKSPACE_API int lockspace_handoff_parse(const char *backend, const char *token,
					  struct lockspace_handoff_item **items, size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* LOCKSPACE_H */
