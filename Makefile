# SPDX-License-Identifier: LGPL-2.1-or-later
# Makefile: builds liblockspace (shared and static), virlock, tests and docs.

DESTDIR ?=
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
COMPLETIONSDIR ?= $(shell pkg-config --define-variable=prefix=$(PREFIX) --variable=completionsdir bash-completion 2>/dev/null || echo $(PREFIX)/share/bash-completion/completions)

VERSION_MAJOR := $(shell sed -n 's/^\#define LOCKSPACE_VERSION_MAJOR \([0-9]*\)/\1/p' liblockspace/lockspace.h)
VERSION_MINOR := $(shell sed -n 's/^\#define LOCKSPACE_VERSION_MINOR \([0-9]*\)/\1/p' liblockspace/lockspace.h)
VERSION_PATCH := $(shell sed -n 's/^\#define LOCKSPACE_VERSION_PATCH \([0-9]*\)/\1/p' liblockspace/lockspace.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

CC ?= cc
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wundef -Wvla -Wwrite-strings -Wno-missing-field-initializers
OPTFLAGS ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Iliblockspace
ALL_CFLAGS = -std=gnu11 $(OPTFLAGS) $(WARNINGS) $(CFLAGS)
PKGS := libmd
CLI_PKGS := popt smartcols
LIBS_LIB := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lmd) -pthread
# The sanlock backend is built where libsanlock-dev is installed, left out
# otherwise. libsanlock_client is opened at run time, on first use of a
# sanlock lockspace (liblockspace/sanlock_client.h says why).
HAVE_SANLOCK := $(shell test -f /usr/include/sanlock.h && echo 1)
ifeq ($(HAVE_SANLOCK),1)
CPPFLAGS += -DHAVE_SANLOCK
LIBS_LIB += -ldl
endif
# virlock takes popt and libmd statically where Debian ships the archives:
# every acquire is a process start, and each shared library costs one.
LIBS_CLI := -Wl,-Bstatic -lpopt -lmd -Wl,-Bdynamic -lsmartcols $(if $(HAVE_SANLOCK),-ldl)
CFLAGS_CLI := $(shell pkg-config --cflags $(CLI_PKGS) 2>/dev/null)

B ?= build
LIB_SRC := $(wildcard liblockspace/*.c)
CLI_SRC := $(wildcard cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
HELPER_SRC := $(wildcard tests/helpers/*.c)
BENCH_SRC := $(wildcard tests/bench/*.c)
STRESS_SRC := $(wildcard tests/stress/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:%.c=$(B)/%)
HELPER_BIN := $(HELPER_SRC:%.c=$(B)/%)
BENCH_BIN := $(BENCH_SRC:%.c=$(B)/%)
STRESS_BIN := $(STRESS_SRC:%.c=$(B)/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
SONAME := liblockspace.so.$(VERSION_MAJOR)
SHLIB := $(B)/liblockspace.so.$(VERSION)
STLIB := $(B)/liblockspace.a
VIRLOCK := $(B)/virlock

ifeq ($(V),1)
Q :=
else
Q := @
endif

.DELETE_ON_ERROR:
.PHONY: all lib check check-valgrind asan install uninstall clean deps demo bench lint format stress fuzz

all: lib $(VIRLOCK) $(UNIT_BIN) $(HELPER_BIN) $(STRESS_BIN)

lib: $(SHLIB) $(STLIB)

$(B)/liblockspace/%.o: liblockspace/%.c liblockspace/*.h
	@mkdir -p $(@D)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS) -DLOCKSPACE_BUILDING $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(SHLIB): $(LIB_OBJ) liblockspace/liblockspace.sym
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script,liblockspace/liblockspace.sym -o $@ $(LIB_OBJ) $(LIBS_LIB)
	$(Q)ln -sf liblockspace.so.$(VERSION) $(B)/$(SONAME)
	$(Q)ln -sf $(SONAME) $(B)/liblockspace.so

$(STLIB): $(LIB_OBJ)
	@[ -n "$(Q)" ] && echo "  AR      $@" || true
	$(Q)rm -f $@ && $(AR) rcs $@ $(LIB_OBJ)

$(B)/cli/%.o: cli/%.c cli/*.h liblockspace/lockspace.h
	@mkdir -p $(@D)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(CFLAGS_CLI) -c -o $@ $<

# virlock links the static library: a lock tool starts faster without the
# dynamic loader's work, and it still sees only the public header.
$(VIRLOCK): $(CLI_OBJ) $(STLIB)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STLIB) $(LIBS_CLI) -pthread

$(B)/tests/unit/%: tests/unit/%.c tests/unit/*.h $(STLIB)
	@mkdir -p $(@D)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STLIB) $(LIBS_LIB)

$(B)/tests/helpers/%: tests/helpers/%.c $(STLIB)
	@mkdir -p $(@D)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STLIB) $(LIBS_LIB)

$(B)/tests/stress/%: tests/stress/%.c $(STLIB)
	@mkdir -p $(@D)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STLIB) $(LIBS_LIB)

$(B)/tests/bench/%: tests/bench/%.c $(STLIB)
	@mkdir -p $(@D)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STLIB) $(LIBS_LIB)

# make check: unit tests, the exported-symbol check, end-to-end tests, and the
# unit, end-to-end and short stress tests again under ASan+UBSan; one closing
# "N passed, N failed" line.
check: all asan
	$(Q)tests/run-suites $(B) build-asan

# The end-to-end tests with every virlock process under valgrind memcheck, and
# the check of its logs (in $(B)/valgrind); its own "N passed, N failed" line.
check-valgrind: all
	$(Q)tests/run-suites --valgrind $(B)

asan:
	$(Q)$(MAKE) --no-print-directory B=build-asan \
		OPTFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all

# The long stress run; make check runs a short one.
stress: all
	$(Q)STRESS_LONG=1 VIRLOCK=$(CURDIR)/$(B)/virlock BUILD=$(CURDIR)/$(B) bats --tap tests/stress

# Fuzz targets: libFuzzer with clang, ASan+UBSan, over every parser: the
# library's (compiled in, internal header included) and the control protocol's
# (the target #includes the cli/*.c it needs). FUZZ_RUNS executions each, from
# a corpus kept in build-fuzz/ and the seeds in tests/fuzz/seeds/TARGET/; one
# line per target with its executions and coverage, the log in build-fuzz/.
FUZZ_RUNS ?= 200000
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE \
	$(WARNINGS) -Iliblockspace -Icli
build-fuzz/%: tests/fuzz/%.c $(LIB_SRC) liblockspace/*.h cli/control*.[ch]
	@mkdir -p $(@D)
	@[ -n "$(Q)" ] && echo "  FUZZCC  $<" || true
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LIBS_LIB)

fuzz: $(FUZZ_BIN)
	$(Q)fail=0; for f in $(FUZZ_BIN); do \
		t=$${f#build-fuzz/}; mkdir -p build-fuzz/corpus-$$t; t0=$$(date +%s%N); \
		$$f -runs=$(FUZZ_RUNS) -timeout=10 -print_final_stats=1 -artifact_prefix=build-fuzz/$$t- \
			build-fuzz/corpus-$$t $$(ls -d tests/fuzz/seeds/$$t 2>/dev/null) >build-fuzz/$$t.log 2>&1; \
		rc=$$?; ms=$$((($$(date +%s%N) - t0) / 1000000)); \
		stats=$$(awk -v ms=$$ms '/^INFO: Loaded 1 modules/ { sub(/.*\(/, ""); edges = $$1 } \
			/^#[0-9]+[ \t]+DONE/ { for (i = 1; i < NF; i++) v[$$i] = $$(i + 1) } \
			/^stat::number_of_executed_units:/ { runs = $$2 } \
			END { if (runs != "") printf "%s executions in %d ms, cov %s/%s edges, ft %s, corpus %s", \
				runs, ms, v["cov:"], edges, v["ft:"], v["corp:"] }' build-fuzz/$$t.log); \
		if [ $$rc -eq 0 ] && [ -n "$$stats" ]; then \
			echo "$$t: ok, $$stats"; \
		else \
			echo "$$t: FAILED (status $$rc); see build-fuzz/$$t.log"; \
			grep -E '^(==[0-9]+== ?ERROR|SUMMARY|artifact_prefix|Base64)' build-fuzz/$$t.log; \
			fail=1; \
		fi; \
	done; exit $$fail

bench: all $(BENCH_BIN)
	$(Q)tests/bench/run $(B)

demo: all
	$(Q)tests/demo.sh $(B)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(COMPLETIONSDIR)
	install -m 0755 $(VIRLOCK) $(DESTDIR)$(BINDIR)/virlock
	install -m 0755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf liblockspace.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblockspace.so
	install -m 0644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	install -m 0644 liblockspace/lockspace.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
		-e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|-pthread$(if $(HAVE_SANLOCK), -ldl)|' \
		liblockspace/liblockspace.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/liblockspace.pc
	for m in $(wildcard man/*.1); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in $(wildcard man/*.3); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man3/; done
	for m in $(wildcard man/*.5); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	[ ! -f completions/virlock ] || install -m 0644 completions/virlock $(DESTDIR)$(COMPLETIONSDIR)/virlock

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/virlock $(DESTDIR)$(LIBDIR)/liblockspace.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/liblockspace.so $(DESTDIR)$(LIBDIR)/liblockspace.a \
		$(DESTDIR)$(INCLUDEDIR)/lockspace.h $(DESTDIR)$(PKGCONFIGDIR)/liblockspace.pc \
		$(DESTDIR)$(COMPLETIONSDIR)/virlock
	for m in $(notdir $(wildcard man/*.1)); do rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done
	for m in $(notdir $(wildcard man/*.3)); do rm -f $(DESTDIR)$(MANDIR)/man3/$$m; done
	for m in $(notdir $(wildcard man/*.5)); do rm -f $(DESTDIR)$(MANDIR)/man5/$$m; done

clean:
	rm -rf build build-asan build-fuzz

# Debian packages this project builds, tests and lints with.
DEB_PKGS := build-essential pkg-config libpopt-dev libmd-dev libsmartcols-dev bats bats-support \
	bats-assert bash-completion mandoc shellcheck clang-format cppcheck valgrind jq util-linux procps \
	clang libclang-rt-14-dev strace sanlock libsanlock-dev
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing:" $$missing; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

lint:
	$(Q)clang-format --dry-run --Werror liblockspace/*.[ch] cli/*.[ch] tests/unit/*.[ch] \
		$(wildcard tests/helpers/*.c tests/bench/*.c tests/stress/*.c tests/fuzz/*.c)
	$(Q)cppcheck -q --error-exitcode=1 --enable=warning,portability,performance --std=c11 \
		--suppress=missingIncludeSystem -D_GNU_SOURCE -Iliblockspace liblockspace cli
	$(Q)shellcheck -x .ci/run tests/run-suites tests/valgrind-virlock tests/valgrind-logs \
		$(wildcard tests/*.sh tests/bench/run tests/stress/*.sh) \
		$(wildcard completions/virlock)
	$(Q)for m in $(wildcard man/*.[135]); do mandoc -Tlint -Wwarning $$m || exit 1; done
	@echo "lint: clean"

format:
	clang-format -i liblockspace/*.[ch] cli/*.[ch] tests/unit/*.[ch]
