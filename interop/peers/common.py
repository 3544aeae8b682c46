"""Helpers shared by the roles of interop/peer.py (the Python PB peer).

- emit(event, **fields): one JSON line on stdout, flushed at once (the TypeScript side reads
  these lines; see interop/pbpeers.ts).
- describe(value): a JSON description of a received value. Plain values use the value
  descriptions of interop/VALUES.md (pyvalues.to_desc); PB objects get extra node kinds:
    ["remoteref", luid]              a pb.RemoteReference (luid, or the name "root")
    ["local", name]                  one of our own Referenceables, come back as [local, luid]
    ["copy", "module.Class", DESC]   a RemoteCopy, with the description of its __dict__
    ["failure", INFO]                a Failure (see failure_info)
    ["repr", text]                   anything else
- failure_info(f): type / value / parents / traceback / state keys of a (Copied)Failure.
- install_log_observer(): every Twisted log event becomes a {"event": "log"} line.
- log_errors_to_stderr(): only Twisted's errors, as text on stderr (the runner shows its tail
  when something breaks).
- stop_when_stdin_closes(reactor, stop, *args): how every role ends: when the TypeScript side
  that started it closes its stdin.
- has_kind(desc, kinds): whether a value description holds a node of one of these kinds.
- ObservedValue: a Cacheable holding one number whose copies' observers are kept.
"""

import json
import os
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyvalues  # noqa: E402
from twisted.logger import formatEvent, globalLogBeginner  # noqa: E402
from twisted.python import failure as _failure  # noqa: E402
from twisted.python import reflect  # noqa: E402
from twisted.spread import pb  # noqa: E402


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def _text(x):
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, str):
        return x
    if isinstance(x, type):
        return reflect.qual(x)
    return str(x)


def failure_info(f):
    """What a test needs to know about a failure, received (CopiedFailure) or local."""
    copied = isinstance(f, pb.CopiedFailure)
    info = {
        "copied": copied,
        "type": _text(f.type),
        "value": _text(f.value) if copied else str(f.value),
        "parents": [_text(p) for p in (f.parents or [])],
    }
    if copied:
        info["traceback"] = _text(getattr(f, "traceback", ""))
        info["keys"] = list(f.__dict__.keys())
        info["pickled"] = f.__dict__.get("pickled")
        info["unsafeTracebacks"] = bool(f.__dict__.get("unsafeTracebacks"))
    return info


def describe(v):
    try:
        return pyvalues.to_desc(v)
    except Exception:
        pass
    if isinstance(v, pb.RemoteReference):
        luid = v.luid
        return ["remoteref", luid.decode() if isinstance(luid, bytes) else luid]
    if isinstance(v, _failure.Failure):
        return ["failure", failure_info(v)]
    if isinstance(v, pb.RemoteCopy):
        return ["copy", reflect.qual(type(v)), describe(dict(v.__dict__))]
    if isinstance(v, pb.Referenceable):
        return ["local", getattr(v, "name", type(v).__name__)]
    if isinstance(v, (list, tuple, set, frozenset)):
        kind = type(v).__name__ if type(v) in (list, tuple, set, frozenset) else "list"
        return [kind, None, [describe(x) for x in v]]
    if isinstance(v, dict):
        return ["dict", None, [[describe(k), describe(x)] for k, x in v.items()]]
    return ["repr", repr(v)]


def has_kind(desc, kinds):
    """Whether the value description `desc` holds, at any depth, a node whose kind is in `kinds`."""
    if not isinstance(desc, list) or not desc:
        return False
    if desc[0] in kinds:
        return True
    if desc[0] in ("list", "tuple", "set", "frozenset"):
        return any(has_kind(d, kinds) for d in desc[2])
    if desc[0] == "dict":
        return any(has_kind(k, kinds) or has_kind(v, kinds) for k, v in desc[2])
    return False


class ObservedValue(pb.Cacheable):
    """A Cacheable holding one number, {"value": N} to each copy; the subclass tells its observers
    of changes. The copy tag is the subclass's, as Twisted takes it from the instance's class."""

    def __init__(self):
        self.value = 0
        self.observers = []

    def getStateToCacheAndObserveFor(self, perspective, observer):
        self.observers.append(observer)
        return {"value": self.value}

    def stoppedObserving(self, perspective, observer):
        self.observers.remove(observer)


def install_log_observer():
    """Reports every log event on stdout (the tests look for what Twisted logs)."""

    def observer(event):
        try:
            text = formatEvent(event)
        except Exception:
            text = repr(event.get("log_format"))
        fields = {"text": text, "isError": bool(event.get("isError") or event.get("log_failure") or event.get("failure"))}
        f = event.get("log_failure") or event.get("failure")
        if f is not None:
            fields["failure"] = _text(f.type)
            fields["failureValue"] = str(f.value) if not isinstance(f, pb.CopiedFailure) else _text(f.value)
        try:
            emit("log", **fields)
        except Exception:
            pass

    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False, discardBuffer=True)


def log_errors_to_stderr():
    def observer(event):
        if event.get("isError") or event.get("log_failure"):
            try:
                sys.stderr.write("[twisted] %s\n" % formatEvent(event))
                f = event.get("log_failure")
                if f is not None:
                    sys.stderr.write("[twisted]   %s: %s\n" % (f.type, f.value))
            except Exception:
                pass

    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False, discardBuffer=True)


class VersionedBroker(pb.Broker):
    """A Broker that can speak another PB version or offer other dialects (class attributes),
    and then stays connected so that the peer is the one that notices the mismatch (stock
    Twisted drops the connection at once, sending nothing)."""

    pbVersion = 6
    dialects = None

    def __init__(self, *a, **kw):
        pb.Broker.__init__(self, *a, **kw)
        if self.pbVersion != 6:
            self.version = self.pbVersion
        if self.dialects is not None:
            self.knownDialects = self.dialects

    def proto_version(self, vnum):
        if self.pbVersion != 6:
            emit("peerVersion", version=vnum)
            return
        return pb.Broker.proto_version(self, vnum)


def stop_when_stdin_closes(reactor, stop, *args):
    """Calls stop(*args) in the reactor thread once stdin reaches its end (or fails)."""

    def watch():
        try:
            while sys.stdin.read(4096):
                pass
        except Exception:
            pass
        reactor.callFromThread(stop, *args)

    t = threading.Thread(target=watch)
    t.daemon = True  # (the daemon= argument is Python 3 only)
    t.start()
