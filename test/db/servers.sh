#!/bin/sh
# test/db/servers.sh: throwaway PostgreSQL and MariaDB servers for the tests.
#
#   sh test/db/servers.sh start DIR      start both servers with their data in DIR
#                                        (DIR must not exist or be empty; use mktemp -d)
#   sh test/db/servers.sh env DIR        print the export lines for the tests
#                                        (PostgreSQL has TLS on with a throwaway CA in
#                                        DIR/pgtls, CCOORD_TEST_PG_TLS_DIR; the DSN
#                                        asks for ssl_mode=disable)
#   sh test/db/servers.sh stop DIR       stop both servers and remove DIR (idempotent)
#   sh test/db/servers.sh run CMD [ARG]  start in a fresh temporary DIR, export the
#                                        env, run CMD, stop; exits with CMD's status
#
# Environment:
#   CCOORD_TEST_PG_PORT (default 54329), CCOORD_TEST_MY_PORT (default 33069)
#   CCOORD_TEST_SERVERS=pgsql,mysql      which servers to start (default both)
#   CCOORD_TEST_SERVER_WAIT=60           seconds to wait for each server
#
# Run as root (CI), the servers run as the system users postgres and mysql,
# which need to reach DIR (keep it under /tmp).  Run as another user, they
# run as that user.  Nothing listens anywhere but 127.0.0.1 and sockets in
# DIR.  A server left behind by an earlier run on the same port is stopped
# (it is found through ${TMPDIR:-/tmp}/ccoord-test-servers/<port>); any other
# process on the port is an error that names the port variable to change.
set -eu

PG_PORT=${CCOORD_TEST_PG_PORT:-54329}
MY_PORT=${CCOORD_TEST_MY_PORT:-33069}
SERVERS=${CCOORD_TEST_SERVERS:-pgsql,mysql}
WAIT=${CCOORD_TEST_SERVER_WAIT:-60}
REGISTRY=${TMPDIR:-/tmp}/ccoord-test-servers
MARK=.ccoord-test-servers

SELF=servers.sh
# shellcheck source=test/db/common.sh
. "$(dirname "$0")/common.sh"

want() { case ",$SERVERS," in *",$1,"*) return 0 ;; esac; return 1; }

# as USER CMD...: runs CMD as USER when we are root, as ourselves otherwise.
as() {
    u=$1; shift
    if is_root; then runuser -u "$u" -- "$@"; else "$@"; fi
}

pgbin() {
    # newest installed major version
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n 1)
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] ||
        die "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (install the Debian package postgresql, or run: sh test/deps.sh)"
    printf '%s\n' "$d"
}

need_mariadb() {
    for b in mariadb-install-db mariadbd mariadb mariadb-admin; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] ||
            die "$b not found (install the Debian package mariadb-server, or run: sh test/deps.sh)"
    done
}


# ---------------------------------------------------------------- stopping

stop_pg() {
    dir=$1
    [ -f "$dir/pg/postmaster.pid" ] || return 0
    pid=$(head -n 1 "$dir/pg/postmaster.pid" 2>/dev/null || true)
    alive "$pid" || return 0
    bin=$(pgbin)
    as postgres "$bin/pg_ctl" stop -D "$dir/pg" -m fast -w -t 30 >/dev/null 2>&1 ||
        as postgres "$bin/pg_ctl" stop -D "$dir/pg" -m immediate -w -t 10 >/dev/null 2>&1 || true
    i=0
    while alive "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

stop_my() {
    dir=$1
    [ -f "$dir/my/mariadbd.pid" ] || return 0
    pid=$(cat "$dir/my/mariadbd.pid" 2>/dev/null || true)
    alive "$pid" || return 0
    term_wait "$pid" mariadbd
}

unregister() {
    # $1 port, $2 dir: forget the registry entry if it points at dir
    f=$REGISTRY/$1
    if [ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$2" ]; then rm -f "$f"; fi
}

cmd_stop() {
    dir=$1
    [ -d "$dir" ] || return 0
    if [ ! -f "$dir/$MARK" ]; then
        say "warning: $dir was not made by servers.sh start; not touching it"
        return 0
    fi
    stop_pg "$dir"
    stop_my "$dir"
    # ports from the start that made dir (they may differ from ours)
    if [ -f "$dir/ports" ]; then
        while read -r p; do unregister "$p" "$dir"; done <"$dir/ports"
    fi
    rm -rf "$dir"
}

# A server from an earlier run still on the port: stop it and its dir.
reclaim_port() {
    port=$1
    f=$REGISTRY/$port
    if [ -f "$f" ]; then
        old=$(cat "$f" 2>/dev/null || true)
        if [ -n "$old" ] && [ -f "$old/$MARK" ]; then
            say "stopping a test server left behind on port $port by an earlier run ($old)"
            (cmd_stop "$old")
        fi
        rm -f "$f"
    fi
}

check_port() {
    # $1 port, $2 variable that overrides it
    reclaim_port "$1"
    if port_busy "$1"; then
        die "port $1 is in use by another process (not a servers.sh test server); stop it or choose another port with $2=<port>"
    fi
}

register() {
    mkdir -p "$REGISTRY"
    chmod 1777 "$REGISTRY" 2>/dev/null || true
    printf '%s\n' "$2" >"$REGISTRY/$1"
    printf '%s\n' "$1" >>"$3/ports"
}

# ---------------------------------------------------------------- starting

# make_tls DIR: a throwaway CA (ca.pem), a server certificate it signed for
# the name "localhost" only (server.pem, server.key: so 127.0.0.1 fails
# verify-full), and a second CA that signed nothing (other-ca.pem), for the
# TLS tests (test/node_tls.c).  Valid for two days.
make_tls() {
    t=$1
    mkdir -p "$t"
    (
        cd "$t" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ccoord test CA" \
            -keyout ca.key -out ca.pem &&
            openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
                -keyout server.key -out server.csr &&
            printf 'subjectAltName=DNS:localhost\n' >server.ext &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                -days 2 -extfile server.ext -out server.pem &&
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ccoord other CA" \
                -keyout other-ca.key -out other-ca.pem
    ) >"$t/openssl.log" 2>&1 || {
        log_tail "$t/openssl.log"
        die "openssl: making the test certificates failed"
    }
    chmod 755 "$t"
    chmod 644 "$t"/*.pem
    chmod 600 "$t/server.key" "$t/ca.key" "$t/other-ca.key"
    if is_root; then chown postgres:postgres "$t/server.key" "$t/server.pem"; fi
}

start_pg() {
    dir=$1 pw=$2
    bin=$(pgbin)
    check_port "$PG_PORT" CCOORD_TEST_PG_PORT
    mkdir -p "$dir/pg" "$dir/pgrun"
    if is_root; then chown postgres:postgres "$dir/pg" "$dir/pgrun"; fi
    chmod 700 "$dir/pg"
    chmod 755 "$dir/pgrun"
    say "PostgreSQL ($bin): initdb into $dir/pg"
    if ! as postgres "$bin/initdb" -D "$dir/pg" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions \
        >"$dir/pgrun/initdb.log" 2>&1; then
        log_tail "$dir/pgrun/initdb.log"
        die "PostgreSQL initdb failed"
    fi
    make_tls "$dir/pgtls"
    cat >>"$dir/pg/postgresql.conf" <<EOF
# servers.sh: throwaway test server
listen_addresses = '127.0.0.1'
port = $PG_PORT
# TLS for test/node_tls.c; the other tests ask for ssl_mode=disable
ssl = on
ssl_cert_file = '$dir/pgtls/server.pem'
ssl_key_file = '$dir/pgtls/server.key'
unix_socket_directories = '$dir/pgrun'
max_connections = 500
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
logging_collector = off
log_min_messages = warning
EOF
    register "$PG_PORT" "$dir" "$dir"
    say "PostgreSQL: starting on 127.0.0.1:$PG_PORT"
    if ! as postgres "$bin/pg_ctl" start -D "$dir/pg" -l "$dir/pgrun/server.log" \
        -w -t "$WAIT" >/dev/null 2>&1 </dev/null; then
        log_tail "$dir/pgrun/server.log"
        die "PostgreSQL did not start within $WAIT s on port $PG_PORT"
    fi
    if ! as postgres "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/pgrun" -p "$PG_PORT" \
        -U postgres -d postgres >"$dir/pgrun/setup.log" 2>&1 <<EOF; then
CREATE ROLE ccoord LOGIN PASSWORD '$pw';
CREATE DATABASE ccoord OWNER ccoord;
EOF
        log_tail "$dir/pgrun/setup.log"
        die "PostgreSQL: creating role and database ccoord failed"
    fi
    # the way the tests connect: TCP, password
    i=0
    until PGPASSWORD=$pw "$bin/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U ccoord -d ccoord \
        -c 'SELECT 1' >"$dir/pgrun/check.log" 2>&1; do
        i=$((i + 1))
        if [ $i -ge $((WAIT * 5)) ]; then
            cat "$dir/pgrun/check.log" >&2
            log_tail "$dir/pgrun/server.log"
            die "PostgreSQL does not accept ccoord over 127.0.0.1:$PG_PORT"
        fi
        sleep 0.2
    done
    say "PostgreSQL: ready"
}

start_my() {
    dir=$1 pw=$2
    need_mariadb
    check_port "$MY_PORT" CCOORD_TEST_MY_PORT
    mkdir -p "$dir/my"
    if is_root; then
        chown mysql:mysql "$dir/my"
        user_opt=--user=mysql
        admin=root
    else
        user_opt=
        admin=$(id -un)
    fi
    chmod 750 "$dir/my"
    say "MariaDB: mariadb-install-db into $dir/my"
    # --no-defaults: /etc/mysql/*.cnf (log paths, bind address) must not apply
    if ! mariadb-install-db --no-defaults $user_opt --datadir="$dir/my" \
        --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
        >"$dir/install-db.log" 2>&1 </dev/null; then
        log_tail "$dir/install-db.log"
        die "mariadb-install-db failed"
    fi
    register "$MY_PORT" "$dir" "$dir"
    say "MariaDB: starting on 127.0.0.1:$MY_PORT"
    setsid "$(mariadbd_bin)" --no-defaults $user_opt --datadir="$dir/my" \
        --port="$MY_PORT" --bind-address=127.0.0.1 --socket="$dir/my/sock" \
        --pid-file="$dir/my/mariadbd.pid" --log-error="$dir/my/error.log" \
        --skip-name-resolve --skip-log-bin --max-connections=500 \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=32M \
        --innodb-use-native-aio=0 --sync-binlog=0 --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_general_ci \
        </dev/null >/dev/null 2>&1 &
    mpid=$!
    i=0
    until mariadb-admin --no-defaults --socket="$dir/my/sock" -u "$admin" \
        --connect-timeout=2 ping >/dev/null 2>&1; do
        i=$((i + 1))
        if ! alive "$mpid" || [ $i -ge $((WAIT * 5)) ]; then
            log_tail "$dir/my/error.log"
            alive "$mpid" && kill -KILL "$mpid" 2>/dev/null
            die "MariaDB did not start within $WAIT s on port $MY_PORT"
        fi
        sleep 0.2
    done
    # the pid file is written a moment after the socket opens
    i=0
    while [ ! -s "$dir/my/mariadbd.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$dir/my/mariadbd.pid" ] || echo "$mpid" >"$dir/my/mariadbd.pid"
    if ! mariadb --no-defaults --socket="$dir/my/sock" -u "$admin" >"$dir/my-setup.log" 2>&1 <<EOF; then
CREATE DATABASE ccoord CHARACTER SET utf8mb4;
CREATE USER 'ccoord'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER 'ccoord'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON ccoord.* TO 'ccoord'@'127.0.0.1';
GRANT ALL PRIVILEGES ON ccoord.* TO 'ccoord'@'localhost';
FLUSH PRIVILEGES;
EOF
        log_tail "$dir/my-setup.log"
        die "MariaDB: creating user and database ccoord failed"
    fi
    i=0
    until mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_PORT" -u ccoord -p"$pw" \
        ccoord -e 'SELECT 1' >"$dir/my-check.log" 2>&1; do
        i=$((i + 1))
        if [ $i -ge $((WAIT * 5)) ]; then
            cat "$dir/my-check.log" >&2
            log_tail "$dir/my/error.log"
            die "MariaDB does not accept ccoord over 127.0.0.1:$MY_PORT"
        fi
        sleep 0.2
    done
    say "MariaDB: ready"
}

cmd_start() {
    dir=$(abspath "$1")
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
        die "$dir exists and is not empty (give a fresh directory, e.g. \$(mktemp -d))"
    fi
    mkdir -p "$dir"
    : >"$dir/$MARK"
    # the server users must get through dir to their own subdirectories
    chmod 755 "$dir"
    pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    umask 077
    {
        if want pgsql; then
            echo "export CCOORD_TEST_PGSQL=\"host=127.0.0.1 port=$PG_PORT username=ccoord password=$pw dbname=ccoord ssl_mode=disable\""
            echo "export CCOORD_TEST_PG_TLS_DIR=\"$dir/pgtls\""
        fi
        if want mysql; then
            echo "export CCOORD_TEST_MYSQL=\"host=127.0.0.1 port=$MY_PORT username=ccoord password=$pw dbname=ccoord\""
        fi
    } >"$dir/env"
    umask 022
    # on failure, take down what was started
    trap 'cmd_stop "$dir"' EXIT
    if want pgsql; then start_pg "$dir" "$pw"; fi
    if want mysql; then start_my "$dir" "$pw"; fi
    trap - EXIT
}

cmd_env() {
    dir=$(abspath "$1")
    [ -f "$dir/env" ] || die "no servers started in $dir (run: sh $0 start $dir)"
    cat "$dir/env"
}

cmd_run() {
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ccoord-db.XXXXXX")
    trap 'cmd_stop "$dir"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    cmd_start "$dir"
    trap 'cmd_stop "$dir"' EXIT
    eval "$(cmd_env "$dir")"
    set +e
    "$@"
    st=$?
    set -e
    exit $st
}

# ---------------------------------------------------------------- a failover pair
#
# For test/node_failover.c, a PostgreSQL primary and a standby of their own
# (the shared test server is not touched), in DIR:
#   pair-start DIR PORT     primary on 127.0.0.1:PORT (role and database
#                           ccoord); DIR/dsn holds the nodes' [datasource]
#                           keys "host=127.0.0.1,127.0.0.1 port=PORT,PORT+1 ..."
#   pair-standby DIR MODE   a standby on PORT+1 made now with pg_basebackup -R:
#                           sync      synchronous_standby_names names it
#                                     (synchronous_commit = on): no commit lost
#                           detached  it never streams: promoting it loses
#                                     every commit after this moment
#   pair-kill-primary DIR   kill -9 the primary's postmaster
#   pair-promote DIR        pg_ctl promote the standby (waits)
#   pair-stop DIR           stops both and removes DIR

pair_psql() {
    # $1 dir, $2 port, SQL on stdin
    as postgres "$(pgbin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$1/run" -p "$2" -U postgres -d postgres
}

cmd_pair_start() {
    dir=$(abspath "$1") port=$2
    bin=$(pgbin)
    [ ! -e "$dir" ] || [ -z "$(ls -A "$dir" 2>/dev/null)" ] || die "$dir exists and is not empty"
    mkdir -p "$dir/pri" "$dir/run"
    : >"$dir/$MARK.pair"
    chmod 755 "$dir"
    if is_root; then chown postgres:postgres "$dir/pri" "$dir/run"; fi
    chmod 700 "$dir/pri"
    chmod 777 "$dir/run"
    port_busy "$port" && die "port $port is in use (choose another with CCOORD_TEST_PAIR_PORT)"
    port_busy $((port + 1)) && die "port $((port + 1)) is in use (choose another with CCOORD_TEST_PAIR_PORT)"
    pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    as postgres "$bin/initdb" -D "$dir/pri" -U postgres -E UTF8 --locale=C --auth-local=trust \
        --auth-host=scram-sha-256 --no-sync --no-instructions >"$dir/run/initdb.log" 2>&1 || {
        log_tail "$dir/run/initdb.log"
        die "pair: initdb failed"
    }
    { printf 'host replication postgres 127.0.0.1/32 trust\n'; cat "$dir/pri/pg_hba.conf"; } \
        >"$dir/run/hba" && cat "$dir/run/hba" >"$dir/pri/pg_hba.conf"
    cat >>"$dir/pri/postgresql.conf" <<EOF
# servers.sh pair: throwaway failover test server
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
max_connections = 200
fsync = off
full_page_writes = off
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 4
logging_collector = off
log_min_messages = warning
EOF
    as postgres "$bin/pg_ctl" start -D "$dir/pri" -l "$dir/run/primary.log" -w -t "$WAIT" \
        >/dev/null 2>&1 </dev/null || {
        log_tail "$dir/run/primary.log"
        die "pair: the primary did not start on port $port"
    }
    pair_psql "$dir" "$port" >"$dir/run/setup.log" 2>&1 <<EOF || die "pair: creating role ccoord failed"
CREATE ROLE ccoord LOGIN PASSWORD '$pw';
CREATE DATABASE ccoord OWNER ccoord;
EOF
    echo "$port" >"$dir/port"
    printf 'host=127.0.0.1,127.0.0.1 port=%s,%s username=ccoord password=%s dbname=ccoord ssl_mode=disable\n' \
        "$port" $((port + 1)) "$pw" >"$dir/dsn"
    say "pair: primary ready on 127.0.0.1:$port"
}

cmd_pair_standby() {
    dir=$(abspath "$1") mode=$2
    bin=$(pgbin)
    port=$(cat "$dir/port")
    sport=$((port + 1))
    mkdir -p "$dir/sby"
    if is_root; then chown postgres:postgres "$dir/sby"; fi
    chmod 700 "$dir/sby"
    as postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$dir/sby" -R \
        -X stream -c fast >"$dir/run/basebackup.log" 2>&1 || {
        log_tail "$dir/run/basebackup.log"
        die "pair: pg_basebackup failed"
    }
    case $mode in
    sync) conninfo="host=127.0.0.1 port=$port user=postgres application_name=ccoord_standby" ;;
    detached) conninfo="host=127.0.0.1 port=1 user=postgres" ;;
    *) die "pair-standby: mode is sync or detached, not $mode" ;;
    esac
    # pg_basebackup -R wrote its own primary_conninfo into postgresql.auto.conf,
    # which is read after postgresql.conf: replace it there (rewritten in
    # place, so the files keep their owner)
    auto=$dir/sby/postgresql.auto.conf
    grep -v '^primary_conninfo' "$auto" >"$dir/run/auto.conf" || true
    printf "primary_conninfo = '%s'\n" "$conninfo" >>"$dir/run/auto.conf"
    cat "$dir/run/auto.conf" >"$auto"
    printf 'port = %s\n' "$sport" >>"$dir/sby/postgresql.conf"
    as postgres "$bin/pg_ctl" start -D "$dir/sby" -l "$dir/run/standby.log" -w -t "$WAIT" \
        >/dev/null 2>&1 </dev/null || {
        log_tail "$dir/run/standby.log"
        die "pair: the standby did not start on port $sport"
    }
    if [ "$mode" = sync ]; then
        pair_psql "$dir" "$port" >"$dir/run/sync.log" 2>&1 <<EOF || die "pair: setting synchronous_standby_names failed"
ALTER SYSTEM SET synchronous_standby_names = 'ccoord_standby';
ALTER SYSTEM SET synchronous_commit = 'on';
SELECT pg_reload_conf();
EOF
        i=0
        until [ "$(echo "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'ccoord_standby'" |
            as postgres "$bin/psql" -X -qtA -h "$dir/run" -p "$port" -U postgres -d postgres)" = sync ]; do
            i=$((i + 1))
            [ $i -lt $((WAIT * 5)) ] || die "pair: the standby is not synchronous after $WAIT s"
            sleep 0.2
        done
    fi
    say "pair: $mode standby ready on 127.0.0.1:$sport"
}

cmd_pair_kill_primary() {
    dir=$(abspath "$1")
    pid=$(head -n 1 "$dir/pri/postmaster.pid" 2>/dev/null || true)
    alive "$pid" || die "pair: no primary running in $dir"
    kill -KILL "$pid"
    # not waited for: a killed process can stay a zombie until its parent
    # reaps it, but its sockets close at once; the backends it leaves die
    # when they notice, and a new primary needs none of them
    say "pair: primary (pid $pid) killed"
}

cmd_pair_promote() {
    dir=$(abspath "$1")
    as postgres "$(pgbin)/pg_ctl" promote -D "$dir/sby" -w -t "$WAIT" >/dev/null 2>&1 ||
        die "pair: promoting the standby failed"
    say "pair: standby promoted"
}

cmd_pair_stop() {
    dir=$(abspath "$1")
    [ -d "$dir" ] || return 0
    [ -f "$dir/$MARK.pair" ] || { say "warning: $dir was not made by pair-start; not touching it"; return 0; }
    for d in "$dir/sby" "$dir/pri"; do
        pid=$(head -n 1 "$d/postmaster.pid" 2>/dev/null || true)
        alive "$pid" || continue
        as postgres "$(pgbin)/pg_ctl" stop -D "$d" -m immediate -w -t 10 >/dev/null 2>&1 ||
            kill -KILL "$pid" 2>/dev/null || true
    done
    # backends of a killed primary
    pkill -KILL -f "$dir/pri" 2>/dev/null || true
    rm -rf "$dir"
}

usage() {
    echo "usage: sh $0 start DIR | stop DIR | env DIR | run CMD [ARG...]" >&2
    echo "       sh $0 pair-start DIR PORT | pair-standby DIR sync|detached |" >&2
    echo "             pair-kill-primary DIR | pair-promote DIR | pair-stop DIR" >&2
    exit 2
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
start) [ $# -eq 1 ] || usage; cmd_start "$1" ;;
stop) [ $# -eq 1 ] || usage; cmd_stop "$(abspath "$1")" ;;
env) [ $# -eq 1 ] || usage; cmd_env "$1" ;;
run) [ $# -ge 1 ] || usage; cmd_run "$@" ;;
pair-start) [ $# -eq 2 ] || usage; cmd_pair_start "$1" "$2" ;;
pair-standby) [ $# -eq 2 ] || usage; cmd_pair_standby "$1" "$2" ;;
pair-kill-primary) [ $# -eq 1 ] || usage; cmd_pair_kill_primary "$1" ;;
pair-promote) [ $# -eq 1 ] || usage; cmd_pair_promote "$1" ;;
pair-stop) [ $# -eq 1 ] || usage; cmd_pair_stop "$1" ;;
*) usage ;;
esac
