#!/bin/sh
# test/check-custom-resolver.sh: the out-of-tree resolver plugin
# (examples/custom_resolver, "leastloaded") in a three-node in-process
# cluster (run by `make check`).
#
# Installs the library into a temporary DESTDIR, builds the plugin and its
# test program from a copy of examples/custom_resolver with that copy's own
# Makefile (pkg-config only), installs the plugin into the staged resolver
# directory, and runs test_leastloaded against the staged library.
set -eu
# The library refuses plugins in a file or directory writable by group or
# others: whatever the caller's umask, stage the install 0755/0644.
umask 022

MAKE=${MAKE:-make}
PREFIX=/usr/local
top=$(pwd)
mkdir -p build
# Under build/ rather than /tmp: the library refuses plugins in a
# directory writable by others, and mktemp -d gives mode 0700.
tmp=$(mktemp -d "$top/build/check-resolver.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

if ! $MAKE --no-print-directory install DESTDIR="$dest" PREFIX="$PREFIX" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    echo "check-custom-resolver: FAILED: make install" >&2
    exit 1
fi
PKG_CONFIG_PATH=$dest$PREFIX/lib/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
resdir=$(pkg-config --variable=resolverdir libclustercoord)

cp -R examples/custom_resolver "$tmp/src"
rm -f "$tmp/src/"*.so "$tmp/src/test_leastloaded"
echo "check-custom-resolver: building leastloaded.so and test_leastloaded out of tree"
if ! $MAKE --no-print-directory -C "$tmp/src" all install test_leastloaded >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    echo "check-custom-resolver: FAILED: build against the installed library" >&2
    exit 1
fi
[ -f "$resdir/leastloaded.so" ] || {
    echo "check-custom-resolver: FAILED: leastloaded.so not installed in $resdir" >&2
    exit 1
}

mkdir -p "$tmp/db"
unset nodeId
echo "check-custom-resolver: test_leastloaded $resdir"
LD_LIBRARY_PATH=$dest$PREFIX/lib "$tmp/src/test_leastloaded" "$resdir" "$tmp/db"
