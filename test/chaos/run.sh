#!/bin/sh
# test/chaos/run.sh: runs test/chaos/chaos.py once per backend.
#
#   sh test/chaos/run.sh --backends "sqlite3 pgsql" [chaos.py options...]
#
# For pgsql (and mysql) it starts its own throwaway server with
# test/db/servers.sh in a fresh temporary directory, on CHAOS_PG_PORT
# (default 54339) / CHAOS_MYSQL_PORT (default 33079), so it neither clashes
# with the servers of test/run-tests.sh nor touches them; the chaos run
# stops and starts that server and SIGSTOPs its processes.  The server is
# stopped whatever happens.  Exit status: 0 when every backend passed.
# A backend whose server cannot be started is a failure under CI=true and
# is skipped (with a message) otherwise; a run in which no backend ran at
# all fails.
set -u

backends="sqlite3 pgsql"
# --backends may stand anywhere; every other argument goes to chaos.py
n=$#
while [ $n -gt 0 ]; do
    a=$1
    shift
    n=$((n - 1))
    if [ "$a" = "--backends" ] && [ $n -gt 0 ]; then
        backends=$1
        shift
        n=$((n - 1))
    else
        set -- "$@" "$a"
    fi
done

here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

dbdir=
cleanup() {
    if [ -n "$dbdir" ]; then
        sh test/db/servers.sh stop "$dbdir" || true
        dbdir=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need=
for b in $backends; do
    case $b in
    pgsql) need="${need:+$need,}pgsql" ;;
    mysql) need="${need:+$need,}mysql" ;;
    esac
done
# Started right before the first backend that needs them (not minutes
# earlier, while a long SQLite run goes on).
started=
start_servers() {
    [ -n "$need" ] && [ -z "$started" ] || return 0
    started=1
    dbdir=$(mktemp -d "${TMPDIR:-/tmp}/ccoord-chaos-db.XXXXXX")
    if CCOORD_TEST_SERVERS=$need CCOORD_TEST_PG_PORT=${CHAOS_PG_PORT:-54339} \
        CCOORD_TEST_MY_PORT=${CHAOS_MYSQL_PORT:-33079} sh test/db/servers.sh start "$dbdir"; then
        eval "$(sh test/db/servers.sh env "$dbdir")"
    else
        echo "chaos: could not start the database servers ($need)" >&2
        rm -rf "$dbdir"
        dbdir=
        if [ "${CI:-}" = true ]; then exit 1; fi
    fi
}

status=0
passed=0
failed=0
skipped=0
for b in $backends; do
    case $b in
    sqlite3) extra= ;;
    pgsql)
        start_servers
        if [ -z "$dbdir" ] || [ -z "${CCOORD_TEST_PGSQL:-}" ]; then
            echo "chaos: pgsql skipped (no server)"
            skipped=$((skipped + 1))
            continue
        fi
        extra=pg
        ;;
    mysql)
        start_servers
        if [ -z "$dbdir" ] || [ -z "${CCOORD_TEST_MYSQL:-}" ]; then
            echo "chaos: mysql skipped (no server)"
            skipped=$((skipped + 1))
            continue
        fi
        extra=my
        ;;
    *) echo "chaos: unknown backend $b" >&2; exit 2 ;;
    esac
    echo "chaos: ---- $b ----"
    case $extra in
    pg) $py test/chaos/chaos.py --backend pgsql --dsn "$CCOORD_TEST_PGSQL" \
            --pg-datadir "$dbdir/pg" "$@" ;;
    my) $py test/chaos/chaos.py --backend mysql --dsn "$CCOORD_TEST_MYSQL" "$@" ;;
    *) $py test/chaos/chaos.py --backend "$b" "$@" ;;
    esac
    st=$?
    if [ $st -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        status=1
    fi
done
cleanup
echo "chaos: $passed passed, $failed failed, $skipped skipped"
# a run in which nothing ran has shown nothing
if [ $passed -eq 0 ] && [ $failed -eq 0 ]; then
    echo "chaos: no backend ran" >&2
    status=1
fi
exit $status
