#!/usr/bin/env python3
"""test/chaos/chaos.py: multi-process chaos test with an ownership checker.

Starts N node processes (test/chaos/node.c) on one database, lets a fault
injector loose on them and on the database, then checks every node's log.

Faults (chosen at random among those that apply; --kinds to restrict):
  kill     SIGKILL of a node; it is restarted 0.3-3 s later (same node id)
  term     SIGTERM of a node (graceful leave, must exit 0); restarted later
  stop     SIGSTOP of a node for timeout + 0.2-2 s, then SIGCONT
  clock    the node's wall clock (CLOCK_REALTIME as libfaketime fakes it)
           jumps by +1 h or -1 h while it runs, and back 1-5 s later
  dup      a second process started with a live node's id: must be refused
           (exit code 3 = CCOORD_EDUPNODE) and must not disturb anybody
  dbstop   PostgreSQL: pg_ctl stop -m fast, down 0.5-4 s, started again
  dbstall  PostgreSQL: SIGSTOP of the postmaster and all its backends for
           1-4 s, then SIGCONT
  dblock   SQLite: another process holds an EXCLUSIVE transaction on the
           database file for 1-4 s (SQLite's way of a stalled database)
  gstop    Galera (--galera-dir): one member stopped cleanly, down 0.5-4 s,
           started again (it rejoins by incremental state transfer)
  drain    ccoordctl drain of a node: it gives its tasks up (they must be
           owned elsewhere within the bound) and is undrained 1-4 s later
           (the drained node counts as down for --max-down)
  move     ccoordctl move of a task to another node that registered it
  gstall   Galera: SIGSTOP of one member's mariadbd for 1-4 s, then SIGCONT
           (shorter than galera.sh's 8 s suspect timeout: the others keep
           it in their view and wait for it: every member's commits stall
           until it resumes)

Galera.  With --galera-dir (a cluster test/db/galera.sh started) and one
--dsn per member, node slot i talks to member i mod the number of DSNs.

Clocks.  Every node runs under libfaketime (LD_PRELOAD) with
FAKETIME_DONT_FAKE_MONOTONIC=1 and a per-node FAKETIME_TIMESTAMP_FILE that
is re-read on every call (FAKETIME_NO_CACHE=1): writing "+1h" into it makes
that node's CLOCK_REALTIME, time() and gettimeofday() jump by an hour at
once, while CLOCK_MONOTONIC/CLOCK_BOOTTIME (what the library's liveness
rules use, DESIGN.md section 3) keep running.  (Without
FAKETIME_DONT_FAKE_MONOTONIC libfaketime derives the monotonic clocks from
the faked wall clock, which no real machine does.)  The logs are stamped
with the host's CLOCK_BOOTTIME read by raw system call, which libfaketime
cannot intercept: one clock shared by all processes, never skewed, never
stepped; the host's real CLOCK_REALTIME is logged beside it.

Checker (over all node logs, the state files of killed nodes and the
harness's own fault log):
  (a) safety: no two processes owned one task at overlapping times, with
      zero tolerance.  A node samples ccoord_acquire_task() every 10 ms and
      brackets each call with clock reads t0/t1.  An interval is *surely*
      owned from the first "yes" call's t1 to the last "yes" call's t0; two
      such intervals of different processes that touch are a violation.
      (A single-sample interval is a point somewhere in [t0, t1]: it is a
      violation when that window lies inside another's sure interval.)
      Overlaps of the wider [first t0, last t1] windows that are not sure
      overlaps can only come from a node preempted inside one poll; they
      are counted as "ambiguous" and printed, not failed.
  (b) fences only grow: a new ownership interval of a task has a fence
      greater than every fence any process had for it before; equal is
      allowed only for the same process resuming with no other owner in
      between (a lapsed lease that came back before the node was evicted).
  (c) liveness: every task is owned again within timeout + 2 x interval
      + slack (default 2 s: process start, schedulers, a 2-core CI box)
      after the later of the moment it lost its owner and the last fault
      that touched it.  A fault touches a task when it hit the task's owner
      or the leader, or the task was unowned then; database faults touch
      every task and count from the moment the database is back; dup and
      clock faults touch nothing (they must not disturb anybody).
  (d) no task lost: at the end (after a quiet period of the bound) every
      task had an owner during the last second.
  (e) every process that was not SIGKILLed exits 0 on SIGTERM (dups: 3),
      within 20 s; no process dies on its own.
  (f) with --schedule: no slot of a task fires twice in any process, and
      in slot order the fences never go back (the slot's compare-and-set
      on the fence is what makes both hold); with --count-task N, the task
      count-00 (interval=150;count=N) fires exactly N times in all.

Exit status: 0 all checks passed, 1 a violation, 2 the harness failed.
"""

import argparse
import heapq
import json
import os
import random
import shlex
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

FAKETIME_LIB_CANDIDATES = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
]

REC = struct.Struct("<7q")  # seq, owned, fence, first_t0, first_t1, last_t0, last_t1
NS = 1_000_000_000


def now():
    """Host CLOCK_BOOTTIME in ns: the clock the nodes log with."""
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def fmt_t(t, base):
    return "%.3f" % ((t - base) / NS)


class Proc:
    seq = 0

    def __init__(self, slot, node_id, kind):
        Proc.seq += 1
        self.n = Proc.seq
        self.slot = slot
        self.node_id = node_id
        self.kind = kind  # "node" or "dup"
        self.popen = None
        self.pid = None
        self.spawn_t = None
        self.death_t = None  # when it could not say yes any more (killed)
        self.term_t = None
        self.killed = False
        self.stopped = False
        self.rc = None
        self.expect_rc = 0 if kind == "node" else 3
        self.exit_reason = None
        self.log = None
        self.state = None
        self.errlog = None


class Harness:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.dir = a.dir
        self.t_base = now()
        self.procs = []  # every process ever started
        self.slots = [None] * a.nodes  # current node process per slot
        self.down_until = {}  # slot -> scheduled restart
        self.sched = []  # heap of (t, seq, fn)
        self.sched_seq = 0
        self.events = []  # fault log for the checker
        self.counts = {}
        self.problems = []  # harness-observed violations
        self.notes = []  # worth a look, not violations
        self.db_busy = False
        self.dup_pending = None  # (proc, target slot)
        self.protected = set()  # slots a pending dup relies on
        self.busy = set()  # slots stopped / dead / mid-operation
        self.last_disturb = {}  # slot -> time of the last fault on it
        self.last_db_fault_end = 0
        self.terming = []
        self.clock_busy = set()  # processes sent SIGTERM by a "term" fault
        self.clock_file = {}
        self.interval_ns = a.interval * 1_000_000
        self.timeout_ns = self.interval_ns * a.max_retry
        self.dblock_conn = None
        self.faketime = None
        for c in [a.faketime_lib] + FAKETIME_LIB_CANDIDATES:
            if c and os.path.exists(c):
                self.faketime = c
                break
        if a.kinds:
            self.kinds = a.kinds.split(",")
        elif a.backend == "pgsql":
            self.kinds = ["kill", "term", "stop", "clock", "dup", "drain", "move", "dbstop",
                          "dbstall"]
        elif a.galera_dir:
            self.kinds = ["kill", "term", "stop", "clock", "dup", "drain", "move", "gstop",
                          "gstall"]
        else:
            self.kinds = ["kill", "term", "stop", "clock", "dup", "drain", "move", "dblock"]
        if not os.path.exists(a.ctl_bin):
            for k in ("drain", "move"):
                if k in self.kinds:
                    self.kinds.remove(k)
        if not self.faketime and "clock" in self.kinds:
            print("chaos: libfaketime not found: no clock faults (apt-get install faketime)")
            self.kinds.remove("clock")
        self.weights = {"kill": 3, "term": 1, "stop": 3, "clock": 2, "dup": 1, "drain": 1,
                        "move": 1, "dbstop": 1, "dbstall": 1, "dblock": 1, "gstop": 1,
                        "gstall": 1}
        self.drained = None  # the slot drained now
        self.pg = PgControl(a) if a.backend == "pgsql" else None
        self.galera = GaleraControl(a) if a.galera_dir else None

    # ---- bookkeeping --------------------------------------------------
    def say(self, msg):
        line = "[%8s] %s" % (fmt_t(now(), self.t_base), msg)
        print(line, file=self.flog, flush=True)
        if self.a.verbose:
            print(line, flush=True)

    def at(self, t, fn):
        self.sched_seq += 1
        heapq.heappush(self.sched, (t, self.sched_seq, fn))

    def count(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def event(self, kind, t, touch, proc=None, touch_at=None, task=None):
        """touch: 'all', 'proc' (owner/leader/unowned rule at touch_at), 'unowned',
        'task' (that task), 'none'."""
        self.events.append({"kind": kind, "t": t, "touch": touch,
                            "proc": proc.n if proc else None, "task": task,
                            "touch_at": touch_at if touch_at is not None else t})

    def ctl(self, *args):
        """Runs ccoordctl with the nodes' settings; returns (exit status, output)."""
        cmd = [self.a.ctl_bin]
        for s in self.settings + self.dsn_settings[0]:
            cmd += ["--set", s]
        try:
            r = subprocess.run(cmd + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=20)
        except subprocess.TimeoutExpired:
            return -1, "timed out"
        return r.returncode, (r.stdout + r.stderr).strip()

    # ---- processes ----------------------------------------------------
    def node_args(self, p, extra=()):
        a = self.a
        args = [a.node_bin, "--id", p.node_id, "--log", p.log, "--state", p.state,
                "--tasks", str(a.tasks), "--poll-ms", str(a.poll_ms)]
        if a.schedule:
            args += ["--schedule", a.schedule]
        if a.count_task:
            args += ["--count-task", "interval=150;count=%d" % a.count_task]
        for s in self.settings + self.dsn_settings[p.slot % len(self.dsn_settings)]:
            args += ["--set", s]
        if a.selftest and p.slot == a.nodes - 1:
            # checker self-test: this node forms a cluster of its own over
            # the same task names, so the checker must see two owners
            args += ["--set", "cluster_config.group_id=chaos-selftest"]
        return args + list(extra)

    def spawn(self, slot, kind="node", node_id=None):
        p = Proc(slot, node_id or ("node-%d" % slot), kind)
        base = os.path.join(self.dir, "p%03d-%s-%s" % (p.n, kind, p.node_id))
        p.log, p.state, p.errlog = base + ".log", base + ".state", base + ".err"
        env = dict(os.environ)
        if self.faketime:
            env["LD_PRELOAD"] = self.faketime
            env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
            env["FAKETIME_NO_CACHE"] = "1"
            env["FAKETIME_TIMESTAMP_FILE"] = self.clock_file[slot]
        env.pop("nodeId", None)
        args = self.node_args(p, ["--no-retry"] if kind == "dup" else [])
        with open(p.errlog, "wb") as err:
            p.popen = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err,
                                       stderr=err, env=env, close_fds=True)
        p.pid = p.popen.pid
        p.spawn_t = now()
        self.procs.append(p)
        if kind == "node":
            self.slots[slot] = p
        self.say("spawn %s pid %d (%s) as p%d" % (p.node_id, p.pid, kind, p.n))
        return p

    def joined(self, p):
        try:
            with open(p.log) as f:
                for line in f:
                    if line.startswith("J ") and line.split()[2] == "0":
                        return True
        except OSError:
            pass
        return False

    def reap_unexpected(self):
        for p in self.procs:
            if p.rc is None and p not in self.terming and p.popen.poll() is not None:
                p.rc = p.popen.returncode
                if p.kind == "dup":
                    self.dup_done(p)
                    continue
                if p.exit_reason is None:
                    p.exit_reason = "died on its own"
                    p.death_t = now()
                    self.problems.append("(e) p%d %s pid %d died on its own with status %s"
                                         % (p.n, p.node_id, p.pid, p.rc))
                    self.say("UNEXPECTED exit of p%d: %s" % (p.n, p.rc))
                    if self.slots[p.slot] is p:
                        self.slots[p.slot] = None
                        self.busy.add(p.slot)
                        self.at(now() + NS, lambda s=p.slot: self.restart(s))

    def wait_stopped(self, p):
        """Until /proc says the process is stopped: from then it cannot say yes."""
        for _ in range(2000):
            try:
                with open("/proc/%d/stat" % p.pid) as f:
                    st = f.read().rsplit(")", 1)[1].split()[0]
                if st in ("T", "t"):
                    return True
            except OSError:
                return False
            time.sleep(0.001)
        return False

    # ---- faults ---------------------------------------------------------
    def eligible_slots(self, need_quiet=0):
        out = []
        t = now()
        for s, p in enumerate(self.slots):
            if p is None or s in self.busy or s in self.protected:
                continue
            if need_quiet and t - self.last_disturb.get(s, 0) < need_quiet:
                continue
            out.append(s)
        return out

    def disturbed(self):
        return len(self.busy)

    def choose(self):
        cand = []
        can_take_node = self.disturbed() < self.a.max_down
        slots = self.eligible_slots()
        for k in self.kinds:
            if k in ("kill", "term", "stop") and not (can_take_node and slots):
                continue
            # SIGTERM only once the handler is in (a node that has joined):
            # before that, SIGTERM's default action would kill it
            if k == "term" and not [x for x in slots if self.joined(self.slots[x])]:
                continue
            if k == "clock" and not [x for x in slots if x not in self.clock_busy]:
                continue
            if k == "dup":
                if self.dup_pending or self.db_busy:
                    continue
                if now() - self.last_db_fault_end < 3 * NS:
                    continue
                quiet = [s for s in self.eligible_slots(3 * NS)
                         if now() - self.slots[s].spawn_t > 3 * NS and self.joined(self.slots[s])]
                if not quiet:
                    continue
            if k in ("dbstop", "dbstall") and (self.db_busy or self.dup_pending or not self.pg):
                continue
            if k == "dblock" and (self.db_busy or self.dup_pending or self.a.backend != "sqlite3"):
                continue
            if k in ("gstop", "gstall") and (self.db_busy or self.dup_pending or not self.galera):
                continue
            # drain takes a node's tasks away like a stop would: one at a
            # time, counted as down; neither runs while the database is out
            if k == "drain" and (self.db_busy or self.drained is not None or
                                 not (can_take_node and
                                      [x for x in slots if self.joined(self.slots[x])])):
                continue
            if k == "move" and (self.db_busy or not [x for x in slots
                                                     if self.joined(self.slots[x])]):
                continue
            cand.append(k)
        if not cand:
            return None
        return self.rng.choices(cand, [self.weights.get(k, 1) for k in cand])[0]

    def fault(self, kind):
        t = now()
        if kind in ("kill", "term", "stop"):
            slots = self.eligible_slots()
            if kind == "term":
                slots = [x for x in slots if self.joined(self.slots[x])]
            slot = self.rng.choice(slots)
            p = self.slots[slot]
            self.busy.add(slot)
            self.last_disturb[slot] = t
            if kind == "kill":
                os.kill(p.pid, signal.SIGKILL)
                p.popen.wait()
                p.rc = p.popen.returncode
                p.killed = True
                p.exit_reason = "SIGKILL"
                p.death_t = now()
                self.slots[slot] = None
                self.event("kill", p.death_t, "proc", p, touch_at=t)
                delay = self.rng.uniform(0.3, 3.0)
                self.say("kill p%d %s pid %d; restart in %.2f s" % (p.n, p.node_id, p.pid, delay))
                self.at(now() + int(delay * NS), lambda: self.restart(slot))
            elif kind == "term":
                # asynchronous: the harness goes on (a database stall must
                # end on time even while a node takes long to leave)
                os.kill(p.pid, signal.SIGTERM)
                p.exit_reason = "SIGTERM"
                p.term_t = t
                self.terming.append(p)
                self.say("term p%d %s pid %d" % (p.n, p.node_id, p.pid))
            else:
                os.kill(p.pid, signal.SIGSTOP)
                self.wait_stopped(p)
                p.stopped = True
                ts = now()
                dur = self.timeout_ns / NS + self.rng.uniform(0.2, 2.0)
                self.event("stop", ts, "proc", p, touch_at=t)
                self.say("stop p%d %s pid %d for %.2f s" % (p.n, p.node_id, p.pid, dur))

                def cont(p=p, slot=slot, t_stop=t):
                    os.kill(p.pid, signal.SIGCONT)
                    p.stopped = False
                    self.busy.discard(slot)
                    self.last_disturb[slot] = now()
                    self.event("cont", now(), "proc", p, touch_at=t_stop)
                    self.say("cont p%d %s" % (p.n, p.node_id))
                self.at(ts + int(dur * NS), cont)
        elif kind == "drain":
            slot = self.rng.choice([x for x in self.eligible_slots() if self.joined(self.slots[x])])
            p = self.slots[slot]
            self.busy.add(slot)
            self.drained = slot
            self.last_disturb[slot] = t
            rc, out = self.ctl("drain", p.node_id)
            self.event("drain", now(), "proc", p, touch_at=t)
            dur = self.rng.uniform(1.0, 4.0)
            self.say("drain p%d %s: exit %d (%s); undrain in %.2f s" % (p.n, p.node_id, rc, out, dur))
            if rc not in (0, 1):
                self.problems.append("(e) ccoordctl drain %s exited %d: %s" % (p.node_id, rc, out))

            def undrain(slot=slot, p=p, tries=0):
                rc, out = self.ctl("undrain", p.node_id)
                if rc == 3 and tries < 40:
                    # a database fault began meanwhile (a dblock outlasts
                    # the command's connect_timeout): the undrain is not
                    # the fault under test; ask again once it is over
                    self.say("undrain p%d %s: exit 3 (%s); again in 0.5 s" % (p.n, p.node_id, out))
                    self.at(now() + NS // 2, lambda: undrain(slot, p, tries + 1))
                    return
                self.drained = None
                self.busy.discard(slot)
                self.last_disturb[slot] = now()
                self.event("undrain", now(), "unowned", p)
                self.say("undrain p%d %s: exit %d (%s)" % (p.n, p.node_id, rc, out))
                if rc not in (0, 1):
                    self.problems.append("(e) ccoordctl undrain %s exited %d: %s"
                                         % (p.node_id, rc, out))
            self.at(now() + int(dur * NS), undrain)
        elif kind == "move":
            slot = self.rng.choice([x for x in self.eligible_slots() if self.joined(self.slots[x])])
            p = self.slots[slot]
            task = "task-%02d" % self.rng.randrange(self.a.tasks)
            rc, out = self.ctl("move", task, p.node_id)
            self.event("move", now(), "task", p, touch_at=t, task=task)
            self.say("move %s to p%d %s: exit %d (%s)" % (task, p.n, p.node_id, rc, out))
            # 1: refused (the node is drained, or the task changed meanwhile)
            if rc not in (0, 1):
                self.problems.append("(e) ccoordctl move %s %s exited %d: %s"
                                     % (task, p.node_id, rc, out))
        elif kind == "clock":
            slot = self.rng.choice([x for x in self.eligible_slots() if x not in self.clock_busy])
            p = self.slots[slot]
            self.clock_busy.add(slot)
            jump = self.rng.choice(["+1h", "-1h"])
            self.write_clock(slot, jump)
            dur = self.rng.uniform(1.0, 5.0)
            self.event("clock", t, "none", p)
            self.say("clock of %s jumps %s for %.2f s" % (p.node_id, jump, dur))

            def back(slot=slot):
                self.write_clock(slot, "+0")
                self.clock_busy.discard(slot)
                self.say("clock of node-%d back" % slot)
            self.at(t + int(dur * NS), back)
        elif kind == "dup":
            quiet = [s for s in self.eligible_slots(3 * NS)
                     if now() - self.slots[s].spawn_t > 3 * NS and self.joined(self.slots[s])]
            slot = self.rng.choice(quiet)
            target = self.slots[slot]
            self.protected.add(slot)
            d = self.spawn(slot, "dup", target.node_id)
            self.dup_pending = (d, slot)
            self.event("dup", t, "none", d)
            self.say("dup of %s (p%d) started as p%d" % (target.node_id, target.n, d.n))
        elif kind == "dbstop":
            self.db_busy = True
            self.pg.stop()
            dur = self.rng.uniform(0.5, 4.0)
            self.say("database stopped (%.2f s to stop); start in %.2f s" % ((now() - t) / NS, dur))

            def start():
                t0 = now()
                self.pg.start()
                self.db_busy = False
                self.last_db_fault_end = now()
                self.event("dbstop", now(), "all", None, touch_at=t0)
                self.say("database started (%.2f s)" % ((now() - t0) / NS))
            self.at(now() + int(dur * NS), start)
        elif kind == "dbstall":
            self.db_busy = True
            pids = self.pg.stall()
            dur = self.rng.uniform(1.0, 4.0)
            self.say("database stalled (%d processes) for %.2f s" % (len(pids), dur))

            def resume(pids=pids):
                self.pg.resume(pids)
                self.db_busy = False
                self.last_db_fault_end = now()
                self.event("dbstall", now(), "all", None)
                self.say("database resumed")
            self.at(now() + int(dur * NS), resume)
        elif kind == "dblock":
            self.db_busy = True
            path = os.path.join(self.dir, "db", "chaos.db")
            c = sqlite3.connect(path, timeout=10, isolation_level=None)
            c.execute("BEGIN EXCLUSIVE")
            dur = self.rng.uniform(1.0, 4.0)
            self.say("sqlite file locked (%.2f s to get the lock) for %.2f s" % ((now() - t) / NS, dur))

            def unlock(c=c):
                c.execute("COMMIT")
                c.close()
                self.db_busy = False
                self.last_db_fault_end = now()
                self.event("dblock", now(), "all", None)
                self.say("sqlite file unlocked")
            self.at(now() + int(dur * NS), unlock)
        elif kind == "gstop":
            # galera.sh takes seconds to stop a member and more to start it
            # (it waits until Synced): both run in the background, so that
            # the SIGCONTs and restarts due meanwhile keep their times
            self.db_busy = True
            m = self.rng.randrange(1, self.galera.members + 1)
            dur = self.rng.uniform(0.5, 4.0)

            def stopped(m=m, dur=dur):
                # the nodes on it lost their database when the stop began
                self.event("gstop", now(), "all", None, touch_at=t)
                self.say("galera member %d stopped (%.2f s to stop); start in %.2f s"
                         % (m, (now() - t) / NS, dur))
                self.at(now() + int(dur * NS), lambda: gstart())

            def gstart(m=m):
                t0 = now()

                def started():
                    self.db_busy = False
                    self.last_db_fault_end = now()
                    self.event("gstart", now(), "all", None, touch_at=t0)
                    self.say("galera member %d back and synced (%.2f s)" % (m, (now() - t0) / NS))
                self.when_done(self.galera.run_async("member-start", m), started)
            self.when_done(self.galera.run_async("member-stop", m), stopped)
        elif kind == "gstall":
            self.db_busy = True
            m = self.rng.randrange(1, self.galera.members + 1)
            pid = self.galera.stall(m)
            dur = self.rng.uniform(1.0, 4.0)
            self.say("galera member %d (pid %s) stalled for %.2f s" % (m, pid, dur))

            def gresume(m=m, pid=pid):
                self.galera.resume(pid)
                self.db_busy = False
                self.last_db_fault_end = now()
                self.event("gstall", now(), "all", None)
                self.say("galera member %d resumed" % m)
            self.at(now() + int(dur * NS), gresume)
        self.count(kind)

    def when_done(self, job, fn):
        """Calls fn once the background galera.sh job has exited (fails the
        run if it failed), looking every 50 ms."""
        def look():
            if job.poll() is None:
                self.at(now() + NS // 20, look)
                return
            self.galera.finished(job)
            fn()
        look()

    def write_clock(self, slot, text):
        tmp = self.clock_file[slot] + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.rename(tmp, self.clock_file[slot])

    def restart(self, slot):
        if self.slots[slot] is not None:
            return
        p = self.spawn(slot)
        self.busy.discard(slot)
        self.last_disturb[slot] = now()
        self.event("restart", p.spawn_t, "unowned", p)

    def dup_done(self, d):
        pend = self.dup_pending
        if not pend or pend[0] is not d:
            return
        self.dup_pending = None
        self.protected.discard(pend[1])
        d.exit_reason = "dup"
        d.death_t = now()
        self.say("dup p%d exited %s after %.2f s" % (d.n, d.rc, (d.death_t - d.spawn_t) / NS))
        if d.rc == 3:
            self.count("dup_refused")
        elif d.rc == 4 and self.dup_db_error(d):
            # join failed on the database before it could look at the id:
            # neither refused nor accepted; counted and shown, not failed
            self.count("dup_db_error")
            self.notes.append("dup p%d could not reach the database: %s" % (d.n, self.dup_db_error(d)))
        else:
            self.problems.append("(e) dup p%d with id %s exited %s (want 3 = CCOORD_EDUPNODE); "
                                 "see %s" % (d.n, d.node_id, d.rc, d.log))

    def check_terms(self, force=False):
        for p in list(self.terming):
            if p.popen.poll() is None:
                if now() - p.term_t < 20 * NS and not force:
                    continue
                if p.popen.poll() is None:
                    self.problems.append("(e) p%d %s did not exit within 20 s of SIGTERM"
                                         % (p.n, p.node_id))
                    self.say("p%d %s still running 20 s after SIGTERM: SIGKILL" % (p.n, p.node_id))
                    os.kill(p.pid, signal.SIGKILL)
                    p.popen.wait()
                    p.killed = True
            self.terming.remove(p)
            p.rc = p.popen.returncode
            p.death_t = now()
            if p.rc != 0 and not p.killed:
                self.problems.append("(e) p%d %s exited %s on SIGTERM (want 0)"
                                     % (p.n, p.node_id, p.rc))
            slot = p.slot
            self.slots[slot] = None
            self.event("term", p.death_t, "proc", p, touch_at=p.term_t)
            delay = self.rng.uniform(0.3, 3.0)
            self.say("term p%d %s: exit %s after %.2f s; restart in %.2f s"
                     % (p.n, p.node_id, p.rc, (p.death_t - p.term_t) / NS, delay))
            self.at(now() + int(delay * NS), lambda slot=slot: self.restart(slot))

    def target_lapses(self, target, t0, t1):
        """Times (s, harness clock) at which target's task callbacks said REVOKED in [t0, t1]."""
        out = []
        try:
            with open(target.log) as f:
                for line in f:
                    w = line.split()
                    if len(w) >= 3 and w[0] == "C" and w[2] == "12" and t0 <= int(w[1]) <= t1:
                        out.append(fmt_t(int(w[1]), self.t_base))
        except OSError:
            pass
        return out

    def dup_db_error(self, d):
        try:
            with open(d.log) as f:
                for line in f:
                    w = line.split(None, 4)
                    if len(w) >= 4 and w[0] == "J" and w[3] == "CCOORD_EDB":
                        return w[4].strip() if len(w) > 4 else "CCOORD_EDB"
        except OSError:
            pass
        return None

    def check_dup_timeout(self):
        pend = self.dup_pending
        if pend and self.joined(pend[0]):
            # the duplicate got in: end it now instead of letting it run on
            d, slot = pend
            target = self.slots[slot]
            lapses = self.target_lapses(target, d.spawn_t - NS, now()) if target else []
            self.problems.append(
                "(e) dup p%d with the id %s of live p%d JOINED (want CCOORD_EDUPNODE); %s; see %s"
                % (d.n, d.node_id, target.n if target else -1,
                   ("the target's own lease lapsed meanwhile at %s s (its heartbeat stalled for "
                    "a timeout, e.g. an overloaded host)" % ",".join(lapses[:3])) if lapses
                   else "the target had no lease lapse", d.log))
            os.kill(d.pid, signal.SIGTERM)
            try:
                d.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(d.pid, signal.SIGKILL)
                d.popen.wait()
                d.killed = True
            d.rc = d.popen.returncode
            d.exit_reason = "dup"
            d.death_t = now()
            self.dup_pending = None
            self.protected.discard(slot)
            self.say("dup p%d joined; terminated (exit %s)" % (d.n, d.rc))
            return
        if pend and now() - pend[0].spawn_t > (self.timeout_ns + 20 * NS):
            d = pend[0]
            self.problems.append("(e) dup p%d with id %s still running after %.1f s: killed"
                                 % (d.n, d.node_id, (now() - d.spawn_t) / NS))
            os.kill(d.pid, signal.SIGKILL)
            d.popen.wait()
            d.rc = d.popen.returncode
            d.killed = True
            self.dup_done(d)

    # ---- the run --------------------------------------------------------
    def run(self):
        a = self.a
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        self.flog = open(os.path.join(self.dir, "faults.log"), "w")
        for s in range(a.nodes):
            self.clock_file[s] = os.path.join(self.dir, "clock-%d" % s)
            self.write_clock(s, "+0")
        self.settings = [
            "cluster_config.heartbeat_interval=%d" % a.interval,
            "cluster_config.heartbeat_max_retry=%d" % a.max_retry,
            "cluster_config.group_id=chaos",
            "task_handling.resolving_period=1",
            "datasource.connect_timeout=%d" % a.connect_timeout,
            "datasource.table_prefix=%s" % a.prefix,
        ]
        if a.plugin_dir:
            self.settings.append("task_handling.plugin_dir=%s" % a.plugin_dir)
        if a.backend == "sqlite3":
            self.settings += ["datasource.driver=sqlite3",
                              "datasource.dbdir=%s" % os.path.join(self.dir, "db"),
                              "datasource.dbname=chaos.db"]
        else:
            self.settings.append("datasource.driver=%s" % a.backend)
        # one [datasource] set per --dsn; slot i takes set i mod their number
        self.dsn_settings = []
        for dsn in a.dsn or [""]:
            kvs = []
            for kv in shlex.split(dsn):
                k, v = kv.split("=", 1)
                kvs.append("datasource.%s=%s" % (k, v))
            self.dsn_settings.append(kvs)
        print("chaos: backend %s, %d nodes, %d tasks, heartbeat %d ms x %d, seed %d, dir %s"
              % (a.backend, a.nodes, a.tasks, a.interval, a.max_retry, a.seed, self.dir),
              flush=True)
        print("chaos: fault kinds: %s" % ",".join(self.kinds), flush=True)
        self.t_start = now()
        for s in range(a.nodes):
            p = self.spawn(s)
            self.event("start", p.spawn_t, "all", p)
        next_fault = now() + int(a.warmup * NS)
        deadline = self.t_start + int(a.duration * NS) if a.duration else None
        nfaults = 0
        last_print = now()
        try:
            while True:
                t = now()
                if deadline is not None and t >= deadline:
                    break
                if deadline is None and nfaults >= a.faults:
                    break
                while self.sched and self.sched[0][0] <= t:
                    _, _, fn = heapq.heappop(self.sched)
                    fn()
                self.reap_unexpected()
                self.check_terms()
                self.check_dup_timeout()
                if t >= next_fault:
                    k = self.choose()
                    if k:
                        self.fault(k)
                        nfaults += 1
                    next_fault = now() + int(self.rng.uniform(a.gap_min, a.gap_max) * NS)
                if now() - last_print > 30 * NS:
                    last_print = now()
                    print("chaos: %d faults so far (%.0f s)" % (nfaults, (now() - self.t_start) / NS),
                          flush=True)
                time.sleep(0.01)
            # Undo what is still pending (resume, restart, database back).
            while self.sched or self.terming:
                if not self.sched:
                    self.check_terms()
                    time.sleep(0.01)
                    continue
                t_due, _, fn = heapq.heappop(self.sched)
                while now() < t_due:
                    self.reap_unexpected()
                    self.check_terms()
                    time.sleep(0.01)
                fn()
            while self.dup_pending:
                self.reap_unexpected()
                self.check_dup_timeout()
                time.sleep(0.02)
            self.t_quiet = now()
            bound = self.bound_ns()
            quiet = bound + NS
            self.say("quiet for %.2f s" % (quiet / NS))
            end = now() + quiet
            while now() < end:
                self.reap_unexpected()
                time.sleep(0.02)
            self.t_end = now()
            self.say("end: SIGTERM to every node")
            live = [p for p in self.slots if p is not None and p.rc is None]
            for p in live:
                p.exit_reason = "SIGTERM"
                os.kill(p.pid, signal.SIGTERM)
            for p in live:
                try:
                    p.popen.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.problems.append("(e) p%d %s did not exit within 20 s of SIGTERM"
                                         % (p.n, p.node_id))
                    os.kill(p.pid, signal.SIGKILL)
                    p.popen.wait()
                    p.killed = True
                p.rc = p.popen.returncode
                p.death_t = now()
                if p.rc != 0 and not p.killed:
                    self.problems.append("(e) p%d %s exited %s on SIGTERM (want 0)"
                                         % (p.n, p.node_id, p.rc))
        finally:
            for p in self.procs:
                if p.popen.poll() is None:
                    try:
                        os.kill(p.pid, signal.SIGCONT)
                        os.kill(p.pid, signal.SIGKILL)
                    except OSError:
                        pass
                    p.popen.wait()
            if self.pg and self.db_busy:
                self.pg.recover()
            if self.galera and self.db_busy:
                self.galera.recover()
        return nfaults

    def bound_ns(self):
        return self.timeout_ns + 2 * self.interval_ns + int(self.a.slack * NS)


# ---- PostgreSQL control ------------------------------------------------
class PgControl:
    """Stops, starts and stalls the throwaway server test/db/servers.sh runs.

    --pg-datadir: its data directory (postmaster.pid and postmaster.opts
    are read there); the server runs as the owner of that directory.
    """

    def __init__(self, a):
        self.data = a.pg_datadir
        if not self.data or not os.path.isdir(self.data):
            raise SystemExit("chaos: pgsql needs --pg-datadir (the server's data directory)")
        st = os.stat(self.data)
        import pwd
        self.user = pwd.getpwuid(st.st_uid).pw_name
        self.bindir = a.pg_bindir or self.find_bindir()
        with open(os.path.join(self.data, "postmaster.opts")) as f:
            self.opts = shlex.split(f.read())
        # the server user must be able to write it: next to the data directory
        run = os.path.join(os.path.dirname(os.path.abspath(self.data)), "pgrun")
        self.logfile = os.path.join(run if os.path.isdir(run) else self.data, "server.log")

    def find_bindir(self):
        import glob
        for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
            if os.path.exists(os.path.join(d, "pg_ctl")):
                return d
        return os.path.dirname(shutil.which("pg_ctl") or "/usr/bin/pg_ctl")

    def as_user(self, args):
        if os.geteuid() == 0 and self.user != "root":
            return ["runuser", "-u", self.user, "--"] + args
        return args

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def children(self, pid):
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                out.append(int(d))
        return out

    def stop(self):
        subprocess.run(self.as_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                                     "-m", "fast", "-w", "-t", "60", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    def start(self):
        # postmaster.opts: the postgres binary and every option it was started with.
        args = [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-t", "60",
                "-l", self.logfile, "-o", self.strip_d(self.opts[1:]), "start"]
        r = subprocess.run(self.as_user(args), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        if r.returncode != 0:
            raise SystemExit("chaos: pg_ctl start failed (see %s)" % self.logfile)

    @staticmethod
    def strip_d(opts):
        out, skip = [], False
        for x in opts:
            if skip:
                skip = False
                continue
            if x == "-D":
                skip = True
                continue
            out.append(shlex.quote(x))
        return " ".join(out)

    def stall(self):
        pm = self.postmaster_pid()
        if not pm:
            return []
        os.kill(pm, signal.SIGSTOP)
        pids = [pm] + self.children(pm)
        for c in pids[1:]:
            try:
                os.kill(c, signal.SIGSTOP)
            except OSError:
                pass
        return pids

    def resume(self, pids):
        for c in reversed(pids):
            try:
                os.kill(c, signal.SIGCONT)
            except OSError:
                pass

    def recover(self):
        pm = self.postmaster_pid()
        if pm:
            self.resume([pm] + self.children(pm))
        else:
            self.start()


# ---- Galera control ------------------------------------------------------
class GaleraControl:
    """Stops, starts and stalls members of a test/db/galera.sh cluster."""

    def __init__(self, a):
        self.dir = a.galera_dir
        if not os.path.isfile(os.path.join(self.dir, "port")):
            raise SystemExit("chaos: --galera-dir %s holds no cluster (sh test/db/galera.sh start)"
                             % self.dir)
        self.script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "db",
                                   "galera.sh")
        self.members = 3

    def run(self, *args):
        r = subprocess.run(["sh", self.script] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, check=False)
        if r.returncode != 0:
            raise SystemExit("chaos: galera.sh %s failed: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout.strip()

    def start(self, m):
        self.run("member-start", self.dir, str(m))

    def run_async(self, verb, m):
        """galera.sh VERB DIR M in the background; finished() checks it."""
        job = subprocess.Popen(["sh", self.script, verb, self.dir, str(m)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        job.verb = "%s %d" % (verb, m)
        return job

    def finished(self, job):
        err = job.stderr.read()
        job.stderr.close()
        if job.returncode != 0:
            raise SystemExit("chaos: galera.sh %s failed: %s" % (job.verb, err.strip()))

    def stall(self, m):
        pid = int(self.run("member-pid", self.dir, str(m)))
        os.kill(pid, signal.SIGSTOP)
        return pid

    def resume(self, pid):
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass

    def recover(self):
        for m in range(1, self.members + 1):
            pid = self.run("member-pid", self.dir, str(m))
            if pid and os.path.exists("/proc/%s" % pid):
                self.resume(int(pid))
            else:
                self.start(m)


# ---- checker -------------------------------------------------------------
class Interval:
    __slots__ = ("proc", "task", "fence", "out0", "in0", "in1", "out1", "open")

    def sure(self):
        return self.in0 <= self.in1


def log_words(p):
    """The words of each non-empty line of p's log (none when unreadable)."""
    try:
        f = open(p.log, errors="replace")
    except OSError:
        return
    with f:
        for line in f:
            w = line.split()
            if w:
                yield w


def parse_logs(h):
    """Intervals per task, leader periods per process."""
    ivs = {}
    leader = {}  # proc n -> [(t0, t1)]
    for p in h.procs:  # dups too: one that got in must not have owned anything twice
        open_ = {}
        lead_since = None
        lead = leader.setdefault(p.n, [])
        for w in log_words(p):
            if w[0] == "B" and len(w) >= 5:
                iv = Interval()
                iv.proc, iv.task, iv.fence = p, w[1], int(w[2])
                iv.out0, iv.in0 = int(w[3]), int(w[4])
                iv.in1 = iv.out1 = None
                iv.open = True
                open_[w[1]] = iv
            elif w[0] == "E" and len(w) >= 6:
                iv = open_.pop(w[1], None)
                if iv is None:
                    continue
                iv.in1, iv.out1 = int(w[3]), int(w[4])
                iv.open = False
                ivs.setdefault(iv.task, []).append(iv)
            elif w[0] == "L" and len(w) >= 3:
                if w[2] == "1" and lead_since is None:
                    lead_since = int(w[1])
                elif w[2] == "0" and lead_since is not None:
                    lead.append((lead_since, int(w[1])))
                    lead_since = None
        end = p.death_t or now()
        if lead_since is not None:
            lead.append((lead_since, end))
        # Intervals the process never closed (SIGKILL, crash): the state file
        # says up to when it said yes; it cannot have said yes after death_t.
        recs = {}
        try:
            with open(p.state, "rb") as f:
                data = f.read()
            for i in range(len(data) // REC.size):
                recs["task-%02d" % i] = REC.unpack_from(data, i * REC.size)
        except OSError:
            pass
        for task, iv in open_.items():
            r = recs.get(task)
            iv.out1 = end
            iv.in1 = iv.in0 if iv.in0 is not None else iv.out0
            if r and r[0] % 2 == 0 and r[1] == 1 and r[2] == iv.fence and r[4] == iv.in0:
                iv.in1 = max(iv.in1, r[5])
            ivs.setdefault(task, []).append(iv)
        # A record for an interval whose B line was never written (killed
        # between the state update and the write).
        for task, r in recs.items():
            if r[0] % 2 == 0 and r[1] == 1 and task not in open_ and p.killed:
                known = [iv for iv in ivs.get(task, []) if iv.proc is p and iv.fence == r[2]]
                if not known:
                    iv = Interval()
                    iv.proc, iv.task, iv.fence = p, task, r[2]
                    iv.out0, iv.in0, iv.in1, iv.out1 = r[3], r[4], r[5], end
                    iv.open = True
                    ivs.setdefault(task, []).append(iv)
    return ivs, leader


def check_fires(h):
    """(f) schedules: no slot of a task fires twice anywhere, and in slot
    order the fences never go back.  Returns (violations, stats)."""
    fires = {}  # task -> [(slot, fence, boot, proc)]
    for p in h.procs:
        for w in log_words(p):
            if len(w) >= 5 and w[0] == "F":
                fires.setdefault(w[2], []).append((int(w[3]), int(w[4]), int(w[1]), p))
    viol = []
    total = 0
    for task, lst in sorted(fires.items()):
        total += len(lst)
        lst.sort(key=lambda x: (x[0], x[2]))
        for x, y in zip(lst, lst[1:]):
            if x[0] == y[0]:
                viol.append("(f) %s: slot %d fired twice: by p%d %s (fence %d) and p%d %s "
                            "(fence %d)" % (task, x[0], x[3].n, x[3].node_id, x[1], y[3].n,
                                            y[3].node_id, y[1]))
            elif y[1] < x[1]:
                viol.append("(f) %s: slot %d fired with fence %d after slot %d with fence %d"
                            % (task, y[0], y[1], x[0], x[1]))
    return viol, {"fires": total, "tasks": len(fires),
                  "count_fires": len(fires.get("count-00", []))}


def check(h):
    a = h.a
    base = h.t_base
    ivs, leader = parse_logs(h)
    tasks = ["task-%02d" % i for i in range(a.tasks)]
    viol = list(h.problems)
    ambiguous = []
    n_iv = sum(len(v) for v in ivs.values())

    def who(iv):
        return "p%d %s (pid %d) fence %d [%s..%s]" % (
            iv.proc.n, iv.proc.node_id, iv.proc.pid, iv.fence, fmt_t(iv.out0, base),
            fmt_t(iv.out1, base))

    # (a) overlaps
    for task in tasks:
        lst = sorted(ivs.get(task, []), key=lambda iv: iv.out0)
        for i, x in enumerate(lst):
            for y in lst[i + 1:]:
                if y.out0 > x.out1:
                    break
                if x.proc is y.proc:
                    continue
                sure = False
                if x.sure() and y.sure():
                    sure = max(x.in0, y.in0) <= min(x.in1, y.in1)
                elif x.sure():
                    sure = x.in0 <= y.out0 and y.out1 <= x.in1
                elif y.sure():
                    sure = y.in0 <= x.out0 and x.out1 <= y.in1
                if sure:
                    viol.append("(a) %s owned by two processes at once: %s and %s"
                                % (task, who(x), who(y)))
                else:
                    ambiguous.append("%s: %s and %s" % (task, who(x), who(y)))

    # (b) fences
    for task in tasks:
        lst = sorted(ivs.get(task, []), key=lambda iv: iv.in0)
        best, best_iv, prev = -1, None, None
        for iv in lst:
            if iv.fence > best:
                best, best_iv = iv.fence, iv
            elif iv.fence == best and best_iv.proc is iv.proc and prev is not None and prev.proc is iv.proc:
                pass
            else:
                viol.append("(b) %s: fence did not grow: %s after %s"
                            % (task, who(iv), who(best_iv)))
            prev = iv

    # (c) liveness and (d) lost tasks
    bound = h.bound_ns()

    def owner_at(task, t):
        return [iv.proc.n for iv in ivs.get(task, []) if iv.out0 <= t <= iv.out1]

    def leader_at(pn, t):
        return any(s <= t <= e for s, e in leader.get(pn, []))

    touch_cache = []
    for ev in h.events:
        if ev["touch"] == "all":
            tt = set(tasks)
        elif ev["touch"] == "none":
            tt = set()
        elif ev["touch"] == "task":
            tt = {ev["task"]}
        else:
            ta = ev["touch_at"]
            if ev["touch"] == "proc" and leader_at(ev["proc"], ta):
                tt = set(tasks)
            else:
                tt = set()
                for task in tasks:
                    own = owner_at(task, ta)
                    if not own or (ev["touch"] == "proc" and ev["proc"] in own):
                        tt.add(task)
        touch_cache.append((ev["t"], tt, ev))

    worst = {}
    for task in tasks:
        cover = sorted((iv.in0 if iv.sure() else iv.out0, iv.in1 if iv.sure() else iv.out1)
                       for iv in ivs.get(task, []))
        gaps = []
        cur = h.t_start
        for s, e in cover:
            if s > cur:
                gaps.append((cur, s))
            cur = max(cur, e)
        if cur < h.t_end:
            gaps.append((cur, h.t_end))
        for g0, g1 in gaps:
            ref, why = g0, "lost its owner"
            for t, tt, ev in touch_cache:
                if task in tt and t <= g1 and t > ref:
                    ref, why = t, "%s fault" % ev["kind"]
            if g1 - ref > bound:
                viol.append("(c) %s unowned from %s to %s: %.2f s after its %s at %s (bound %.2f s)"
                            % (task, fmt_t(g0, base), fmt_t(g1, base), (g1 - ref) / NS, why,
                               fmt_t(ref, base), bound / NS))
            if g1 - ref > worst.get("v", 0):
                worst = {"v": g1 - ref, "task": task, "at": fmt_t(g1, base), "why": why}
    # (d): owned by someone during the last second before the end (a lease
    # that lapses for a moment on a loaded host is not a lost task; gaps
    # longer than the bound are (c) violations anyway)
    w0, w1 = h.t_end - NS, h.t_end
    for task in tasks:
        if not any(iv.in0 <= w1 and iv.in1 >= w0 for iv in ivs.get(task, [])
                   if iv.sure()):
            viol.append("(d) %s has no owner at the end (%s..%s)"
                        % (task, fmt_t(w0, base), fmt_t(w1, base)))
    return viol, ambiguous, n_iv, worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="sqlite3", choices=["sqlite3", "pgsql", "mysql"])
    ap.add_argument("--dsn", action="append", default=None,
                    help='server backends: "host=... port=... username=... password=... dbname=..."; '
                    'once per database server, node i uses the (i mod count)th')
    ap.add_argument("--galera-dir", default=None,
                    help="a Galera cluster of test/db/galera.sh: adds the gstop and gstall faults")
    ap.add_argument("--node-bin", default="build/test/chaos-node")
    ap.add_argument("--schedule", default=None,
                    help="schedule the tasks with this trigger (e.g. interval=150) and check "
                         "that no slot fires twice")
    ap.add_argument("--count-task", type=int, default=0,
                    help="also schedule count-00 with interval=150;count=N on every node and "
                         "check that it fires exactly N times in all")
    ap.add_argument("--ctl-bin", default="build/bin/ccoordctl",
                    help="ccoordctl for the drain and move faults")
    ap.add_argument("--plugin-dir", default="build/drivers")
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--interval", type=int, default=200, help="heartbeat_interval, ms")
    ap.add_argument("--max-retry", type=int, default=3, help="heartbeat_max_retry")
    ap.add_argument("--connect-timeout", type=int, default=2)
    ap.add_argument("--poll-ms", type=int, default=10)
    ap.add_argument("--faults", type=int, default=30)
    ap.add_argument("--duration", type=float, default=0, help="seconds instead of --faults")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--kinds", default="", help="comma-separated fault kinds (default: all that apply)")
    ap.add_argument("--gap-min", type=float, default=0.3, help="seconds between faults, min")
    ap.add_argument("--gap-max", type=float, default=1.8)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--slack", type=float, default=2.0, help="seconds added to timeout + 2 intervals")
    ap.add_argument("--max-down", type=int, default=0, help="nodes dead/stopped at once (default nodes/2)")
    ap.add_argument("--dir", default=None, help="run directory (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the run directory when the run passes")
    ap.add_argument("--pg-datadir", default=os.environ.get("CHAOS_PG_DATADIR"))
    ap.add_argument("--pg-bindir", default=None)
    ap.add_argument("--faketime-lib", default=os.environ.get("CHAOS_FAKETIME_LIB"))
    ap.add_argument("--prefix", default=None, help="table_prefix (default: per run)")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--selftest", action="store_true",
                    help="put the last node in a group of its own: the checker must report overlaps")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 2**31)
    if not a.max_down:
        a.max_down = max(1, a.nodes // 2)
    made_dir = a.dir is None
    if made_dir:
        a.dir = tempfile.mkdtemp(prefix="ccoord-chaos-%s-" % a.backend)
    os.makedirs(a.dir, exist_ok=True)
    if a.prefix is None:
        a.prefix = "chaos%d_" % (os.getpid() % 100000)
    if not os.access(a.node_bin, os.X_OK):
        print("chaos: %s not built (make %s)" % (a.node_bin, a.node_bin), file=sys.stderr)
        return 2
    h = Harness(a)
    # SIGTERM/SIGINT/SIGHUP: unwind, so run()'s finally ends every node process
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    t0 = time.time()
    nfaults = h.run()
    viol, amb, n_iv, worst = check(h)
    fstats = None
    if a.schedule or a.count_task:
        fviol, fstats = check_fires(h)
        viol += fviol
        if fstats["fires"] == 0:
            viol.append("(f) --schedule %s: no fire at all" % a.schedule)
        cf = fstats["count_fires"]
        if a.count_task and cf > a.count_task:
            viol.append("(f) count-00 (interval=150;count=%d) fired %d time(s) in all: more "
                        "than its count" % (a.count_task, cf))
        elif a.count_task and cf < a.count_task:
            # on SQLite a node whose clock jumped ahead records slots the
            # others then wait for (no server clock to refuse them): fewer
            # fires is then the documented limit, not a violation
            if a.backend == "sqlite3" and h.counts.get("clock"):
                h.notes.append("count-00 fired %d of %d times: a clock fault on SQLite can hold "
                               "a schedule back (ccoord_task_schedule(3), NOTES)"
                               % (cf, a.count_task))
            else:
                viol.append("(f) count-00 (interval=150;count=%d) fired %d time(s) in all, want "
                            "exactly %d" % (a.count_task, cf, a.count_task))
    took = time.time() - t0
    counts = dict(sorted(h.counts.items()))
    faults = sum(v for k, v in counts.items() if k not in ("dup_refused", "dup_db_error"))
    summary = {"backend": a.backend, "seed": a.seed, "faults": faults, "per_kind": counts,
               "intervals": n_iv, "processes": len(h.procs), "ambiguous": len(amb),
               "violations": len(viol), "seconds": round(took, 1),
               "longest_recovery_s": round(worst.get("v", 0) / NS, 3) if worst else 0,
               "bound_s": h.bound_ns() / NS}
    with open(os.path.join(a.dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("chaos: %s: %d faults in %.0f s: %s" % (a.backend, faults, took,
          ", ".join("%s %d" % kv for kv in counts.items())))
    print("chaos: %d ownership intervals from %d processes; longest recovery %.2f s "
          "(bound %.2f s: timeout %.2f + 2 x %.2f + slack %.2f)"
          % (n_iv, len(h.procs), summary["longest_recovery_s"], h.bound_ns() / NS,
             h.timeout_ns / NS, h.interval_ns / NS, a.slack))
    if worst:
        print("chaos: longest recovery: %s at %s after %s" % (worst["task"], worst["at"], worst["why"]))
    if fstats:
        summary["fires"] = fstats["fires"]
        print("chaos: schedule %s: %d fires of %d tasks, no slot twice, fences grow in slot "
              "order%s" % (a.schedule, fstats["fires"], fstats["tasks"],
                           ", count-00 fired %d time(s)" % fstats["count_fires"]
                           if a.count_task else "") if not
              [v for v in viol if v.startswith("(f)")] else
              "chaos: schedule %s: %d fires of %d tasks" % (a.schedule, fstats["fires"],
                                                          fstats["tasks"]))
    for x in amb[:10]:
        print("chaos: ambiguous (not a violation): %s" % x)
    for x in h.notes[:10]:
        print("chaos: note: %s" % x[:400])
    for v in viol[:50]:
        print("chaos: VIOLATION %s" % v)
    if len(viol) > 50:
        print("chaos: ... and %d more violations" % (len(viol) - 50))
    rerun = "python3 test/chaos/chaos.py --backend %s --seed %d --faults %d --nodes %d --tasks %d --interval %d" % (
        a.backend, a.seed, a.faults, a.nodes, a.tasks, a.interval)
    if viol:
        print("chaos: verdict FAIL (%s, seed %d): %d violations; logs in %s" % (a.backend, a.seed, len(viol), a.dir))
        print("chaos: repeat: %s" % rerun)
        return 1
    print("chaos: verdict PASS (%s, seed %d): no two owners, fences grow, every task "
          "re-owned within the bound, none lost, clean exits" % (a.backend, a.seed))
    if made_dir and not a.keep:
        shutil.rmtree(a.dir, ignore_errors=True)
    else:
        print("chaos: logs in %s" % a.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
