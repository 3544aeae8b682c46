"""Record whole PB sessions from the real Twisted, every write in both directions.

Usage:  <python with Twisted> scripts/record_sessions.py [--check] [--only NAME ...]

Each session runs a Twisted PB server and a Twisted PB client in one process over
127.0.0.1 and records every transport.write of both brokers, in the order they happen,
with its direction. Each session runs in a fresh child process (so process-global state
such as Failure.count starts the same way every time) with PYTHONHASHSEED=0, cyclic GC
off (reference counting alone decides when a RemoteReference sends its decref), and
pb.challenge replaced by a constant 16 bytes.

Writes fixtures/sessions/<name>.json:
  name, title, twisted, python, challenge (hex or null),
  writes: [{dir: "c2s"|"s2c", hex}]        every write that reached the peer, in order
  late:   [{dir, hex}]                      written after that broker's connectionLost
                                            (never on the wire)
  events: [{before: n, side, text}]         what each side did or saw, before write #n
and fixtures/sessions/<name>.txt, the same session decoded for humans.

Before writing, each session is checked: the bytes each side wrote (late writes aside)
are exactly the bytes the other side received, and every call got the answer expected.

--check: record into memory and compare with the files on disk; exit 1 if they differ.
--only NAME: record only the named sessions.

The TypeScript replay is test/pb/golden-session.test.ts.
"""

import datetime
import decimal
import gc
import hashlib
import json
import os
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the repo
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT_DIR = os.path.join(ROOT, "fixtures", "sessions")

# The login challenge of every recording (Twisted draws it from `random`).
FIXED_CHALLENGE = hashlib.md5(b"twisted-pb golden session").digest()

SESSION_TITLES = {
    "root": "PBServerFactory(pb.Root subclass): echo of many types, kwargs, pbanswer=False, "
    "an answer from a Deferred, a Referenceable returned / called / passed back / released, "
    "Copyable both ways, ValueError raised / from a failed Deferred / a turn later, NoSuchMethod",
    "portal": "PBServerFactory(Portal): username/password login with a mind, perspective_ calls "
    "(kwargs, a call back to the mind, a missing method), anonymous login with the same mind, "
    "avatars released (logout drops the mind), wrong password and unknown user",
    "cache": "Cacheable / RemoteCache both ways and util.StringPager: a Cacheable sent twice in its "
    "first message (dereference), again ([cached, luid]) and twice more; an observer update "
    "(cachemessage); a copy sent back (lcache); a StringPager with a callback (gotPage with "
    "pbanswer=False, endedPaging, the collector's decref); every copy released (decache per "
    "received occurrence, stoppedObserving calling the observer, uncache); then a Cacheable of "
    "the client's cached by the server, updated, and dropped by the server",
}


# ---------------------------------------------------------------------------------------
# Decoding for the transcript (independent of Twisted's own decoder).

VOCAB = {
    1: "None", 2: "class", 3: "dereference", 4: "reference", 5: "dictionary", 6: "function",
    7: "instance", 8: "list", 9: "module", 10: "persistent", 11: "tuple", 12: "unpersistable",
    13: "copy", 14: "cache", 15: "cached", 16: "remote", 17: "local", 18: "lcache",
    19: "version", 20: "login", 21: "password", 22: "challenge", 23: "logged_in",
    24: "not_logged_in", 25: "cachemessage", 26: "message", 27: "answer", 28: "error",
    29: "decref", 30: "decache", 31: "uncache",
}


class Vocab(object):
    def __init__(self, name):
        self.name = name


class Long(object):
    def __init__(self, value):
        self.value = value


class Float(object):
    def __init__(self, value):
        self.value = value


def banana_items(data):
    """Decodes one write into its top-level banana items."""
    items = []
    stack = []
    pos = 0

    def put(x):
        while True:
            if not stack:
                items.append(x)
                return
            lst, want = stack[-1]
            lst.append(x)
            if len(lst) < want:
                return
            stack.pop()
            x = lst

    while pos < len(data):
        start = pos
        while data[pos] < 0x80:
            pos += 1
        num = 0
        for i, d in enumerate(data[start:pos]):
            num += d << (7 * i)
        t = data[pos]
        pos += 1
        if t == 0x80:
            if num == 0:
                put([])
            else:
                stack.append(([], num))
        elif t == 0x81:
            put(num)
        elif t == 0x82:
            put(bytes(data[pos:pos + num]))
            pos += num
        elif t == 0x83:
            put(-num)
        elif t == 0x84:
            put(Float(struct.unpack("!d", data[pos:pos + 8])[0]))
            pos += 8
        elif t == 0x85:
            put(Long(num))
        elif t == 0x86:
            put(Long(-num))
        elif t == 0x87:
            put(Vocab(VOCAB[num]))
        else:
            raise ValueError("bad type byte %#x" % t)
    if stack:
        raise ValueError("write ends inside a list")
    return items


def _quote(b):
    out = []
    for c in bytearray(b):
        ch = chr(c)
        if ch == "'" or ch == "\\":
            out.append("\\" + ch)
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % c)
    return "'" + "".join(out) + "'"


def show(x):
    if isinstance(x, list):
        return "[" + ", ".join(show(y) for y in x) + "]"
    if isinstance(x, Vocab):
        return "$" + x.name
    if isinstance(x, Long):
        return "%dL" % x.value
    if isinstance(x, Float):
        return "float:%r" % x.value
    if isinstance(x, bytes):
        return _quote(x)
    return repr(x)


# ---------------------------------------------------------------------------------------
# Describing Python values in events (type-tagged, so bytes and text stay apart).

def desc(v):
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "bool:%r" % v
    if isinstance(v, int):
        return "int:%d" % v
    if isinstance(v, float):
        return "float:%r" % v
    if isinstance(v, bytes):
        return "bytes:" + _quote(v)
    if isinstance(v, str):
        return "text:" + _quote(v.encode("utf-8"))
    if isinstance(v, tuple):
        return "tuple(" + ", ".join(desc(x) for x in v) + ")"
    if isinstance(v, list):
        return "list[" + ", ".join(desc(x) for x in v) + "]"
    if isinstance(v, dict):
        return "dict{" + ", ".join("%s: %s" % (desc(k), desc(x)) for k, x in v.items()) + "}"
    if isinstance(v, frozenset):
        return "frozenset{" + ", ".join(desc(x) for x in v) + "}"
    if isinstance(v, set):
        return "set{" + ", ".join(desc(x) for x in v) + "}"
    if isinstance(v, datetime.datetime):
        return "datetime:%s" % v
    if isinstance(v, datetime.date):
        return "date:%s" % v
    if isinstance(v, datetime.time):
        return "time:%s" % v
    if isinstance(v, datetime.timedelta):
        return "timedelta:%r" % v
    if isinstance(v, decimal.Decimal):
        return "Decimal:%s" % v
    return type(v).__name__


def error_desc(e):
    """A remote failure as inlineCallbacks raises it (pb.RemoteError from a CopiedFailure)."""
    remote_type = getattr(e, "remoteType", None)
    value = e.args[0] if e.args else None
    return "%s type=%s value=%s" % (type(e).__name__, desc(remote_type), desc(value))


# ---------------------------------------------------------------------------------------
# One session, in the child process.

class Recording(object):
    def __init__(self):
        self.writes = []
        self.late = []
        self.events = []
        self.received = {"c2s": [], "s2c": []}
        self.problems = []

    def write(self, direction, data, late):
        entry = {"dir": direction, "hex": bytes(data).hex()}
        (self.late if late else self.writes).append(entry)

    def event(self, side, text):
        self.events.append({"before": len(self.writes), "side": side, "text": text})

    def expect(self, what, got, want):
        if got != want:
            self.problems.append("%s: got %s, expected %s" % (what, desc(got), desc(want)))


def run_session(name):
    gc.disable()
    from twisted.internet import defer, reactor, task
    from twisted.spread import pb
    import twisted

    pb.challenge = lambda: FIXED_CHALLENGE

    rec = Recording()
    lost = {"client": defer.Deferred(), "server": defer.Deferred()}

    class RecordingBroker(pb.Broker):
        def makeConnection(self, transport):
            self._rec_side = "client" if self.isClient else "server"
            self._rec_lost = False
            direction = "c2s" if self.isClient else "s2c"
            real = transport.write
            broker = self

            def write(data):
                rec.write(direction, data, broker._rec_lost)
                real(data)

            transport.write = write
            pb.Broker.makeConnection(self, transport)

        def dataReceived(self, data):
            rec.received["s2c" if self.isClient else "c2s"].append(bytes(data))
            pb.Broker.dataReceived(self, data)

        def connectionLost(self, reason):
            self._rec_lost = True
            rec.event(self._rec_side, "connectionLost")
            pb.Broker.connectionLost(self, reason)
            lost[self._rec_side].callback(None)

    server_root, client_main = SESSIONS[name](rec, pb, defer, reactor, task)

    server_factory = pb.PBServerFactory(server_root)
    server_factory.protocol = RecordingBroker
    port = reactor.listenTCP(0, server_factory, interface="127.0.0.1")
    client_factory = pb.PBClientFactory()
    client_factory.protocol = RecordingBroker
    reactor.connectTCP("127.0.0.1", port.getHost().port, client_factory)

    outcome = {}

    @defer.inlineCallbacks
    def drive():
        try:
            yield client_main(client_factory)
        except Exception as e:  # noqa: BLE001 - reported below
            import traceback
            rec.problems.append("client script failed: %s" % traceback.format_exc())
        rec.event("client", "factory.disconnect()")
        client_factory.disconnect()
        yield defer.gatherResults([lost["client"], lost["server"]])
        yield port.stopListening()
        outcome["done"] = True
        reactor.stop()

    reactor.callWhenRunning(drive)
    reactor.callLater(30, reactor.stop)
    reactor.run()
    if not outcome.get("done"):
        rec.problems.append("session did not finish within 30 s")

    for direction in ("c2s", "s2c"):
        written = b"".join(bytes.fromhex(w["hex"]) for w in rec.writes if w["dir"] == direction)
        received = b"".join(rec.received[direction])
        if written != received:
            rec.problems.append(
                "%s: %d bytes written before connectionLost, %d received by the peer"
                % (direction, len(written), len(received))
            )

    return {
        "name": name,
        "title": SESSION_TITLES[name],
        "twisted": twisted.__version__,
        "python": sys.version.split()[0],
        "challenge": FIXED_CHALLENGE.hex() if name == "portal" else None,
        "writes": rec.writes,
        "late": rec.late,
        "events": rec.events,
        "problems": rec.problems,
    }


# ---------------------------------------------------------------------------------------
# The sessions. Each returns (server root, client coroutine). The TypeScript test mirrors
# every method and every call below; keep them in step.

def session_root(rec, pb, defer, reactor, task):
    class Thing(pb.Referenceable):
        def remote_hello(self, x):
            return (u"hello", x)

    class Point(pb.Copyable):
        def __init__(self, x, y, label):
            self.x = x
            self.y = y
            self.label = label

    class RemotePoint(pb.RemoteCopy):
        pass

    pb.setUnjellyableForClass(Point, RemotePoint)

    class EchoRoot(pb.Root):
        def __init__(self):
            self.thing = Thing()

        def remote_echo(self, *args):
            rec.event("server", "echo " + desc(args))
            return args

        def remote_echoKw(self, *args, **kw):
            rec.event("server", "echoKw %s kw %s" % (desc(args), desc(kw)))
            return args, kw

        def remote_note(self, x):
            rec.event("server", "note " + desc(x))

        def remote_slowEcho(self, x):
            return task.deferLater(reactor, 0, lambda: (u"slow", x))

        def remote_getThing(self):
            return self.thing

        def remote_isThing(self, t):
            return t is self.thing

        def remote_getPoint(self):
            return Point(1, 2, u"pt")

        def remote_takePoint(self, p):
            rec.event("server", "takePoint %s state %s" % (type(p).__name__, desc(p.__dict__)))
            return p.x * 10 + p.y

        def remote_fail(self):
            raise ValueError("bad value")

        def remote_failDeferred(self):
            # Already failed when returned: the Deferred "cleans" the Failure (pickled=1).
            return defer.fail(ValueError("bad deferred"))

        def remote_failLater(self):
            # Fails a reactor turn later, with the broker's errback already attached: the
            # Failure is sent before any cleaning (no pickled key).
            def later():
                raise ValueError("bad later")

            return task.deferLater(reactor, 0, later)

    shared = [u"s"]
    echo_args = (
        1, u"hi", u"h\xe9 \U0001f600", b"raw", 2.5, None, True, False,
        [1, u"two"], (3,), {u"k": 1, 2: b"v"},
    )
    extra_args = (
        2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1, 2 ** 64, -2 ** 64,
        1.0, -0.0, 1e100, u"", b"", {1, 2}, frozenset([3]), [shared, shared],
        datetime.datetime(2020, 1, 2, 3, 4, 5, 6), datetime.date(2020, 1, 2),
        datetime.time(3, 4, 5, 6), datetime.timedelta(days=-1, seconds=5),
        decimal.Decimal("1.5"), decimal.Decimal("-0.25"),
    )

    @defer.inlineCallbacks
    def client(factory):
        root = yield factory.getRootObject()
        rec.event("client", "got root")

        r = yield root.callRemote("echo", *echo_args)
        rec.event("client", "echo -> " + desc(r))
        rec.expect("echo", r, echo_args)

        r = yield root.callRemote("echo", *extra_args)
        rec.event("client", "echo extra -> " + desc(r))
        rec.expect("echo extra", r, extra_args)

        r = yield root.callRemote("echoKw", 7, key=u"v", other=[1, 2])
        rec.event("client", "echoKw -> " + desc(r))
        rec.expect("echoKw", r, ((7,), {u"key": u"v", u"other": [1, 2]}))

        root.callRemote("note", 5, pbanswer=False)
        rec.event("client", "note(5, pbanswer=False) sent")

        r = yield root.callRemote("slowEcho", u"later")
        rec.event("client", "slowEcho -> " + desc(r))
        rec.expect("slowEcho", r, (u"slow", u"later"))

        thing = yield root.callRemote("getThing")
        rec.event("client", "getThing -> %s luid %d" % (type(thing).__name__, thing.luid))
        r = yield thing.callRemote("hello", u"x")
        rec.event("client", "thing.hello -> " + desc(r))
        r = yield root.callRemote("isThing", thing)
        rec.event("client", "isThing(thing) -> " + desc(r))
        rec.expect("isThing", r, True)
        rec.event("client", "releasing thing")
        del thing  # its last reference: decref now

        thing2 = yield root.callRemote("getThing")
        rec.event("client", "getThing again -> %s luid %d" % (type(thing2).__name__, thing2.luid))
        r = yield thing2.callRemote("hello", b"again")
        rec.event("client", "thing.hello -> " + desc(r))

        point = yield root.callRemote("getPoint")
        rec.event("client", "getPoint -> %s state %s" % (type(point).__name__, desc(point.__dict__)))
        r = yield root.callRemote("takePoint", Point(3, 4, u"pt"))
        rec.event("client", "takePoint -> " + desc(r))
        rec.expect("takePoint", r, 34)

        for method in ("fail", "failDeferred", "failLater", "nosuch"):
            try:
                yield root.callRemote(method)
            except Exception as e:
                rec.event("client", "%s -> ERROR %s" % (method, error_desc(e)))
            else:
                rec.problems.append("%s did not fail" % method)

        rec.event("client", "releasing thing")
        del thing2

    return EchoRoot(), client


def session_portal(rec, pb, defer, reactor, task):
    from twisted.cred import checkers, credentials, portal

    class User(pb.Avatar):
        def __init__(self, avatarId, mind):
            self.avatarId = avatarId
            self.mind = mind

        def perspective_whoami(self):
            return self.avatarId

        def perspective_echo(self, *args, **kw):
            return args, kw

        def perspective_callMind(self, x):
            return self.mind.callRemote("notify", x)

    class Realm(object):
        def requestAvatar(self, avatarId, mind, *interfaces):
            assert pb.IPerspective in interfaces
            rec.event("server", "requestAvatar %s mind %s" % (desc(avatarId), type(mind).__name__))
            avatar = User(avatarId, mind)

            def logout():
                rec.event("server", "logout %s (drops the mind)" % desc(avatarId))
                avatar.mind = None  # its last reference: decref now

            return pb.IPerspective, avatar, logout

    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")
    the_portal = portal.Portal(Realm(), [checker, checkers.AllowAnonymousAccess()])

    class Mind(pb.Referenceable):
        def remote_notify(self, x):
            rec.event("client", "mind.notify " + desc(x))
            return (u"got", x)

    @defer.inlineCallbacks
    def client(factory):
        mind = Mind()
        avatar = yield factory.login(credentials.UsernamePassword(b"alice", b"secret"), client=mind)
        rec.event("client", "logged in as alice: %s" % type(avatar).__name__)

        r = yield avatar.callRemote("whoami")
        rec.event("client", "whoami -> " + desc(r))
        rec.expect("whoami", r, b"alice")
        r = yield avatar.callRemote("echo", 1, u"two", key=u"v")
        rec.event("client", "echo -> " + desc(r))
        rec.expect("echo", r, ((1, u"two"), {u"key": u"v"}))
        r = yield avatar.callRemote("callMind", 5)
        rec.event("client", "callMind -> " + desc(r))
        rec.expect("callMind", r, (u"got", 5))
        try:
            yield avatar.callRemote("missing")
        except Exception as e:
            rec.event("client", "missing -> ERROR " + error_desc(e))
        else:
            rec.problems.append("missing did not fail")

        anon = yield factory.login(credentials.Anonymous(), client=mind)
        rec.event("client", "logged in anonymously: %s" % type(anon).__name__)
        r = yield anon.callRemote("whoami")
        rec.event("client", "anonymous whoami -> " + desc(r))
        rec.expect("anonymous whoami", r, ())
        r = yield anon.callRemote("callMind", u"hi")
        rec.event("client", "anonymous callMind -> " + desc(r))

        rec.event("client", "releasing alice's avatar")
        del avatar  # its last reference: decref now

        for user, password in ((b"alice", b"wrong"), (b"bob", b"secret")):
            try:
                yield factory.login(credentials.UsernamePassword(user, password))
            except Exception as e:
                rec.event("client", "login %s/%s -> ERROR %s" % (desc(user), desc(password), error_desc(e)))
            else:
                rec.problems.append("login %r/%r did not fail" % (user, password))
            if user == b"alice":
                rec.event("client", "releasing the anonymous avatar")
                del anon

    return the_portal, client


def session_cache(rec, pb, defer, reactor, task):
    from twisted.spread import util

    class Gauge(pb.Cacheable):
        """The server's Cacheable (like test_pb's VeryVeryComplicatedCacheable)."""

        def __init__(self):
            self.name = u"g"
            self.value = 0
            self.observers = []

        def getStateToCacheAndObserveFor(self, perspective, observer):
            rec.event("server", "getStateToCacheAndObserveFor")
            self.observers.append(observer)
            return {u"name": self.name, u"value": self.value}

        def stoppedObserving(self, perspective, observer):
            rec.event("server", "stoppedObserving: calling observe_end")
            observer.callRemote("end")
            self.observers = [o for o in self.observers if o != observer]

        def set(self, v):
            self.value = v
            for o in self.observers:
                o.callRemote("value", v)

    class RemoteGauge(pb.RemoteCache):
        def observe_value(self, v):
            rec.event("client", "observe_value " + desc(v))
            self.value = v

        def observe_end(self):
            rec.event("client", "observe_end")

    pb.setUnjellyableForClass(Gauge, RemoteGauge)

    class Note(pb.Cacheable):
        """The client's Cacheable, cached by the server."""

        def __init__(self):
            self.text = u"first"
            self.observer = None

        def getStateToCacheAndObserveFor(self, perspective, observer):
            self.observer = observer
            return {u"text": self.text}

        def stoppedObserving(self, perspective, observer):
            rec.event("client", "Note.stoppedObserving")
            self.observer = None

        def edit(self, text):
            self.text = text
            return self.observer.callRemote("text", text)

    class RemoteNote(pb.RemoteCache):
        def observe_text(self, text):
            rec.event("server", "observe_text " + desc(text))
            self.text = text
            return len(text)

    pb.setUnjellyableForClass(Note, RemoteNote)

    data = bytes(bytearray(i % 251 for i in range(350)))
    pages_done = []

    class CacheRoot(pb.Root):
        def __init__(self):
            self.gauge = Gauge()
            self.kept = None

        def remote_getTwice(self):
            return [self.gauge, self.gauge]

        def remote_getGauge(self):
            return self.gauge

        def remote_setValue(self, v):
            self.gauge.set(v)
            return v

        def remote_isGauge(self, g):
            return g is self.gauge

        def remote_getPages(self, collector):
            rec.event("server", "StringPager(collector, 350 bytes, chunkSize=100, callback)")

            def done(*args):
                rec.event("server", "pager callback " + desc(args))
                pages_done.append(args)

            util.StringPager(collector, data, 100, done, u"done")

        def remote_keep(self, note):
            rec.event("server", "keep %s text %s" % (type(note).__name__, desc(note.text)))
            self.kept = note

        def remote_keptText(self):
            return self.kept.text

        def remote_drop(self):
            rec.event("server", "dropping the note (its last reference: decache now)")
            self.kept = None
            return True

    @defer.inlineCallbacks
    def client(factory):
        root = yield factory.getRootObject()
        rec.event("client", "got root")

        pair = yield root.callRemote("getTwice")
        rec.event("client", "getTwice -> %s, same object: %s, luid %d" % (
            type(pair[0]).__name__, pair[0] is pair[1], pair[0].luid))
        rec.expect("getTwice value", pair[0].value, 0)

        g = yield root.callRemote("getGauge")
        rec.event("client", "getGauge -> %s sharing state: %s" % (type(g).__name__, g.__dict__ is pair[0].__dict__))
        rec.expect("getGauge shares state", g.__dict__ is pair[0].__dict__, True)
        pair2 = yield root.callRemote("getTwice")
        rec.event("client", "getTwice again -> shares state: %s" % (pair2[1].__dict__ is g.__dict__))

        r = yield root.callRemote("setValue", 5)
        rec.event("client", "setValue -> %s, copy value %s" % (desc(r), desc(g.value)))
        rec.expect("observer update", g.value, 5)

        r = yield root.callRemote("isGauge", g)
        rec.event("client", "isGauge(copy) -> " + desc(r))
        rec.expect("lcache", r, True)

        pages = yield util.getAllPages(root, "getPages")
        rec.event("client", "getAllPages -> %d pages" % len(pages))
        rec.expect("pages", b"".join(pages), data)
        rec.expect("pager callback", pages_done, [(u"done",)])

        rec.event("client", "releasing every copy (1 + 1 + 2 received occurrences)")
        del pair, g, pair2
        yield task.deferLater(reactor, 0.05, lambda: None)

        note = Note()
        r = yield root.callRemote("keep", note)
        rec.event("client", "keep -> " + desc(r))
        r = yield note.edit(u"second")
        rec.event("client", "note.edit -> " + desc(r))
        r = yield root.callRemote("keptText")
        rec.event("client", "keptText -> " + desc(r))
        rec.expect("keptText", r, u"second")
        r = yield root.callRemote("drop")
        rec.event("client", "drop -> " + desc(r))
        yield task.deferLater(reactor, 0.05, lambda: None)
        rec.expect("note observer gone", note.observer, None)

    return CacheRoot(), client


SESSIONS = {"root": session_root, "portal": session_portal, "cache": session_cache}


# ---------------------------------------------------------------------------------------
# Output files.

def transcript(s):
    lines = [
        "# session %s: %s" % (s["name"], s["title"]),
        "# recorded from twisted %s, python %s, by scripts/record_sessions.py (do not edit)" % (s["twisted"], s["python"]),
        "# notation: $name = vocabulary symbol, 'x' = STRING bytes, float:x = FLOAT, nL = LONGINT/LONGNEG",
    ]
    if s["challenge"]:
        lines.append("# fixed login challenge: %s" % s["challenge"])
    events = list(s["events"])
    for i, w in enumerate(s["writes"]):
        while events and events[0]["before"] <= i:
            e = events.pop(0)
            lines.append("       -- %s: %s" % (e["side"], e["text"]))
        data = bytes.fromhex(w["hex"])
        arrow = "C->S" if w["dir"] == "c2s" else "S->C"
        lines.append("#%02d %s %4d  %s" % (i, arrow, len(data), "  ".join(show(x) for x in banana_items(data))))
    for e in events:
        lines.append("       -- %s: %s" % (e["side"], e["text"]))
    for w in s["late"]:
        data = bytes.fromhex(w["hex"])
        arrow = "C->S" if w["dir"] == "c2s" else "S->C"
        lines.append("LATE %s %4d  %s   [written after connectionLost: never on the wire]" % (
            arrow, len(data), "  ".join(show(x) for x in banana_items(data))))
    for d, arrow in (("c2s", "C->S"), ("s2c", "S->C")):
        n = sum(len(w["hex"]) // 2 for w in s["writes"] if w["dir"] == d)
        k = sum(1 for w in s["writes"] if w["dir"] == d)
        lines.append("# %s: %d writes, %d bytes, all received by the peer" % (arrow, k, n))
    return "\n".join(lines) + "\n"


def session_json(s):
    out = ["{"]
    for key in ("name", "title", "twisted", "python", "challenge"):
        out.append(" %s: %s," % (json.dumps(key), json.dumps(s[key])))
    for key in ("writes", "late", "events"):
        items = s[key]
        if not items:
            out.append(" %s: []," % json.dumps(key))
            continue
        out.append(" %s: [" % json.dumps(key))
        for i, item in enumerate(items):
            out.append("  " + json.dumps(item, sort_keys=False) + ("," if i < len(items) - 1 else ""))
        out.append(" ],")
    out[-1] = out[-1].rstrip(",")
    out.append("}")
    return "\n".join(out) + "\n"


def record_in_child(name):
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    r = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", name],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
    )
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode("utf-8", "replace"))
        raise SystemExit("session %s: child exited with %d" % (name, r.returncode))
    return json.loads(r.stdout.decode("utf-8"))


def main(argv):
    if argv[:1] == ["--child"]:
        result = run_session(argv[1])
        sys.stdout.write(json.dumps(result))
        return 0
    check = "--check" in argv
    names = [a for a in argv if not a.startswith("--")] if "--only" in argv else list(SESSIONS)
    unknown = [n for n in names if n not in SESSIONS]
    if unknown:
        raise SystemExit("unknown session(s): %s (known: %s)" % (", ".join(unknown), ", ".join(SESSIONS)))
    status = 0
    if not check and not os.path.isdir(OUT_DIR):
        os.makedirs(OUT_DIR)
    for name in names:
        s = record_in_child(name)
        problems = s.pop("problems")
        if problems:
            for p in problems:
                sys.stderr.write("session %s: %s\n" % (name, p))
            raise SystemExit("session %s: recording is not sane, nothing written" % name)
        files = {name + ".json": session_json(s), name + ".txt": transcript(s)}
        for fname, text in files.items():
            path = os.path.join(OUT_DIR, fname)
            if check:
                try:
                    with open(path, "r", encoding="utf-8") as f:
                        old = f.read()
                except IOError:
                    old = None
                if old != text:
                    sys.stderr.write("differs: %s\n" % os.path.relpath(path, ROOT))
                    status = 1
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
        sys.stderr.write("session %s: %d writes (%d late), twisted %s\n" % (
            name, len(s["writes"]), len(s["late"]), s["twisted"]))
    if check:
        sys.stderr.write("check: %s\n" % ("all sessions identical" if status == 0 else "DIFFERENCES"))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
