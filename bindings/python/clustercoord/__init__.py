"""clustercoord: the Python package of libclustercoord (a ctypes binding).

Several processes (or several nodes in one process) form a cluster through
a shared SQL database: membership, an elected leader, and named tasks each
owned by exactly one live node.  The package wraps the whole C API (see
libclustercoord(7) and the man3 pages)::

    import clustercoord as cc

    cfg = cc.Config.from_file("node.conf")      # or cc.Config(), .set(...)
    with cc.Node(cfg) as node:                  # joins; leaves at the end
        node.on_task_change(lambda n, ev, task, fence: print(ev.name, task))
        node.register_task("sample-task")
        fence = node.acquire_task("sample-task")  # None unless we own it

Events are IntEnums (MemberEvent, TaskEvent; they compare equal to the C
values).  Failures raise a subclass of CCoordError per status (NotOwner,
DatabaseError, ConfigError, ...), carrying .status, .name and .detail.
The library's log lines go to logging.getLogger("clustercoord") unless
on_log() sets another sink.

The library is loaded at import by its SONAME, libclustercoord.so.1 (or
$CCOORD_LIBRARY, a path), and its version is checked then.

Threads and the GIL: member, task and log callbacks run on the node's
dispatcher thread (ctypes takes the GIL there), never on the thread that
heartbeats, so a Python thread holding the GIL delays events, not the
heartbeat, and the node is never evicted for it.  In asyncio, iterate
``node.events()`` (host dispatch on the event loop's thread) instead of
setting callbacks.  Callbacks may call any method of the node except
close(); an exception in one is printed to stderr (it cannot propagate
into C).
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import enum
import logging
import os
import sys
import threading
import traceback
import weakref
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char, c_char_p, c_int,
                    c_size_t, c_uint, c_uint64, c_void_p)
from typing import (Any, AsyncIterator, Callable, Dict, List, Mapping, NamedTuple, Optional,
                    Union)

__version__ = "1.1.0"

__all__ = [
    "CCoordError", "Config", "Node", "Event", "MemberEvent", "TaskEvent", "TaskState",
    "LogLevel", "Status", "load", "version", "version_num", "strerror", "errname",
    "InvalidArgument", "OutOfMemory", "ConfigError", "DatabaseError", "PluginError",
    "ABIError", "NotFound", "Canceled", "Misuse", "Forked", "NotOwner", "NotLeader",
    "DuplicateNode", "NotJoined", "SchemaError", "StateError",
]

SONAME = "libclustercoord.so.1"
# The oldest library this binding works with (ccoord_version_num() form):
# 1.1 for ccoord_on_log_dispatched.
REQUIRED_VERSION_NUM = 0x010100


class Status(enum.IntEnum):
    """CCOORD_* status codes (CCOORD_STATUS_MAP in clustercoord.h)."""
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


class LogLevel(enum.IntEnum):
    NONE = 0
    ERROR = 1
    WARN = 2
    INFO = 3
    DEBUG = 4


class MemberEvent(enum.IntEnum):
    ADDED = 1
    REMOVED = 2
    SELF_EVICTED = 3
    LEADER_CHANGED = 4


class TaskEvent(enum.IntEnum):
    ASSIGNED = 1
    REVOKED = 2


class TaskState(enum.IntEnum):
    ACTIVE = 1
    PAUSED = 2
    COMPLETED = 3


# The names of the first versions of this binding, kept for their scripts.
OK, EINVAL, ENOMEM, ECONFIG, EDB, EPLUGIN, EABI, ENOTFOUND = (
    Status.OK, Status.EINVAL, Status.ENOMEM, Status.ECONFIG, Status.EDB, Status.EPLUGIN,
    Status.EABI, Status.ENOTFOUND)
ECANCELED, EMISUSE, EFORKED, ENOTOWNER, ENOTLEADER, EDUPNODE, ENOTJOINED = (
    Status.ECANCELED, Status.EMISUSE, Status.EFORKED, Status.ENOTOWNER, Status.ENOTLEADER,
    Status.EDUPNODE, Status.ENOTJOINED)
ESCHEMA, ESTATE = Status.ESCHEMA, Status.ESTATE
LOG_NONE, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = tuple(LogLevel)
MEMBER_ADDED, MEMBER_REMOVED, MEMBER_SELF_EVICTED, MEMBER_LEADER_CHANGED = tuple(MemberEvent)
TASK_ASSIGNED, TASK_REVOKED = tuple(TaskEvent)
TASK_ACTIVE, TASK_PAUSED, TASK_COMPLETED = tuple(TaskState)


class Event(NamedTuple):
    """One event from Node.events(): kind is "member", "task" or "log";
    event a MemberEvent, TaskEvent or LogLevel; name the member id, task
    name or log line; fence the task's fence (0 otherwise)."""
    kind: str
    event: int
    name: str
    fence: int = 0


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
FIRE_CB = CFUNCTYPE(None, NodeP, c_char_p, c_uint64, ctypes.c_int64, c_void_p)

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
    "ccoord_metrics": (c_int, [NodeP, POINTER(_CharP)]),
    "ccoord_task_schedule": (c_int, [NodeP, c_char_p, c_char_p, FIRE_CB, c_void_p]),
    "ccoord_task_unschedule": (c_int, [NodeP, c_char_p]),
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


def _enum(cls, value):
    """value as a member of the IntEnum cls, or the int when cls lacks it
    (a newer library's event)."""
    try:
        return cls(value)
    except ValueError:
        return value


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

    status: the Status (CCOORD_E*); name: "CCOORD_EDB"...; strerror: its
    text; detail: the library's explanation (ccoord_errmsg or
    ccoord_config_error), which names the C function already; function:
    the C function that failed.  Each status has its subclass (NotOwner,
    DatabaseError, ...); catch CCoordError for all."""

    def __init__(self, status: int, function: str, detail: str = "") -> None:
        try:
            self.status: int = Status(status)
        except ValueError:
            self.status = status
        self.function = function
        self.name = errname(status)
        self.strerror = strerror(status)
        self.detail = detail or ""
        if self.detail.startswith(function + ":"):
            msg = f"{self.detail} ({self.name})"
        elif self.detail:
            msg = f"{function}: {self.detail} ({self.name})"
        else:
            msg = f"{function}: {self.strerror} ({self.name})"
        super().__init__(msg)

    def __new__(cls, status: int = 0, *args: Any, **kwargs: Any) -> "CCoordError":
        # CCoordError(status, ...) builds the subclass of that status
        if cls is CCoordError:
            cls = _ERRORS.get(status, CCoordError)
        return super().__new__(cls)


class InvalidArgument(CCoordError, ValueError):
    """CCOORD_EINVAL"""


class OutOfMemory(CCoordError):
    """CCOORD_ENOMEM"""


class ConfigError(CCoordError):
    """CCOORD_ECONFIG"""


class DatabaseError(CCoordError):
    """CCOORD_EDB"""


class PluginError(CCoordError):
    """CCOORD_EPLUGIN"""


class ABIError(CCoordError):
    """CCOORD_EABI"""


class NotFound(CCoordError, LookupError):
    """CCOORD_ENOTFOUND"""


class Canceled(CCoordError):
    """CCOORD_ECANCELED"""


class Misuse(CCoordError):
    """CCOORD_EMISUSE"""


class Forked(CCoordError):
    """CCOORD_EFORKED"""


class NotOwner(CCoordError):
    """CCOORD_ENOTOWNER"""


class NotLeader(CCoordError):
    """CCOORD_ENOTLEADER"""


class DuplicateNode(CCoordError):
    """CCOORD_EDUPNODE"""


class NotJoined(CCoordError):
    """CCOORD_ENOTJOINED"""


class SchemaError(CCoordError):
    """CCOORD_ESCHEMA"""


class StateError(CCoordError):
    """CCOORD_ESTATE"""


_ERRORS: Dict[int, type] = {
    Status.EINVAL: InvalidArgument, Status.ENOMEM: OutOfMemory, Status.ECONFIG: ConfigError,
    Status.EDB: DatabaseError, Status.EPLUGIN: PluginError, Status.EABI: ABIError,
    Status.ENOTFOUND: NotFound, Status.ECANCELED: Canceled, Status.EMISUSE: Misuse,
    Status.EFORKED: Forked, Status.ENOTOWNER: NotOwner, Status.ENOTLEADER: NotLeader,
    Status.EDUPNODE: DuplicateNode, Status.ENOTJOINED: NotJoined,
    Status.ESCHEMA: SchemaError, Status.ESTATE: StateError,
}


# ---- configuration ----------------------------------------------------------

class Config:
    """A ccoord_config: the INI file of clustercoord.conf(5) and/or settings.

    Config(path=None, settings=None): settings is {section: {key: value}}.
    Settings made with set() take precedence over any file."""

    def __init__(self, path: Optional[Union[str, os.PathLike]] = None,
                 settings: Optional[Mapping[str, Mapping[str, Any]]] = None) -> None:
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

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike]) -> "Config":
        """A config read from an INI file (clustercoord.conf(5))."""
        return cls(path)

    @classmethod
    def from_mi(cls, path: Union[str, os.PathLike]) -> "Config":
        """A config read from a WSO2 Micro Integrator deployment.toml."""
        return cls().load_mi(path)

    def _handle(self):
        if not self._h:
            raise CCoordError(EMISUSE, "Config", "the config is closed")
        return self._h

    def _check(self, rc, function):
        if rc != OK:
            raise CCoordError(rc, function, _s(self._lib.ccoord_config_error(self._h)))

    def load(self, path: Union[str, os.PathLike]) -> "Config":
        """Reads an INI file on top of the current settings (all or nothing)."""
        self._check(self._lib.ccoord_config_load(self._handle(), _b(os.fspath(path))),
                    "ccoord_config_load")
        return self

    def load_mi(self, path: Union[str, os.PathLike]) -> "Config":
        """Reads a WSO2 Micro Integrator deployment.toml unchanged (all or nothing)."""
        self._check(self._lib.ccoord_config_load_mi(self._handle(), _b(os.fspath(path))),
                    "ccoord_config_load_mi")
        return self

    def set(self, section: str, key: str, value: Any) -> "Config":
        """Sets one key as the host program (same names and checks as the file)."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        self._check(self._lib.ccoord_config_set(self._handle(), _b(section), _b(key),
                                                _b(value)), "ccoord_config_set")
        return self

    @property
    def error(self) -> str:
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
    Config may be closed at once.  As a context manager it joins on enter
    (unless joined already) and leaves and frees the node on exit; or call
    join() and close() (which leaves first if joined).  Its log lines go to
    logging.getLogger("clustercoord") at the logger's level until on_log()
    sets another sink."""

    def __init__(self, config: Union["Config", str, os.PathLike,
                                      Mapping[str, Mapping[str, Any]], None] = None) -> None:
        self._lib = load()
        self._h = None
        self._joined = False
        self._entered = False  # inside the with block that joined
        self._aqueue: Optional[asyncio.Queue] = None
        self._aloop: Optional[asyncio.AbstractEventLoop] = None
        self._fd = -1
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
        self._bridge_logging()

    def _bridge_logging(self) -> None:
        """The library's lines to logging.getLogger("clustercoord")."""
        logger = logging.getLogger("clustercoord")
        levels = {LogLevel.ERROR: logging.ERROR, LogLevel.WARN: logging.WARNING,
                  LogLevel.INFO: logging.INFO, LogLevel.DEBUG: logging.DEBUG}
        node_id = self.id

        def to_logging(node: "Node", level: int, msg: str) -> None:
            logger.log(levels.get(level, logging.INFO), "%s", msg,
                       extra={"ccoord_node": node_id})

        self.on_log(to_logging)
        if logger.isEnabledFor(logging.DEBUG):
            self.set_log_level(LogLevel.DEBUG)
        elif not logger.isEnabledFor(logging.INFO):
            self.set_log_level(LogLevel.WARN if logger.isEnabledFor(logging.WARNING)
                               else LogLevel.ERROR)

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

    def _set_callback(self, function, cftype, fn, convert):
        """Hands C a cftype trampoline to fn (None removes it) through
        function; the object lives until close()."""
        cb = cftype(self._wrap(fn, convert)) if fn else ctypes.cast(None, cftype)
        self._keep.append(cb)
        self._check(getattr(self._lib, function)(self._handle(), cb, None), function)

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
    def on_log(self, fn: Optional[Callable[["Node", int, str], Any]]) -> None:
        """fn(node, level, message) for each library log line (None: stderr).

        The lines travel with the events (ccoord_on_log_dispatched): fn runs
        on the dispatcher thread, or in your dispatch() loop, never on the
        thread that heartbeats, so a thread holding the GIL delays log lines,
        not the heartbeat.  fn may call the node as an event callback may."""
        self._set_callback("ccoord_on_log_dispatched", LOG_CB, fn,
                           lambda n, lvl, msg, ud: (_enum(LogLevel, lvl), _s(msg)))

    def set_log_level(self, level: int) -> None:
        self._check(self._lib.ccoord_set_log_level(self._handle(), level),
                    "ccoord_set_log_level")

    def on_member_change(self, fn: Optional[Callable[["Node", MemberEvent, str], Any]]) -> None:
        """fn(node, event, member_id); event is a MemberEvent."""
        self._set_callback("ccoord_on_member_change", MEMBER_CB, fn,
                           lambda n, ev, mid, ud: (_enum(MemberEvent, ev), _s(mid)))

    def on_task_change(self, fn: Optional[Callable[["Node", TaskEvent, str, int], Any]]) -> None:
        """fn(node, event, task, fence); event is a TaskEvent."""
        self._set_callback("ccoord_on_task_change", TASK_CB, fn,
                           lambda n, ev, t, f, ud: (_enum(TaskEvent, ev), _s(t), f))

    # -- host dispatch
    def event_fd(self) -> int:
        """Before join: callbacks run only inside dispatch(), on the thread
        that calls it; returns a descriptor readable while events wait (for
        select, selectors or asyncio's add_reader).  The node owns it."""
        if self._fd >= 0:
            return self._fd
        fd = c_int(-1)
        self._check(self._lib.ccoord_event_fd(self._handle(), ctypes.byref(fd)),
                    "ccoord_event_fd")
        self._fd = fd.value
        return fd.value

    def dispatch(self) -> int:
        """Runs the waiting callbacks here; returns how many ran."""
        rc = self._lib.ccoord_dispatch(self._handle())
        self._check(rc if rc < 0 else 0, "ccoord_dispatch")
        return rc

    def events(self) -> AsyncIterator[Event]:
        """Events as an async iterator on the running asyncio loop.

        Call it before join(), in a coroutine: the node switches to host
        dispatch on the loop's thread (loop.add_reader on its event fd),
        and member and task events arrive as Event tuples; log lines keep
        going to the log sink, also from the loop.  Replaces the member
        and task callbacks.  Every call returns an iterator over the same
        queue."""
        if self._aqueue is None:
            loop = asyncio.get_running_loop()
            fd = self.event_fd()
            q: asyncio.Queue = asyncio.Queue()
            self.on_member_change(lambda n, ev, mid: q.put_nowait(Event("member", ev, mid)))
            self.on_task_change(lambda n, ev, t, f: q.put_nowait(Event("task", ev, t, f)))
            loop.add_reader(fd, self.dispatch)
            self._aqueue, self._aloop = q, loop
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[Event]:
        q = self._aqueue
        while True:
            yield await q.get()

    # -- membership
    def join(self) -> None:
        """Joins the cluster (a no-op inside the with block that joined)."""
        if self._joined and self._entered:
            return
        self._check(self._lib.ccoord_join(self._handle()), "ccoord_join")
        self._joined = True

    def leave(self) -> None:
        """Graceful leave: hands this node's tasks over at once."""
        self._check(self._lib.ccoord_leave(self._handle()), "ccoord_leave")
        self._joined = False

    @property
    def is_leader(self) -> bool:
        return self._lib.ccoord_is_leader(self._handle()) == 1

    def leader(self) -> Optional[str]:
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

    def metrics(self) -> str:
        """The node's metrics as Prometheus text (exposition 0.0.4); memory
        only, no database statement (ccoord_metrics(3))."""
        p = _CharP()
        self._check(self._lib.ccoord_metrics(self._handle(), byref(p)), "ccoord_metrics")
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

    def members(self) -> List[str]:
        """Live members as last read, in join order."""
        return self._list(self._lib.ccoord_members, "ccoord_members")

    # -- tasks
    def register_task(self, task: str) -> None:
        self._check(self._lib.ccoord_task_register(self._handle(), _b(task)),
                    "ccoord_task_register")

    def unregister_task(self, task: str) -> None:
        self._check(self._lib.ccoord_task_unregister(self._handle(), _b(task)),
                    "ccoord_task_unregister")

    def schedule_task(self, task: str, trigger: str,
                      fn: Callable[["Node", str, int, int], Any]) -> None:
        """Registers task with a trigger ("interval=5000", "cron=0 0/5 * * *
        ?;tz=Europe/Berlin", ...; ccoord_task_schedule(3)): fn(node, task,
        fence, slot_ms) runs on the owner only, at each slot, each slot once
        in the cluster, on the dispatcher thread (or in dispatch())."""
        cb = FIRE_CB(self._wrap(fn, lambda n, t, f, slot, ud: (_s(t), f, slot)))
        self._keep.append(cb)
        self._check(self._lib.ccoord_task_schedule(self._handle(), _b(task), _b(trigger), cb,
                                                   None), "ccoord_task_schedule")

    def unschedule_task(self, task: str) -> None:
        """Stops firing task and unregisters it."""
        self._check(self._lib.ccoord_task_unschedule(self._handle(), _b(task)),
                    "ccoord_task_unschedule")

    def acquire_task(self, task: str) -> Optional[int]:
        """The fencing token if this node owns task now, else None."""
        fence = c_uint64()
        rc = self._lib.ccoord_acquire_task(self._handle(), _b(task), byref(fence))
        if rc == ENOTOWNER:
            return None
        self._check(rc, "ccoord_acquire_task")
        return fence.value

    def owned_tasks(self) -> List[str]:
        """Tasks this node owns and may run now, sorted by name."""
        return self._list(self._lib.ccoord_owned_tasks, "ccoord_owned_tasks")

    def resolve_tasks(self) -> None:
        """One resolution pass now (leader only: CCoordError ENOTLEADER)."""
        self._check(self._lib.ccoord_resolve_tasks(self._handle()), "ccoord_resolve_tasks")

    def pause_task(self, task: str) -> None:
        self._check(self._lib.ccoord_task_pause(self._handle(), _b(task)), "ccoord_task_pause")

    def resume_task(self, task: str) -> None:
        self._check(self._lib.ccoord_task_resume(self._handle(), _b(task)),
                    "ccoord_task_resume")

    def complete_task(self, task: str) -> None:
        self._check(self._lib.ccoord_task_complete(self._handle(), _b(task)),
                    "ccoord_task_complete")

    def task_state(self, task: str) -> TaskState:
        """TaskState.ACTIVE, PAUSED or COMPLETED (a database read)."""
        st = c_int()
        self._check(self._lib.ccoord_task_state(self._handle(), _b(task), byref(st)),
                    "ccoord_task_state")
        return _enum(TaskState, st.value)

    # -- lifetime
    def close(self) -> None:
        """Leaves if joined, stops the library's thread, frees the node."""
        if not self._h:
            return
        if self._aloop is not None and self._fd >= 0:
            try:
                self._aloop.remove_reader(self._fd)
            except Exception:
                pass  # the loop is closed: nothing reads any more
            self._aloop = None
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

    def __enter__(self) -> "Node":
        if not self._joined:
            self.join()
        self._entered = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self._entered = False
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_h", None) and not sys.is_finalizing():
                self.close()
        except Exception:
            pass

    def __repr__(self):
        return f"<clustercoord.Node {self.id!r}>" if self._h else "<clustercoord.Node closed>"


# Loaded at import, so a missing or too old library is an ImportError here
# rather than a failure later.
try:
    load()
except OSError as _e:
    raise ImportError(f"clustercoord: {_e}") from _e
