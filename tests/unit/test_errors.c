/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_errors.c: lockspace_strerror() explains every code; the run-time version matches the header. */
#include "testlib.h"

/* Every code has a one-line message of its own; the version matches the header. */
static void test_strerror(void)
{
	static const struct {
		int code;
		const char *label;
	} codes[] = {
		{0, "0"},
		{-EBUSY, "-EBUSY"},
		{-ETIMEDOUT, "-ETIMEDOUT"},
		{-EINTR, "-EINTR"},
		{-EDEADLK, "-EDEADLK"},
		{-EBADMSG, "-EBADMSG"},
		{-ELOOP, "-ELOOP"},
		{-ENOENT, "-ENOENT"},
		{-EACCES, "-EACCES"},
		{-EPERM, "-EPERM"},
		{-ENOTDIR, "-ENOTDIR"},
		{-EISDIR, "-EISDIR"},
		{-EMFILE, "-EMFILE"},
		{-ENOMEM, "-ENOMEM"},
		{-EINVAL, "-EINVAL"},
		{-ENAMETOOLONG, "-ENAMETOOLONG"},
		{-ENODATA, "-ENODATA"},
		{-EOPNOTSUPP, "-EOPNOTSUPP"},
		{-EAGAIN, "-EAGAIN"},
		{-EROFS, "-EROFS"},
		{-EIO, "-EIO"},
		{-ENOSPC, "-ENOSPC"},
		{-ESRCH, "-ESRCH"},
		{-4095, "-4095 (unknown)"},
		{-100000, "-100000 (unknown)"},
		{EBUSY, "positive EBUSY"},
		{1 << 30, "a large positive value"},
		{-2147483647 - 1, "INT_MIN"},
	};
	char want[32];
	const char *busy, *timeout;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = lockspace_strerror(codes[i].code);
		ok(s != NULL && s[0] != '\0', "lockspace_strerror(%s) is a non-empty string: \"%s\"",
		   codes[i].label, s ? s : "(null)");
		ok(s == NULL || strchr(s, '\n') == NULL, "lockspace_strerror(%s) is one line",
		   codes[i].label);
	}
	busy = lockspace_strerror(-EBUSY);
	timeout = lockspace_strerror(-ETIMEDOUT);
	ok(strcmp(busy, timeout) != 0, "busy and timed out are told apart");
	ok(strcmp(lockspace_strerror(-EBADMSG), lockspace_strerror(-ENOENT)) != 0,
	   "corrupt and missing are told apart");
	is_str(lockspace_strerror(-EBUSY), busy, "the same code gives the same string");

	snprintf(want, sizeof(want), "%d.%d.%d", LOCKSPACE_VERSION_MAJOR, LOCKSPACE_VERSION_MINOR,
		 LOCKSPACE_VERSION_PATCH);
	is_str(lockspace_version(), want, "lockspace_version() matches the header's macros");
}

TU_MAIN(test_strerror)
