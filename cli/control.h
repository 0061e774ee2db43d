/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* control.h: the control socket of a holder and its line protocol, both ends. */
#ifndef VIRLOCK_CONTROL_H
#define VIRLOCK_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Protocol: one request line, one answer line, one connection each.
 *
 *   ping                          -> ok
 *   acquire MODE RESOURCE...      -> ok | err CODE TEXT
 *       MODE is "x" (exclusive) or "s" (shared), followed by "l" for a
 *       literal resource; all-or-nothing, never waits.
 *   release NAME...               -> ok | err CODE TEXT  (drops every hold of each name)
 *   release-all                   -> ok | err CODE TEXT
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
};

struct control_request {
	enum control_op op;
	unsigned flags; /* LOCKSPACE_SHARED, LOCKSPACE_LITERAL (acquire) */
	size_t n;
	char **args; /* decoded resources (acquire) or names (release) */
};

/* The answer a holder gives: 0 or a negative errno, and a one-line text. */
typedef int (*control_handler_fn)(const struct control_request *req, char *text, size_t len, void *arg);

/* control.c: the protocol. */

/* Build a request line (with its newline) into a malloc'd *out. -ENOMEM, -E2BIG. */
int control_format_acquire(unsigned flags, const char *const *resources, size_t n, char **out);
int control_format_release(const char *const *names, size_t n, char **out);
/* Parse one request line (without its newline). 0 or -EINVAL; free with control_request_free. */
int control_parse_request(const char *line, struct control_request *req);
void control_request_free(struct control_request *req);
/* Format the answer line for @code and @text into @buf. */
void control_format_answer(int code, const char *text, char *buf, size_t len);
/* Parse an answer line: *code gets 0 or the holder's negative errno, @text its text. 0 or -EPROTO. */
int control_parse_answer(const char *line, int *code, char *text, size_t len);

/* control_socket.c: the transport. */

/*
 * Bind and listen on <holders>/<getpid()>.sock, @holders being the
 * lockspace's records directory for this host (lockspace_holders_path()),
 * replacing a stale file of that name; works for any length of @holders.
 * Returns 0 with *fd (non-blocking, close-on-exec) or a negative errno.
 */
int control_listen(const char *holders, int *fd);
/* Close @fd and remove this process's socket file. Accepts fd < 0. */
void control_unlisten(const char *holders, int fd);
/* Accept and serve one connection on @listenfd with @fn, if one is pending. */
void control_serve(int listenfd, control_handler_fn fn, void *arg);
/*
 * Send @request to the holder @pid whose socket is in @holders and wait up to
 * CONTROL_TIMEOUT_MS for its answer. Returns 0 with *code and @text set from
 * the answer, or a negative errno of the transport: -ENOENT or -ECONNREFUSED
 * (no holder listens), -EACCES, -ETIMEDOUT (no answer), -EPROTO (garbage).
 */
int control_call(const char *holders, pid_t pid, const char *request, int *code, char *text, size_t len);

#endif
