"""The package's surface: enums, exceptions, config, node lifecycle."""

import logging

import pytest

import clustercoord as cc
from conftest import settings, wait_until


def test_version_and_enums():
    assert cc.version().startswith("1.")
    assert cc.version_num() >= cc.REQUIRED_VERSION_NUM
    assert cc.MemberEvent.ADDED == cc.MEMBER_ADDED == 1
    assert cc.TaskEvent.REVOKED == cc.TASK_REVOKED == 2
    assert cc.TaskState.PAUSED == cc.TASK_PAUSED
    for st in cc.Status:
        assert cc.errname(st) == "CCOORD_" + st.name


def test_each_status_has_its_exception():
    for st in cc.Status:
        if st == cc.Status.OK:
            continue
        e = cc.CCoordError(st, "ccoord_x", "ccoord_x: what happened")
        assert isinstance(e, cc.CCoordError)
        assert type(e) is not cc.CCoordError, st
        assert e.status == st and e.name == "CCOORD_" + st.name
        # the detail names the function already: not said twice
        assert str(e).count("ccoord_x") == 1, str(e)
    assert isinstance(cc.CCoordError(cc.EINVAL, "f"), ValueError)
    assert isinstance(cc.CCoordError(cc.ENOTFOUND, "f"), LookupError)


def test_config_error_names_key(dbdir):
    with pytest.raises(cc.ConfigError) as ei:
        cc.Config(settings={"cluster_config": {"no_such_key": "1"}})
    assert ei.value.status == cc.Status.ECONFIG
    assert "no_such_key" in ei.value.detail
    p = dbdir / "node.conf"
    p.write_text("[cluster_config]\nnode_id = from-file\n")
    c = cc.Config.from_file(p)
    n = cc.Node(c)
    c.close()
    assert n.id == "from-file"
    n.close()


def test_mi_config(dbdir):
    p = dbdir / "deployment.toml"
    p.write_text('[[datasource]]\nid = "WSO2_COORDINATION_DB"\n'
                 f'url = "jdbc:sqlite:{dbdir}/clusterdb"\n')
    cc.Config.from_mi(p).close()
    p.write_text(p.read_text() + '[[datasource]]\nid = "WSO2_COORDINATION_DB"\n')
    with pytest.raises(cc.ConfigError) as ei:
        cc.Config.from_mi(p)
    assert "deployment.toml:5: datasource.id" in ei.value.detail


def test_not_joined_and_not_found(node_factory):
    n = node_factory("py-1")
    with pytest.raises(cc.NotJoined) as ei:
        n.members()
    assert str(ei.value).startswith("ccoord_members: node py-1 has not joined")
    n.join()
    with pytest.raises(cc.NotFound):
        n.task_state("nope")
    assert n.acquire_task("nope") is None


def test_context_manager_joins_and_leaves(dbdir):
    with cc.Node(settings("py-1", dbdir)) as n:
        n.join()  # a no-op in the block that joined: scripts that called it keep working
        wait_until("the node sees itself", lambda: n.members() == ["py-1"])
        with cc.Node(settings("py-2", dbdir)) as m:
            wait_until("two members", lambda: sorted(m.members()) == ["py-1", "py-2"])
        wait_until("py-2 left", lambda: n.members() == ["py-1"])


def test_events_are_enums_and_tasks_move(node_factory):
    a, b = node_factory("py-a"), node_factory("py-b")
    seen = []
    a.on_member_change(lambda node, ev, mid: seen.append((ev, mid)))
    b.on_task_change(lambda node, ev, task, fence: seen.append((ev, task, fence)))
    for n in (a, b):
        n.register_task("job")
        n.join()
    owner = wait_until("job owned", lambda: a if a.acquire_task("job") else
                       b if b.acquire_task("job") else None)
    other = b if owner is a else a
    f1 = owner.acquire_task("job")
    owner.leave()
    f2 = wait_until("job moved", lambda: other.acquire_task("job"))
    assert f2 > f1
    assert any(isinstance(e[0], cc.MemberEvent) for e in seen if len(e) == 2)
    assert any(e[0] is cc.TaskEvent.ASSIGNED for e in seen if len(e) == 3)


def test_schedule_fires_on_the_owner_each_slot_once(node_factory):
    a, b = node_factory("py-sa"), node_factory("py-sb")
    fires = []
    for n in (a, b):
        n.schedule_task("tick", "interval=100",
                        lambda node, task, fence, slot: fires.append((node.id, task, fence, slot)))
        n.join()
    wait_until("five fires", lambda: len(fires) >= 5)
    slots = [f[3] for f in list(fires)]
    assert len(set(slots)) == len(slots)  # each slot once
    assert all(s % 100 == 0 for s in slots)
    assert all(f[1] == "tick" and f[2] >= 1 for f in fires)
    with pytest.raises(cc.InvalidArgument) as ei:
        a.schedule_task("bad", "interval=5", lambda *x: None)
    assert "interval=5: not a whole number of ms in range" in str(ei.value)
    a.unschedule_task("tick")
    b.unschedule_task("tick")
    with pytest.raises(cc.NotFound):
        a.unschedule_task("tick")


def test_metrics_text(node_factory):
    n = node_factory("py-m")
    assert 'ccoord_joined{node="py-m",group="default"} 0\n' in n.metrics()
    n.join()
    wait_until("leader", lambda: n.is_leader)
    text = n.metrics()
    assert 'ccoord_is_leader{node="py-m",group="default"} 1\n' in text
    assert "# TYPE ccoord_heartbeats_total counter\n" in text


def test_log_lines_reach_logging(node_factory, caplog):
    caplog.set_level(logging.INFO, logger="clustercoord")
    n = node_factory("py-log")
    n.join()
    wait_until("the join line in logging",
               lambda: any("Successfully joined the cluster with id [py-log]" in r.getMessage()
                           for r in caplog.records))
    r = next(r for r in caplog.records if "Successfully joined" in r.getMessage())
    assert r.name == "clustercoord" and r.levelno == logging.INFO
    assert getattr(r, "ccoord_node") == "py-log"
