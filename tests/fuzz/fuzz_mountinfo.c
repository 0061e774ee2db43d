/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_mountinfo.c: libFuzzer target for the mountinfo line parser (lsi_mount_parse) and its judgement. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = strndup((const char *)data, size); /* a line is text: cut at a NUL */
	struct lockspace_mount *m = calloc(1, sizeof(*m));
	if (!line || !m) {
		free(line);
		free(m);
		return 0;
	}
	int err = lsi_mount_parse(line, m);
	if (err == 0) {
		/* Every field is there (decoded, no longer than the line), and judged. */
		const char *const fields[] = {m->root,	 m->mount_point, m->mount_options,
					      m->fstype, m->source,	 m->super_options};
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!fields[i] || strlen(fields[i]) > strlen(line))
				abort();
		if (!m->why || m->reach > LOCKSPACE_REACH_NONE)
			abort();
	} else {
		for (size_t i = 0; i < sizeof(*m); i++) /* a failed parse leaves nothing */
			if (((const unsigned char *)m)[i])
				abort();
	}
	lockspace_mount_free(m);
	free(line);
	return 0;
}
