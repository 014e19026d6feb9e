# mk/fuzz.mk: libFuzzer targets (issue 5).
#
#   make fuzz          builds every test/fuzz/fuzz_<name>.c with clang
#                      (-fsanitize=fuzzer,address,undefined) against the
#                      library *sources* compiled with clang and the same
#                      sanitizers (never the gcc-built archive), then runs
#                      each for FUZZ_SECONDS (default 20) from its seed
#                      corpus test/fuzz/corpus_<name>/
#   make fuzz-short    the same for FUZZ_SHORT_SECONDS (10) each: in check-extra
#
# New inputs go to build/fuzz/corpus_<name>/ (the seed directories are only
# read); a crash leaves build/fuzz/crash-* (reproduce:
# build/fuzz/fuzz_<name> build/fuzz/crash-...).  stdin is /dev/null: a
# config input may name /dev/stdin as a password_file.

FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 20
FUZZ_SHORT_SECONDS ?= 10
FUZZ_SAN           ?= -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS        ?= -g -O1 -fno-omit-frame-pointer
FUZZ_ARGS          ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_NAMES         := $(patsubst test/fuzz/fuzz_%.c,%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS          := $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_LIB_OBJ       := $(patsubst lib/%.c,build/fuzz/lib/%.o,$(LIB_SRC))
FUZZ_BUILTIN_OBJ   := $(patsubst %,build/fuzz/builtin/%.o,$(DRIVERS))

build/fuzz/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(DEP_CFLAGS) \
	  -DCCOORD_BUILDING -DCCOORD_RESOLVERDIR='"$(RESOLVERDIR)"' -c $< -o $@

build/fuzz/builtin/%.o: drivers/%/*.c include/clustercoord/resolver.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	  -Dccoord_resolver_entry=ccoord__builtin_$*_entry \
	  -c $(firstword $(wildcard drivers/$*/$*.c)) -o $@

build/fuzz/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ) $(FUZZ_BUILTIN_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer $(DEP_CFLAGS) -Ilib \
	  -o $@ $< $(FUZZ_LIB_OBJ) $(FUZZ_BUILTIN_OBJ) $(LIBS)

fuzz-build: $(FUZZ_BINS)

# keep the instrumented objects between runs (they are not intermediate files)
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_BUILTIN_OBJ)

# $(call fuzz_run,SECONDS)
define fuzz_run
	@st=0; for n in $(FUZZ_NAMES); do \
	  mkdir -p build/fuzz/corpus_$$n; \
	  echo "fuzz: $$n for $(1) s"; \
	  build/fuzz/fuzz_$$n -max_total_time=$(1) $(FUZZ_ARGS) -artifact_prefix=build/fuzz/ \
	    build/fuzz/corpus_$$n $$( [ -d test/fuzz/corpus_$$n ] && echo test/fuzz/corpus_$$n ) \
	    </dev/null >build/fuzz/$$n.log 2>&1; \
	  r=$$?; tail -n 12 build/fuzz/$$n.log | grep -E 'stat::|Done|ERROR|SUMMARY' ; \
	  if [ $$r -ne 0 ]; then echo "fuzz: $$n FAILED (exit $$r), see build/fuzz/$$n.log"; \
	    grep -A30 -m1 ERROR build/fuzz/$$n.log; st=1; else echo "fuzz: $$n passed"; fi; \
	done; exit $$st
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-short: fuzz-build
	$(call fuzz_run,$(FUZZ_SHORT_SECONDS))

check-extra:: fuzz-short

.PHONY: fuzz fuzz-build fuzz-short
