#!/bin/sh
# test/check-python.sh: the ctypes binding (examples/python) against the
# library in build/, with Debian's python3 (run by `make check`).
#
# 1. the binding declares argtypes/restype for exactly the symbols of
#    lib/libclustercoord.map, and loads the library by its SONAME;
# 2. errors raise CCoordError carrying ccoord_strerror + the library's
#    detail; lists and strings come back and are freed by the library;
# 3. examples/python/failover.py: two nodes in one process, the owner of
#    a task leaves, the other acquires it.
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

LD_LIBRARY_PATH=$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
unset CCOORD_LIBRARY nodeId

echo "check-python: binding covers lib/libclustercoord.map"
"$PYTHON" - lib/libclustercoord.map <<'EOF'
import re, sys, tempfile, os
sys.path.insert(0, "examples/python")
import clustercoord as cc

text = open(sys.argv[1]).read()
text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
exported = set(re.findall(r"\b(ccoord_[a-z0-9_]+)\s*;", text))
declared = set(cc.SIGNATURES)
missing, extra = exported - declared, declared - exported
assert not missing, f"binding lacks signatures for {sorted(missing)}"
assert not extra, f"binding declares functions the library does not export: {sorted(extra)}"
lib = cc.load()
assert lib._name == cc.SONAME, f"loaded {lib._name}, not the SONAME"
for name in exported:
    fn = getattr(lib, name)
    assert fn.argtypes is not None, f"{name}: argtypes not set"
print(f"  {len(exported)} functions, library {cc.version()} loaded as {lib._name}")

# Errors carry status, strerror and the library's detail.
try:
    cc.Config(settings={"cluster_config": {"no_such_key": "1"}})
    raise SystemExit("an unknown key was accepted")
except cc.CCoordError as e:
    assert e.status == cc.ECONFIG and e.name == "CCOORD_ECONFIG", e
    assert e.strerror == cc.strerror(cc.ECONFIG) and "no_such_key" in e.detail, e
    print(f"  config error: {e}")
# An MI deployment.toml through the binding: it loads, and a refusal
# carries the file, line and key.
with tempfile.TemporaryDirectory() as d:
    p = os.path.join(d, "deployment.toml")
    with open(p, "w") as f:
        f.write('[[datasource]]\nid = "WSO2_COORDINATION_DB"\n'
                'url = "jdbc:sqlite:%s/clusterdb"\n[keystore.tls]\nalias = "x"\n' % d)
    cc.Config().load_mi(p).close()
    with open(p, "a") as f:
        f.write('[[datasource]]\nid = "WSO2_COORDINATION_DB"\n')
    try:
        cc.Config().load_mi(p)
        raise SystemExit("a second coordination datasource was accepted")
    except cc.CCoordError as e:
        assert e.status == cc.ECONFIG and "deployment.toml:7: datasource.id" in e.detail, e
        print(f"  MI config error: {e}")
with tempfile.TemporaryDirectory() as d:
    with cc.Node({"cluster_config": {"node_id": "py-1", "heartbeat_interval": "100"},
                  "datasource": {"dbdir": d}}) as n:
        n.set_log_level(cc.LOG_WARN)
        assert n.id == "py-1"
        try:
            n.members()
            raise SystemExit("members() before join did not raise")
        except cc.CCoordError as e:
            assert e.status == cc.ENOTJOINED, e
            print(f"  node error: {e}")
        n.register_task("t\u00e9")
        n.join()
        import time
        deadline = time.monotonic() + 10
        # members() is what the node last read: its background thread
        # fills it in right after join.
        while n.members() != ["py-1"]:
            assert time.monotonic() < deadline, f"members: {n.members()}"
            time.sleep(0.01)
        while n.acquire_task("t\u00e9") is None:
            assert time.monotonic() < deadline, "task never assigned to the only node"
            time.sleep(0.01)
        assert n.owned_tasks() == ["t\u00e9"], n.owned_tasks()
        assert n.leader() == "py-1" and n.is_leader
        n.pause_task("t\u00e9")
        assert n.task_state("t\u00e9") == cc.TASK_PAUSED
        n.resume_task("t\u00e9")
        assert n.task_state("t\u00e9") == cc.TASK_ACTIVE
        try:
            n.task_state("nope")
            raise SystemExit("task_state of an unknown task did not raise")
        except cc.CCoordError as e:
            assert e.status == cc.ENOTFOUND, e
        n.leave()
print("  errors, lists, strings, pause/resume: ok")

# Host dispatch: callbacks only inside dispatch(), on this thread.
import select, threading
with tempfile.TemporaryDirectory() as d:
    with cc.Node({"cluster_config": {"node_id": "py-2", "heartbeat_interval": "100"},
                  "datasource": {"dbdir": d}}) as n:
        n.set_log_level(cc.LOG_WARN)
        seen = []
        n.on_task_change(lambda node, ev, task, fence:
                         seen.append((ev, task, threading.get_ident())))
        fd = n.event_fd()
        n.register_task("py-task")
        n.join()
        deadline = time.monotonic() + 10
        while not any(ev == cc.TASK_ASSIGNED for ev, _, _ in seen):
            assert time.monotonic() < deadline, "no ASSIGNED dispatched"
            if select.select([fd], [], [], 0.05)[0]:
                assert n.dispatch() >= 0
        assert all(tid == threading.get_ident() for _, _, tid in seen), seen
        n.leave()
print("  host dispatch: events on the dispatching thread: ok")
EOF

echo "check-python: examples/python/failover.py"
"$PYTHON" examples/python/failover.py
