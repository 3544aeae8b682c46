"""A Twisted PB peer for the live tests against every Twisted version (test/legacy/live.test.ts).

One source for Python 2.7 and 3 (Twisted 16.6 to 24.10): no f-strings, no keyword-only
arguments, no `return value` in generators; native `str` literals stay native on both.

    <python with Twisted> interop/peer.py serve legacy            [--lifetime S]
    <python with Twisted> interop/peer.py legacy-client --port N [--timeout S]

serve legacy: the "legacy" root of interop/conformance/roots.json (served by
interop/peers/server.py): a PBServerFactory with a Portal (alice/secret). Its avatar (LAvatar)
offers echo, a Copyable each way, a Cacheable with observer updates, failures, references passed
back and counted, calls to the client's mind and a pager. Prints one JSON object a line:
{"event": "listening", "legacy": N, "twisted": V, "python": V} first, then what it records.

client: logs in to a server offering the same avatar methods (the TypeScript side), runs every
step and prints {"event": "step", "name": ..., "ok": true|false, "detail": ...} for each, then
{"event": "done"}. It checks what came back with Python's own types (str vs unicode vs bytes) and
Python's own wording (it makes the same error locally and compares the text).

Both end when stdin closes, or after --timeout seconds.
"""
from __future__ import absolute_import, division, print_function

import gc
import json
import os
import sys

sys.dont_write_bytecode = True

from twisted.cred import checkers, credentials, portal  # noqa: E402
from twisted.internet import defer, reactor, task  # noqa: E402
from twisted.spread import pb, util  # noqa: E402
from zope.interface import implementer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, stop_when_stdin_closes  # noqa: E402

PY2 = sys.version_info[0] == 2
TEXT = type(u"")


def desc(v, depth=0):
    """A JSON description that keeps Python's types: bytes, text, int, float, containers, instances."""
    if depth > 8:
        return ["deep"]
    depth += 1
    if v is None:
        return ["none"]
    if isinstance(v, bool):
        return ["bool", v]
    if isinstance(v, bytes):
        return ["bytes", bytearray(v).hex() if not PY2 else v.encode("hex")]
    if isinstance(v, TEXT):
        return ["text", v]
    if isinstance(v, float):
        return ["float", repr(v)]
    if isinstance(v, (int, type(2 ** 70))):
        return ["int", str(v)]
    if isinstance(v, list):
        return ["list", [desc(x, depth) for x in v]]
    if isinstance(v, tuple):
        return ["tuple", [desc(x, depth) for x in v]]
    if isinstance(v, dict):
        items = [[desc(k, depth), desc(x, depth)] for k, x in v.items()]
        items.sort(key=lambda kv: json.dumps(kv[0], sort_keys=True))
        return ["dict", items]
    if isinstance(v, (set, frozenset)):
        items = [desc(x, depth) for x in v]
        items.sort(key=lambda d: json.dumps(d, sort_keys=True))
        return ["set" if isinstance(v, set) else "frozenset", items]
    state = dict((k, x) for k, x in getattr(v, "__dict__", {}).items() if k in ("x", "y", "label", "value", "name", "updates"))
    return ["obj", type(v).__name__, desc(state, depth)]


def same(a, b):
    """Equal with the same types all the way down (str and unicode told apart on Python 2)."""
    return desc(a) == desc(b)


def pattern(n):
    return bytes(bytearray(i % 251 for i in range(n)))


PAGES = 100000

# Values of every kind a call carries, with Python's native str, unicode and bytes told apart.
VALUES = (
    1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 70, -(2 ** 70),
    2.5, -0.0, 1e100,
    str("native"), u"h\xe9 \u4e2d", b"raw\x00\xff", u"", b"",
    None, True, False,
    [1, [2, [str("x")]]], (1, u"t"), (),
    {str("k"): 1, u"uk": u"v", 7: b"int key", (1, 2): None},
    set([1, 2]),
)


# ---------------------------------------------------------------------------------------------
# classes shared by both roles (tags __main__.LPoint, __main__.LCounter, also when the server
# imports this file rather than running it)


def _script(cls):
    cls.__module__ = "__main__"
    return cls


@_script
class LPoint(pb.Copyable):
    def __init__(self, x, y, label):
        self.x = x
        self.y = y
        self.label = label


class RemoteLPoint(pb.RemoteCopy):
    pass


pb.setUnjellyableForClass("__main__.LPoint", RemoteLPoint)


@_script
class LCounter(pb.Cacheable):
    def __init__(self):
        self.value = 0
        self.name = str("ctr")
        self.observers = []

    def getStateToCacheAndObserveFor(self, perspective, observer):
        self.observers.append(observer)
        return {str("value"): self.value, str("name"): self.name}

    def stoppedObserving(self, perspective, observer):
        if observer in self.observers:
            self.observers.remove(observer)

    def bump(self):
        self.value += 1
        return defer.gatherResults([o.callRemote("setValue", self.value) for o in self.observers])


class RemoteLCounter(pb.RemoteCache):
    def setCopyableState(self, state):
        self.__dict__.update(state)
        self.updates = []

    def observe_setValue(self, value):
        self.value = value
        self.updates.append(value)


pb.setUnjellyableForClass("__main__.LCounter", RemoteLCounter)


class Thing(pb.Referenceable):
    def remote_hello(self, x):
        return (str("hello"), x)


def failure_desc(f):
    return {
        "type": f.type if isinstance(f.type, (bytes, TEXT)) else str(f.type),
        "value": f.value if isinstance(f.value, (bytes, TEXT)) else str(f.value),
        "parents": [p if isinstance(p, (bytes, TEXT)) else str(p) for p in f.parents],
        "trapsValueError": f.check(ValueError) is not None,
    }


def jsonable(x):
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, dict):
        return dict((jsonable(k), jsonable(v)) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x


# ---------------------------------------------------------------------------------------------
# serve


class LAvatar(pb.Avatar):
    def __init__(self, name, mind):
        self.name = name
        self.mind = mind
        self.given = Thing()
        self.counter = LCounter()

    def perspective_echo(self, *args, **kw):
        emit("echo", args=desc(args), kw=desc(kw))
        return (args, kw)

    def perspective_getPoint(self):
        return LPoint(1, 2, str("pt"))

    def perspective_takePoint(self, p):
        return (str(p.__class__.__name__), p.x + p.y, p.label)

    def perspective_getCounter(self):
        return self.counter

    def perspective_bump(self):
        return self.counter.bump()

    def perspective_fail(self):
        raise ValueError("bad value")

    def perspective_add(self, a, b):
        return a + b

    def perspective_giveRef(self):
        return self.given

    def perspective_isSame(self, ref):
        return ref is self.given

    def perspective_localCount(self):
        return len(self.mind.broker.localObjects)

    def perspective_pingMind(self, n):
        d = self.mind.callRemote("ping", n, tag=str("t"))
        return d.addCallback(lambda r: [same(r, (str("pong"), n, str("t"))), desc(r)])

    def perspective_mindFail(self):
        d = self.mind.callRemote("boom")
        d.addCallbacks(lambda r: {"answered": desc(r)}, failure_desc)
        return d.addCallback(jsonable).addCallback(json.dumps)

    def perspective_getPages(self, collector):
        util.StringPager(collector, pattern(PAGES), 8192)


@implementer(portal.IRealm)
class Realm(object):
    def requestAvatar(self, avatarId, mind, *interfaces):
        avatar = LAvatar(avatarId, mind)
        return (pb.IPerspective, avatar, lambda: None)


def portal_factory(argv):
    """The "legacy" server of roots.json."""
    if argv:
        raise SystemExit("serve: this root takes no options: %s" % " ".join(argv))
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")
    return pb.PBServerFactory(portal.Portal(Realm(), [checker]))


# ---------------------------------------------------------------------------------------------
# client


class Mind(pb.Referenceable):
    def remote_ping(self, n, tag=None):
        return (str("pong"), n, tag)

    def remote_boom(self):
        raise ValueError("mind failed")


class LUser(pb.Avatar):
    """Has the TypeScript avatar's class name and signature: Python's own words for its errors."""

    def perspective_add(self, a, b):
        return a + b


def local_error(fn):
    try:
        fn()
    except Exception as e:
        return str(e)
    return None


def until(check, timeout=5.0):
    """Polls check() in the reactor until it is true; fails after timeout seconds."""
    d = defer.Deferred()
    loops = [0]

    def poll():
        if check():
            d.callback(True)
        elif loops[0] * 0.02 > timeout:
            d.errback(Exception("timed out"))
        else:
            loops[0] += 1
            reactor.callLater(0.02, poll)
    poll()
    return d


@defer.inlineCallbacks
def client_steps(port):
    steps = []

    def step(name, ok, **detail):
        emit("step", name=name, ok=bool(ok), detail=jsonable(detail))
        steps.append(name)

    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", port, factory)
    mind = Mind()
    avatar = yield factory.login(credentials.UsernamePassword(b"alice", b"secret"), client=mind)
    step("login", avatar is not None)

    # kwargs first: the TypeScript server learns the Python from their keys
    back = yield avatar.callRemote("echo", *VALUES, key=str("kw"), n=2 ** 70, u=u"\xe9")
    ok = isinstance(back, (list, tuple)) and len(back) == 2 and same(tuple(back[0]), VALUES) and same(back[1], {str("key"): str("kw"), str("n"): 2 ** 70, str("u"): u"\xe9"})
    step("echo", ok, sent=desc((VALUES, {})), got=desc(back))
    back = yield avatar.callRemote("echo", u"h\xe9", str("s"), {u"k": [u"v", str("w")]})
    step("echo-unicode", same(tuple(back[0]), (u"h\xe9", str("s"), {u"k": [u"v", str("w")]})), got=desc(back))

    p = yield avatar.callRemote("getPoint")
    step("copy-in", isinstance(p, RemoteLPoint) and (p.x, p.y) == (1, 2) and type(p.label) is str and p.label == "pt", got=desc(p))
    r = yield avatar.callRemote("takePoint", LPoint(3, 4, str("tp")))
    step("copy-out", same(tuple(r), (str("RemoteLPoint"), 7, str("tp"))), got=desc(r))

    c = yield avatar.callRemote("getCounter")
    ok = isinstance(c, RemoteLCounter) and c.value == 0
    yield avatar.callRemote("bump")
    yield until(lambda: c.value == 1)
    step("cache", ok and c.value == 1 and c.updates == [1] and type(c.name) is str, got=desc(c))

    f = (yield avatar.callRemote("fail").addCallbacks(lambda r: [None], lambda f: [f]))[0]
    step("failure-in", f is not None and f.check(ValueError) is not None and f.value == "bad value",
         failure=failure_desc(f) if f else None)

    # the library's own errors, in this Python's words
    f = (yield avatar.callRemote("add", 1).addCallbacks(lambda r: [None], lambda f: [f]))[0]
    local = local_error(lambda: LUser().perspective_add(1))
    step("arity", f is not None and f.check(TypeError) is not None and f.value == local, failure=failure_desc(f) if f else None, local=local)
    f = (yield avatar.callRemote("nope").addCallbacks(lambda r: [None], lambda f: [f]))[0]
    local = local_error(lambda: getattr(LUser(), "perspective_nope"))
    step("no-such-method", f is not None and f.check(AttributeError) is not None and f.value == local, failure=failure_desc(f) if f else None, local=local)
    thing = yield avatar.callRemote("giveRef")
    f = (yield thing.callRemote("nope").addCallbacks(lambda r: [None], lambda f: [f]))[0]
    step("no-such-remote", f is not None and f.check(AttributeError) is not None and f.check(pb.NoSuchMethod) is not None
         and f.value == "No such method: remote_nope", failure=failure_desc(f) if f else None)

    # a failure the other way: our mind raises, the TypeScript side reports what it got
    got = yield avatar.callRemote("mindFail")
    got = json.loads(got)
    step("failure-out", got.get("type") == ("exceptions.ValueError" if PY2 else "builtins.ValueError") and got.get("value") == "mind failed", got=got)

    hello = yield thing.callRemote("hello", u"x")
    step("reference", same(tuple(hello), (str("hello"), u"x")), got=desc(hello))
    is_same = yield avatar.callRemote("isSame", thing)
    step("reference-back", is_same is True, got=desc(is_same))
    before = yield avatar.callRemote("localCount")
    del thing
    gc.collect()
    after = yield avatar.callRemote("localCount")
    step("decref", after == before - 1, before=before, after=after)

    r = yield avatar.callRemote("pingMind", 5)
    step("mind-call", same(tuple(r), (str("pong"), 5, str("t"))), got=desc(r))

    pages = yield util.getAllPages(avatar, "getPages")
    data = b"".join(pages)
    step("pager", data == pattern(PAGES) and len(pages) > 1, pages=len(pages), size=len(data))

    # the connection survived all of it (Twisted 24.7+ drops it on a failure it cannot read)
    back = yield avatar.callRemote("echo", 1)
    step("still-connected", same(tuple(back[0]), (1,)))
    emit("done", steps=len(steps))


def client(opts):
    d = client_steps(opts["port"])

    def failed(f):
        emit("error", text=f.getTraceback())
    d.addErrback(failed)
    d.addBoth(lambda _: reactor.callLater(0, reactor.stop))


# ---------------------------------------------------------------------------------------------


def parse(argv):
    opts = {"role": argv[0] if argv else "client", "port": 0, "timeout": 60.0}
    i = 1
    while i < len(argv):
        if argv[i] == "--port":
            opts["port"] = int(argv[i + 1])
            i += 2
        elif argv[i] == "--timeout":
            opts["timeout"] = float(argv[i + 1])
            i += 2
        else:
            raise SystemExit("unknown argument: %s" % argv[i])
    return opts


def main():
    opts = parse(sys.argv[1:])
    stop_when_stdin_closes(reactor, lambda: reactor.running and reactor.stop())
    reactor.callLater(opts["timeout"], lambda: reactor.running and reactor.stop())
    if opts["role"] != "client":
        raise SystemExit("legacy.py runs the client; its server is peer.py serve legacy")
    client(opts)
    reactor.run()


if __name__ == "__main__":
    main()
