#!/bin/sh
# examples/demo.sh: the reference's "Testing the cluster" with two
# host_server nodes on SQLite (run it with `make demo`).
#
#   sh examples/demo.sh [HOST_SERVER [CONFIG_TEMPLATE]]
#
# Starts node-1 and node-2 in a temporary directory, shows that both join,
# that node-1 sees node-2 arrive, that sample-task is scheduled on exactly
# one node; kills that node with SIGKILL, shows the survivor remove it and
# take the task over; stops the survivor with SIGTERM (graceful leave);
# then starts node-3 from an MI deployment.toml written like the
# reference's (host_server --mi-config) and shows it join, name its
# database and the sections it ignores, and run the task; and removes
# everything it created.  Every wait is bounded.  Exit status 0
# when the whole sequence was observed, 1 otherwise, 2 on a setup error.
#
# Environment: DEMO_HEARTBEAT_MS (default 500), DEMO_TASK_INTERVAL_MS
# (default 5000, as the reference's trigger), DEMO_KEEP=1 keeps the
# temporary directory (configs, logs, the SQLite file).
set -u

HS=${1:-build/examples/host_server}
TEMPLATE=${2:-examples/host_server/node.conf.in}
HEARTBEAT_MS=${DEMO_HEARTBEAT_MS:-500}
INTERVAL_MS=${DEMO_TASK_INTERVAL_MS:-5000}
TASK_LINE='Task scheduled: [ESB_TASK][sample-task].'

if [ ! -x "$HS" ]; then
    echo "demo: $HS is not built; run: make demo" >&2
    exit 2
fi
if [ ! -r "$TEMPLATE" ]; then
    echo "demo: cannot read the config template $TEMPLATE" >&2
    exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ccoord-demo.XXXXXX") || {
    echo "demo: mktemp -d failed" >&2
    exit 2
}

failures=0
fail() {
    echo "   FAILED: $*"
    failures=$((failures + 1))
}
ok() {
    echo "   ok: $*"
}
heading() {
    sleep 0.2 # let the nodes' lines of the previous step come out first
    echo
    echo "== $*"
}
now_ms() {
    date +%s%3N
}

# Stops whatever of ours still runs, waits for the output pipelines, and
# removes the directory.  Only the pids this script started are signalled.
cleanup() {
    trap - EXIT INT TERM HUP
    for name in node-1 node-2 node-3; do
        [ -s "$work/$name.pid" ] && [ ! -e "$work/$name.rc" ] || continue
        pid=$(cat "$work/$name.pid")
        kill -TERM "$pid" 2>/dev/null || continue
        n=50
        while [ $n -gt 0 ] && [ ! -e "$work/$name.rc" ]; do
            sleep 0.1
            n=$((n - 1))
        done
        [ -e "$work/$name.rc" ] || kill -KILL "$pid" 2>/dev/null
    done
    wait
    if [ "${DEMO_KEEP:-0}" = 1 ]; then
        echo "demo: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'echo "demo: interrupted"; exit 130' INT
trap 'exit 143' TERM HUP

# start_node NAME [--mi-config PATH]: runs host_server with its output
# prefixed "NAME | " on our stdout and kept, unprefixed, in $work/NAME.log.
# Its pid goes to NAME.pid, its exit status to NAME.rc when it ends.
# Without --mi-config its config is the template's.
start_node() {
    name=$1
    shift
    if [ $# -eq 0 ]; then
        sed -e "s|@NODE_ID@|$name|" -e "s|@DBDIR@|$work|" -e "s|@HEARTBEAT_MS@|$HEARTBEAT_MS|" \
            "$TEMPLATE" >"$work/$name.conf" || return 1
        set -- "$work/$name.conf"
    fi
    : >"$work/$name.log"
    {
        "$HS" --task-interval-ms "$INTERVAL_MS" --http-port 0 "$@" 2>&1 &
        echo $! >"$work/$name.pid"
        wait $!
        echo $? >"$work/$name.rc"
    } 2>/dev/null | tee -a "$work/$name.log" | sed -u "s/^/$name | /" &
    n=50
    while [ ! -s "$work/$name.pid" ] && [ $n -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    [ -s "$work/$name.pid" ]
}

# wait_for NAME TEXT SECONDS: until NAME's log has the fixed string TEXT.
wait_for() {
    n=$(($3 * 10))
    while [ $n -gt 0 ]; do
        if grep -qF -- "$2" "$work/$1.log"; then
            sleep 0.1 # the prefixed copy of the line comes out a moment later
            return 0
        fi
        if [ -e "$work/$1.rc" ]; then # it exited: one last look
            sleep 0.2
            grep -qF -- "$2" "$work/$1.log"
            return
        fi
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# wait_exit NAME SECONDS: until NAME ended; prints its exit status.
wait_exit() {
    n=$(($2 * 10))
    while [ ! -e "$work/$1.rc" ] && [ $n -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    [ -e "$work/$1.rc" ] && cat "$work/$1.rc"
}

# http_get URL: the body on stdout, with whatever HTTP client exists
# (status 2: none).
http_get() {
    if command -v curl >/dev/null 2>&1; then
        curl -sS --max-time 3 "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T 3 -O - "$1"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' "$1"
    else
        return 2
    fi
}

# endpoint NAME: the status URL NAME logged.
endpoint() {
    sed -n 's|.*HTTP status endpoint: \(http://[^ ]*\).*|\1|p' "$work/$1.log" | head -n 1
}

# show_status NAME: GET /status of NAME.
show_status() {
    url=$(endpoint "$1")
    [ -n "$url" ] || {
        fail "$1 logged no HTTP status endpoint"
        return
    }
    body=$(http_get "$url") || {
        echo "   (no HTTP client: skipping GET $url)"
        return
    }
    echo "   GET $url"
    echo "   $body"
    case $body in
    *'"node":"'"$1"'"'*) ;;
    *) fail "$1's status does not name it" ;;
    esac
    STATUS_BODY=$body
}

echo "== libclustercoord demo: two host_server nodes sharing one SQLite database"
echo "   directory $work"
echo "   heartbeat every $HEARTBEAT_MS ms (a node is dead after $((HEARTBEAT_MS * 3)) ms)," \
    "sample-task every $INTERVAL_MS ms"

heading "1. Start node-1"
start_node node-1 || {
    echo "demo: cannot start node-1" >&2
    exit 2
}
if wait_for node-1 "Successfully joined the cluster with id [node-1]" 15; then
    ok "node-1 joined"
else
    fail "node-1 did not join within 15 s"
fi

heading "2. Start node-2"
start_node node-2 || {
    echo "demo: cannot start node-2" >&2
    exit 2
}
if wait_for node-2 "Successfully joined the cluster with id [node-2]" 15; then
    ok "node-2 joined"
else
    fail "node-2 did not join within 15 s"
fi
if wait_for node-1 "Member added [node-2]" 15; then
    ok "node-1 saw node-2 join"
else
    fail "node-1 did not log 'Member added [node-2]' within 15 s"
fi

heading "3. sample-task is scheduled on exactly one node"
owner=""
n=150
while [ -z "$owner" ] && [ $n -gt 0 ]; do
    for name in node-1 node-2; do
        grep -qF -- "$TASK_LINE" "$work/$name.log" && owner=$name && break
    done
    [ -n "$owner" ] || sleep 0.1
    n=$((n - 1))
done
if [ -z "$owner" ]; then
    fail "no node logged '$TASK_LINE' within 15 s"
    survivor=""
else
    [ "$owner" = node-1 ] && survivor=node-2 || survivor=node-1
    wait_for "$owner" "sample-task ran (fence" 10 || fail "$owner did not run sample-task"
    # Give the other node a few heartbeats to (wrongly) schedule it too.
    sleep $(((HEARTBEAT_MS * 3 + 999) / 1000))
    if grep -qF -- "$TASK_LINE" "$work/$survivor.log"; then
        fail "sample-task was scheduled on both nodes"
    else
        ok "scheduled on $owner only (and run there); $survivor does not run it"
    fi
fi

heading "4. Status endpoints (JSON for load-balancer health checks)"
STATUS_BODY=""
show_status node-1
show_status node-2

if [ -n "$owner" ]; then
    heading "5. Kill $owner, the node that runs sample-task, with SIGKILL"
    pid=$(cat "$work/$owner.pid")
    t0=$(now_ms)
    kill -KILL "$pid"
    rc=$(wait_exit "$owner" 10)
    echo "   $owner (pid $pid) ended with status ${rc:-?} (128 + 9: killed)"

    heading "6. $survivor removes $owner and takes sample-task over"
    if wait_for "$survivor" "Member removed [$owner]" 20; then
        ok "$survivor logged 'Member removed [$owner]' $(($(now_ms) - t0)) ms after the kill"
    else
        fail "$survivor did not log 'Member removed [$owner]' within 20 s"
    fi
    if wait_for "$survivor" "$TASK_LINE" 20; then
        ok "sample-task scheduled on $survivor $(($(now_ms) - t0)) ms after the kill"
    else
        fail "sample-task was not scheduled on $survivor within 20 s"
    fi
    if wait_for "$survivor" "sample-task ran (fence" 10; then
        ok "$survivor runs sample-task"
    else
        fail "$survivor did not run sample-task"
    fi
    STATUS_BODY=""
    show_status "$survivor"
    case $STATUS_BODY in
    "" | *'"name":"sample-task"'*) ;;
    *) fail "$survivor's status does not list sample-task" ;;
    esac

    heading "7. $survivor's metrics (GET /metrics, Prometheus text)"
    url=$(endpoint "$survivor")
    url=${url%/status}
    url=${url%/}/metrics
    if metrics=$(http_get "$url"); then
        echo "   GET $url"
        printf '%s\n' "$metrics" | grep -E '^ccoord_(is_leader|members|tasks_owned|heartbeats_total|evictions_total)\{' |
            sed 's/^/   /'
        if printf '%s\n' "$metrics" | grep -q '^ccoord_is_leader{node="'"$survivor"'",[^}]*} 1$'; then
            ok "$survivor is the leader in its metrics"
        else
            fail "$survivor's metrics do not say it leads"
        fi
        if command -v promtool >/dev/null 2>&1; then
            if printf '%s\n' "$metrics" | promtool check metrics; then
                ok "promtool check metrics: no complaint"
            else
                fail "promtool check metrics complained"
            fi
        fi
    else
        echo "   (no HTTP client: skipping GET $url)"
    fi

    heading "8. Stop $survivor with SIGTERM (graceful leave)"
    kill -TERM "$(cat "$work/$survivor.pid")"
    rc=$(wait_exit "$survivor" 15)
    if [ "$rc" = 0 ]; then
        ok "$survivor left the cluster and exited with status 0"
    else
        fail "$survivor ended with status ${rc:-(still running after 15 s)}"
    fi
fi

heading "9. A node started from an MI deployment.toml, as an MI operator writes it"
# The reference's sections (its coordination datasource pointed at this
# demo's SQLite file) among sections MI has and the library ignores.
cat >"$work/deployment.toml" <<EOF
[server]
hostname = "localhost"  # comments after values, as in MI's own file

[keystore.tls]
file_name = "repository/resources/security/wso2carbon.jks"
password = "wso2carbon"

[transport.http]
socket_timeout = 180000

[[datasource]]
id = "WSO2_COORDINATION_DB"
url = "jdbc:sqlite:$work/clusterdb"
driver = "org.sqlite.JDBC"
pool_options.maxActive = 50
pool_options.maxWait = 60000
pool_options.testOnBorrow = true

[cluster_config]
node_id = "node-3"

[task_handling]
resolver_class = "org.wso2.micro.integrator.ntask.coordination.task.resolver.RoundRobinResolver"

[[task_resolver]]
task_server_count = "1"
EOF
sed 's/^/   | /' "$work/deployment.toml"
# heartBeatInterval as MI reads it: from the environment
heartBeatInterval=$HEARTBEAT_MS start_node node-3 --mi-config "$work/deployment.toml" || {
    echo "demo: cannot start node-3" >&2
    exit 2
}
if wait_for node-3 "Successfully joined the cluster with id [node-3] (sqlite3 database $work/clusterdb)" 15; then
    ok "node-3 joined from deployment.toml, and says which database it uses"
else
    fail "node-3 did not log its join line naming $work/clusterdb within 15 s"
fi
if grep -qF "ignored, not part of RDBMS coordination: [keystore.tls], [transport.http]" \
    "$work/node-3.log"; then
    ok "node-3 listed the sections it ignores"
else
    fail "node-3 did not list the ignored sections"
fi
if wait_for node-3 "$TASK_LINE" 20 && wait_for node-3 "sample-task ran (fence" 10; then
    ok "node-3 runs sample-task"
else
    fail "node-3 did not run sample-task"
fi
kill -TERM "$(cat "$work/node-3.pid")"
rc=$(wait_exit node-3 15)
if [ "$rc" = 0 ]; then
    ok "node-3 left and exited with status 0"
else
    fail "node-3 ended with status ${rc:-(still running after 15 s)}"
fi

heading "Verdict"
if [ $failures -eq 0 ]; then
    echo "   PASS: both nodes joined, sample-task ran on exactly one node, and moved to the" \
        "survivor when its owner was killed; a node read an MI deployment.toml unchanged"
    exit 0
fi
echo "   FAIL: $failures check(s) failed (rerun with DEMO_KEEP=1 to keep the logs)"
exit 1
