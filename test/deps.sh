#!/bin/sh
# test/deps.sh [build|test|galera]: makes sure the Debian packages are
# installed that the build and `make demo` need (build: a compiler, libdbi
# with its SQLite driver, libinih, tzdata for schedules' tz=), or those and what the test suite needs
# (test, the default: the database servers and their drivers, cmocka,
# valgrind, clang, faketime, openssl, mandoc, prometheus for promtool),
# or those and what a Galera cluster needs (galera: galera-4, rsync for
# its state transfer script, iproute2's ss).  `make deps-build` runs it for the demo, `make deps` for
# `make check` and `.ci/run`, `make check-galera` with galera.
#
#   nothing missing      silent success
#   missing, root        apt-get update + apt-get install (no recommends)
#   missing, not root    prints the sudo apt-get line and fails
#
# Installing postgresql, mariadb-server or prometheus would normally start
# the system servers (ports 5432, 3306 and 9090; the tests only use
# promtool).  The tests start their own throwaway
# servers (test/db/servers.sh), so while installing we block service starts
# with a temporary /usr/sbin/policy-rc.d (unless one already exists) and
# leave no system database running.
set -eu

BUILD_PACKAGES="build-essential pkg-config libdbi-dev libdbd-sqlite3 libinih-dev tzdata"
TEST_PACKAGES="libdbd-pgsql libdbd-mysql libcmocka-dev postgresql mariadb-server mandoc groff-base python3
python3-pytest python3-setuptools python3-wheel python3-venv
valgrind clang libclang-rt-14-dev faketime openssl prometheus"
GALERA_PACKAGES="galera-4 rsync iproute2"
case "${1:-test}" in
build) PACKAGES=$BUILD_PACKAGES ;;
test) PACKAGES="$BUILD_PACKAGES $TEST_PACKAGES" ;;
galera) PACKAGES="$BUILD_PACKAGES $TEST_PACKAGES $GALERA_PACKAGES" ;;
*)
    echo "usage: deps.sh [build|test|galera]" >&2
    exit 2
    ;;
esac

missing=
for p in $PACKAGES; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$st" != installed ]; then
        missing="$missing $p"
    fi
done
missing=${missing# }
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing Debian packages: $missing" >&2
    echo "deps.sh: install them with:" >&2
    echo "sudo apt-get install -y --no-install-recommends $missing" >&2
    exit 1
fi

echo "deps.sh: installing missing Debian packages: $missing" >&2

policy=/usr/sbin/policy-rc.d
ours=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# test/deps.sh: no service starts while installing\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=1
fi
cleanup() {
    if [ -n "$ours" ]; then rm -f "$policy"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # one word per package
apt-get install -y -q --no-install-recommends $missing

# With systemd, postinst scripts may still have enabled or started the
# system servers; the tests never use them.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    for s in postgresql:postgresql mariadb:mariadb-server prometheus:prometheus; do
        pkg=${s#*:} s=${s%%:*}
        case " $missing " in *" $pkg "*) ;; *) continue ;; esac
        if systemctl is-active --quiet "$s" 2>/dev/null; then
            echo "deps.sh: stopping the system $s service (the tests run their own servers)" >&2
            systemctl stop "$s" || true
        fi
    done
fi

still=
for p in $missing; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || still="$still $p"
done
if [ -n "$still" ]; then
    echo "deps.sh: still not installed after apt-get:$still" >&2
    exit 1
fi
echo "deps.sh: done" >&2
