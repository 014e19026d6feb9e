# mk/galera.mk: the coordination database as a 3-member Galera cluster
# (MariaDB with galera-4; issue 12).  Not part of `make check`: starting
# the cluster, the two multi-member tests and the chaos run take about
# GALERA_FAULTS / 10 minutes more than CI's time allows.
#
#   make check-galera   starts a throwaway cluster (test/db/galera.sh) in a
#                       fresh temporary directory on 127.0.0.1:GALERA_PORT
#                       (default 33111; it uses PORT..PORT+2, +10..+12 and
#                       +20..+22), runs build/test/node_galera against it,
#                       then the chaos test with nodes spread over the three
#                       members and GALERA_FAULTS (default 200) faults,
#                       including stopping and freezing members; stops the
#                       cluster whatever happened
#
# Knobs: GALERA_PORT, GALERA_FAULTS, GALERA_NODES (3), GALERA_SEED (default:
# random, printed), GALERA_ARGS (more chaos.py options).  `sh test/deps.sh
# galera` installs what it needs.

GALERA_PORT   ?= 33111
GALERA_FAULTS ?= 200
GALERA_NODES  ?= 3
GALERA_SEED   ?=
GALERA_ARGS   ?=

tests: build/test/node_galera

check-galera: all build/test/node_galera $(CHAOS_NODE)
	@sh test/deps.sh galera
	@GALERA_PORT=$(GALERA_PORT) GALERA_FAULTS=$(GALERA_FAULTS) GALERA_NODES=$(GALERA_NODES) \
	  GALERA_SEED="$(GALERA_SEED)" GALERA_ARGS="$(GALERA_ARGS)" sh test/db/check-galera.sh

.PHONY: check-galera
