# mk/chaos.mk: multi-process chaos test (test/chaos/, issue 5).
#
#   make chaos        long run: CHAOS_FAULTS (default 1000) faults on SQLite
#                     and on PostgreSQL, CHAOS_SEED (default: random, printed)
#   make chaos-short  the short run that `make check` does (check-extra):
#                     CHAOS_SHORT_FAULTS (default 30) faults per backend
#
# Each run starts its own throwaway PostgreSQL with test/db/servers.sh in a
# fresh temporary directory, on ports of its own (CHAOS_PG_PORT, default
# 54339; CHAOS_MYSQL_PORT 33079), so it does not clash with the servers of
# test/run-tests.sh or with another checkout's run.  The run directory
# (node logs, fault log, verdict) is kept when a run fails and is printed.
# Other knobs: CHAOS_NODES (4), CHAOS_TASKS (8), CHAOS_INTERVAL (200 ms),
# CHAOS_BACKENDS ("sqlite3 pgsql"), CHAOS_SCHEDULE (interval=150: every
# task scheduled, no slot fired twice), CHAOS_ARGS (more chaos.py options).

CHAOS_NODE         := build/test/chaos-node
CHAOS_FAULTS       ?= 1000
CHAOS_SHORT_FAULTS ?= 30
CHAOS_SEED         ?=
CHAOS_NODES        ?= 4
CHAOS_TASKS        ?= 8
CHAOS_INTERVAL     ?= 200
CHAOS_BACKENDS     ?= sqlite3 pgsql
CHAOS_PG_PORT      ?= 54339
CHAOS_MYSQL_PORT   ?= 33079
# every task is scheduled with this trigger and the checker's (f) checks
# that no slot fires twice (empty: plain registrations)
CHAOS_SCHEDULE     ?= interval=150
# and count-00 (interval=150;count=N) must fire exactly N times in all
CHAOS_COUNT_TASK   ?= 40
CHAOS_ARGS         ?=

$(CHAOS_NODE): test/chaos/node.c include/clustercoord.h build/$(NAME).a
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< build/$(NAME).a $(LIBS) $(LDFLAGS)

tests: $(CHAOS_NODE)

CHAOS_RUN = CHAOS_PG_PORT=$(CHAOS_PG_PORT) CHAOS_MYSQL_PORT=$(CHAOS_MYSQL_PORT) \
	sh test/chaos/run.sh --nodes $(CHAOS_NODES) --tasks $(CHAOS_TASKS) \
	  --interval $(CHAOS_INTERVAL) $(if $(CHAOS_SEED),--seed $(CHAOS_SEED)) \
	  $(if $(CHAOS_SCHEDULE),--schedule $(CHAOS_SCHEDULE)) \
	  $(if $(CHAOS_COUNT_TASK),--count-task $(CHAOS_COUNT_TASK)) $(CHAOS_ARGS)

chaos: all $(CHAOS_NODE)
	$(CHAOS_RUN) --faults $(CHAOS_FAULTS) --backends "$(CHAOS_BACKENDS)"

chaos-short: all $(CHAOS_NODE)
	$(CHAOS_RUN) --faults $(CHAOS_SHORT_FAULTS) --backends "$(CHAOS_BACKENDS)"

check-extra:: chaos-short

.PHONY: chaos chaos-short
