"""Shared helpers for the clustercoord package's tests (pytest).

The package under test is the one on sys.path: bindings/python in the
tree (test/check-python.sh sets PYTHONPATH and LD_LIBRARY_PATH=build), or
an installed copy.  Every test runs its nodes on SQLite in a temporary
directory, at a 100 ms heartbeat (timeout 300 ms)."""

import os
import sys
import time

import pytest

import clustercoord as cc

INTERVAL_MS = 100
TIMEOUT_S = 3 * INTERVAL_MS / 1000


def settings(node_id, dbdir, interval_ms=INTERVAL_MS):
    return {"cluster_config": {"node_id": node_id, "heartbeat_interval": str(interval_ms)},
            "datasource": {"dbdir": str(dbdir)}}


def wait_until(what, predicate, timeout_s=10.0):
    """Polls predicate every 5 ms; its value, or AssertionError naming what."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.005)


@pytest.fixture
def dbdir(tmp_path):
    return tmp_path


@pytest.fixture
def node_factory(dbdir):
    """node_factory(node_id) -> a Node (not joined); all closed at the end."""
    made = []

    def make(node_id, **kw):
        n = cc.Node(settings(node_id, dbdir, **kw))
        made.append(n)
        return n

    yield make
    for n in reversed(made):
        n.close()


def child_env():
    """The environment a child Python process needs to import the same package."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.abspath(cc.__file__))
    env["PYTHONPATH"] = os.path.dirname(here) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("nodeId", None)
    return env


PYTHON = sys.executable
