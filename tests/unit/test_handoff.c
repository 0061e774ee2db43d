/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_handoff.c: hand-off tokens made and read back, bad ones refused; a marked hand-off between handles. */
#include "testlib.h"

#define N1 "0123456789abcdef0123456789abcdef"
#define N2 "fedcba9876543210fedcba9876543210"

static void test_format_parse(void)
{
	struct lockspace_handoff_item in[2] = {{N2, 0x1f}, {N1, UINT64_MAX}};
	char *tok = NULL;
	is_int(lockspace_handoff_format(LOCKSPACE_BACKEND_FCNTL, in, 2, &tok), 0, "format two");
	is_str(tok, "vlh1:f:" N1 "=ffffffffffffffff:" N2 "=1f", "in name order, states in hex");
	struct lockspace_handoff_item *out = NULL;
	size_t n = 0;
	is_int(lockspace_handoff_parse(LOCKSPACE_BACKEND_FCNTL, tok, &out, &n), 0, "parse it back");
	ok(n == 2 && strcmp(out[0].name, N1) == 0 && out[0].state == UINT64_MAX &&
		   strcmp(out[1].name, N2) == 0 && out[1].state == 0x1f,
	   "the same items");
	free(out);
	is_int(lockspace_handoff_parse(LOCKSPACE_BACKEND_SANLOCK, tok, &out, &n), -EXDEV,
	       "a token of another backend: -EXDEV");
	free(tok);
	is_int(lockspace_handoff_format(LOCKSPACE_BACKEND_SANLOCK, in, 1, &tok), 0, "sanlock");
	is_str(tok, "vlh1:s:" N2 "=1f", "the letter s");
	free(tok);
	struct lockspace_handoff_item zero = {N1, 0}, twice[2] = {{N1, 1}, {N1, 2}}, bad = {"xyz", 1};
	is_int(lockspace_handoff_format(LOCKSPACE_BACKEND_FCNTL, &zero, 1, &tok), -EINVAL, "state 0");
	is_int(lockspace_handoff_format(LOCKSPACE_BACKEND_FCNTL, twice, 2, &tok), -EINVAL, "a name twice");
	is_int(lockspace_handoff_format(LOCKSPACE_BACKEND_FCNTL, &bad, 1, &tok), -EINVAL, "a bad name");
	is_int(lockspace_handoff_format("nfs", in, 1, &tok), -EINVAL, "another backend");
	is_int(lockspace_handoff_format(LOCKSPACE_BACKEND_FCNTL, in, 0, &tok), -EINVAL, "none");
}

static void test_parse_bad(void)
{
	static const char *const bad[] = {
		"",
		"vlh1",
		"vlh1:f",
		"vlh1:f:",
		"vlh2:f:" N1 "=1",
		"vlh1:x:" N1 "=1",
		"vlh1:f:" N1,
		"vlh1:f:" N1 "=",
		"vlh1:f:" N1 "=0",
		"vlh1:f:" N1 "=01",
		"vlh1:f:" N1 "=1F",
		"vlh1:f:" N1 "=10000000000000000",
		"vlh1:f:" N1 "=1:",
		"vlh1:f:" N1 "=1 ",
		"vlh1:f:" N2 "=1:" N1 "=1",
		"vlh1:f:" N1 "=1:" N1 "=2",
		"vlh1:f:0123=1",
		"vlh1:f:" N1 "=1::" N2 "=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lockspace_handoff_item *out = NULL;
		size_t n = 0;
		is_int(lockspace_handoff_parse(LOCKSPACE_BACKEND_FCNTL, bad[i], &out, &n), -EINVAL,
		       "refused: '%s'", bad[i]);
		ok(out == NULL && n == 0, "nothing returned");
	}
}

/* Two handles stand for source and target: the marker makes the hand-off,
 * a plain acquire in between voids it. */
static void test_marker(void)
{
	struct lockspace *src = NULL, *dst = NULL;
	char res[4200];
	snprintf(res, sizeof(res), "%s/handoff-res", tu_scratch_dir);
	is_int(lockspace_open(tu_scratch_dir, 0, &src), 0, "open source");
	is_int(lockspace_open(tu_scratch_dir, 0, &dst), 0, "open target");
	uint64_t state = 0;
	const char *r[] = {res};
	is_int(lockspace_acquire(src, res, LOCKSPACE_LITERAL), 0, "source acquires");
	is_int(lockspace_handoff(src, res, LOCKSPACE_LITERAL, &state), 0, "hand-off");
	ok(state != 0, "a state");
	is_int(lockspace_release(src, res, LOCKSPACE_LITERAL), 0, "source releases");
	uint64_t wrong = state + 1;
	is_int(lockspace_acquire_expect(dst, r, 1, LOCKSPACE_LITERAL, 0, &wrong, NULL), -ECANCELED,
	       "another state: -ECANCELED");
	is_int(lockspace_acquire_expect(dst, r, 1, LOCKSPACE_LITERAL, 0, &state, NULL), 0,
	       "its state: taken");
	is_int(lockspace_handoff(dst, res, LOCKSPACE_LITERAL, &state), 0, "hand-off again");
	is_int(lockspace_release(dst, res, LOCKSPACE_LITERAL), 0, "released");
	is_int(lockspace_acquire(src, res, LOCKSPACE_LITERAL), 0, "an acquire in between");
	is_int(lockspace_release(src, res, LOCKSPACE_LITERAL), 0, "and its release");
	is_int(lockspace_acquire_expect(dst, r, 1, LOCKSPACE_LITERAL, 0, &state, NULL), -ECANCELED,
	       "the hand-off is void");
	is_int(lockspace_handoff(dst, res, LOCKSPACE_LITERAL, &state), -ENOENT, "not held: -ENOENT");
	lockspace_close(src);
	lockspace_close(dst);
}

/* Marks @res (LITERAL) through @h and releases it: the state. */
static uint64_t handed_off(struct lockspace *h, const char *res)
{
	uint64_t state = 0;
	is_int(lockspace_acquire(h, res, LOCKSPACE_LITERAL), 0, "acquired to hand off");
	is_int(lockspace_handoff(h, res, LOCKSPACE_LITERAL, &state), 0, "marked");
	is_int(lockspace_release(h, res, LOCKSPACE_LITERAL), 0, "released");
	return state;
}

/* An expecting acquire of a resource this process holds shared through
 * another handle is not in the state of the hand-off. */
static void test_expect_held_shared(void)
{
	struct lockspace *src = NULL, *other = NULL, *dst = NULL;
	char res[4200];
	snprintf(res, sizeof(res), "%s/handoff-shared", tu_scratch_dir);
	is_int(lockspace_open(tu_scratch_dir, 0, &src), 0, "open source");
	is_int(lockspace_open(tu_scratch_dir, 0, &other), 0, "open another");
	is_int(lockspace_open(tu_scratch_dir, 0, &dst), 0, "open target");
	uint64_t state = handed_off(src, res);
	const char *r[] = {res};
	is_int(lockspace_acquire(other, res, LOCKSPACE_LITERAL | LOCKSPACE_SHARED), 0,
	       "another takes it shared");
	is_int(lockspace_acquire_expect(dst, r, 1, LOCKSPACE_LITERAL | LOCKSPACE_SHARED, 0, &state, NULL),
	       -ECANCELED, "shared target: -ECANCELED");
	is_int(lockspace_release_all(other), 1, "the other lets go");
	is_int(lockspace_acquire_expect(dst, r, 1, LOCKSPACE_LITERAL | LOCKSPACE_SHARED, 0, &state, NULL),
	       -ECANCELED, "the hand-off stays void");
	lockspace_close(src);
	lockspace_close(other);
	lockspace_close(dst);
}

/* An expecting acquire that fails on its second resource leaves the
 * marker of the first: the hand-off of the first can still be taken. */
static void test_expect_failed_keeps_markers(void)
{
	struct lockspace *src = NULL, *other = NULL, *dst = NULL;
	char a[4200], b[4200];
	snprintf(a, sizeof(a), "%s/handoff-a", tu_scratch_dir);
	snprintf(b, sizeof(b), "%s/handoff-b", tu_scratch_dir);
	is_int(lockspace_open(tu_scratch_dir, 0, &src), 0, "open source");
	is_int(lockspace_open(tu_scratch_dir, 0, &other), 0, "open another");
	is_int(lockspace_open(tu_scratch_dir, 0, &dst), 0, "open target");
	uint64_t states[2] = {handed_off(src, a), handed_off(src, b)};
	const char *r[] = {a, b};
	is_int(lockspace_acquire(other, b, LOCKSPACE_LITERAL), 0, "another takes b and holds it");
	size_t failed = 9;
	int rc = lockspace_acquire_expect(dst, r, 2, LOCKSPACE_LITERAL, 0, states, &failed);
	ok(rc == -ECANCELED || rc == -EBUSY, "a and b: refused (%d)", rc);
	is_int((int)failed, 1, "b is the one");
	is_int(lockspace_release_all(other), 1, "the other lets go");
	is_int(lockspace_acquire_expect(dst, r, 1, LOCKSPACE_LITERAL, 0, states, NULL), 0,
	       "the hand-off of a is still there");
	uint64_t zero[2] = {states[0], 0};
	is_int(lockspace_release_all(dst), 1, "released");
	is_int(lockspace_acquire_expect(dst, r, 2, LOCKSPACE_LITERAL, 0, zero, &failed), -EINVAL,
	       "a state of 0: -EINVAL");
	is_int((int)failed, 1, "at its index");
	lockspace_close(src);
	lockspace_close(other);
	lockspace_close(dst);
}

TU_MAIN(test_format_parse, test_parse_bad, test_marker, test_expect_held_shared,
	test_expect_failed_keeps_markers)
