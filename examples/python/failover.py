#!/usr/bin/python3
"""failover.py: a task failing over between two nodes of one process.

Two nodes share a SQLite database in a temporary directory.  Both can run
"sample-task"; the cluster gives it to exactly one.  That node leaves
gracefully, and the other one acquires the task with a larger fencing
token.  Prints the timeline; exits 1 if anything did not happen as it
should.

    LD_LIBRARY_PATH=build python3 examples/python/failover.py     # in tree
    python3 failover.py               # with the package and library installed

Options: --heartbeat-ms N (default 200), --timeout-s N (bound on every
wait, default 15), --verbose (library log lines).
"""

import argparse
import os
import sys
import tempfile
import threading
import time

# In the tree, the package next door (bindings/python); else the installed one.
_tree = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python")
if os.path.isdir(os.path.join(_tree, "clustercoord")):
    sys.path.insert(0, _tree)
import clustercoord as cc  # noqa: E402

TASK = "sample-task"
T0 = time.monotonic()


def stamp():
    return f"[{(time.monotonic() - T0) * 1000:8.1f} ms]"


def say(*args):
    print(stamp(), *args, flush=True)


def wait_until(what, predicate, timeout_s):
    """Polls predicate every 5 ms; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.005)


def make_node(name, dbdir, heartbeat_ms, verbose):
    cfg = cc.Config(settings={
        "cluster_config": {"node_id": name, "heartbeat_interval": heartbeat_ms},
        "datasource": {"driver": "sqlite3", "dbdir": dbdir, "dbname": "failover.db"},
    })
    with cfg:
        node = cc.Node(cfg)  # copies what it needs: cfg is freed right after
    lock = threading.Lock()

    def on_log(n, level, msg):
        # on the dispatcher thread, in order with the events
        if verbose or level <= cc.LogLevel.WARN:
            with lock:
                say(f"{name:7} log: {msg}")

    def on_member(n, event, member):
        names = {cc.MEMBER_ADDED: "member added", cc.MEMBER_REMOVED: "member removed",
                 cc.MEMBER_SELF_EVICTED: "self evicted",
                 cc.MEMBER_LEADER_CHANGED: "leader is now"}
        say(f"{n.id:7} event: {names.get(event, event)} [{member}]")

    def on_task(n, event, task, fence):
        what = "ASSIGNED" if event == cc.TASK_ASSIGNED else "REVOKED"
        say(f"{n.id:7} event: task {task} {what} (fence {fence})")

    node.on_log(on_log)
    node.on_member_change(on_member)
    node.on_task_change(on_task)
    return node


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heartbeat-ms", type=int, default=200)
    ap.add_argument("--timeout-s", type=float, default=15.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    hb = args.heartbeat_ms
    crash_timeout_ms = hb * 3  # heartbeat_max_retry defaults to 3

    say(f"libclustercoord {cc.version()}; heartbeat {hb} ms "
        f"(a crashed node is declared dead after {crash_timeout_ms} ms)")
    with tempfile.TemporaryDirectory(prefix="ccoord-failover-") as dbdir:
        a = make_node("node-a", dbdir, hb, args.verbose)
        b = make_node("node-b", dbdir, hb, args.verbose)
        for n in (a, b):
            n.register_task(TASK)
        with a, b:  # each joins on entering, leaves on leaving
            say("node-a and node-b joined")
            wait_until("both nodes to see two members",
                       lambda: len(a.members()) == 2 and len(b.members()) == 2, args.timeout_s)
            say(f"members {a.members()}, leader {a.leader()}")

            def owners():
                got = [(n, n.acquire_task(TASK)) for n in (a, b)]
                return [(n, f) for n, f in got if f is not None]

            owned = wait_until(f"{TASK} to be owned", owners, args.timeout_s)
            # Exactly one owner, also a few heartbeats later.
            time.sleep(hb * 3 / 1000)
            owned = owners()
            assert len(owned) == 1, f"{TASK} owned by {[n.id for n, _ in owned]}"
            owner, fence = owned[0]
            other = b if owner is a else a
            assert owner.owned_tasks() == [TASK], owner.owned_tasks()
            assert other.owned_tasks() == [], other.owned_tasks()
            assert other.task_state(TASK) == cc.TASK_ACTIVE
            say(f"{TASK} is owned by {owner.id} with fence {fence}; "
                f"{other.id} does not own it")

            say(f"{owner.id} leaves gracefully")
            t_leave = time.monotonic()
            owner.leave()
            t_left = time.monotonic()
            assert owner.acquire_task(TASK) is None, "the leaver still owns the task"
            new_fence = wait_until(f"{other.id} to acquire {TASK}",
                                   lambda: other.acquire_task(TASK), args.timeout_s)
            t_acquired = time.monotonic()
            assert new_fence > fence, f"fence went from {fence} to {new_fence}"
            wait_until(f"{other.id} to see itself alone",
                       lambda: other.members() == [other.id], args.timeout_s)
            handover_ms = (t_acquired - t_leave) * 1000
            say(f"{other.id} acquired {TASK} with fence {new_fence} (was {fence})")
            say(f"timing: ccoord_leave took {(t_left - t_leave) * 1000:.1f} ms; "
                f"{other.id} owned the task {handover_ms:.1f} ms after the leave started "
                f"(heartbeat {hb} ms; a crash would take at least {crash_timeout_ms} ms "
                f"to detect)")
        say("both nodes closed")
    print("PASS: the task failed over to the other node")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (AssertionError, cc.CCoordError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
