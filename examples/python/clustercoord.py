"""clustercoord: a ctypes binding of libclustercoord.

Several processes (or several nodes in one process) form a cluster through
a shared SQL database: membership, an elected leader, and named tasks each
owned by exactly one live node.  This module wraps the C API one to one
(see libclustercoord(7) and the man3 pages) with two classes:

    import clustercoord as cc

    cfg = cc.Config()                       # or cc.Config("node.conf")
    cfg.set("cluster_config", "node_id", "node-1")
    cfg.set("datasource", "dbdir", "/var/lib/myapp")
    with cc.Node(cfg) as node:              # the config may be closed now
        node.on_task_change(lambda n, ev, task, fence: print(ev, task, fence))
        node.register_task("sample-task")
        node.join()
        fence = node.acquire_task("sample-task")  # None unless we own it
        ...
    # leaving the with block leaves the cluster and frees the node

Errors raise CCoordError (status, name, strerror and the library's own
detail: ccoord_errmsg() or ccoord_config_error()).

The library is loaded by its SONAME, libclustercoord.so.1 (the bare .so is
a -dev file).  Set CCOORD_LIBRARY to a path, or call load(path) before
anything else, to use another copy (e.g. an uninstalled build/).

Member, task and log callbacks run on the node's dispatcher thread (ctypes
takes the GIL), never on the thread that heartbeats: a main thread that
holds the GIL for seconds delays the events and log lines, not the
heartbeat.  Or call event_fd() before join() and dispatch() from your own
loop (asyncio's loop.add_reader(fd, node.dispatch)): then they run on that
thread.  Callbacks may call any method of the node except close().
An exception in a callback is printed to stderr and otherwise ignored: it
cannot propagate into C.
"""

import atexit
import ctypes
import os
import sys
import threading
import traceback
import weakref
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char, c_char_p, c_int,
                    c_size_t, c_uint, c_uint64, c_void_p)

__all__ = [
    "CCoordError", "Config", "Node", "load", "version", "version_num", "strerror", "errname",
]

SONAME = "libclustercoord.so.1"
# The oldest library this binding works with (ccoord_version_num() form).
REQUIRED_VERSION_NUM = 0x010100  # ccoord_on_log_dispatched

# Status codes (CCOORD_STATUS_MAP in clustercoord.h; append-only there).
OK = 0
EINVAL = -1
ENOMEM = -2
ECONFIG = -3
EDB = -4
EPLUGIN = -5
EABI = -6
ENOTFOUND = -7
ECANCELED = -8
EMISUSE = -9
EFORKED = -10
ENOTOWNER = -11
ENOTLEADER = -12
EDUPNODE = -13
ENOTJOINED = -14
ESCHEMA = -15
ESTATE = -16

LOG_NONE, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = 0, 1, 2, 3, 4

MEMBER_ADDED = 1
MEMBER_REMOVED = 2
MEMBER_SELF_EVICTED = 3
MEMBER_LEADER_CHANGED = 4

TASK_ASSIGNED = 1
TASK_REVOKED = 2

TASK_ACTIVE = 1
TASK_PAUSED = 2
TASK_COMPLETED = 3


# ---- types -----------------------------------------------------------------

class _Config(Structure):
    """Opaque ccoord_config."""


class _Node(Structure):
    """Opaque ccoord_node."""


ConfigP = POINTER(_Config)
NodeP = POINTER(_Node)
_StrList = POINTER(c_char_p)  # char ** from ccoord_members / ccoord_owned_tasks
_CharP = POINTER(c_char)      # char * we must hand back to ccoord_free

LOG_CB = CFUNCTYPE(None, NodeP, c_int, c_char_p, c_void_p)
MEMBER_CB = CFUNCTYPE(None, NodeP, c_int, c_char_p, c_void_p)
TASK_CB = CFUNCTYPE(None, NodeP, c_int, c_char_p, c_uint64, c_void_p)

# Every exported function (lib/libclustercoord.map): (restype, argtypes).
SIGNATURES = {
    "ccoord_strerror": (c_char_p, [c_int]),
    "ccoord_errname": (c_char_p, [c_int]),
    "ccoord_version": (c_char_p, []),
    "ccoord_version_num": (c_uint, []),
    "ccoord_free": (None, [c_void_p]),
    "ccoord_config_new": (c_int, [POINTER(ConfigP)]),
    "ccoord_config_load": (c_int, [ConfigP, c_char_p]),
    "ccoord_config_load_mi": (c_int, [ConfigP, c_char_p]),
    "ccoord_config_set": (c_int, [ConfigP, c_char_p, c_char_p, c_char_p]),
    "ccoord_config_error": (c_char_p, [ConfigP]),
    "ccoord_config_free": (None, [ConfigP]),
    "ccoord_node_new": (c_int, [ConfigP, POINTER(NodeP)]),
    "ccoord_node_free": (None, [NodeP]),
    "ccoord_node_id": (c_char_p, [NodeP]),
    "ccoord_errmsg": (c_char_p, [NodeP]),
    "ccoord_join": (c_int, [NodeP]),
    "ccoord_leave": (c_int, [NodeP]),
    "ccoord_on_log": (c_int, [NodeP, LOG_CB, c_void_p]),
    "ccoord_on_log_dispatched": (c_int, [NodeP, LOG_CB, c_void_p]),
    "ccoord_set_log_level": (c_int, [NodeP, c_int]),
    "ccoord_on_member_change": (c_int, [NodeP, MEMBER_CB, c_void_p]),
    "ccoord_is_leader": (c_int, [NodeP]),
    "ccoord_members": (c_int, [NodeP, POINTER(_StrList), POINTER(c_size_t)]),
    "ccoord_free_list": (None, [_StrList, c_size_t]),
    "ccoord_leader": (c_int, [NodeP, POINTER(_CharP)]),
    "ccoord_on_task_change": (c_int, [NodeP, TASK_CB, c_void_p]),
    "ccoord_task_register": (c_int, [NodeP, c_char_p]),
    "ccoord_task_unregister": (c_int, [NodeP, c_char_p]),
    "ccoord_acquire_task": (c_int, [NodeP, c_char_p, POINTER(c_uint64)]),
    "ccoord_owned_tasks": (c_int, [NodeP, POINTER(_StrList), POINTER(c_size_t)]),
    "ccoord_resolve_tasks": (c_int, [NodeP]),
    "ccoord_event_fd": (c_int, [NodeP, ctypes.POINTER(c_int)]),
    "ccoord_dispatch": (c_int, [NodeP]),
    "ccoord_task_pause": (c_int, [NodeP, c_char_p]),
    "ccoord_task_resume": (c_int, [NodeP, c_char_p]),
    "ccoord_task_complete": (c_int, [NodeP, c_char_p]),
    "ccoord_task_state": (c_int, [NodeP, c_char_p, POINTER(c_int)]),
}

_lib = None
_lib_lock = threading.Lock()
# Nodes not closed yet: closed at exit, before the interpreter goes away
# under a background thread that may still call into Python.
_live_nodes = weakref.WeakSet()


@atexit.register
def _close_live_nodes():
    for node in list(_live_nodes):
        try:
            node.close()
        except Exception:
            pass


def load(path=None):
    """Loads the library (once) and returns the ctypes handle.

    path: explicit file; default $CCOORD_LIBRARY, else the SONAME through
    the dynamic linker's search (LD_LIBRARY_PATH, ld.so.cache)."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        name = path or os.environ.get("CCOORD_LIBRARY") or SONAME
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            raise OSError(
                f"cannot load {name}: {e}; install libclustercoord, or set CCOORD_LIBRARY "
                f"(or LD_LIBRARY_PATH) to a build of it") from e
        for fname, (restype, argtypes) in SIGNATURES.items():
            try:
                fn = getattr(lib, fname)
            except AttributeError as e:
                raise OSError(f"{name} does not export {fname}: too old a library?") from e
            fn.restype = restype
            fn.argtypes = argtypes
        have = lib.ccoord_version_num()
        if have < REQUIRED_VERSION_NUM:
            raise OSError(f"{name} is version {lib.ccoord_version().decode()}; this binding "
                          f"needs {REQUIRED_VERSION_NUM >> 16}.{(REQUIRED_VERSION_NUM >> 8) & 255}"
                          " or newer")
        _lib = lib
        return lib


def _b(s):
    """str -> bytes for the C API (UTF-8; surrogateescape round-trips ids)."""
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8", "surrogateescape")


def _s(b):
    return b.decode("utf-8", "surrogateescape") if b is not None else None


def version():
    """Version of the loaded library, e.g. "1.0.0"."""
    return _s(load().ccoord_version())


def version_num():
    return load().ccoord_version_num()


def strerror(status):
    return _s(load().ccoord_strerror(status))


def errname(status):
    return _s(load().ccoord_errname(status))


class CCoordError(Exception):
    """A libclustercoord call failed.

    status: the CCOORD_E* value; name: "CCOORD_EDB"...; strerror: its text;
    detail: the library's explanation (ccoord_errmsg / ccoord_config_error);
    function: the C function that failed."""

    def __init__(self, status, function, detail=""):
        self.status = status
        self.function = function
        self.name = errname(status)
        self.strerror = strerror(status)
        self.detail = detail or ""
        msg = f"{function}: {self.strerror} ({self.name})"
        if self.detail:
            msg += f": {self.detail}"
        super().__init__(msg)


# ---- configuration ----------------------------------------------------------

class Config:
    """A ccoord_config: the INI file of clustercoord.conf(5) and/or settings.

    Config(path=None, settings=None): settings is {section: {key: value}}.
    Settings made with set() take precedence over any file."""

    def __init__(self, path=None, settings=None):
        self._lib = load()
        h = ConfigP()
        rc = self._lib.ccoord_config_new(byref(h))
        if rc != OK:
            raise CCoordError(rc, "ccoord_config_new")
        self._h = h
        try:
            if path is not None:
                self.load(path)
            for section, keys in (settings or {}).items():
                for key, value in keys.items():
                    self.set(section, key, value)
        except BaseException:
            self.close()
            raise

    def _handle(self):
        if not self._h:
            raise CCoordError(EMISUSE, "Config", "the config is closed")
        return self._h

    def _check(self, rc, function):
        if rc != OK:
            raise CCoordError(rc, function, _s(self._lib.ccoord_config_error(self._h)))

    def load(self, path):
        """Reads an INI file on top of the current settings (all or nothing)."""
        self._check(self._lib.ccoord_config_load(self._handle(), _b(os.fspath(path))),
                    "ccoord_config_load")
        return self

    def load_mi(self, path):
        """Reads a WSO2 Micro Integrator deployment.toml unchanged (all or nothing)."""
        self._check(self._lib.ccoord_config_load_mi(self._handle(), _b(os.fspath(path))),
                    "ccoord_config_load_mi")
        return self

    def set(self, section, key, value):
        """Sets one key as the host program (same names and checks as the file)."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        self._check(self._lib.ccoord_config_set(self._handle(), _b(section), _b(key),
                                                _b(value)), "ccoord_config_set")
        return self

    @property
    def error(self):
        """The last load/set error ("" if none)."""
        return _s(self._lib.ccoord_config_error(self._handle()))

    def close(self):
        if getattr(self, "_h", None):
            self._lib.ccoord_config_free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


# ---- nodes --------------------------------------------------------------

class Node:
    """A ccoord_node: one member of the cluster.

    Node(config): config is a Config, a path to an INI file, or a
    {section: {key: value}} dict.  The node copies what it needs, so the
    Config may be closed at once.  Use as a context manager, or call
    close(): it leaves the cluster first if joined."""

    def __init__(self, config=None):
        self._lib = load()
        self._h = None
        self._keep = []  # every CFUNCTYPE object handed to C, until close()
        self._cb_threads = set()  # threads currently inside one of our callbacks
        self._cb_lock = threading.Lock()
        own = None
        if config is None:
            config = own = Config()
        elif isinstance(config, dict):
            config = own = Config(settings=config)
        elif not isinstance(config, Config):
            config = own = Config(path=config)
        try:
            h = NodeP()
            rc = self._lib.ccoord_node_new(config._handle(), byref(h))
            if rc != OK:
                raise CCoordError(rc, "ccoord_node_new",
                                  _s(self._lib.ccoord_config_error(config._handle())))
            self._h = h
            _live_nodes.add(self)
        finally:
            if own is not None:
                own.close()

    # -- plumbing
    def _handle(self):
        if not self._h:
            raise CCoordError(EMISUSE, "Node", "the node is closed")
        return self._h

    def _check(self, rc, function):
        if rc != OK:
            raise CCoordError(rc, function, _s(self._lib.ccoord_errmsg(self._h)))
        return rc

    def _wrap(self, fn, convert):
        """A C callback calling fn(self, *converted args); exceptions are
        printed, never propagated into C."""
        def trampoline(*args):
            me = threading.get_ident()
            with self._cb_lock:
                self._cb_threads.add(me)
            try:
                fn(self, *convert(*args))
            except BaseException:
                traceback.print_exc()
            finally:
                with self._cb_lock:
                    self._cb_threads.discard(me)
        return trampoline

    # -- identity
    @property
    def id(self):
        """The node id (ccoord_node_id)."""
        return _s(self._lib.ccoord_node_id(self._handle()))

    @property
    def errmsg(self):
        """Detail of this thread's last failed call on the node."""
        return _s(self._lib.ccoord_errmsg(self._handle()))

    # -- callbacks: fn(node, ...); None removes
    def on_log(self, fn):
        """fn(node, level, message) for each library log line (None: stderr).

        The lines travel with the events (ccoord_on_log_dispatched): fn runs
        on the dispatcher thread, or in your dispatch() loop, never on the
        thread that heartbeats, so a thread holding the GIL delays log lines,
        not the heartbeat.  fn may call the node as an event callback may."""
        cb = LOG_CB(self._wrap(fn, lambda n, lvl, msg, ud: (lvl, _s(msg)))) if fn else \
            ctypes.cast(None, LOG_CB)
        self._keep.append(cb)
        self._check(self._lib.ccoord_on_log_dispatched(self._handle(), cb, None),
                    "ccoord_on_log_dispatched")

    def set_log_level(self, level):
        self._check(self._lib.ccoord_set_log_level(self._handle(), level),
                    "ccoord_set_log_level")

    def on_member_change(self, fn):
        """fn(node, event, member_id); event is MEMBER_*."""
        cb = MEMBER_CB(self._wrap(fn, lambda n, ev, mid, ud: (ev, _s(mid)))) if fn else \
            ctypes.cast(None, MEMBER_CB)
        self._keep.append(cb)
        self._check(self._lib.ccoord_on_member_change(self._handle(), cb, None),
                    "ccoord_on_member_change")

    def on_task_change(self, fn):
        """fn(node, event, task, fence); event is TASK_ASSIGNED or TASK_REVOKED."""
        cb = TASK_CB(self._wrap(fn, lambda n, ev, t, f, ud: (ev, _s(t), f))) if fn else \
            ctypes.cast(None, TASK_CB)
        self._keep.append(cb)
        self._check(self._lib.ccoord_on_task_change(self._handle(), cb, None),
                    "ccoord_on_task_change")

    # -- host dispatch
    def event_fd(self):
        """Before join: callbacks run only inside dispatch(), on the thread
        that calls it; returns a descriptor readable while events wait (for
        select, selectors or asyncio's add_reader).  The node owns it."""
        fd = c_int(-1)
        self._check(self._lib.ccoord_event_fd(self._handle(), ctypes.byref(fd)),
                    "ccoord_event_fd")
        return fd.value

    def dispatch(self):
        """Runs the waiting callbacks here; returns how many ran."""
        rc = self._lib.ccoord_dispatch(self._handle())
        self._check(rc if rc < 0 else 0, "ccoord_dispatch")
        return rc

    # -- membership
    def join(self):
        self._check(self._lib.ccoord_join(self._handle()), "ccoord_join")

    def leave(self):
        """Graceful leave: hands this node's tasks over at once."""
        self._check(self._lib.ccoord_leave(self._handle()), "ccoord_leave")

    @property
    def is_leader(self):
        return self._lib.ccoord_is_leader(self._handle()) == 1

    def leader(self):
        """The leader's id as last read, or None when there is none."""
        p = _CharP()
        rc = self._lib.ccoord_leader(self._handle(), byref(p))
        if rc == ENOTFOUND:
            return None
        self._check(rc, "ccoord_leader")
        try:
            return _s(ctypes.string_at(p))
        finally:
            self._lib.ccoord_free(ctypes.cast(p, c_void_p))

    def _list(self, cfn, name):
        arr = _StrList()
        n = c_size_t()
        self._check(cfn(self._handle(), byref(arr), byref(n)), name)
        try:
            return [_s(arr[i]) for i in range(n.value)]
        finally:
            self._lib.ccoord_free_list(arr, n)

    def members(self):
        """Live members as last read, in join order."""
        return self._list(self._lib.ccoord_members, "ccoord_members")

    # -- tasks
    def register_task(self, task):
        self._check(self._lib.ccoord_task_register(self._handle(), _b(task)),
                    "ccoord_task_register")

    def unregister_task(self, task):
        self._check(self._lib.ccoord_task_unregister(self._handle(), _b(task)),
                    "ccoord_task_unregister")

    def acquire_task(self, task):
        """The fencing token if this node owns task now, else None."""
        fence = c_uint64()
        rc = self._lib.ccoord_acquire_task(self._handle(), _b(task), byref(fence))
        if rc == ENOTOWNER:
            return None
        self._check(rc, "ccoord_acquire_task")
        return fence.value

    def owned_tasks(self):
        """Tasks this node owns and may run now, sorted by name."""
        return self._list(self._lib.ccoord_owned_tasks, "ccoord_owned_tasks")

    def resolve_tasks(self):
        """One resolution pass now (leader only: CCoordError ENOTLEADER)."""
        self._check(self._lib.ccoord_resolve_tasks(self._handle()), "ccoord_resolve_tasks")

    def pause_task(self, task):
        self._check(self._lib.ccoord_task_pause(self._handle(), _b(task)), "ccoord_task_pause")

    def resume_task(self, task):
        self._check(self._lib.ccoord_task_resume(self._handle(), _b(task)),
                    "ccoord_task_resume")

    def complete_task(self, task):
        self._check(self._lib.ccoord_task_complete(self._handle(), _b(task)),
                    "ccoord_task_complete")

    def task_state(self, task):
        """TASK_ACTIVE, TASK_PAUSED or TASK_COMPLETED (a database read)."""
        st = c_int()
        self._check(self._lib.ccoord_task_state(self._handle(), _b(task), byref(st)),
                    "ccoord_task_state")
        return st.value

    # -- lifetime
    def close(self):
        """Leaves if joined, stops the library's thread, frees the node."""
        if not self._h:
            return
        with self._cb_lock:
            inside = threading.get_ident() in self._cb_threads
        if inside:
            raise CCoordError(EMISUSE, "ccoord_node_free",
                              "a node cannot be closed from one of its own callbacks")
        # The handle stays valid while ccoord_node_free runs: the graceful
        # leave inside it still fires callbacks (REVOKED) that may use it.
        h = self._h
        self._lib.ccoord_node_free(h)
        self._h = None
        _live_nodes.discard(self)
        self._keep.clear()  # no callback can run any more

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_h", None) and not sys.is_finalizing():
                self.close()
        except Exception:
            pass

    def __repr__(self):
        return f"<clustercoord.Node {self.id!r}>" if self._h else "<clustercoord.Node closed>"
