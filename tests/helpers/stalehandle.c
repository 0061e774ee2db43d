/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stalehandle.c: test helper that opens a lockspace, waits to be told, then acquires with that old handle. */
#include <limits.h>
#include <unistd.h>
#include "helper.h"

static const char usage_text[] =
	"usage: stalehandle [-l] [-b] [-s] [-p] [-L] DIR RESOURCE\n"
	"Open the lockspace DIR, print its backend and \"ready\", wait for a line on stdin\n"
	"(the caller changes the lockspace meanwhile), then acquire RESOURCE with the handle\n"
	"opened before (-p: prune instead) and print \"acquired\" or the error as\n"
	"\"error -CODE: TEXT\".\n"
	"  -l literal  -b by name  -s shared\n"
	"  -L in a loop, RESOURCE-0, RESOURCE-1... (literal), each released and its lock file\n"
	"     removed, until an acquire fails or 60 s pass (then \"no error\")\n"
	"Exit status: 0 acquired (released at once), 1 refused, 2 usage.\n";

int main(int argc, char **argv)
{
	unsigned flags = 0;
	int opt, prune = 0, loop = 0;
	while ((opt = getopt(argc, argv, "lbspL")) != -1) {
		if (lock_option(opt, &flags))
			continue;
		switch (opt) {
		case 'p':
			prune = 1;
			break;
		case 'L':
			loop = 1;
			break;
		default:
			usage(usage_text);
		}
	}
	if (argc - optind != 2)
		usage(usage_text);
	struct lockspace *ls;
	int err = lockspace_open(argv[optind], 0, &ls);
	if (err < 0) {
		printf("open: error %d: %s\n", err, lockspace_strerror(err));
		return 1;
	}
	printf("%s\n", lockspace_backend(ls));
	if (announce("stalehandle")) {
		lockspace_close(ls);
		return 1;
	}
	char line[64];
	if (!fgets(line, sizeof(line), stdin)) {
		lockspace_close(ls);
		return 2;
	}
	if (loop) {
		time_t end = time(NULL) + 60;
		char res[256], name[LOCKSPACE_NAME_LEN + 1], file[PATH_MAX];
		for (unsigned i = 0; time(NULL) < end; i++) {
			snprintf(res, sizeof(res), "%s-%u", argv[optind + 1], i);
			err = lockspace_acquire(ls, res, flags | LOCKSPACE_LITERAL);
			if (err < 0)
				break;
			lockspace_name(res, LOCKSPACE_LITERAL, name);
			snprintf(file, sizeof(file), "%s/%s", lockspace_dir(ls), name);
			unlink(file); /* before the release: no one else may take it meanwhile */
			lockspace_release(ls, res, LOCKSPACE_LITERAL);
		}
		if (err >= 0)
			printf("no error\n");
		else
			printf("error %d: %s\n", err, lockspace_strerror(err));
		lockspace_close(ls);
		return err >= 0 ? 0 : 1;
	}
	err = prune ? lockspace_prune(ls, 0, NULL, NULL) : lockspace_acquire(ls, argv[optind + 1], flags);
	if (err >= 0)
		printf("%s\n", prune ? "pruned" : "acquired");
	else
		printf("error %d: %s\n", err, lockspace_strerror(err));
	lockspace_close(ls);
	return err >= 0 ? 0 : 1;
}
