/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mountinfo.h: parse one line of /proc/self/mountinfo and judge where the mount's locks reach. */
#ifndef LOCKSPACE_MOUNTINFO_H
#define LOCKSPACE_MOUNTINFO_H

#include "lockspace.h"

/*
 * Parse one line of /proc/<pid>/mountinfo (proc(5)): "36 35 98:0 /mnt1
 * /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue", optional
 * fields up to " - ", octal escapes (\040) in paths decoded, a trailing
 * newline ignored. Fills @m (its strings malloc'd; lockspace_mount_free()
 * frees them with @m, so @m is calloc'd) and judges it with
 * lsi_mount_judge(). Returns 0, -EBADMSG (not a mountinfo line) or -ENOMEM.
 */
int lsi_mount_parse(const char *line, struct lockspace_mount *m);

/* Set the reach, shared, needs_statd, why and advice of @m from its type,
 * source and options, and for OCFS2 from @ocfs2_stack, the content of
 * /sys/fs/ocfs2/cluster_stack ("o2cb", "pcmk"; NULL unknown: o2cb, the
 * default, is assumed unless the options show cluster_stack=). */
void lsi_mount_judge(struct lockspace_mount *m, const char *ocfs2_stack);

#endif
