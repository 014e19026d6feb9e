# mk/ci.mk: CI entry point and the throwaway database servers for other targets.
#
#   make ci            what CI runs (bash .ci/run: deps, check -Werror, sanitizers)
#   make db-start      start PostgreSQL + MariaDB in $(DB_DIR), print the env lines
#   make db-env        print them again:  eval "$(make -s db-env)"
#   make db-stop       stop them and remove $(DB_DIR)
#
# In a recipe, run a command against fresh servers that are stopped afterwards
# (CCOORD_TEST_PGSQL / CCOORD_TEST_MYSQL exported, exit status kept):
#   $(WITH_SERVERS) build/bench/throughput --nodes 8
# Ports: CCOORD_TEST_PG_PORT (54329) and CCOORD_TEST_MY_PORT (33069); give a
# target its own pair if it may run while `make check` does.  Only one of
# them: CCOORD_TEST_SERVERS=pgsql.  See test/db/servers.sh.

DB_DIR       ?= /tmp/ccoord-dev-db
WITH_SERVERS := sh test/db/servers.sh run

ci:
	bash .ci/run

db-start:
	@sh test/db/servers.sh stop $(DB_DIR)
	@sh test/db/servers.sh start $(DB_DIR)
	@sh test/db/servers.sh env $(DB_DIR)

db-env:
	@sh test/db/servers.sh env $(DB_DIR)

db-stop:
	@sh test/db/servers.sh stop $(DB_DIR)

.PHONY: ci db-start db-env db-stop
