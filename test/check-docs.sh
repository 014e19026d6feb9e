#!/bin/sh
# test/check-docs.sh: meta test of the documentation (curl's tests 1119 and
# 1477, libuv's single error list).  Run from the repository root.  Fails
# (exit 1, one line per problem) when:
#
#  - an exported function (lib/libclustercoord.map) has no man/man3/<name>.3,
#    or that page (through its .so alias) does not name it in NAME or
#    declare it in SYNOPSIS; a man3 page documents no exported function;
#    an alias page is anything but one ".so man3/<page>.3" line pointing at
#    a full page; a full man3 page lacks one of the sections of STYLE.md
#    2.11 or the line "Added in libclustercoord ...";
#  - the statuses of CCOORD_STATUS_MAP (include/clustercoord.h) and those
#    of man/man7/ccoord-errors.7 differ in name, value or text;
#  - an exported function is not mentioned in CHANGELOG.md;
#  - a command (tools/<name>.c) has no man/man1/<name>.1;
#  - "mandoc -T lint -W warning" prints anything for a page (alias pages:
#    anything but mandoc's "so is fragile" note, which every .so draws);
#  - a complete program (one with main) in an EXAMPLES section does not
#    compile against the public header (skipped when there is no compiler).
#
# Environment: CC (default cc), MANDOC (default mandoc).

set -u

me=check-docs
map=lib/libclustercoord.map
hdr=include/clustercoord.h
errpage=man/man7/ccoord-errors.7
changelog=CHANGELOG.md
CC=${CC:-cc}
MANDOC=${MANDOC:-mandoc}

for f in "$map" "$hdr"; do
    if [ ! -r "$f" ]; then
        echo "$me: FAIL: cannot read $f (run from the repository root)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-docs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fail=0
problem() {
    echo "$me: FAIL: $*" >&2
    fail=1
}

# Prints the lines of section $2 (".SH $2" up to the next .SH) of page $1.
section() {
    awk -v want="$2" '
        /^\.SH/ { cur = $0; sub(/^\.SH[ \t]+/, "", cur); gsub(/"/, "", cur); next }
        cur == want { print }' "$1"
}

# The target of an alias page ("man3/x.3"), or nothing for a full page.
alias_target() {
    sed -n '1s/^\.so[ \t]\{1,\}\(man3\/[A-Za-z0-9_]*\.3\)[ \t]*$/\1/p' "$1"
}

# ---- exported functions ----------------------------------------------
# Names under "global:" in the version script (comments removed).
sed -e 's:/\*.*\*/::g' "$map" | awk '
    { gsub(/[{};:]/, " & ") }
    { for (i = 1; i <= NF; i++) {
          if ($i == "global" && $(i + 1) == ":") { g = 1; i++; continue }
          if ($i == "local" && $(i + 1) == ":") { g = 0; i++; continue }
          if ($i == "}") g = 0
          if (g && $i ~ /^[A-Za-z_][A-Za-z0-9_]*$/) print $i
      } }' | sort -u >"$tmp/exports"
if [ ! -s "$tmp/exports" ]; then
    problem "no exported function found in $map"
    exit 1
fi
nexports=$(wc -l <"$tmp/exports" | tr -d ' ')

# ---- 1. one man3 page per export --------------------------------------
while read -r name; do
    page=man/man3/$name.3
    if [ ! -f "$page" ]; then
        problem "$name is exported ($map) but has no man page $page"
        continue
    fi
    target=$(alias_target "$page")
    if [ -n "$target" ]; then
        main=man/$target
        if [ ! -f "$main" ]; then
            problem "$page is an alias of $target, which does not exist"
            continue
        fi
        if [ -n "$(alias_target "$main")" ]; then
            problem "$page is an alias of $target, which is itself an alias"
            continue
        fi
    else
        main=$page
    fi
    if ! section "$main" NAME | sed 's/\\-/-/g' | tr ',' ' ' | grep -qw "$name"; then
        problem "$name: its page $main does not list it in NAME"
    fi
    if ! section "$main" SYNOPSIS | grep -q "[^A-Za-z0-9_]$name("; then
        problem "$name: its page $main does not declare it in SYNOPSIS"
    fi
done <"$tmp/exports"

for page in man/man3/*.3; do
    [ -f "$page" ] || continue
    base=$(basename "$page" .3)
    if ! grep -qx "$base" "$tmp/exports"; then
        problem "$page documents $base, which is not an exported function ($map)"
    fi
    if [ "$(grep -c '^\.so' "$page")" -gt 0 ]; then
        if [ -z "$(alias_target "$page")" ] || [ "$(wc -l <"$page" | tr -d ' ')" -ne 1 ]; then
            problem "$page: an alias page is exactly one line: .so man3/<page>.3"
        fi
        continue
    fi
    for s in NAME LIBRARY SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS HISTORY "SEE ALSO"; do
        if ! grep -q "^\.SH \"\{0,1\}$s\"\{0,1\}\$" "$page"; then
            problem "$page has no $s section"
        fi
    done
    if ! section "$page" HISTORY | grep -q '^Added in libclustercoord [0-9]'; then
        problem "$page: HISTORY does not say \"Added in libclustercoord X.Y.\""
    fi
done

# ---- 2. status list == errors page ------------------------------------
# Header: X(NAME, value, "text") lines of CCOORD_STATUS_MAP.
awk '/#define[ \t]+CCOORD_STATUS_MAP/ { on = 1 }
     on { print; if ($0 !~ /\\[ \t]*$/) on = 0 }' "$hdr" |
    sed -n 's/.*X(\([A-Z0-9_]*\),[ \t]*\(-\{0,1\}[0-9][0-9]*\),[ \t]*"\([^"]*\)").*/CCOORD_\1|\2|\3/p' \
    >"$tmp/status.h"
if [ ! -s "$tmp/status.h" ]; then
    problem "no CCOORD_STATUS_MAP entries found in $hdr"
fi
if [ ! -r "$errpage" ]; then
    problem "$errpage is missing"
else
    # Page: ".SS CCOORD_NAME (value)" followed by '.I "text"'.
    awk '/^\.SS[ \t]+CCOORD_/ {
             name = $2; val = $3; gsub(/[()]/, "", val); gsub(/\\-/, "-", val)
             getline t
             if (t ~ /^\.I[ \t]+"/) { sub(/^\.I[ \t]+"/, "", t); sub(/"[ \t]*$/, "", t) }
             else t = "(no .I \"text\" line after .SS)"
             print name "|" val "|" t
         }' "$errpage" >"$tmp/status.7"
    if ! diff "$tmp/status.h" "$tmp/status.7" >"$tmp/status.diff"; then
        problem "the statuses of CCOORD_STATUS_MAP ($hdr) and of $errpage differ (< header, > page):"
        sed -n 's/^\([<>]\)/    \1/p' "$tmp/status.diff" >&2
    fi
fi

# ---- 3. CHANGELOG.md mentions every export ----------------------------
if [ ! -r "$changelog" ]; then
    problem "$changelog is missing: it must mention every exported function"
else
    missing=""
    while read -r name; do
        grep -qw "$name" "$changelog" || missing="$missing $name"
    done <"$tmp/exports"
    if [ -n "$missing" ]; then
        problem "$changelog does not mention these exported functions:$missing"
    fi
fi

# ---- 3b. every command (tools/*.c) has its man1 page --------------------
for prog in tools/*.c; do
    [ -f "$prog" ] || continue
    cmd=$(basename "$prog" .c)
    [ -f "man/man1/$cmd.1" ] || problem "$prog: command $cmd has no man/man1/$cmd.1"
done

# ---- 4. mandoc lint ---------------------------------------------------
if ! command -v "$MANDOC" >/dev/null 2>&1; then
    problem "$MANDOC is not installed (apt-get install mandoc)"
else
    # From man/, so that ".so man3/x.3" resolves as it does under MANPATH.
    for page in man/man1/*.1 man/man3/*.3 man/man5/*.5 man/man7/*.7; do
        [ -f "$page" ] || continue
        rel=${page#man/}
        (cd man && "$MANDOC" -T lint -W warning "$rel") >"$tmp/lint" 2>&1
        target=$(alias_target "$page")
        if [ -n "$target" ]; then
            grep -v ": WARNING: \.so is fragile, better use ln(1): so $target\$" \
                "$tmp/lint" >"$tmp/lint2"
            mv "$tmp/lint2" "$tmp/lint"
        fi
        if [ -s "$tmp/lint" ]; then
            problem "mandoc -T lint -W warning $page:"
            sed 's/^/    /' "$tmp/lint" >&2
        fi
    done
fi

# ---- 4b. troff warnings (what man(1) shows its reader) -------------------
if ! command -v groff >/dev/null 2>&1; then
    problem "groff is not installed (apt-get install groff-base)"
else
    for page in man/man1/*.1 man/man3/*.3 man/man5/*.5 man/man7/*.7; do
        [ -f "$page" ] || continue
        [ -z "$(alias_target "$page")" ] || continue
        (cd man && groff -man -t -Tutf8 -ww -z "${page#man/}") >"$tmp/troff" 2>&1
        if [ -s "$tmp/troff" ]; then
            problem "groff -ww warns on $page:"
            sed 's/^/    /' "$tmp/troff" >&2
        fi
    done
fi

# ---- 5. the example programs compile ----------------------------------
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "$me: note: no C compiler ($CC); examples not compiled"
else
    n=0
    for page in man/man3/*.3 man/man7/*.7; do
        [ -f "$page" ] || continue
        [ -z "$(alias_target "$page")" ] || continue
        section "$page" EXAMPLES | awk '/^\.EE/ { on = 0 } on { print } /^\.EX/ { on = 1 }' |
            sed -e 's/\\e/\\/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\&//g' \
            >"$tmp/example.c"
        grep -q 'int main' "$tmp/example.c" || continue
        n=$((n + 1))
        if ! "$CC" -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -Iinclude \
                -x c "$tmp/example.c" >"$tmp/cc.out" 2>&1; then
            problem "the EXAMPLES program of $page does not compile:"
            sed "s|$tmp/example.c|$page(EXAMPLES)|" "$tmp/cc.out" >&2
        fi
    done
fi

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "$me: ok: $nexports exports documented and in $changelog, statuses match $errpage, mandoc lint and troff clean, examples compile"
exit 0
