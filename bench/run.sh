#!/bin/sh
# bench/run.sh: runs the benchmarks (build/bench/*) and prints one table.
#
#   sh bench/run.sh              everything but scale (make bench)
#   sh bench/run.sh --smoke      every benchmark, tiny; checks only that each
#                                runs (make bench-smoke, part of make check)
#   sh bench/run.sh --scale      the scale benchmark alone (make bench-scale)
#   options: --runs N            failover/leave runs per setting (default 20)
#            --only LIST         comma list of: failover,leave,steady,acquire,resolve,schedule
#            --scale-members "250 500 ..."  member counts tried in order (scale)
#            --scale-hold S      seconds each step is held (default 300)
#            --scale-batch N     members that join at a time (default 50)
#            --scale-probe S     a shorter hold per step first, then the full
#                                hold at the largest step that passed (default: none)
#            --pg-only DIR       start the bench PostgreSQL in DIR, print the env
#                                lines and exit (stop it with test/db/servers.sh stop DIR)
#
# PostgreSQL comes from test/db/servers.sh (its own temporary directory, port
# $CCOORD_BENCH_PG_PORT, default 54359), restarted with pg_stat_statements
# preloaded and max_connections = 2600, with two more roles beside ccoord:
# ccoord_lead (the leader node connects as it, so the server counts leader
# and followers apart) and ccoord_obs (the benchmark's own connection).
# SQLite files go to a temporary directory.  Both are removed on exit.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
servers="$root/test/db/servers.sh"
bin="$root/build/bench"
port=${CCOORD_BENCH_PG_PORT:-54359}
mode=full
runs=20
only=failover,leave,steady,acquire,resolve,schedule
scale_members="250 500 750 1000 1250 1500"
scale_hold=300
scale_probe=
scale_batch=50
pg_only=

while [ $# -gt 0 ]; do
    case $1 in
    --smoke) mode=smoke ;;
    --scale) mode=scale ;;
    --runs) runs=$2; shift ;;
    --only) only=$2; shift ;;
    --scale-members) scale_members=$2; shift ;;
    --scale-hold) scale_hold=$2; shift ;;
    --scale-probe) scale_probe=$2; shift ;;
    --scale-batch) scale_batch=$2; shift ;;
    --pg-only) pg_only=$2; shift ;;
    *) echo "usage: sh $0 [--smoke|--scale] [--runs N] [--only LIST] [--scale-members LIST] [--scale-hold S] [--scale-probe S] [--scale-batch N] [--pg-only DIR]" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "bench/run.sh: $*" >&2; }
want() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }

dbdir=
tmp=
cleanup() {
    if [ -n "$dbdir" ] && [ -z "$pg_only" ]; then
        sh "$servers" stop "$dbdir" || say "stopping PostgreSQL in $dbdir failed"
    fi
    [ -n "$tmp" ] && rm -rf "$tmp"
    dbdir=
    tmp=
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
    dbdir=$1
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n 1)
    [ -n "$pgbin" ] || { say "PostgreSQL binaries not found (run: sh test/deps.sh)"; exit 1; }
    [ -f "$pgbin/../lib/pg_stat_statements.so" ] ||
        [ -f "$(dirname "$pgbin")/lib/pg_stat_statements.so" ] ||
        say "warning: pg_stat_statements.so not found; server-side counts will be missing"
    CCOORD_TEST_SERVERS=pgsql CCOORD_TEST_PG_PORT=$port sh "$servers" start "$dbdir" || exit 1
    eval "$(sh "$servers" env "$dbdir")" || exit 1
    pw=$(printf '%s\n' "$CCOORD_TEST_PGSQL" | sed 's/.*password=\([^ ]*\).*/\1/')
    psu() { as_pg "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dbdir/pgrun" -p "$port" -U postgres "$@"; }
    psu -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" \
        -c "ALTER SYSTEM SET max_connections = 2600" >/dev/null || exit 1
    if ! as_pg "$pgbin/pg_ctl" restart -D "$dbdir/pg" -m fast -w -t 120 \
        -l "$dbdir/pgrun/server.log" >/dev/null 2>&1 </dev/null; then
        tail -n 20 "$dbdir/pgrun/server.log" >&2
        say "PostgreSQL did not restart with pg_stat_statements / max_connections = 2600"
        exit 1
    fi
    psu -d ccoord -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
        -c "CREATE ROLE ccoord_lead LOGIN PASSWORD '$pw' IN ROLE ccoord" \
        -c "CREATE ROLE ccoord_obs LOGIN PASSWORD '$pw' IN ROLE ccoord, pg_read_all_stats" \
        >/dev/null || exit 1
    CCOORD_BENCH_PGSQL=$CCOORD_TEST_PGSQL
    CCOORD_BENCH_PGSQL_LEAD=$(printf '%s\n' "$CCOORD_TEST_PGSQL" | sed 's/username=[^ ]*/username=ccoord_lead/')
    CCOORD_BENCH_PGSQL_OBS=$(printf '%s\n' "$CCOORD_TEST_PGSQL" | sed 's/username=[^ ]*/username=ccoord_obs/')
    CCOORD_BENCH_PG_PID=$(head -n 1 "$dbdir/pg/postmaster.pid")
    CCOORD_BENCH_PG_VERSION=$(as_pg "$pgbin/postgres" --version)
    export CCOORD_BENCH_PGSQL CCOORD_BENCH_PGSQL_LEAD CCOORD_BENCH_PGSQL_OBS CCOORD_BENCH_PG_PID \
        CCOORD_BENCH_PG_VERSION
    unset CCOORD_TEST_PGSQL
    say "PostgreSQL ready on 127.0.0.1:$port ($CCOORD_BENCH_PG_VERSION, pg_stat_statements, max_connections 2600)"
}

if [ -n "$pg_only" ]; then
    start_pg "$pg_only"
    echo "export CCOORD_BENCH_PGSQL=\"$CCOORD_BENCH_PGSQL\""
    echo "export CCOORD_BENCH_PGSQL_LEAD=\"$CCOORD_BENCH_PGSQL_LEAD\""
    echo "export CCOORD_BENCH_PGSQL_OBS=\"$CCOORD_BENCH_PGSQL_OBS\""
    echo "export CCOORD_BENCH_PG_PID=$CCOORD_BENCH_PG_PID"
    exit 0
fi

for p in failover steady acquire resolve scale schedule; do
    [ -x "$bin/$p" ] || { say "$bin/$p missing (run: make bench-progs)"; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccoord-bench.XXXXXX") || exit 1
chmod 755 "$tmp" # the postgres user must reach its data directory below
export CCOORD_BENCH_TMP="$tmp"
rows="$tmp/rows"
: >"$rows"
start_pg "$tmp/db"

failed=0
# run NAME ARGS...: one benchmark program; its ROW lines are kept.
run() {
    p=$1
    shift
    say "$p $*"
    t0=$(date +%s)
    "$bin/$p" "$@" >"$tmp/out" 2>"$tmp/err"
    st=$?
    if [ "$mode" = smoke ] || [ $st -ne 0 ]; then cat "$tmp/err" >&2; fi
    grep '^ROW' "$tmp/out" >>"$rows"
    if [ $st -ne 0 ]; then
        say "FAILED: $p $* (exit $st)"
        printf 'ROW\t%s\tFAILED (exit %s)\t%s\t-\t-\t-\tFAIL\n' "$p" "$st" "$*" >>"$rows"
        failed=$((failed + 1))
    else
        say "$p: $(($(date +%s) - t0)) s"
    fi
}

t_start=$(date +%s)
case $mode in
smoke)
    run failover --mode kill --backend sqlite3 --interval 100 --runs 2
    run failover --mode kill --backend pgsql --interval 100 --runs 2
    run failover --mode leave --backend pgsql --interval 100 --runs 2
    run steady --backend pgsql --members 3 --tasks 10 --interval 200 --windows 2 --window-s 0.5 --acquires 10000
    run steady --backend sqlite3 --members 2 --tasks 10 --interval 200 --windows 2 --window-s 0.5 --acquires 10000
    run acquire --threads 1,8 --duration-ms 50 --repeats 2
    run resolve --backend pgsql --members 4 --tasks 200 --passes 2
    run scale --members 20 --hold 3 --interval 200
    run schedule --backend sqlite3 --window-s 1 --failovers 1
    ;;
full)
    if want failover; then
        run failover --mode kill --backend pgsql --interval 1000 --runs "$runs"
        run failover --mode kill --backend pgsql --interval 200 --runs "$runs"
        run failover --mode kill --backend sqlite3 --interval 200 --runs "$runs"
    fi
    if want leave; then
        run failover --mode leave --backend pgsql --interval 1000 --runs "$runs"
        run failover --mode leave --backend pgsql --interval 200 --runs "$runs"
        run failover --mode leave --backend sqlite3 --interval 200 --runs "$runs"
    fi
    if want steady; then
        for m in 3 30; do
            for t in 1 100 10000; do
                run steady --backend pgsql --members $m --tasks $t --interval 1000 --windows 5 --window-s 4
            done
        done
        run steady --backend sqlite3 --members 3 --tasks 100 --interval 1000 --windows 5 --window-s 4
    fi
    if want acquire; then
        run acquire --threads 1,8 --duration-ms 500 --repeats 7
    fi
    if want resolve; then
        run resolve --backend pgsql --members 100 --tasks 10000 --passes 5
        run resolve --backend sqlite3 --members 100 --tasks 10000 --passes 3
    fi
    if want schedule; then
        run schedule --backend pgsql --window-s 10 --failovers 10
        run schedule --backend sqlite3 --window-s 10 --failovers 10
    fi
    ;;
scale)
    best=
    if [ -n "$scale_probe" ]; then
        for m in $scale_members; do
            if run scale --members "$m" --hold "$scale_probe" --interval 1000 --batch "$scale_batch" --probe; then :; fi
            if tail -n 1 "$rows" | grep -q "	ok$"; then best=$m; else break; fi
        done
        [ -n "$best" ] && run scale --members "$best" --hold "$scale_hold" --interval 1000 --batch "$scale_batch"
    else
        for m in $scale_members; do
            run scale --members "$m" --hold "$scale_hold" --interval 1000 --batch "$scale_batch"
            if tail -n 1 "$rows" | grep -q "	ok$"; then :; else break; fi
        done
    fi
    ;;
esac
secs=$(($(date +%s) - t_start))

# ---- the table
machine() {
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    echo "machine: nproc $(nproc), $cpu, $mem, Linux $(uname -r), ${CCOORD_BENCH_PG_VERSION:-PostgreSQL ?}, SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')"
}
echo
case $mode in
smoke) echo "== libclustercoord benchmarks: SMOKE run (tiny settings; figures are not meaningful)" ;;
scale) echo "== libclustercoord benchmark: scale" ;;
*) echo "== libclustercoord benchmarks" ;;
esac
machine
echo "wall time: $secs s; every figure: median of the runs or windows named in its settings, spread as shown"
echo
awk -F '\t' '
BEGIN { OFS = "" }
{ n++; for (i = 2; i <= 8; i++) { c[n, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
END {
    h[2] = "benchmark"; h[3] = "settings"; h[4] = "figure"; h[5] = "median"; h[6] = "spread";
    h[7] = "target"; h[8] = "verdict"
    for (i = 2; i <= 8; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
    line = ""; sep = ""
    for (i = 2; i <= 8; i++) { line = line sprintf("| %-" w[i] "s ", h[i]); sep = sep "|" sprintf("%" (w[i] + 2) "s", "") }
    gsub(/ /, "-", sep)
    print line "|"; print sep "|"
    for (r = 1; r <= n; r++) {
        line = ""
        for (i = 2; i <= 8; i++) line = line sprintf("| %-" w[i] "s ", c[r, i])
        print line "|"
    }
}' "$rows"
echo
if [ $failed -ne 0 ]; then
    say "$failed benchmark program(s) failed"
    exit 1
fi
[ "$mode" = smoke ] && say "smoke: every benchmark ran"
exit 0
