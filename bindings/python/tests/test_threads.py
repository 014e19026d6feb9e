"""Threads, processes and the GIL: failover between processes, asyncio
events, and a Python thread holding the GIL for ten timeouts."""

import asyncio
import ctypes
import logging
import signal
import subprocess
import textwrap
import time

import clustercoord as cc
from conftest import PYTHON, TIMEOUT_S, child_env, settings, wait_until

CHILD = textwrap.dedent("""
    import sys, time
    import clustercoord as cc
    with cc.Node({settings!r}) as n:
        n.register_task("job")
        deadline = time.monotonic() + 20
        while n.acquire_task("job") is None and time.monotonic() < deadline:
            time.sleep(0.005)
        print("owner" if n.acquire_task("job") is not None else "not owner", flush=True)
        time.sleep({stay})
""")


def spawn(node_id, dbdir, stay=60):
    code = CHILD.format(settings=settings(node_id, dbdir), stay=stay)
    return subprocess.Popen([PYTHON, "-c", code], env=child_env(), stdout=subprocess.PIPE,
                            text=True)


def test_failover_between_processes(node_factory, dbdir):
    child = spawn("py-child", dbdir)
    try:
        assert child.stdout.readline().strip() == "owner"
        a = node_factory("py-parent")
        a.register_task("job")
        a.join()
        time.sleep(3 * TIMEOUT_S / 3)
        assert a.acquire_task("job") is None  # the child still owns it
        child.send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        wait_until("the parent owns the task after the child's SIGKILL",
                   lambda: a.acquire_task("job"), timeout_s=10)
        took = time.monotonic() - t0
        # a crash is found after the timeout; then one or two intervals
        assert took < TIMEOUT_S + 2.0, took
    finally:
        child.kill()
        child.wait()


def test_asyncio_events(dbdir):
    async def main():
        n = cc.Node(settings("py-aio", dbdir))
        try:
            it = n.events()  # before join: host dispatch on this loop
            n.register_task("aio-job")
            n.join()
            got = []
            async for ev in it:
                got.append(ev)
                if ev.kind == "task" and ev.event is cc.TaskEvent.ASSIGNED:
                    break
            assert ev.name == "aio-job" and ev.fence > 0
            assert any(e.kind == "member" and e.event is cc.MemberEvent.LEADER_CHANGED
                       for e in got), got
        finally:
            n.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_gil_held_for_ten_timeouts_keeps_node(node_factory, dbdir):
    """The main thread holds the GIL (a C sleep through PyDLL, which keeps
    it) for ten timeouts while another process joins: the node's callbacks
    and log lines wait, its heartbeat does not, so the leader (a third
    process) never evicts it and it never loses its task.  Before log
    lines went through the dispatcher, the heartbeat thread's "Member
    added" line waited for the GIL: the node was evicted."""
    logging.getLogger("clustercoord").setLevel(logging.INFO)  # "Member added" is logged
    leader = spawn("py-leader", dbdir)  # joins first: the leader
    visitor = None
    try:
        assert leader.stdout.readline().strip() == "owner"
        a = node_factory("py-gil")
        events = []
        a.on_member_change(lambda node, ev, mid: events.append((ev, mid)))
        a.on_task_change(lambda node, ev, task, fence: events.append((ev, task)))
        a.register_task("gil-job")
        a.join()
        f1 = wait_until("py-gil owns its task", lambda: a.acquire_task("gil-job"))
        visitor = spawn("py-visitor", dbdir)  # joins during the hold
        time.sleep(0.05)
        ctypes.PyDLL(None).usleep(int(10 * TIMEOUT_S * 1e6))  # the GIL is held throughout
        wait_until("the visitor's ADDED", lambda: any(
            ev is cc.MemberEvent.ADDED and mid == "py-visitor" for ev, mid in events))
        assert not any(ev is cc.MemberEvent.SELF_EVICTED for ev, _ in events), events
        assert not any(ev is cc.TaskEvent.REVOKED for ev, _ in events), events
        assert a.acquire_task("gil-job") == f1
    finally:
        for p in (leader, visitor):
            if p:
                p.kill()
                p.wait()


def test_host_dispatch_runs_callbacks_here(node_factory):
    """event_fd() before join: callbacks only inside dispatch(), here."""
    import select
    import threading
    n = node_factory("py-host")
    seen = []
    n.on_task_change(lambda node, ev, task, fence: seen.append((ev, threading.get_ident())))
    fd = n.event_fd()
    n.register_task("py-task")
    n.join()
    deadline = time.monotonic() + 10
    while not any(ev is cc.TaskEvent.ASSIGNED for ev, _ in seen):
        assert time.monotonic() < deadline, "no ASSIGNED dispatched"
        if select.select([fd], [], [], 0.05)[0]:
            assert n.dispatch() >= 0
    assert all(tid == threading.get_ident() for _, tid in seen), seen
