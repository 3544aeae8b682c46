"""A Twisted PB client for the Cacheable / Publishable / paging / typed-interface live tests
(test/live/cache.test.ts drives it against our server).

    <python with Twisted> interop/peer.py cache-client 'SCENARIO-JSON'  (or "-": read it from stdin)

    {"port": N, "scenario": NAME, "timeout": 20, ...scenario fields}

Scenarios (each mirrors a test of twisted/spread/test/test_pb.py, with the TypeScript server in the
server's role): test_cache, test_newStyleCache, paging (files: {"empty": PATH, "data": PATH}),
publishable (dir: where RemotePublished writes its .pub file), typed, disconnect.

Output, one JSON line each (common.emit):
    {"event": "result", "name": ..., "value": JSON}      one per check, in order
    {"event": "log", ...}                                 what Twisted logs
    {"event": "done"} last, or {"event": "crash", "text": traceback}
It exits by itself after the scenario or the timeout.
"""

import gc
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import describe, emit, failure_info, install_log_observer  # noqa: E402
from twisted.internet import defer, reactor, task  # noqa: E402
from twisted.python import reflect  # noqa: E402
from twisted.spread import pb, publish, util  # noqa: E402


def pattern(n):
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]


# ---------------------------------------------------------------------------------------
# The holder's classes for the TypeScript server's Cacheables (test_pb.py's, rewritten)

ENDS = []


class SimpleLocalCache(pb.RemoteCache):
    def setCopyableState(self, state):
        self.__dict__.update(state)

    def checkMethod(self):
        return self.check

    def checkSelf(self):
        return self

    def check(self):
        return 1


pb.setUnjellyableForClass("__main__.SimpleCache", SimpleLocalCache)


class RatherBaroqueCache(pb.RemoteCache):
    def observe_foo(self, newFoo):
        self.foo = newFoo

    def observe_end(self):
        ENDS.append(self.luid)


pb.setUnjellyableForClass("__main__.VeryVeryComplicatedCacheable", RatherBaroqueCache)


class NewStyleCacheCopy(pb.Cacheable, pb.RemoteCache):
    def getStateToCacheAndObserveFor(self, perspective, observer):
        return self.__dict__


pb.setUnjellyableForClass("__main__.NewStyleCacheCopy", NewStyleCacheCopy)


class DumbPub(publish.RemotePublished):
    def activated(self):
        self.activateCalled = 1


pb.setUnjellyableForClass("__main__.DumbPublishable", DumbPub)


class TypedPoint(pb.Copyable):
    def __init__(self, x, y):
        self.x = x
        self.y = y


# ---------------------------------------------------------------------------------------


class Ctx:
    def __init__(self, sc):
        self.sc = sc
        self.factories = []

    def connect(self):
        f = pb.PBClientFactory()
        reactor.connectTCP(self.sc.get("host", "127.0.0.1"), self.sc["port"], f)
        self.factories.append(f)
        return f.getRootObject()

    def check(self, name, value):
        emit("result", name=name, value=value)


def sleep(seconds):
    return task.deferLater(reactor, seconds, lambda: None)


@defer.inlineCallbacks
def until(pred, what, timeout=5, poke=None):
    """Waits for pred(); poke() (a Deferred-returning call, e.g. the peer's gc) between tries."""
    deadline = reactor.seconds() + timeout
    while not pred():
        if reactor.seconds() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        if poke is not None:
            yield poke()
        yield sleep(0.02)


def outcome(d, *trap):
    """A call's result as JSON: {"ok", "value"} or {"ok": False, "failure", "trapped"}."""
    out = defer.Deferred()

    def good(v):
        out.callback({"ok": True, "value": describe(v)})

    def bad(f):
        res = {"ok": False, "failure": failure_info(f), "trapped": None}
        if trap:
            try:
                res["trapped"] = reflect.qual(f.trap(*trap))
            except BaseException:
                pass
        out.callback(res)

    d.addCallbacks(good, bad)
    return out


SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = defer.inlineCallbacks(fn)
    return fn


@scenario
def test_cache(ctx):
    root = yield ctx.connect()
    broker = root.broker
    coll = []
    complex = []
    for _ in range(2):
        x = yield root.callRemote("getCache")
        coll.append(x)
    for _ in range(2):
        x = yield root.callRemote("getComplex")
        complex.append(x)
    del x
    # `worst things first'
    ctx.check("complexState", [type(complex[0]).__name__, complex[0].x, complex[0].y, complex[0].foo])
    ctx.check("complexSharesState", [complex[0] is complex[1], complex[0].__dict__ is complex[1].__dict__])
    yield root.callRemote("setFoo4")
    yield until(lambda: complex[0].foo == 4, "observe_foo")
    ctx.check("foo", complex[0].foo)
    cp = coll[0][0]
    ctx.check("simpleState", [type(cp).__name__, cp.x, cp.y, cp.z])
    ctx.check("identity", [
        cp.checkMethod().__self__ is cp,
        cp.checkSelf() is cp,
        coll[0][1].__dict__ is cp.__dict__,
        coll[1][1].__dict__ is cp.__dict__,
    ])
    r = yield root.callRemote("putCache", cp)
    ctx.check("putCache", r)
    ctx.check("locallyCachedBefore", sorted(broker.locallyCachedObjects))
    # now, refcounting: every borg copy sends its decache when collected
    del complex[:]  # (the lambda above holds the list: Python 2 cannot del a name a closure uses)
    del coll, cp
    gc.collect()
    yield until(lambda: not broker.locallyCachedObjects, "the uncaches")
    ctx.check("locallyCachedAfter", sorted(broker.locallyCachedObjects))
    state = yield root.callRemote("cacheState")
    ctx.check("serverState", state)
    ctx.check("ends", ENDS)


@scenario
def test_newStyleCache(ctx):
    root = yield ctx.connect()
    orig = NewStyleCacheCopy()
    orig.s = "value"
    res = yield root.callRemote("giveMeCache", orig)
    ctx.check("first", [isinstance(res, NewStyleCacheCopy), res.s, res is orig])
    # Save a reference so it stays alive, and ask for it again (Cacheable's re-jelly logic).
    again = yield root.callRemote("giveMeCache", orig)
    ctx.check("again", [isinstance(again, NewStyleCacheCopy), again.s, again is orig, again.__dict__ is res.__dict__])
    given = yield root.callRemote("given")
    ctx.check("given", given)
    # Our Cacheable, cached by the peer: it lets go of its copies when it collects them.
    ctx.check("ownedBefore", len(root.broker.remotelyCachedObjects))
    yield until(lambda: not root.broker.remotelyCachedObjects, "the peer's decache",
                poke=lambda: root.callRemote("collect"))
    ctx.check("ownedAfter", len(root.broker.remotelyCachedObjects))


@scenario
def paging(ctx):
    root = yield ctx.connect()
    for label, size, cb in (("stringWithCallback", 700000, True), ("stringWithoutCallback", 700000, False)):
        pages = yield util.getAllPages(root, "getPages", size, cb)
        ctx.check(label, [len(pages), b"".join(pages) == pattern(size)])
    files = ctx.sc["files"]
    for label, path, cb in (("emptyFile", files["empty"], False), ("fileWithCallback", files["data"], True),
                            ("fileWithoutCallback", files["data"], False)):
        with open(path, "rb") as f:
            want = f.read()
        pages = yield util.getAllPages(root, "getFilePages", path, cb)
        ctx.check(label, [len(pages), len(b"".join(pages)), b"".join(pages) == want])
    done = yield root.callRemote("pagerDone")
    ctx.check("callbacks", done)


@scenario
def publishable(ctx):
    os.chdir(ctx.sc["dir"])
    root = yield ctx.connect()
    obj = yield publish.whenReady(root.callRemote("getPub"))
    # whenReady fires before activated() runs and the .pub file is written (_cbGotUpdate's order);
    # test_publishable looks after pump.flush().
    yield sleep(0)
    ctx.check("first", {
        "class": type(obj).__name__,
        "activateCalled": getattr(obj, "activateCalled", 0),
        "isActivated": obj.isActivated,
        "yayIGotPublished": getattr(obj, "yayIGotPublished", None),
        "wasCleanWhenLoaded": obj._wasCleanWhenLoaded,
        "fileName": obj.getFileName(),
        "fileExists": os.path.exists(obj.getFileName()),
    })
    root2 = yield ctx.connect()
    obj2 = yield publish.whenReady(root2.callRemote("getPub"))
    yield sleep(0)
    ctx.check("second", {
        "activateCalled": getattr(obj2, "activateCalled", 0),
        "yayIGotPublished": getattr(obj2, "yayIGotPublished", None),
        "wasCleanWhenLoaded": obj2._wasCleanWhenLoaded,
    })


@scenario
def typed(ctx):
    root = yield ctx.connect()
    calc = yield root.callRemote("calc")
    calls = [
        ("add", "add", (2, 3), {}),
        ("addFloat", "add", (2, 0.5), {}),
        ("greet", "greet", ("bob",), {}),
        ("greetKw", "greet", ("bob",), {"greeting": "yo"}),
        ("stats", "stats", ([1, 2, 3],), {}),
        # wrong types: refused with a pb.Error the caller can trap
        ("addText", "add", ("two", 3), {}),
        ("addOneArg", "add", (1,), {}),
        ("addThreeArgs", "add", (1, 2, 3), {}),
        ("addUnknownKw", "add", (1, 2), {"z": 1}),
        ("greetBytes", "greet", (b"bob",), {}),
        ("greetBadKw", "greet", ("bob",), {"greeting": 5}),
        ("statsBadItem", "stats", ([1, "x"],), {}),
        ("statsDict", "stats", ({"a": 1},), {}),
    ]
    for label, name, args, kw in calls:
        r = yield outcome(calc.callRemote(name, *args, **kw), pb.Error)
        ctx.check(label, r)
    r = yield outcome(root.callRemote("takePoint", TypedPoint(1, 2)), pb.Error)
    ctx.check("goodPoint", r)
    r = yield outcome(root.callRemote("takePoint", TypedPoint(1, "two")), pb.Error)
    ctx.check("badPoint", r)
    r = yield outcome(calc.callRemote("add", 4, 5), pb.Error)
    ctx.check("stillConnected", r)


@scenario
def disconnect(ctx):
    root = yield ctx.connect()
    conn = yield root.callRemote("conn")
    ctx.check("conn", conn)
    complex = yield root.callRemote("getComplex")
    ctx.check("foo", complex.foo)
    broker = root.broker
    lost = defer.Deferred()
    broker.notifyOnDisconnect(lambda: lost.called or lost.callback(None))
    ctx.factories[-1].disconnect()
    yield lost
    ctx.check("lost", True)


def main():
    raw = sys.argv[1] if len(sys.argv) > 1 else "-"
    sc = json.loads(sys.stdin.readline() if raw == "-" else raw)
    install_log_observer()
    ctx = Ctx(sc)
    state = {"done": False}

    def finish(event, **fields):
        if state["done"]:
            return
        state["done"] = True
        for f in ctx.factories:
            f.disconnect()
        emit(event, **fields)
        reactor.callLater(0.05, reactor.stop)

    def failed(f):
        finish("crash", text=f.getTraceback())

    reactor.callLater(sc.get("timeout", 20), finish, "crash", text="timed out")
    reactor.callWhenRunning(lambda: SCENARIOS[sc["scenario"]](ctx).addCallbacks(lambda _: finish("done"), failed))
    reactor.run()


if __name__ == "__main__":
    main()
