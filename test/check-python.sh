#!/bin/sh
# test/check-python.sh: the Python package (bindings/python) against the
# library in build/, with Debian's python3 (run by `make check`):
#
# 1. the package declares argtypes/restype for exactly the symbols of
#    lib/libclustercoord.map, and loads the library by its SONAME;
# 2. it installs offline into a virtual environment
#    (pip install --no-build-isolation, Debian's setuptools), and the
#    pytest suite (bindings/python/tests, Debian's python3-pytest) runs
#    against that installed copy: errors, events, failover between
#    processes, asyncio, a GIL held for ten timeouts;
# 3. examples/python/failover.py on the package in the tree.
set -eu

PYTHON=${PYTHON:-/usr/bin/python3}
BUILD=${BUILD:-build}
if [ ! -x "$PYTHON" ]; then
    echo "check-python: $PYTHON not found (Debian package python3)" >&2
    exit 1
fi
if [ ! -e "$BUILD/libclustercoord.so.1" ]; then
    echo "check-python: $BUILD/libclustercoord.so.1 missing; run make first" >&2
    exit 1
fi
top=$(pwd)
LD_LIBRARY_PATH=$top/$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
unset CCOORD_LIBRARY nodeId PYTHONPATH
tmp=$(mktemp -d /tmp/check-python.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "check-python: the package covers lib/libclustercoord.map"
PYTHONPATH=bindings/python "$PYTHON" - lib/libclustercoord.map <<'PY'
import re, sys
import clustercoord as cc

text = open(sys.argv[1]).read()
text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
exported = set(re.findall(r"\b(ccoord_[a-z0-9_]+)\s*;", text))
declared = set(cc.SIGNATURES)
missing, extra = exported - declared, declared - exported
assert not missing, f"the package lacks signatures for {sorted(missing)}"
assert not extra, f"the package declares functions the library does not export: {sorted(extra)}"
lib = cc.load()
assert lib._name == cc.SONAME, f"loaded {lib._name}, not the SONAME"
for name in exported:
    assert getattr(lib, name).argtypes is not None, f"{name}: argtypes not set"
print(f"  {len(exported)} functions, library {cc.version()} loaded as {lib._name}")
PY

echo "check-python: pip install --no-build-isolation bindings/python (offline, in a venv)"
"$PYTHON" -m venv --system-site-packages "$tmp/venv"
cp -R bindings/python "$tmp/src" # pip builds in the source tree: keep ours clean
if ! "$tmp/venv/bin/python" -m pip install -q --no-index --no-deps --no-build-isolation \
    "$tmp/src" >"$tmp/pip.log" 2>&1; then
    cat "$tmp/pip.log" >&2
    echo "check-python: FAILED: pip install" >&2
    exit 1
fi
where=$(cd "$tmp" && "$tmp/venv/bin/python" -c 'import clustercoord; print(clustercoord.__file__)')
case "$where" in
"$tmp/venv/"*) echo "  installed as $where" ;;
*)
    echo "check-python: FAILED: the venv imports clustercoord from $where" >&2
    exit 1
    ;;
esac

echo "check-python: pytest bindings/python/tests (the installed package)"
cp -R bindings/python/tests "$tmp/tests"
(cd "$tmp" && "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider tests)

echo "check-python: examples/python/failover.py"
PYTHONPATH=bindings/python "$PYTHON" examples/python/failover.py
