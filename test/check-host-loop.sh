#!/bin/sh
# test/check-host-loop.sh HOST_LOOP CONF_IN: the host-dispatch example
# (examples/host_loop) as two processes on one SQLite database (run by
# `make check`).  Passes when both exit 0, the first sees the second join
# and leave, the task ran, every callback ran on each host's loop thread,
# and no node was evicted.
set -u

prog=${1:?usage: sh test/check-host-loop.sh HOST_LOOP CONF_IN}
conf_in=${2:?usage: sh test/check-host-loop.sh HOST_LOOP CONF_IN}
me=check-host-loop
dir=$(mktemp -d "${TMPDIR:-/tmp}/ccoord-host-loop.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' HUP INT TERM

for id in loop-1 loop-2; do
    sed -e "s|@NODE_ID@|$id|" -e "s|@DBDIR@|$dir|" -e "s|@HEARTBEAT_MS@|100|" \
        "$conf_in" >"$dir/$id.conf"
done
"$prog" --seconds 4 --task-interval-ms 100 "$dir/loop-1.conf" >"$dir/loop-1.out" 2>&1 &
p1=$!
sleep 1
"$prog" --seconds 1 --task-interval-ms 100 "$dir/loop-2.conf" >"$dir/loop-2.out" 2>&1
st2=$?
wait "$p1"
st1=$?

fail=0
check() { # what, file, pattern
    if ! grep -q -- "$3" "$2"; then
        echo "$me: FAIL: $1 (no \"$3\" in $(basename "$2"))" >&2
        fail=1
    fi
}
[ "$st1" = 0 ] || { echo "$me: FAIL: loop-1 exited $st1" >&2; fail=1; }
[ "$st2" = 0 ] || { echo "$me: FAIL: loop-2 exited $st2" >&2; fail=1; }
check "loop-1 saw loop-2 join" "$dir/loop-1.out" "member added \[loop-2\]"
check "loop-1 saw loop-2 leave" "$dir/loop-1.out" "member removed \[loop-2\]"
check "the task ran" "$dir/loop-1.out" "ran sample-task"
check "callbacks on loop-1's thread" "$dir/loop-1.out" " 0 callback(s) off the loop thread"
check "callbacks on loop-2's thread" "$dir/loop-2.out" " 0 callback(s) off the loop thread"
if grep -q "this node evicted" "$dir/loop-1.out" "$dir/loop-2.out"; then
    echo "$me: FAIL: a node was evicted" >&2
    fail=1
fi
if [ "$fail" != 0 ]; then
    for f in "$dir"/loop-*.out; do echo "--- $f"; cat "$f"; done >&2
    exit 1
fi
echo "$me: PASS: two host-dispatch nodes, events on their loop threads, the task ran" \
     "$(grep -c 'ran sample-task' "$dir/loop-1.out") time(s) on loop-1"
