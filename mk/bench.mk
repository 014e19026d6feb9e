# mk/bench.mk: benchmarks (bench/, issue 6).
#
#   make bench        every benchmark but scale, on a PostgreSQL of its own
#                     (and SQLite where it applies); prints one table
#   make bench-scale  the scale benchmark alone (long: a hold of
#                     BENCH_SCALE_HOLD seconds per step, 300 by default)
#   make bench-smoke  every benchmark, tiny (seconds), asserting only that
#                     each runs; part of `make check` (check-extra)
#
# bench/run.sh starts PostgreSQL with test/db/servers.sh in a fresh
# temporary directory on port BENCH_PG_PORT (default 54359, so it does not
# clash with the tests' 54329 or chaos' 54339), restarts it with
# pg_stat_statements preloaded and max_connections = 2600, and stops it on
# exit.  Knobs: BENCH_ARGS (more bench/run.sh options, e.g. "--runs 5").

BENCH_PROGS := $(patsubst bench/%.c,build/bench/%,$(filter-out bench/common.c,$(wildcard bench/*.c)))
BENCH_PG_PORT    ?= 54359
BENCH_SCALE_HOLD ?= 300
BENCH_ARGS       ?=

build/bench/%: bench/%.c bench/common.c bench/common.h build/$(NAME).a
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) $(DEP_CFLAGS) -Ilib -o $@ $< bench/common.c \
	  build/$(NAME).a $(LIBS) -lm -Wl,--wrap=dbi_conn_query $(LDFLAGS)

bench-progs: all $(BENCH_PROGS)

BENCH_RUN = CCOORD_BENCH_PG_PORT=$(BENCH_PG_PORT) sh bench/run.sh

bench: bench-progs
	@$(BENCH_RUN) $(BENCH_ARGS)

bench-scale: bench-progs
	@$(BENCH_RUN) --scale --scale-hold $(BENCH_SCALE_HOLD) $(BENCH_ARGS)

bench-smoke: bench-progs
	@$(BENCH_RUN) --smoke $(BENCH_ARGS)

check-extra:: bench-smoke

.PHONY: bench bench-scale bench-smoke bench-progs
