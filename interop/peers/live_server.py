"""A Twisted PB server for the live tests (test/live/ts-client.test.ts, test/cred, test/net drive it).

Its two roots, "live-root" and "live-portal", are declared in interop/conformance/roots.json and
served by interop/peer.py serve (interop/peers/server.py, which owns listening: TCP, TLS, Unix):

    <python with Twisted> interop/peer.py serve live-root|live-portal [--port N | --unix PATH]
        [--tls CERT KEY] [--lifetime SECONDS] [--unsafe-tracebacks] [--pb-version N]
        [--dialects pb,none] [--mind-calls N] [--no-anonymous]

It reports on stdout, one JSON object per line (interop/peers/common.py emit):

    {"event": "listening", "live-root": N, "path": ..., "twisted": "22.4.0"}   first line (server.py)
    {"event": "log", "text": ..., "isError": ..., "failure": ...}      what Twisted logs
    {"event": "note", "args": DESC}                                  remote_note (pbanswer=False)
    {"event": "connectionLost", "conn": N}                           a broker disconnected
    {"event": "login", "user": ..., "mindResults": DESC}              portal: realm answered
    {"event": "logout", "user": ...}                                 portal: avatar logged out

Root mode: every connection gets its own EchoRoot (an IPBRoot), which records what its broker
receives (request ids, answerRequired, decrefs) so the tests can check the wire from here.
Portal mode: a Portal with InMemoryUsernamePasswordDatabaseDontUse (alice/secret, bob/hunter2)
and AllowAnonymousAccess; the realm calls the mind several times (print, getInfo, ping...)
before it answers the login, as a CI master does with its workers.

The classes the tests see by name keep the copy tags and failure types __main__.X they had when
this file ran as a script (@_script), though the server now imports it.
"""

import argparse
import gc
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import datetime  # noqa: E402
import decimal  # noqa: E402

from common import VersionedBroker, describe, emit, failure_info  # noqa: E402
import pyvalues  # noqa: E402
from twisted.cred import checkers, portal  # noqa: E402
from twisted.internet import defer, reactor, task  # noqa: E402
from twisted.spread import pb  # noqa: E402
from zope.interface import implementer  # noqa: E402


# ---------------------------------------------------------------------------------------
# application classes (named __main__.X on the wire, as when this file was the script)


def _script(cls):
    """Names cls __main__.<Class> on the wire, as if defined in the script being run."""
    cls.__module__ = "__main__"
    return cls


@_script
class Denied(pb.Error):
    """A pb.Error subclass: sent to the caller without being logged as unexpected."""


@_script
class CopyableDenied(pb.Error, pb.Copyable):
    """A pb.Error that is also Copyable: sent as itself, [b"__main__.CopyableDenied", state]."""

    def __init__(self, reason):
        pb.Error.__init__(self, reason)
        self.reason = reason


@_script
class Point(pb.Copyable):
    def __init__(self, x, y):
        self.x = x
        self.y = y


@_script
class RemotePoint(pb.RemoteCopy):
    """Receives "__main__.Point" sent by the TypeScript side."""

    def norm1(self):
        return abs(self.x) + abs(self.y)


@_script
class RemoteLabel(pb.RemoteCopy):
    """Receives "tsapp.shapes.Label" sent by the TypeScript side."""


pb.setUnjellyableForClass("__main__.Point", RemotePoint)
pb.setUnjellyableForClass("tsapp.shapes.Label", RemoteLabel)


@_script
class Secret(pb.Copyable):
    """Its copy depends on who asks (getStateToCopyFor)."""

    def __init__(self, text):
        self.text = text

    def getStateToCopyFor(self, perspective):
        owner = getattr(perspective, "name", None)
        return {"text": self.text, "owner": owner}


class Thing(pb.Referenceable):
    def __init__(self, name):
        self.name = name

    def remote_hello(self, who):
        return "hello %s from %s" % (who, self.name)

    def remote_name(self):
        return self.name


class Board(pb.Viewable):
    """view_* methods receive the perspective (the avatar, or None outside a perspective)."""

    def __init__(self):
        self.posts = []

    def view_post(self, perspective, text):
        name = getattr(perspective, "name", None)
        self.posts.append((name, text))
        return (name, text)

    def view_whoami(self, perspective):
        return getattr(perspective, "name", None)


def sample_value():
    """A Python value with every jelly type (descriptions compare it on the other side)."""
    shared = [1, 2]
    cyclic = [b"cycle"]
    cyclic.append(cyclic)
    return {
        "none": None,
        "bools": (True, False),
        "ints": [0, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 64, -(2 ** 100), 2 ** 448 - 1],
        "floats": [2.5, 1.0, -0.0, float("inf"), float("-inf"), 1e300],
        "bytes": b"\x00\xffraw",
        "text": "h\u00e9llo \u4e2d\u6587 \U0001F600",
        "tuple": (1, "two", b"three"),
        "set": {1, 2, 3},
        "frozenset": frozenset([b"a"]),
        (1, b"k"): "tuple key",
        b"bkey": 1,
        7: "int key",
        "when": datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
        "day": datetime.date(1999, 12, 31),
        "time": datetime.time(23, 59, 58, 999999),
        "delta": datetime.timedelta(days=-1, seconds=5, microseconds=7),
        "decimal": decimal.Decimal("-3.14"),
        "shared": [shared, shared],
        "cyclic": cyclic,
        "vocab": [b"None", b"remote", b"version", b"login"],
    }


# ---------------------------------------------------------------------------------------
# the broker records what it receives


CONNECTIONS = [0]


class RecordingBroker(VersionedBroker):
    def __init__(self, *a, **kw):
        VersionedBroker.__init__(self, *a, **kw)
        CONNECTIONS[0] += 1
        self.connNumber = CONNECTIONS[0]
        self.received = []
        self.decrefs = []

    def proto_message(self, requestID, objectID, message, answerRequired, netArgs, netKw):
        oid = objectID.decode() if isinstance(objectID, bytes) else objectID
        msg = message.decode() if isinstance(message, bytes) else message
        self.received.append([requestID, oid, msg, answerRequired])
        return pb.Broker.proto_message(self, requestID, objectID, message, answerRequired, netArgs, netKw)

    def proto_decref(self, objectID):
        self.decrefs.append(objectID.decode() if isinstance(objectID, bytes) else objectID)
        return pb.Broker.proto_decref(self, objectID)

    def connectionLost(self, reason):
        pb.Broker.connectionLost(self, reason)
        emit("connectionLost", conn=self.connNumber, reason=str(reason.value))


NOTES = []
BOARD = Board()


class EchoRoot(pb.Referenceable):
    """The root object of one connection (root mode)."""

    def __init__(self, broker):
        self.broker = broker
        self.things = {}
        self.kept = []

    # values
    def remote_echo(self, *a, **kw):
        return (a, kw)

    def remote_describe(self, *a, **kw):
        return json.dumps(describe([list(a), kw]))

    def remote_sample(self):
        v = sample_value()
        return (v, json.dumps(pyvalues.to_desc(v)))

    def remote_connection(self):
        return self.broker.connNumber

    # failures
    def remote_fail(self, msg="boom"):
        raise ValueError(msg)

    def remote_failDeferred(self, msg="failed"):
        # Already failed when PB adds its errback: the failure is cleaned (pickled=1 on the wire).
        return defer.fail(ValueError(msg))

    def remote_failLater(self, msg="later"):
        # Fails after PB added its errback: not cleaned, no pickled key.
        return task.deferLater(reactor, 0, self._raise, msg)

    def _raise(self, msg):
        raise ValueError(msg)

    def remote_failPB(self, msg="denied"):
        raise Denied(msg)

    def remote_failCopyable(self, msg="copyable denied"):
        raise CopyableDenied(msg)

    # references
    def remote_getThing(self, name):
        t = Thing(name)
        self.things[name] = t
        return t

    def remote_getThings(self, n):
        return [Thing("t%d" % i) for i in range(n)]

    def remote_isThing(self, obj, name):
        return obj is self.things.get(name)

    def remote_returnIt(self, x):
        # Note (Twisted 22.4): when x is a reference the caller sent only here, its decref is
        # written before this answer, so the caller's [b"local", luid] lookup finds nothing.
        return x

    def remote_keepAndReturn(self, x):
        self.kept.append(x)
        return x

    def remote_luids(self):
        return sorted(k for k in self.broker.localObjects if isinstance(k, int))

    def remote_requests(self):
        return [list(r) for r in self.broker.received]

    def remote_decrefs(self):
        return list(self.broker.decrefs)

    def remote_keep(self, *refs):
        self.kept.extend(refs)
        return len(self.kept)

    def remote_forget(self):
        n = len(self.kept)
        del self.kept[:]
        gc.collect()
        return n

    def remote_callMeBack(self, ref, method, *args, **kw):
        return ref.callRemote(method, *args, **kw)

    def remote_callNoAnswer(self, ref, method, *args, **kw):
        kw["pbanswer"] = False
        ref.callRemote(method, *args, **kw)
        return None

    def remote_callAndTrap(self, ref, method, names, *args, **kw):
        """Calls ref.method; on failure, reports it and what f.trap(*names) made of it."""
        d = ref.callRemote(method, *args, **kw)

        def ok(result):
            return {"ok": True, "result": json.dumps(describe(result))}

        def failed(f):
            info = failure_info(f)
            try:
                info["trapped"] = str(f.trap(*names))
            except BaseException:
                info["trapped"] = None
            return {"ok": False, "failure": json.dumps(info)}

        return d.addCallbacks(ok, failed)

    # pbanswer=False
    def remote_note(self, *a, **kw):
        NOTES.append(describe([list(a), kw]))
        emit("note", args=NOTES[-1])

    def remote_notes(self):
        return json.dumps(NOTES)

    # copies and views
    def remote_getPoint(self, x, y):
        return Point(x, y)

    def remote_takePoint(self, p):
        return (type(p).__name__, isinstance(p, RemotePoint), p.x, p.y, p.norm1() if isinstance(p, RemotePoint) else None)

    def remote_takeCopy(self, obj):
        return json.dumps(describe(obj))

    def remote_getSecret(self, text):
        return Secret(text)

    def remote_getViewable(self):
        return BOARD

    # time and connection
    def remote_slow(self, seconds, value=None):
        return task.deferLater(reactor, seconds, lambda: value)

    def remote_dropSoon(self, delay=0.05):
        reactor.callLater(delay, self.broker.transport.loseConnection)
        return True


@implementer(pb.IPBRoot)
class PerConnectionRoot:
    def rootObject(self, broker):
        return EchoRoot(broker)


# ---------------------------------------------------------------------------------------
# portal mode


class User(pb.Avatar):
    def __init__(self, name, mind):
        self.name = name
        self.mind = mind
        self.mindResults = []

    def perspective_whoami(self):
        return self.name

    def perspective_echo(self, *a, **kw):
        return (a, kw)

    def perspective_mindResults(self):
        return json.dumps(self.mindResults)

    def perspective_pingMind(self, n):
        if self.mind is None:
            raise Denied("no mind")
        return self.mind.callRemote("ping", n)

    def perspective_getBoard(self):
        return BOARD

    def perspective_getSecret(self, text):
        return Secret(text)

    def perspective_fail(self, msg="avatar boom"):
        raise ValueError(msg)

    def perspective_slow(self, seconds, value=None):
        return task.deferLater(reactor, seconds, lambda: value)

    def logout(self):
        emit("logout", user=self.name)


@implementer(portal.IRealm)
class Realm:
    def __init__(self, mindCalls):
        self.mindCalls = mindCalls

    @defer.inlineCallbacks
    def requestAvatar(self, avatarId, mind, *interfaces):
        assert pb.IPerspective in interfaces
        name = avatarId.decode() if isinstance(avatarId, bytes) else "anonymous"
        avatar = User(name, mind)
        if mind is not None:
            # What a CI master does before the login answer: talk to the worker's mind.
            calls = [("print", ("welcome %s" % name,)), ("getInfo", ())]
            for i in range(max(0, self.mindCalls - 2)):
                calls.append(("ping", (i + 1,)))
            for method, args in calls[: self.mindCalls]:
                result = yield mind.callRemote(method, *args)
                avatar.mindResults.append([method, describe(result)])
        emit("login", user=name, mindResults=avatar.mindResults)
        defer.returnValue((pb.IPerspective, avatar, avatar.logout))


# ---------------------------------------------------------------------------------------


def _options(argv):
    ap = argparse.ArgumentParser(prog="peer.py serve live-root|live-portal")
    ap.add_argument("--unsafe-tracebacks", action="store_true")
    ap.add_argument("--pb-version", type=int, default=6)
    ap.add_argument("--dialects", default="pb,none")
    ap.add_argument("--mind-calls", type=int, default=4)
    ap.add_argument("--no-anonymous", action="store_true")
    opts = ap.parse_args(argv)
    RecordingBroker.pbVersion = opts.pb_version
    RecordingBroker.dialects = [d.encode() for d in opts.dialects.split(",")]
    return opts


def root_factory(argv):
    """The "live-root" server of roots.json: a per-connection EchoRoot."""
    opts = _options(argv)
    factory = pb.PBServerFactory(PerConnectionRoot(), unsafeTracebacks=opts.unsafe_tracebacks)
    factory.protocol = RecordingBroker
    return factory


def portal_factory(argv):
    """The "live-portal" server of roots.json: alice/secret, bob/hunter2, anonymous unless refused."""
    opts = _options(argv)
    db = checkers.InMemoryUsernamePasswordDatabaseDontUse()
    db.addUser(b"alice", b"secret")
    db.addUser(b"bob", b"hunter2")
    p = portal.Portal(Realm(opts.mind_calls), [db])
    if not opts.no_anonymous:
        p.registerChecker(checkers.AllowAnonymousAccess())
    factory = pb.PBServerFactory(p, unsafeTracebacks=opts.unsafe_tracebacks)
    factory.protocol = RecordingBroker
    return factory
