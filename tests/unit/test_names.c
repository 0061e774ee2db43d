/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_names.c: resource names: RFC 1321 vectors, md5sum(1) of canonical paths, spellings, validation. */
#include "testlib.h"

static void test_rfc1321(void)
{
	static const struct {
		const char *in, *md5;
	} v[] = {
		{"a", "0cc175b9c0f1b6a831c399e269772661"},
		{"abc", "900150983cd24fb0d6963f7d28e17f72"},
		{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
		{"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		 "d174ab98d277d9f5a5611c2c9f419d9f"},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		 "57edf4a22be3c955ac49da2e2107b67a"},
	};
	char out[LOCKSPACE_NAME_LEN + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(out, 'X', sizeof(out));
		int rc = lockspace_name(v[i].in, LOCKSPACE_LITERAL, out);
		is_int(rc, 0, "literal \"%.20s\" is named", v[i].in);
		ok(out[LOCKSPACE_MD5_NAME_LEN] == '\0', "literal \"%.20s\": name is NUL-terminated", v[i].in);
		out[LOCKSPACE_MD5_NAME_LEN] = '\0';
		is_str(out, v[i].md5, "literal \"%.20s\" hashes to the RFC 1321 MD5", v[i].in);
	}
	/* The empty string has an MD5, but an empty resource is not a resource. */
	is_int(lockspace_name("", LOCKSPACE_LITERAL, out), -EINVAL, "empty literal resource: -EINVAL");
	is_int(lockspace_name("", 0, out), -EINVAL, "empty path resource: -EINVAL");
}

static void check_path_name(const char *file, const char *label)
{
	char want[33], got[LOCKSPACE_NAME_LEN + 1], real[PATH_MAX];
	char *canon = NULL;

	if (!realpath(file, real)) {
		ok(0, "%s: realpath(%s): %s", label, file, strerror(errno));
		return;
	}
	is_int(tu_md5sum(tu_scratch_dir, real, strlen(real), want), 0, "%s: md5sum(1) ran", label);
	is_int(lockspace_name(file, 0, got), 0, "%s: lockspace_name() succeeds", label);
	is_str(got, want, "%s: name is md5sum of the canonical path", label);
	is_int(lockspace_canonical(file, 0, &canon), 0, "%s: lockspace_canonical() succeeds", label);
	is_str(canon, real, "%s: canonical path is realpath(3)", label);
	free(canon);
}

static void test_paths(void)
{
	char dir[PATH_MAX], file[PATH_MAX], odd[PATH_MAX], lnk[PATH_MAX], p[PATH_MAX * 2];
	char base[LOCKSPACE_NAME_LEN + 1], other[LOCKSPACE_NAME_LEN + 1];
	struct lockspace *ls = NULL;

	tu_join(dir, tu_scratch_dir, "images");
	mkdir(dir, 0755);
	tu_join(file, dir, "vm1.img");
	tu_touch(file);
	check_path_name(file, "plain file");

	/* Bytes a shell would mangle: spaces, quotes, a newline, UTF-8. */
	tu_join(odd, dir, "odd name 'x' \"y\"\n\xc3\xa9t\xc3\xa9.img");
	is_int(tu_touch(odd), 0, "created a file with spaces, quotes, newline and UTF-8 in its name");
	check_path_name(odd, "odd file name");
	check_path_name(dir, "a directory as resource");

	is_int(tu_name(file, 0, base), 0, "name of the plain spelling");

	/* Every spelling of one file gives one name. */
	snprintf(p, sizeof(p), "%s/../images/./vm1.img", dir);
	is_int(tu_name(p, 0, other), 0, "dir/../dir/./file is named");
	is_str(other, base, "dir/../dir/./file gives the same name");
	snprintf(p, sizeof(p), "%s//images///vm1.img", tu_scratch_dir);
	is_int(tu_name(p, 0, other), 0, "doubled slashes are named");
	is_str(other, base, "doubled slashes give the same name");
	tu_join(lnk, tu_scratch_dir, "link.img");
	tu_symlink(file, lnk);
	is_int(tu_name(lnk, 0, other), 0, "symlink to the file is named");
	is_str(other, base, "a symlink to the file gives the same name");
	tu_join(lnk, tu_scratch_dir, "imglink");
	tu_symlink("images", lnk);
	snprintf(p, sizeof(p), "%s/imglink/vm1.img", tu_scratch_dir);
	is_int(tu_name(p, 0, other), 0, "path through a symlinked directory is named");
	is_str(other, base, "a path through a symlinked directory gives the same name");

	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) && chdir(dir) == 0) {
		is_int(tu_name("./vm1.img", 0, other), 0, "relative ./vm1.img is named");
		is_str(other, base, "relative ./vm1.img gives the same name");
		is_int(tu_name("vm1.img", 0, other), 0, "relative vm1.img is named");
		is_str(other, base, "relative vm1.img gives the same name");
		/* LITERAL hashes the string as given, not the file. */
		char want[33];
		tu_md5sum(tu_scratch_dir, "./vm1.img", 9, want);
		is_int(tu_name("./vm1.img", LOCKSPACE_LITERAL, other), 0, "literal ./vm1.img is named");
		is_str(other, want, "literal ./vm1.img is the MD5 of the string as given");
		ok(strcmp(other, base) != 0, "literal and path names differ");
		if (chdir(cwd) != 0)
			diag("cannot go back to %s", cwd);
	} else {
		ok(0, "chdir into the scratch directory");
	}

	/* The handle does not change names. */
	tu_join(p, tu_scratch_dir, "ls");
	if (lockspace_open(p, 0, &ls) == 0) {
		is_int(lockspace_name(file, 0, other), 0, "lockspace_name() with a handle");
		is_str(other, base, "a handle gives the same name as no handle");
		lockspace_close(ls);
	} else {
		ok(0, "lockspace_open() for the name test");
	}

	/* Errors. */
	tu_join(p, dir, "missing.img");
	is_int(lockspace_name(p, 0, other), -ENOENT, "nonexistent path: -ENOENT");
	char *canon = (char *)1;
	is_int(lockspace_canonical(p, 0, &canon), -ENOENT,
	       "lockspace_canonical() of a nonexistent path: -ENOENT");
	is_int(tu_name(p, LOCKSPACE_LITERAL, other), 0, "a nonexistent path is fine as a literal");
	tu_join(p, tu_scratch_dir, "loop1");
	tu_join(lnk, tu_scratch_dir, "loop2");
	tu_symlink(lnk, p);
	tu_symlink(p, lnk);
	is_int(lockspace_name(p, 0, other), -ELOOP, "symlink loop: -ELOOP");

	char *longp = malloc(PATH_MAX + 100);
	memset(longp, 'a', PATH_MAX + 99);
	longp[0] = '/';
	longp[PATH_MAX + 99] = '\0';
	is_int(lockspace_name(longp, 0, other), -ENAMETOOLONG, "path longer than PATH_MAX: -ENAMETOOLONG");
	free(longp);

	canon = NULL;
	is_int(lockspace_canonical("just a lease", LOCKSPACE_LITERAL, &canon), 0, "literal canonical form");
	is_str(canon, "just a lease", "literal canonical form is the string as given");
	free(canon);
}

/* LOCKSPACE_LOOKUP: a deleted file keeps the name it had. */
/* name of @path (LOOKUP) into @out; 0 or a negative errno. */
static int lookup_name(const char *path, char out[LOCKSPACE_NAME_LEN + 1])
{
	return lockspace_name(path, LOCKSPACE_LOOKUP, out);
}

/* LOOKUP follows a dangling symbolic link (the path's own, or its
 * directory's) to its target, named as it was while it existed. */
static void test_lookup_links(const char *gone_dir)
{
	char dir[PATH_MAX], real[PATH_MAX], link[PATH_MAX], p[PATH_MAX * 2], q[PATH_MAX * 2];
	char before[LOCKSPACE_NAME_LEN + 1], after[LOCKSPACE_NAME_LEN + 1];

	tu_join(dir, tu_scratch_dir, "links");
	mkdir(dir, 0755);
	/* link2.img -> real2.img (relative), then real2.img deleted. */
	tu_join(real, dir, "real2.img");
	tu_write_file(real, "", 0);
	tu_join(link, dir, "link2.img");
	is_int(symlink("real2.img", link), 0, "symlink link2.img -> real2.img");
	is_int(lockspace_name(link, 0, before), 0, "the name through the link");
	unlink(real);
	is_int(lookup_name(link, after), 0, "LOOKUP of a dangling link");
	is_str(after, before, "a dangling link names its deleted target");
	is_int(lockspace_name(link, 0, after), -ENOENT, "without LOOKUP: -ENOENT");
	/* A chain of links, absolute and relative, the last dangling. */
	tu_join(p, dir, "chain1");
	is_int(symlink(link, p), 0, "chain1 -> absolute link2.img");
	tu_join(q, dir, "chain0");
	is_int(symlink("./chain1", q), 0, "chain0 -> ./chain1");
	is_int(lookup_name(q, after), 0, "LOOKUP through a chain of links");
	is_str(after, before, "a chain of links names the deleted target");
	/* A directory reached through a link, the directory deleted. */
	tu_join(p, dir, "sub");
	mkdir(p, 0755);
	tu_join(q, p, "disk.img");
	tu_write_file(q, "", 0);
	tu_join(link, dir, "sublink");
	is_int(symlink("sub", link), 0, "sublink -> sub");
	tu_join(p, link, "disk.img");
	is_int(lockspace_name(p, 0, before), 0, "the name through a linked directory");
	unlink(q);
	tu_join(q, dir, "sub");
	rmdir(q);
	is_int(lookup_name(p, after), 0, "LOOKUP through a dangling directory link");
	is_str(after, before, "a dangling directory link names the deleted file in its target");
	/* A link to a link loop is a loop, not a name. */
	tu_join(p, dir, "loop1");
	tu_join(q, dir, "loop2");
	is_int(symlink("loop2", p) | symlink("loop1", q), 0, "loop1 <-> loop2");
	is_int(lookup_name(p, after), -ELOOP, "LOOKUP of a link loop: -ELOOP");
	/* A link into a directory that is gone too: its parent's parent names it. */
	tu_join(link, dir, "far");
	snprintf(p, sizeof(p), "%s/gone.img", gone_dir);
	is_int(symlink(p, link), 0, "far -> a file in a deleted directory");
	char *canon = NULL;
	is_int(lockspace_canonical(link, LOCKSPACE_LOOKUP, &canon), 0,
	       "LOOKUP of a link into a gone directory");
	is_str(canon ? canon : "", p, "it names the target, as it was");
	free(canon);
}

static void test_lookup(void)
{
	char dir[PATH_MAX], real[PATH_MAX], p[PATH_MAX * 2], want[PATH_MAX * 2];
	char before[LOCKSPACE_NAME_LEN + 1], after[LOCKSPACE_NAME_LEN + 1];
	char *canon = NULL;

	tu_join(dir, tu_scratch_dir, "lookup");
	mkdir(dir, 0755);
	if (!realpath(dir, real)) {
		ok(0, "realpath(%s)", dir);
		return;
	}
	tu_join(p, dir, "gone.img");
	tu_write_file(p, "", 0);
	is_int(lockspace_name(p, 0, before), 0, "the name of an existing file");
	is_int(lockspace_name(p, LOCKSPACE_LOOKUP, after), 0, "LOOKUP of an existing file");
	is_str(after, before, "LOOKUP of an existing file: the same name");
	unlink(p);
	is_int(lockspace_name(p, 0, after), -ENOENT, "the deleted file: -ENOENT without LOOKUP");
	is_int(lockspace_name(p, LOCKSPACE_LOOKUP, after), 0, "the deleted file with LOOKUP");
	is_str(after, before, "LOOKUP names the deleted file as it was named");
	snprintf(p, sizeof(p), "%s/../lookup//gone.img", dir);
	is_int(lockspace_name(p, LOCKSPACE_LOOKUP, after), 0, "another spelling of the deleted file");
	is_str(after, before, "another spelling gives the same name");
	tu_join(p, dir, "gone.img");
	rmdir(dir);
	is_int(lockspace_canonical(p, LOCKSPACE_LOOKUP, &canon), 0, "LOOKUP with the directory gone too");
	snprintf(want, sizeof(want), "%s/gone.img", real);
	is_str(canon ? canon : "", want, "the directory gone: the path, normalised");
	free(canon);
	snprintf(p, sizeof(p), "%s/./sub/../gone.img", dir);
	canon = NULL;
	is_int(lockspace_canonical(p, LOCKSPACE_LOOKUP, &canon), 0, "LOOKUP of a spelling with . and ..");
	is_str(canon ? canon : "", want, "'.' and '..' are resolved lexically when nothing is left");
	free(canon);
	is_int(lockspace_name("nosuchdir-lookup/.", LOCKSPACE_LOOKUP, after), -ENOENT,
	       "LOOKUP of a path that ends in '.': -ENOENT");
	test_lookup_links(real);
	/* What is locked must exist. */
	struct lockspace *ls = NULL;
	tu_join(p, tu_scratch_dir, "ls-lookup");
	if (lockspace_open(p, 0, &ls) == 0) {
		tu_join(p, dir, "gone.img");
		is_int(lockspace_acquire(ls, p, LOCKSPACE_LOOKUP), -ENOENT,
		       "acquire ignores LOOKUP: -ENOENT");
		lockspace_close(ls);
	} else {
		ok(0, "lockspace_open() for the LOOKUP test");
	}
}

static void test_valid_name(void)
{
	char out[LOCKSPACE_NAME_LEN + 1];

	ok(lockspace_valid_name("0cc175b9c0f1b6a831c399e269772661"), "32 lowercase hex digits are a name");
	ok(lockspace_valid_name("0CC175B9C0F1B6A831C399E269772661"), "32 uppercase hex digits are a name");
	ok(lockspace_valid_name("0cC175b9C0f1B6a831c399e269772661"), "mixed case is a name");
	ok(!lockspace_valid_name("0cc175b9c0f1b6a831c399e26977266"), "31 digits are not a name");
	ok(!lockspace_valid_name("0cc175b9c0f1b6a831c399e2697726611"), "33 digits are not a name");
	ok(!lockspace_valid_name("0cc175b9c0f1b6a831c399e26977266g"), "a 'g' is not a hex digit");
	ok(!lockspace_valid_name(""), "the empty string is not a name");
	ok(!lockspace_valid_name("../../../../../../../etc/passwd"), "a path is not a name");
	ok(!lockspace_valid_name("0cc175b9c0f1b6a831c399e26977266 "), "a trailing space is not a hex digit");
	ok(!lockspace_valid_name("0cc175b9c0f1b6a8/1c399e269772661"), "a slash is not a hex digit");

	is_int(lockspace_name("0CC175B9C0F1B6A831C399E269772661", LOCKSPACE_BYNAME, out), 0,
	       "BYNAME accepts an uppercase name");
	is_str(out, "0cc175b9c0f1b6a831c399e269772661", "BYNAME lowercases the name");
	is_int(lockspace_name("0cc175b9c0f1b6a831c399e269772661", LOCKSPACE_BYNAME, out), 0,
	       "BYNAME accepts a lowercase name");
	is_str(out, "0cc175b9c0f1b6a831c399e269772661", "BYNAME copies a lowercase name");
	is_int(lockspace_name("/etc/passwd", LOCKSPACE_BYNAME, out), -EINVAL, "BYNAME of a path: -EINVAL");
	is_int(lockspace_name("0cc175b9c0f1b6a831c399e26977266", LOCKSPACE_BYNAME, out), -EINVAL,
	       "BYNAME of 31 digits: -EINVAL");
	is_int(lockspace_name("0cc175b9c0f1b6a831c399e2697726610", LOCKSPACE_BYNAME, out), -EINVAL,
	       "BYNAME of 33 digits: -EINVAL");
	is_int(lockspace_name("", LOCKSPACE_BYNAME, out), -EINVAL, "BYNAME of the empty string: -EINVAL");
}

TU_MAIN(test_rfc1321, test_paths, test_lookup, test_valid_name)
