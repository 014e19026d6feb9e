#!/bin/sh
# test/check-install.sh: `make install` into a temporary DESTDIR, then use
# the installed copy the way a user does (run by `make check`):
#
# 1. the layout: library file with its SONAME and development links, the
#    static archive, headers, the .pc file, stock plugins, man pages;
# 2. pkg-config (PKG_CONFIG_PATH + PKG_CONFIG_SYSROOT_DIR into the staging
#    root): version, resolverdir, cflags, libs;
# 3. a tiny host program built with pkg-config flags only joins and leaves
#    a cluster on SQLite, linked dynamically (LD_LIBRARY_PATH into the
#    staging root) and statically (the archive and Libs.private);
# 4. examples/custom_resolver, copied out of the tree, builds and installs
#    against it with its own Makefile;
# 5. the Python package in PYTHON_DIR imports from there (Debian's
#    python3) and loads the staged library.
set -eu
# The library refuses plugins in a file or directory writable by group or
# others: whatever the caller's umask, stage the install 0755/0644.
umask 022

MAKE=${MAKE:-make}
CC=${CC:-cc}
PREFIX=/usr/local
top=$(pwd)
mkdir -p build
# Under build/ rather than /tmp: the library refuses plugins in a
# directory writable by others, and mktemp -d gives mode 0700.
tmp=$(mktemp -d "$top/build/check-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
fails=0
fail() {
    echo "check-install: FAILED: $*" >&2
    fails=$((fails + 1))
}

echo "check-install: make install DESTDIR=$dest PREFIX=$PREFIX"
if ! $MAKE --no-print-directory install DESTDIR="$dest" PREFIX="$PREFIX" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    echo "check-install: FAILED: make install" >&2
    exit 1
fi

version=$(sed -n 's/^VERSION *:= *//p' Makefile)
abi=$(sed -n 's/^ABI_MAJOR *:= *//p' Makefile)
libdir=$dest$PREFIX/lib
incdir=$dest$PREFIX/include
resdir=$libdir/clustercoord/resolvers
mandir=$dest$PREFIX/share/man

# ---- 1. layout
[ -f "$libdir/libclustercoord.so.$version" ] || fail "no $libdir/libclustercoord.so.$version"
[ "$(readlink "$libdir/libclustercoord.so.$abi")" = "libclustercoord.so.$version" ] ||
    fail "libclustercoord.so.$abi does not link to libclustercoord.so.$version"
[ "$(readlink "$libdir/libclustercoord.so")" = "libclustercoord.so.$abi" ] ||
    fail "libclustercoord.so does not link to libclustercoord.so.$abi"
soname=$(objdump -p "$libdir/libclustercoord.so.$version" 2>/dev/null | awk '$1 == "SONAME" {print $2}')
[ "$soname" = "libclustercoord.so.$abi" ] || fail "SONAME is '$soname'"
[ -f "$libdir/libclustercoord.a" ] || fail "no static archive"
[ -f "$libdir/pkgconfig/libclustercoord.pc" ] || fail "no libclustercoord.pc"
for h in include/clustercoord.h include/clustercoord/*.h; do
    cmp -s "$h" "$dest$PREFIX/$h" || fail "header $h not installed as $dest$PREFIX/$h"
done
for d in drivers/*/; do
    [ -d "$d" ] || continue
    p=$(basename "$d")
    [ -f "$resdir/$p.so" ] || fail "stock plugin $p.so not in $resdir"
done
[ -x "$dest$PREFIX/bin/ccoordctl" ] || fail "ccoordctl not installed in $dest$PREFIX/bin"
"$dest$PREFIX/bin/ccoordctl" --version | grep -q "libclustercoord $version" ||
    fail "the installed ccoordctl does not say libclustercoord $version"
for m in man/man1/*.1 man/man3/*.3 man/man5/*.5 man/man7/*.7; do
    [ -f "$m" ] || continue
    cmp -s "$m" "$mandir/${m#man/}" || fail "man page $m not installed"
done
pydir=$dest$($MAKE --no-print-directory -s print-python-dir PREFIX="$PREFIX")
for f in bindings/python/clustercoord/*.py bindings/python/clustercoord/py.typed; do
    cmp -s "$f" "$pydir/clustercoord/$(basename "$f")" || fail "Python file $f not installed in $pydir"
done
if find "$dest" -perm /022 ! -type l | grep -q .; then
    fail "group- or world-writable files installed: $(find "$dest" -perm /022 ! -type l)"
fi
echo "check-install: layout ok ($(find "$dest" ! -type d | wc -l) files and links)"

# ---- 2. pkg-config
PKG_CONFIG_PATH=$libdir/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pcv=$(pkg-config --modversion libclustercoord) || fail "pkg-config does not find libclustercoord"
[ "$pcv" = "$version" ] || fail "pkg-config --modversion: '$pcv', expected $version"
pcr=$(pkg-config --variable=resolverdir libclustercoord)
[ "$pcr" = "$resdir" ] || fail "resolverdir: '$pcr', expected $resdir"
cflags=$(pkg-config --cflags libclustercoord)
libs=$(pkg-config --libs libclustercoord)
case " $cflags " in *" -I$incdir "*) ;; *) fail "cflags '$cflags' lack -I$incdir" ;; esac
case " $libs " in *" -L$libdir "*"-lclustercoord"*) ;; *) fail "libs '$libs'" ;; esac
slibs=$(pkg-config --static --libs libclustercoord)
for l in -ldbi -linih -lsqlite3 -lm -ldl -lpthread; do
    case " $slibs " in *" $l "*) ;; *) fail "--static --libs '$slibs' lacks $l" ;; esac
done
# no Requires on -dev packages a host does not compile against: --cflags
# works where dbi.pc is absent (only this .pc on the path, no system dirs)
grep -q '^Requires' "$libdir/pkgconfig/libclustercoord.pc" &&
    fail "libclustercoord.pc has a Requires line (pkg-config --cflags fails without that package's .pc)"
echo "check-install: pkg-config ok: $cflags | $libs | resolverdir $pcr"

# ---- 3. a host program built from pkg-config flags only
cat >"$tmp/host.c" <<'EOF'
#define _POSIX_C_SOURCE 200809L
#include <clustercoord.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int die(const char *what, int rc, const char *detail)
{
    fprintf(stderr, "host: %s: %s: %s\n", what, ccoord_strerror(rc), detail);
    return 1;
}

int main(int argc, char **argv)
{
    ccoord_config *cfg;
    ccoord_node *node;
    char **ids;
    size_t n = 0;
    int rc, tries;
    if (argc != 2)
        return 2;
    if (strcmp(ccoord_version(), CCOORD_VERSION_STRING) != 0 ||
        ccoord_version_num() != CCOORD_VERSION_NUM) {
        fprintf(stderr, "host: headers %s, library %s\n", CCOORD_VERSION_STRING, ccoord_version());
        return 1;
    }
    if ((rc = ccoord_config_new(&cfg)) != CCOORD_OK)
        return die("config_new", rc, "");
    if ((rc = ccoord_config_set(cfg, "cluster_config", "node_id", "installed-host")) ||
        (rc = ccoord_config_set(cfg, "cluster_config", "heartbeat_interval", "100")) ||
        (rc = ccoord_config_set(cfg, "datasource", "dbdir", argv[1])) ||
        (rc = ccoord_node_new(cfg, &node)))
        return die("config", rc, ccoord_config_error(cfg));
    ccoord_config_free(cfg);
    ccoord_set_log_level(node, CCOORD_LOG_WARN);
    if ((rc = ccoord_join(node)) != CCOORD_OK)
        return die("join", rc, ccoord_errmsg(node));
    for (tries = 0; tries < 500; tries++) { /* members as last read: wait for the first read */
        struct timespec ts = {0, 10000000};
        if ((rc = ccoord_members(node, &ids, &n)) != CCOORD_OK)
            return die("members", rc, ccoord_errmsg(node));
        if (n == 1 && strcmp(ids[0], "installed-host") == 0) {
            ccoord_free_list(ids, n);
            break;
        }
        ccoord_free_list(ids, n);
        nanosleep(&ts, NULL);
    }
    if (tries == 500) {
        fprintf(stderr, "host: never saw itself as a member\n");
        return 1;
    }
    if ((rc = ccoord_leave(node)) != CCOORD_OK)
        return die("leave", rc, ccoord_errmsg(node));
    ccoord_node_free(node);
    printf("host: joined and left with libclustercoord %s\n", ccoord_version());
    return 0;
}
EOF
mkdir -p "$tmp/db" "$tmp/db2"
# shellcheck disable=SC2086 # word splitting of pkg-config output is intended
if $CC -std=c99 -Wall -Wextra -Werror $cflags -o "$tmp/host" "$tmp/host.c" $libs; then
    if ldd "$tmp/host" | grep -q "libclustercoord.so.$abi => $libdir/"; then
        fail "the host program resolves the staged library without LD_LIBRARY_PATH"
    fi
    LD_LIBRARY_PATH=$libdir ldd "$tmp/host" | grep -q "libclustercoord.so.$abi => $libdir/libclustercoord.so.$abi" ||
        fail "LD_LIBRARY_PATH=$libdir does not pick the staged library: $(LD_LIBRARY_PATH=$libdir ldd "$tmp/host")"
    LD_LIBRARY_PATH=$libdir "$tmp/host" "$tmp/db" || fail "the dynamically linked host program failed"
else
    fail "cannot build a host program with: $CC $cflags host.c $libs"
fi
# Static: the archive plus Libs.private / Requires.private.
ldirs=$(pkg-config --libs-only-L libclustercoord)
deplibs=$(pkg-config --static --libs-only-l libclustercoord | sed 's/-lclustercoord//')
if $CC -std=c99 -Wall -Wextra -Werror $cflags -o "$tmp/host-static" "$tmp/host.c" \
    $ldirs -Wl,-Bstatic -lclustercoord -Wl,-Bdynamic $deplibs; then
    if ldd "$tmp/host-static" | grep -q libclustercoord; then
        fail "the static host program still needs libclustercoord.so"
    fi
    "$tmp/host-static" "$tmp/db2" || fail "the statically linked host program failed"
else
    fail "cannot link the archive with: $ldirs -lclustercoord (static) $deplibs"
fi

# ---- 4. the custom resolver, out of the tree, against the staged install
cp -R examples/custom_resolver "$tmp/custom_resolver"
rm -f "$tmp/custom_resolver/"*.so "$tmp/custom_resolver/test_leastloaded"
if $MAKE --no-print-directory -C "$tmp/custom_resolver" all install >"$tmp/cr.log" 2>&1; then
    [ -f "$resdir/leastloaded.so" ] || fail "make install put no leastloaded.so in $resdir"
    if nm -D --defined-only "$resdir/leastloaded.so" | awk '{print $3}' | grep -v '^ccoord_resolver_entry$' | grep -q .; then
        fail "leastloaded.so exports more than ccoord_resolver_entry"
    fi
    if objdump -p "$resdir/leastloaded.so" | grep -q 'NEEDED.*libclustercoord'; then
        fail "leastloaded.so links libclustercoord (plugins must not)"
    fi
else
    cat "$tmp/cr.log" >&2
    fail "examples/custom_resolver does not build against the installed library"
fi

# ---- 5. the Python package, as installed
if [ -x /usr/bin/python3 ]; then
    if ! out=$(PYTHONPATH=$pydir CCOORD_LIBRARY=$libdir/libclustercoord.so.$abi \
        /usr/bin/python3 -c 'import clustercoord as cc; print(cc.__file__, cc.version())' 2>&1); then
        fail "the installed Python package does not import: $out"
    else
        case "$out" in
        "$pydir/clustercoord/__init__.py $version") echo "check-install: python ok: $out" ;;
        *) fail "the Python package imported as '$out' (want $pydir/clustercoord, $version)" ;;
        esac
    fi
else
    fail "/usr/bin/python3 is missing (Debian package python3)"
fi

if [ $fails -ne 0 ]; then
    echo "check-install: $fails failure(s)" >&2
    exit 1
fi
echo "check-install: ok"
