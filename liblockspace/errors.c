/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* errors.c: one phrase for every code the library returns. */
#include <errno.h>
#include <string.h>

#include "lockspace.h"

const char *lockspace_strerror(int code)
{
	switch (code) {
	case 0:
		return "success";
	case -EBUSY:
		return "held by another holder";
	case -ETIMEDOUT:
		return "still held when the wait timed out";
	case -EBADMSG:
		return "corrupt lock file or record";
	case -ENODATA:
		return "empty lock file";
	case -ENOENT:
		return "no such file, lock or holder";
	case -ELOOP:
		return "symbolic link refused (or too many levels of links)";
	case -EPERM:
		return "unsafe ownership or mode";
	case -EACCES:
		return "permission denied";
	case -EINTR:
		return "wait interrupted by a signal";
	case -EDEADLK:
		return "deadlock detected by the kernel";
	case -EINVAL:
		return "invalid argument";
	case -EOPNOTSUPP:
		return "not supported in this mode";
	case -EMFILE:
		return "too many open files";
	case -ENOMEM:
		return "out of memory";
	case -ENAMETOOLONG:
		return "name too long";
	case -ENOTDIR:
		return "not a directory";
	case -ECONNREFUSED:
		return "the sanlock daemon is not running";
	case -ENOPKG:
		return "the sanlock client library (libsanlock_client.so.1) is not installed";
	case -ENOTCONN:
		return "this host has not joined the sanlock lockspace";
	case -EADDRINUSE:
		return "host id in use by another live host";
	case -ENOLINK:
		return "the sanlock daemon went away; the leases it kept for this process are lost, and "
		       "another host may take them";
	case -ESTALE:
		return "the lockspace became a sanlock lockspace after it was opened; open it again";
	case -EALREADY:
		return "another handle of this process keeps its holder record in this lockspace";
	case -ECANCELED:
		return "taken by another holder since the hand-off";
	case -EEXIST:
		return "a lockspace of another backend, or joined with another host id";
	default:
		if (code < 0 && code > -4096)
			return strerrordesc_np(-code) ? strerrordesc_np(-code) : "unknown error";
		return "unknown code";
	}
}
