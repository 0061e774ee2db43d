/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image_check.h: does another program visibly use an image in a way an acquire must respect? */
#ifndef VIRLOCK_IMAGE_CHECK_H
#define VIRLOCK_IMAGE_CHECK_H

#include "conflict.h"

/*
 * Look at the locks every other process holds on the file @path itself
 * (lockspace_file_locks()): for an exclusive acquire (@shared 0), a QEMU
 * that holds or does not share write, or any exclusive lock; for a shared
 * one, a QEMU that holds write or does not share consistent-read, or any
 * exclusive lock. Returns 1 with @who naming the first such process and
 * what it does ("qemu-system-x86 (pid 4242), which holds write"), 0 when
 * there is none, or the file cannot be looked at (no such file, say).
 * For an exclusive acquire, a lock the kernel shows that no process this
 * user may read holds counts too (named as such). A probe: a program that
 * opens the image a moment later is not seen.
 */
int image_in_use(const char *path, int shared, char who[VL_WHO_LEN]);

#endif
