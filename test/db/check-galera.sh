#!/bin/sh
# test/db/check-galera.sh: `make check-galera` (mk/galera.mk).  Starts a
# throwaway 3-member Galera cluster (test/db/galera.sh) in a fresh
# temporary directory, runs build/test/node_galera against it, then the
# chaos test (test/chaos/chaos.py) with GALERA_NODES node processes spread
# over the three members and GALERA_FAULTS faults, member stops and
# freezes among them.  The cluster is stopped whatever happens.  Exit
# status 0 when both passed.
#
# Environment: GALERA_PORT (33111), GALERA_FAULTS (200), GALERA_NODES (3),
# GALERA_SEED (random), GALERA_ARGS (more chaos.py options).
set -u

here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
port=${GALERA_PORT:-33111}

dir=$(mktemp -d "${TMPDIR:-/tmp}/ccoord-galera.XXXXXX") || exit 2
cleanup() {
    if [ -n "$dir" ]; then
        sh test/db/galera.sh stop "$dir" || true
        rm -rf "$dir"
        dir=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# galera.sh wants an empty directory it makes itself
rmdir "$dir"
sh test/db/galera.sh start "$dir" "$port" || exit 1
eval "$(sh test/db/galera.sh env "$dir")"

status=0
echo "check-galera: ---- node_galera (3 members) ----"
CI=true build/test/node_galera || status=1

echo "check-galera: ---- chaos: ${GALERA_NODES:-3} nodes on 3 members, ${GALERA_FAULTS:-200} faults ----"
# shellcheck disable=SC2086 # GALERA_ARGS is a list of options
$py test/chaos/chaos.py --backend mysql \
    --dsn "$CCOORD_TEST_GALERA_1" --dsn "$CCOORD_TEST_GALERA_2" --dsn "$CCOORD_TEST_GALERA_3" \
    --galera-dir "$dir" --nodes "${GALERA_NODES:-3}" --faults "${GALERA_FAULTS:-200}" \
    ${GALERA_SEED:+--seed "$GALERA_SEED"} ${GALERA_ARGS:-} || status=1

cleanup
if [ $status -eq 0 ]; then
    echo "check-galera: passed"
else
    echo "check-galera: FAILED" >&2
fi
exit $status
