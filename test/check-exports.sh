#!/bin/sh
# test/check-exports.sh BUILD_SO [MAP] [HEADER]
#
# Meta test (the idea of curl's test 1119): the functions the built shared
# library exports, the names listed in the version script, and the
# CCOORD_API prototypes of the public header must be the same set.  When
# nm shows symbol versions, each export's version must also be the map
# node that lists it.  Any difference fails, naming the symbol.
#
# Run from the repository root, e.g.
#   sh test/check-exports.sh build/libclustercoord.so.1.0.0
# MAP defaults to lib/libclustercoord.map, HEADER to include/clustercoord.h.

set -u

me=check-exports
so=${1:-}
map=${2:-lib/libclustercoord.map}
hdr=${3:-include/clustercoord.h}

if [ -z "$so" ]; then
    echo "usage: sh test/check-exports.sh BUILD_SO [MAP] [HEADER]" >&2
    exit 2
fi
for f in "$so" "$map" "$hdr"; do
    if [ ! -r "$f" ]; then
        echo "$me: FAIL: cannot read $f" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-exports.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# Strips C comments (/* */ across lines, and //) from stdin.
strip_comments() {
    awk '
    {
        line = $0; out = ""
        while (line != "") {
            if (inc) {
                i = index(line, "*/")
                if (i == 0) { line = ""; break }
                line = substr(line, i + 2); inc = 0
            } else {
                i = index(line, "/*")
                if (i == 0) { out = out line; line = "" }
                else { out = out substr(line, 1, i - 1) " "; line = substr(line, i + 2); inc = 1 }
            }
        }
        if (!inc) sub(/\/\/.*/, "", out)
        print out
    }'
}

# 1. The shared library: "address type name[@@VERSION]".  Absolute symbols
#    are the version nodes themselves (CCOORD_1.0); they are not functions.
if ! nm -D --defined-only "$so" >"$tmp/nm.out" 2>"$tmp/nm.err"; then
    echo "$me: FAIL: nm -D --defined-only $so failed:" >&2
    cat "$tmp/nm.err" >&2
    exit 1
fi
awk 'NF >= 3 && $2 != "A" {
         name = $3; ver = ""
         if (index(name, "@") > 0) {
             ver = name; sub(/^[^@]*@+/, "", ver); sub(/@.*/, "", name)
         }
         if (name ~ /^CCOORD_[0-9]/) next
         print name, (ver == "" ? "-" : ver)
     }' "$tmp/nm.out" | sort -u >"$tmp/so.ver"
cut -d' ' -f1 "$tmp/so.ver" | sort -u >"$tmp/so"

# 2. The version script: names under "global:" with the node that lists
#    them.  Patterns are refused: the map is the reviewed list of the ABI.
strip_comments <"$map" | awk -v me="$me" -v map="$map" '
    {
        gsub(/[{};:]/, " & ")
        for (i = 1; i <= NF; i++) {
            t = $i
            if (t == "{") { depth++; if (depth == 1) { node = prev; scope = "global" } }
            else if (t == "}") { depth--; if (depth == 0) node = "" }
            else if (t == "global" && $(i + 1) == ":") { scope = "global"; i++ }
            else if (t == "local" && $(i + 1) == ":") { scope = "local"; i++ }
            else if (t == ";" || t == ":") { }
            else if (depth == 1 && scope == "global") {
                if (t ~ /[*?\[]/) {
                    printf "%s: FAIL: %s: pattern \"%s\" in a global: list; list every name\n", me, map, t > "/dev/stderr"
                    bad = 1
                } else {
                    print t, node
                }
            }
            prev = t
        }
    }
    END { exit bad }' | sort -u >"$tmp/map.ver" || exit 1
cut -d' ' -f1 "$tmp/map.ver" | sort -u >"$tmp/map"

# 3. The header: every declaration that carries CCOORD_API.  Comments and
#    preprocessor lines (with their continuation lines) are dropped, the
#    rest is split at ";", and the name is the identifier before "(".
strip_comments <"$hdr" | awk '
    cont { cont = /\\$/; next }
    /^[ \t]*#/ { cont = /\\$/; next }
    { print }' | tr '\n' ' ' | tr ';' '\n' | grep -w 'CCOORD_API' |
    sed -e 's/(.*//' -e 's/.*[^A-Za-z0-9_]//' | grep -v '^$' | sort -u >"$tmp/hdr"

fail=0
for f in so map hdr; do
    if [ ! -s "$tmp/$f" ]; then
        case $f in
        so) what="no exported function in $so" ;;
        map) what="no global name in $map" ;;
        hdr) what="no CCOORD_API declaration in $hdr" ;;
        esac
        echo "$me: FAIL: $what" >&2
        fail=1
    fi
done

# Every name found anywhere must be in all three lists.
sort -u "$tmp/so" "$tmp/map" "$tmp/hdr" >"$tmp/all"
while read -r name; do
    missing=""
    grep -qx "$name" "$tmp/so" || missing="$missing, not exported by $so"
    grep -qx "$name" "$tmp/map" || missing="$missing, not listed in $map"
    grep -qx "$name" "$tmp/hdr" || missing="$missing, not declared CCOORD_API in $hdr"
    if [ -n "$missing" ]; then
        echo "$me: FAIL: $name${missing}" >&2
        fail=1
    fi
done <"$tmp/all"

# Symbol versions, when this nm prints them.
if grep -qv ' -$' "$tmp/so.ver"; then
    while read -r name ver; do
        want=$(awk -v n="$name" '$1 == n { print $2; exit }' "$tmp/map.ver")
        [ -n "$want" ] || continue
        if [ "$ver" != "$want" ]; then
            echo "$me: FAIL: $name has symbol version ${ver} in $so; $map lists it under $want" >&2
            fail=1
        fi
    done <"$tmp/so.ver"
fi

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "$me: ok: $(wc -l <"$tmp/all" | tr -d ' ') functions agree in $so, $map and $hdr"
exit 0
