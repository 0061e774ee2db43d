/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_proclocks.c: libFuzzer target for the /proc/locks parser (lsi_parse_proc_locks). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not NUL-terminated, as read(2) leaves it. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct lsi_waiter *w = NULL;
	size_t n = 0;
	int err = lsi_parse_proc_locks(buf, size, &w, &n);
	if (err != 0 && err != -ENOMEM)
		abort();
	if (err == 0 && n && !w)
		abort();
	/* Every entry names a real pid; sorted by inode, holders before waiters, no duplicates. */
	for (size_t i = 0; err == 0 && i < n; i++) {
		if (w[i].pid <= 0 || (w[i].blocked != 0 && w[i].blocked != 1))
			abort();
		if (i && (w[i].ino < w[i - 1].ino ||
			  (w[i].ino == w[i - 1].ino && w[i].blocked < w[i - 1].blocked) ||
			  memcmp(&w[i], &w[i - 1], sizeof(w[i])) == 0))
			abort();
	}
	/* A line longer than any real one is skipped, never parsed in part. */
	if (err == 0 && n > size / 16 + 1)
		abort();
	free(w);
	free(buf);
	return 0;
}
