# mk/sanitize.mk: the whole test suite under sanitizers and valgrind (issue 5).
#
#   make check-asan       ASan + UBSan (gcc), every unit_/node_/api_ test
#   make check-tsan       ThreadSanitizer (gcc), every unit_/node_/api_ test
#   make check-valgrind   memcheck over every test program (the heaviest
#                         node_* on one backend, see below; check-valgrind-full:
#                         all of them on all three); definite and
#                         indirect leaks are errors (test/valgrind.supp holds
#                         the few libdbi/driver-internal leaks that are not ours)
#
# How the sanitizer builds are kept apart: the Makefile writes to build/ by
# fixed paths, so check-asan/check-tsan copy the source tree (without
# build/ and .git) into build/san-asan/ resp. build/san-tsan/ and run
# `make tests` there with the sanitizer CFLAGS/LDFLAGS.  The normal build in
# build/ is never touched or mixed with instrumented objects, nothing needs
# `make clean`, and the copy is rebuilt from scratch each time (the tree is
# small; a fresh copy cannot pick up stale objects).  The tests then run in
# the copy through its test/run-tests.sh, which starts and stops its own
# throwaway PostgreSQL and MariaDB servers.
#
# check-valgrind uses the normal build in build/ (valgrind needs no special
# compiler flags) and runs each test through a small wrapper script in
# build/valgrind/, since test/run-tests.sh runs programs as they are.
#
# SAN_CHAOS=1 also runs the short chaos test (sqlite3 and pgsql) with the
# instrumented node processes in check-asan (slower; off by default).
# SAN_TESTS="build/test/node_tasks ..." narrows the programs run.

SAN_TESTS     ?= $(ALL_TESTS)
# memcheck runs the code 20-50 times slower and serializes its threads, so
# the multi-node tests run on a slower clock there: every heartbeat
# interval, bound and wait times this (CCOORD_TEST_TIME_SCALE, test/cluster.h).
VALGRIND_TIME_SCALE ?= 4
# ASan + UBSan run the code 2-3 times slower; at 100 ms intervals the
# 150 ms slack of a failover bound is then one scheduling hiccup of a busy
# 2-core machine (CI once saw 823 ms against a 650 ms bound; the same test
# is 280-450 ms there under load): the same assertions on a clock twice
# as slow.  TSan is slower still.
ASAN_TIME_SCALE     ?= 2
TSAN_TIME_SCALE     ?= 4
SAN_CHAOS     ?= 0
# Leaks are check-valgrind's job: libdbi dlclose()s its drivers at
# dbi_shutdown_r, so LeakSanitizer reports the libdbd-sqlite3 internal
# leaks (see test/valgrind.supp) as "<unknown module>" frames that no
# suppression can name narrowly.  ASAN_LEAKS=1 turns LeakSanitizer on.
ASAN_LEAKS    ?= 0
ASAN_CFLAGS   ?= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
                 -fno-sanitize-recover=undefined
ASAN_LDFLAGS  ?= -fsanitize=address,undefined
TSAN_CFLAGS   ?= -O1 -g -fsanitize=thread -fno-omit-frame-pointer
TSAN_LDFLAGS  ?= -fsanitize=thread
# The multi-node programs under memcheck take most of CI's time (node_tasks
# alone ~600 s on all three backends), so check-valgrind runs the four
# heaviest, node_metrics and node_ctl (whose code under test is backend-blind
# or runs in a child process valgrind does not follow) on SQLite
# alone (the embedded default, whose engine runs inside the process) and
# node_safety, whose faults need a server, on PostgreSQL
# alone; every other program runs on every backend it tests.  check-asan
# runs everything on all three, and check-valgrind-full runs memcheck on
# all three too (outside CI; its figures are in the closing notes).
VALGRIND_BACKENDS_node_tasks      ?= sqlite3
VALGRIND_BACKENDS_node_membership ?= sqlite3
VALGRIND_BACKENDS_node_hostile    ?= sqlite3
VALGRIND_BACKENDS_node_dispatch   ?= sqlite3
VALGRIND_BACKENDS_node_safety     ?= pgsql
VALGRIND_BACKENDS_node_metrics    ?= sqlite3
VALGRIND_BACKENDS_node_ctl        ?= sqlite3
VALGRIND_BACKENDS_node_schedule   ?= sqlite3
VALGRIND_FULL ?=
# check-asan runs node_safety (219 s on three backends, the longest
# program there) on PostgreSQL alone, as check-valgrind does: its faults
# are the server's (stopped, stalled, cut off), and `make check` runs it
# uninstrumented on all three.  ASAN_FULL=1: every program on every
# backend.
ASAN_BACKENDS_node_safety ?= pgsql
ASAN_FULL ?=
asan_backends = $(if $(ASAN_FULL),,$(if $(ASAN_BACKENDS_$(notdir $(1))),export CCOORD_TEST_BACKENDS=$(ASAN_BACKENDS_$(notdir $(1)))))
# $(call vg_backends,PROGRAM): the line that narrows PROGRAM's backends
vg_backends = $(if $(VALGRIND_FULL),,$(if $(VALGRIND_BACKENDS_$(notdir $(1))),export CCOORD_TEST_BACKENDS=$(VALGRIND_BACKENDS_$(notdir $(1)))))
VALGRIND      ?= valgrind
VALGRIND_OPTS ?= --leak-check=full --show-leak-kinds=definite,indirect \
                 --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
                 --num-callers=30 --fair-sched=yes --keep-debuginfo=yes \
                 --suppressions=$(CURDIR)/test/valgrind.supp

# $(call san_copy,NAME): fresh copy of the source tree in build/san-NAME
define san_copy
	rm -rf build/san-$(1)
	mkdir -p build/san-$(1)
	tar -cf - --exclude=./build --exclude=./.git . | tar -C build/san-$(1) -xf -
endef

check-asan:
	$(call san_copy,asan)
	$(MAKE) --no-print-directory -C build/san-asan tests \
	  CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="$(ASAN_LDFLAGS)"
	@mkdir -p build/san-asan/build/asan
	@$(foreach t,$(SAN_TESTS),w=build/san-asan/build/asan/$(notdir $(t)); \
	  printf '#!/bin/sh\n%s\nexec %s "$$@"\n' '$(call asan_backends,$(t))' \
	    "$(CURDIR)/build/san-asan/$(t)" >$$w && chmod +x $$w &&) true
	cd build/san-asan && CCOORD_TEST_TIME_SCALE=$(ASAN_TIME_SCALE) \
	  ASAN_OPTIONS="detect_leaks=$(ASAN_LEAKS):halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1" \
	  LSAN_OPTIONS="suppressions=$(CURDIR)/test/lsan.supp:print_suppressions=0" \
	  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
	  sh test/run-tests.sh $(patsubst build/test/%,build/asan/%,$(SAN_TESTS))
ifeq ($(SAN_CHAOS),1)
	cd build/san-asan && \
	  ASAN_OPTIONS="detect_leaks=$(ASAN_LEAKS):halt_on_error=1" \
	  LSAN_OPTIONS="suppressions=$(CURDIR)/test/lsan.supp:print_suppressions=0" \
	  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
	  CHAOS_PG_PORT=$(CHAOS_PG_PORT) sh test/chaos/run.sh --faults $(CHAOS_SHORT_FAULTS) \
	  --backends "$(CHAOS_BACKENDS)" --nodes $(CHAOS_NODES) --tasks $(CHAOS_TASKS) \
	  --interval $(CHAOS_INTERVAL)
endif

check-tsan:
	$(call san_copy,tsan)
	$(MAKE) --no-print-directory -C build/san-tsan tests \
	  CFLAGS="$(TSAN_CFLAGS)" LDFLAGS="$(TSAN_LDFLAGS)"
	cd build/san-tsan && CCOORD_TEST_TIME_SCALE=$(TSAN_TIME_SCALE) \
	  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/test/tsan.supp" \
	  sh test/run-tests.sh $(SAN_TESTS)

check-valgrind: tests
	@rm -rf build/valgrind && mkdir -p build/valgrind
	@$(foreach t,$(SAN_TESTS),w=build/valgrind/$(notdir $(t)); \
	  printf '#!/bin/sh\n%s\nexec %s %s --log-file=%s.%%p.log %s "$$@"\n' \
	    '$(call vg_backends,$(t))' '$(VALGRIND)' '$(VALGRIND_OPTS)' "$(CURDIR)/$$w" \
	    "$(CURDIR)/$(t)" >$$w && chmod +x $$w &&) true
	@st=0; CCOORD_TEST_TIME_SCALE=$(VALGRIND_TIME_SCALE) \
	  sh test/run-tests.sh $(patsubst build/test/%,build/valgrind/%,$(SAN_TESTS)) || st=$$?; \
	  for f in build/valgrind/*.log; do \
	    [ -f "$$f" ] || continue; \
	    if grep -q 'ERROR SUMMARY: [1-9]' "$$f"; then echo "==== valgrind errors: $$f"; cat "$$f"; fi; \
	  done; \
	  exit $$st

check-valgrind-full:
	$(MAKE) --no-print-directory check-valgrind VALGRIND_FULL=1

.PHONY: check-asan check-tsan check-valgrind check-valgrind-full
