#!/bin/sh
# test/run-tests.sh TEST...: runs test programs (`make check` passes every
# build/test/unit_*, node_* and api_* program).
#
# Starts throwaway PostgreSQL and MariaDB servers first (test/db/servers.sh)
# and exports CCOORD_TEST_PGSQL / CCOORD_TEST_MYSQL; the servers are stopped
# on exit, Ctrl-C included.  Every program runs, whatever the one before did,
# with LD_LIBRARY_PATH=build, CCOORD_TEST_PLUGINDIR=build/test/plugins and
# CCOORD_TEST_DRIVERDIR=build/drivers (absolute paths).  Ends with a list of
# programs and "N passed, N failed"; exits 1 if any program failed.
#
# Environment:
#   CCOORD_TEST_NO_SERVERS=1   start no servers (database tests of pgsql and
#                              mysql skip, or fail under CI=true, unless the
#                              CCOORD_TEST_PGSQL/MYSQL variables are already set)
#   CCOORD_TEST_TIMEOUT=900    seconds one program may run before it is killed
#   CCOORD_TEST_PG_PORT, CCOORD_TEST_MY_PORT   see test/db/servers.sh
set -u

if [ $# -eq 0 ]; then
    echo "usage: sh $0 TEST..." >&2
    exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
servers="$root/test/db/servers.sh"
limit=${CCOORD_TEST_TIMEOUT:-900}
dbdir=

cleanup() {
    if [ -n "$dbdir" ]; then
        sh "$servers" stop "$dbdir" || echo "run-tests.sh: stopping the servers in $dbdir failed" >&2
        dbdir=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ "${CCOORD_TEST_NO_SERVERS:-0}" = 1 ]; then
    echo "run-tests.sh: CCOORD_TEST_NO_SERVERS=1: starting no database servers" >&2
else
    dbdir=$(mktemp -d "${TMPDIR:-/tmp}/ccoord-db.XXXXXX") || exit 1
    if ! sh "$servers" start "$dbdir"; then
        echo "run-tests.sh: the test database servers did not start (see above);" \
            "set CCOORD_TEST_NO_SERVERS=1 to run without them" >&2
        dbdir=
        exit 1
    fi
    eval "$(sh "$servers" env "$dbdir")" || exit 1
fi

export LD_LIBRARY_PATH="$root/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CCOORD_TEST_PLUGINDIR="${CCOORD_TEST_PLUGINDIR:-$root/build/test/plugins}"
export CCOORD_TEST_DRIVERDIR="${CCOORD_TEST_DRIVERDIR:-$root/build/drivers}"

passed=0
failed=0
report=
nl='
'
for t in "$@"; do
    echo "==== $t" >&2
    start=$(date +%s)
    if [ ! -x "$t" ]; then
        echo "run-tests.sh: $t: no such program" >&2
        st=127
    else
        case $t in */*) cmd=$t ;; *) cmd=./$t ;; esac
        timeout --foreground -k 10 "$limit" "$cmd"
        st=$?
    fi
    secs=$(($(date +%s) - start))
    if [ $st -eq 0 ]; then
        passed=$((passed + 1))
        report="${report}PASS  $t (${secs} s)$nl"
    else
        failed=$((failed + 1))
        why="exit $st"
        [ $st -eq 124 ] && why="timed out after $limit s"
        [ $st -gt 128 ] && why="killed by signal $((st - 128))"
        [ -x "$t" ] || why="no such program"
        report="${report}FAIL  $t ($why, ${secs} s)$nl"
    fi
done

echo
echo "==== test programs"
printf '%s' "$report"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
