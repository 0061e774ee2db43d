/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* control.h: the control socket of a holder and its line protocol, both ends. */
#ifndef VIRLOCK_CONTROL_H
#define VIRLOCK_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include <lockspace.h>

/*
 * Protocol: one request line, one answer line, one connection each.
 *
 *   ping                          -> ok
 *   acquire MODE RESOURCE...      -> ok [TEXT] | err CODE TEXT
 *       MODE is "x" (exclusive) or "s" (shared), followed by "l" for a
 *       literal resource, and by "wMS" to wait up to MS milliseconds (-1:
 *       for ever) for busy resources; all-or-nothing. Without "w" the holder
 *       answers at once; with it, the holder keeps the connection and
 *       answers when it holds them, at the deadline (-110), or when it ends
 *       (-3); it stays alive for such a hotplug even when a release leaves
 *       it nothing, and forgets it when the client hangs up. "ok TEXT"
 *       says that some resources were held by this holder already.
 *   release NAME...               -> ok | err CODE TEXT  (drops every hold of each name)
 *   release-all                   -> ok | err CODE TEXT
 *   handoff NAME                  -> ok STATE | err CODE TEXT
 *       lockspace_handoff() of NAME, which the holder holds exclusively,
 *       then its release; STATE is the state in hexadecimal. On an error
 *       nothing is released.
 *
 * Words are separated by one space; a resource is percent-encoded (every byte
 * that is not printable ASCII, a space or '%' becomes %XX), so any path fits.
 * CODE is a negative errno, TEXT one line for a human. A request is at most
 * CONTROL_MAX_REQUEST bytes with its newline; an answer at most
 * CONTROL_MAX_ANSWER. A holder answers "err -13 ..." to a peer that is neither
 * its own uid nor root, and drops a request whose client has already hung up.
 */
#define CONTROL_MAX_REQUEST (1u << 20)
#define CONTROL_MAX_ANSWER  1024
/* How long a client waits for an answer, and a holder for a request line. */
#define CONTROL_TIMEOUT_MS	5000
#define CONTROL_READ_TIMEOUT_MS 1000

enum control_op {
	CONTROL_PING,
	CONTROL_ACQUIRE,
	CONTROL_RELEASE,
	CONTROL_RELEASE_ALL,
	CONTROL_HANDOFF,
};

struct control_request {
	enum control_op op;
	unsigned flags; /* LOCKSPACE_SHARED, LOCKSPACE_LITERAL (acquire) */
	size_t n;
	char **args; /* decoded resources (acquire) or names (release) */
	int wait_ms; /* acquire: 0 no wait, > 0 milliseconds, -1 for ever */
};

/* A handler's answer that keeps the connection for a later control_answer(). */
#define CONTROL_DEFER 1
/* The line a holder sends at once for a request it defers: it took it, and
 * answers later. A client that loses the connection after it knows the
 * holder ended with the request (control_call() returns -ECONNABORTED). */
#define CONTROL_TAKEN "taken"

/* The answer a holder gives: 0 or a negative errno, and a one-line text; or CONTROL_DEFER. */
typedef int (*control_handler_fn)(const struct control_request *req, char *text, size_t len, void *arg);

/* control.c: the protocol. */

/* Build a request line (with its newline) into a malloc'd *out. -ENOMEM, -E2BIG. */
int control_format_acquire(unsigned flags, const char *const *resources, size_t n, char **out);
/* The same, waiting up to @wait_ms milliseconds (-1 for ever, 0 not at all). */
int control_format_acquire_wait(unsigned flags, int wait_ms, const char *const *resources, size_t n,
				char **out);
int control_format_release(const char *const *names, size_t n, char **out);
int control_format_handoff(const char *name, char **out);
/* Parse one request line (without its newline). 0 or -EINVAL; free with control_request_free. */
int control_parse_request(const char *line, struct control_request *req);
void control_request_free(struct control_request *req);
/* Format the answer line for @code and @text into @buf. */
void control_format_answer(int code, const char *text, char *buf, size_t len);
/* Parse an answer line: *code gets 0 or the holder's negative errno, @text its text. 0 or -EPROTO. */
int control_parse_answer(const char *line, int *code, char *text, size_t len);

/* control_socket.c: the transport, over the sockets lockspace_control_listen()
 * and lockspace_control_connect() give. */
/*
 * Accept and serve one connection on @listenfd with @fn, if one is pending.
 * Returns -1, or the connection's descriptor when @fn answered CONTROL_DEFER:
 * the caller then owns it, and ends it with control_answer().
 */
int control_serve(int listenfd, control_handler_fn fn, void *arg);
/* The same, giving the client @read_timeout_ms (not CONTROL_READ_TIMEOUT_MS)
 * to send its request, and the holder as long to send the answer. */
int control_serve_within(int listenfd, int read_timeout_ms, control_handler_fn fn, void *arg);
/*
 * The line reader of both ends: read one line of at most @max bytes (newline
 * included) from the non-blocking @fd within @timeout_ms into a malloc'd
 * *out, NUL-terminated without its newline. 0, -ETIMEDOUT, -E2BIG, -EPROTO
 * (end of stream, or a NUL byte before the newline), -ENOMEM or -errno.
 */
int control_read_line(int fd, size_t max, int timeout_ms, char **out);
/* Answer a deferred request on @fd (without blocking for long) and close it. */
void control_answer(int fd, int code, const char *text);
/*
 * Send @request to the holder @pid of @ls (lockspace_control_connect(),
 * waiting CONTROL_TIMEOUT_MS at most for a full backlog) and wait up to
 * CONTROL_TIMEOUT_MS for its answer. Returns 0 with *code and @text set from
 * the answer, or a negative errno of the transport: those of
 * lockspace_control_connect() (-ENOENT or -ECONNREFUSED: no holder listens;
 * -ESRCH: the socket is not @pid's; -EACCES: @pid runs as a user we may not
 * talk to), -ETIMEDOUT (no answer), -EPROTO (garbage, or the holder closed the
 * connection without an answer: it ended), -ECONNABORTED (the holder took the
 * request, then closed the connection without an answer: it ended before it
 * was done). The caller passes only a pid the kernel confirms as a holder.
 */
int control_call(struct lockspace *ls, pid_t pid, const char *request, int *code, char *text, size_t len);
/* The same, waiting up to @timeout_ms (-1: for ever) for the answer. */
int control_call_timeout(struct lockspace *ls, pid_t pid, const char *request, int timeout_ms, int *code,
			 char *text, size_t len);

/*
 * Is there a file at @path (NULL: no)? A client told -ESRCH by
 * lockspace_control_connect() asks it of lockspace_control_path(): a file
 * there was planted or leads elsewhere; none means that another process
 * took the holder's abstract name first.
 */
int control_file_exists(const char *path);

#endif
