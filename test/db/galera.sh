#!/bin/sh
# test/db/galera.sh: a throwaway 3-member Galera cluster (MariaDB with
# Debian's galera-4) on loopback, for `make check-galera`.
#
#   sh test/db/galera.sh start DIR PORT    members 1..3 on SQL ports PORT, PORT+1,
#                                          PORT+2; group communication on PORT+10..12,
#                                          incremental state transfer on PORT+20..22;
#                                          database and user ccoord
#   sh test/db/galera.sh env DIR           export lines: CCOORD_TEST_GALERA_1..3 (one
#                                          [datasource] DSN per member)
#   sh test/db/galera.sh member-stop DIR I     stop member I cleanly (SIGTERM, waits)
#   sh test/db/galera.sh member-start DIR I    start it again; it rejoins and catches up
#                                              (waits until it is Synced)
#   sh test/db/galera.sh member-pid DIR I      its mariadbd pid (for SIGSTOP/SIGCONT)
#   sh test/db/galera.sh stop DIR          stop every member and remove DIR (idempotent)
#
# No full state snapshot transfer is ever needed: member 1 is bootstrapped,
# given the user and database, and stopped cleanly; members 2 and 3 start
# from copies of its data directory, so all three begin at the same
# position, and a member stopped cleanly later rejoins through Galera's own
# incremental transfer from the others' write-set cache (MariaDB still
# runs its wsrep_sst_rsync script to arrange that, so rsync must be
# installed, but it copies no files).  Run as root, the members run as the system user mysql.
# Nothing listens anywhere but 127.0.0.1 and sockets in DIR.
set -eu

WAIT=${CCOORD_TEST_SERVER_WAIT:-60}
MARK=.ccoord-test-galera

SELF=galera.sh
# shellcheck source=test/db/common.sh
. "$(dirname "$0")/common.sh"

provider() {
    for p in /usr/lib/galera/libgalera_smm.so /usr/lib/libgalera_smm.so; do
        [ -f "$p" ] && { echo "$p"; return 0; }
    done
    die "libgalera_smm.so not found (install the Debian package galera-4, or run: sh test/deps.sh galera)"
}

# admin DIR I SQL...: runs SQL as the administrator on member I's socket
admin() {
    d=$1 i=$2
    shift 2
    if is_root; then u=root; else u=$(id -un); fi
    mariadb --no-defaults --socket="$d/m$i/sock" -u "$u" -N -B -e "$*"
}

# launch DIR I [--wsrep-new-cluster]: starts member I in the background
launch() {
    d=$1 i=$2
    shift 2
    port=$(cat "$d/port")
    sql=$((port + i - 1)) gc=$((port + 9 + i)) ist=$((port + 19 + i))
    addr="gcomm://127.0.0.1:$((port + 10)),127.0.0.1:$((port + 11)),127.0.0.1:$((port + 12))"
    user_opt=
    if is_root; then user_opt=--user=mysql; fi
    # evs timeouts: a member that stops answering (SIGSTOP for up to 4 s in
    # the chaos test) stays in the view, and the others' commits wait for
    # it: a stall of the whole cluster.  Galera's 5 s suspect timeout is
    # raised to 8 s so that a loaded 2-core machine does not partition.
    setsid "$(mariadbd_bin)" --no-defaults $user_opt --datadir="$d/m$i" \
        --port="$sql" --bind-address=127.0.0.1 --socket="$d/m$i/sock" \
        --pid-file="$d/m$i/mariadbd.pid" --log-error="$d/m$i/error.log" \
        --skip-name-resolve --max-connections=300 \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
        --innodb-buffer-pool-size=48M --innodb-log-file-size=32M \
        --innodb-use-native-aio=0 --innodb-autoinc-lock-mode=2 \
        --binlog-format=ROW --default-storage-engine=InnoDB \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        --wsrep-on=ON --wsrep-provider="$(provider)" --wsrep-cluster-name=ccoord_galera \
        --wsrep-cluster-address="$addr" --wsrep-node-name="m$i" \
        --wsrep-node-address="127.0.0.1:$gc" --wsrep-node-incoming-address="127.0.0.1:$sql" \
        --wsrep-sst-method=rsync \
        --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$gc;ist.recv_addr=127.0.0.1:$ist;gcache.size=128M;evs.suspect_timeout=PT8S;evs.inactive_timeout=PT15S" \
        "$@" </dev/null >/dev/null 2>&1 &
    echo $! >"$d/m$i.launched"
}

# synced DIR I: waits until member I answers and is Synced with the others
synced() {
    d=$1 i=$2
    n=0
    while :; do
        st=$(admin "$d" "$i" "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2 || true)
        [ "$st" = Synced ] && break
        n=$((n + 1))
        pid=$(cat "$d/m$i.launched" 2>/dev/null || true)
        if ! alive "$pid" || [ $n -ge $((WAIT * 5)) ]; then
            log_tail "$d/m$i/error.log"
            die "member $i is not Synced after $((n / 5)) s (state: ${st:-no answer})"
        fi
        sleep 0.2
    done
    # the pid file is written a moment after the socket opens
    n=0
    while [ ! -s "$d/m$i/mariadbd.pid" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
}

member_pid() {
    cat "$1/m$2/mariadbd.pid" 2>/dev/null || cat "$1/m$2.launched" 2>/dev/null || true
}

member_stop() {
    d=$1 i=$2
    pid=$(member_pid "$d" "$i")
    alive "$pid" || return 0
    kill -CONT "$pid" 2>/dev/null || true
    term_wait "$pid" "member $i"
    rm -f "$d/m$i/mariadbd.pid"
}

cmd_start() {
    d=$(abspath "$1") port=$2
    command -v mariadb-install-db >/dev/null 2>&1 ||
        die "mariadb-install-db not found (install the Debian package mariadb-server, or run: sh test/deps.sh galera)"
    provider >/dev/null
    [ ! -e "$d" ] || [ -z "$(ls -A "$d" 2>/dev/null)" ] || die "$d exists and is not empty"
    for off in 0 1 2 10 11 12 20 21 22; do
        port_busy $((port + off)) &&
            die "port $((port + off)) is in use (choose another base with GALERA_PORT)"
    done
    mkdir -p "$d/m1"
    : >"$d/$MARK"
    chmod 755 "$d"
    echo "$port" >"$d/port"
    trap 'cmd_stop "$d"' EXIT
    user_opt=
    if is_root; then chown mysql:mysql "$d/m1"; user_opt=--user=mysql; fi
    chmod 750 "$d/m1"
    mariadb-install-db --no-defaults $user_opt --datadir="$d/m1" \
        --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
        >"$d/install-db.log" 2>&1 </dev/null || {
        log_tail "$d/install-db.log"
        die "mariadb-install-db failed"
    }
    pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    say "bootstrapping member 1 on 127.0.0.1:$port"
    launch "$d" 1 --wsrep-new-cluster
    synced "$d" 1
    admin "$d" 1 "CREATE DATABASE ccoord CHARACTER SET utf8mb4;
        CREATE USER 'ccoord'@'127.0.0.1' IDENTIFIED BY '$pw';
        CREATE USER 'ccoord'@'localhost' IDENTIFIED BY '$pw';
        GRANT ALL PRIVILEGES ON ccoord.* TO 'ccoord'@'127.0.0.1';
        GRANT ALL PRIVILEGES ON ccoord.* TO 'ccoord'@'localhost';" ||
        die "creating user and database ccoord on member 1 failed"
    member_stop "$d" 1
    # members 2 and 3 start where member 1 stopped (see the top)
    for i in 2 3; do
        cp -a "$d/m1" "$d/m$i"
        rm -f "$d/m$i/sock" "$d/m$i/error.log"
        sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 0/' "$d/m$i/grastate.dat"
    done
    launch "$d" 1 --wsrep-new-cluster
    synced "$d" 1
    for i in 2 3; do
        launch "$d" "$i"
        synced "$d" "$i"
    done
    size=$(admin "$d" 1 "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)
    [ "$size" = 3 ] || die "the cluster has $size members, not 3"
    umask 077
    for i in 1 2 3; do
        echo "export CCOORD_TEST_GALERA_$i=\"host=127.0.0.1 port=$((port + i - 1)) username=ccoord password=$pw dbname=ccoord\""
    done >"$d/env"
    umask 022
    trap - EXIT
    say "3 members Synced on 127.0.0.1:$port-$((port + 2))"
}

cmd_stop() {
    d=$(abspath "$1")
    [ -d "$d" ] || return 0
    [ -f "$d/$MARK" ] || { say "warning: $d was not made by galera.sh start; not touching it"; return 0; }
    for i in 3 2 1; do member_stop "$d" "$i"; done
    rm -rf "$d"
}

usage() {
    echo "usage: sh $0 start DIR PORT | env DIR | stop DIR |" >&2
    echo "             member-stop DIR I | member-start DIR I | member-pid DIR I" >&2
    exit 2
}

member_arg() {
    case $1 in 1 | 2 | 3) ;; *) die "member is 1, 2 or 3, not '$1'" ;; esac
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
start) [ $# -eq 2 ] || usage; cmd_start "$1" "$2" ;;
stop) [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
env) [ $# -eq 1 ] || usage; [ -f "$1/env" ] || die "no cluster started in $1"; cat "$1/env" ;;
member-stop) [ $# -eq 2 ] || usage; member_arg "$2"; member_stop "$(abspath "$1")" "$2" ;;
member-start)
    [ $# -eq 2 ] || usage
    member_arg "$2"
    d=$(abspath "$1")
    alive "$(member_pid "$d" "$2")" && die "member $2 is running"
    launch "$d" "$2"
    synced "$d" "$2"
    ;;
member-pid) [ $# -eq 2 ] || usage; member_arg "$2"; member_pid "$(abspath "$1")" "$2" ;;
*) usage ;;
esac
