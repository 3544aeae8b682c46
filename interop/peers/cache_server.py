"""A Twisted PB server holding Cacheables, Publishables and pagers, for test/live/cache.test.ts.

The "cache" root of interop/conformance/roots.json, served by interop/peer.py serve
(interop/peers/server.py):

    <python with Twisted> interop/peer.py serve cache [--lifetime SECONDS]

It listens on 127.0.0.1 with a port chosen by the OS and reports on stdout, one JSON object per
line (interop/peers/common.py emit):

    {"event": "listening", "cache": N, "twisted": "22.4.0", ...}  first line (server.py)
    {"event": "decache", "conn": N, "luid": L}                    the peer let go of one copy
    {"event": "observing", "conn": N, "what": NAME}               getStateToCacheAndObserveFor
    {"event": "stoppedObserving", "conn": N, "what": NAME, "connected": BOOL}
    {"event": "pagerDone", "conn": N, "kind": ..., "args": DESC, "kw": DESC, "chunks": n|null}
    {"event": "connectionLost", "conn": N}
    {"event": "log", ...}                                          what Twisted logs

Every connection gets its own CacheRoot with its own Cacheables (the classes of Twisted's
test_pb.py, rewritten: SimpleCache, VeryVeryComplicatedCacheable, NewStyleCacheCopy), so a test's
reference counts are its own. The Publishable (DumbPublishable "TESTING") is shared by every
connection, so a second connection sees the same timestamp (test_publishable). Copy tags are
"__main__.<Class>", as for any class defined in a script (test_pb.py's own), though this module
is imported by the server: @_script keeps those names.
"""

import gc
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import describe, emit  # noqa: E402
from twisted.spread import pb, publish, util  # noqa: E402
from zope.interface import implementer  # noqa: E402


def _script(cls):
    """Names cls __main__.<Class> on the wire, as if defined in the script being run."""
    cls.__module__ = "__main__"
    return cls


def pattern(n):
    """n bytes of 0, 1, ... 250, 0, 1, ... (the TS side builds the same)."""
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]


# ---------------------------------------------------------------------------------------
# Cacheables (test_pb.py: SimpleCache, VeryVeryComplicatedCacheable, NewStyleCacheCopy)


@_script
class SimpleCache(pb.Cacheable):
    def __init__(self):
        self.x = 1
        self.y = {"Hello": "World"}
        self.z = ["test"]


@_script
class VeryVeryComplicatedCacheable(pb.Cacheable):
    def __init__(self, conn):
        self.conn = conn
        self.x = 1
        self.y = 2
        self.foo = 3
        self.observer = None

    def setFoo4(self):
        self.foo = 4
        self.observer.callRemote("foo", 4)

    def getStateToCacheAndObserveFor(self, perspective, observer):
        emit("observing", conn=self.conn, what="complex")
        self.observer = observer
        return {"x": self.x, "y": self.y, "foo": self.foo}

    def stoppedObserving(self, perspective, observer):
        connected = not observer.broker.disconnected
        emit("stoppedObserving", conn=self.conn, what="complex", connected=connected)
        if connected:
            # As test_pb's class: tell the copy, which still exists until our uncache.
            observer.callRemote("end").addErrback(lambda f: emit("endFailed", conn=self.conn, error=str(f.value)))
        if observer == self.observer:
            self.observer = None


@_script
class NewStyleCacheCopy(pb.Cacheable, pb.RemoteCache):
    """Both sides of a cache (test_pb.py): what we send, and what we make of the peer's."""

    def getStateToCacheAndObserveFor(self, perspective, observer):
        return {"s": self.s}


pb.setUnjellyableForClass("__main__.NewStyleCacheCopy", NewStyleCacheCopy)


# ---------------------------------------------------------------------------------------
# Publishable (test_pb.py: DumbPublishable)


@_script
class DumbPublishable(publish.Publishable):
    def getStateToPublish(self):
        return {"yayIGotPublished": 1}


PUB = DumbPublishable("TESTING")


# ---------------------------------------------------------------------------------------
# Typed-interface peers: values of the wrong type on purpose


@_script
class TypedPoint(pb.Copyable):
    def __init__(self, x, y):
        self.x = x
        self.y = y


# ---------------------------------------------------------------------------------------

CONNECTIONS = [0]


class RecordingBroker(pb.Broker):
    def __init__(self, *a, **kw):
        pb.Broker.__init__(self, *a, **kw)
        CONNECTIONS[0] += 1
        self.connNumber = CONNECTIONS[0]

    def proto_decache(self, objectID):
        emit("decache", conn=self.connNumber, luid=objectID)
        return pb.Broker.proto_decache(self, objectID)

    def connectionLost(self, reason):
        pb.Broker.connectionLost(self, reason)
        emit("connectionLost", conn=self.connNumber)


class CacheRoot(pb.Referenceable):
    def __init__(self, broker):
        self.broker = broker
        self.conn = broker.connNumber
        self.simple = SimpleCache()
        self.complex = VeryVeryComplicatedCacheable(self.conn)
        self.orig = NewStyleCacheCopy()
        self.orig.s = "value"
        self.given = []
        self.filePager = None

    def remote_conn(self):
        return self.conn

    # test_cache (NestedCache, NestedComplicatedCache)
    def remote_getCache(self):
        return [self.simple, self.simple]

    def remote_putCache(self, cache):
        return self.simple is cache

    def remote_getComplex(self):
        return self.complex

    def remote_setFoo4(self):
        self.complex.setFoo4()

    def remote_cacheState(self):
        return {
            "remotelyCached": sorted(self.broker.remotelyCachedObjects),
            "locallyCached": sorted(self.broker.locallyCachedObjects),
            "observerIsNone": self.complex.observer is None,
        }

    def remote_collect(self):
        gc.collect()

    # test_newStyleCache (CachedReturner)
    def remote_giveMeCache(self, st):
        self.given.append([type(st).__name__, getattr(st, "s", None), st is self.orig])
        return self.orig

    def remote_given(self):
        return self.given

    # PagingTests (Pagerizer, FilePagerizer); callbacks as in the tests
    def _done(self, kind, pager=None):
        def done(*args, **kw):
            emit("pagerDone", conn=self.conn, kind=kind, args=describe(list(args)), kw=describe(kw),
                 chunks=None if pager is None else len(pager[0].chunks))
        return done

    def remote_getPages(self, collector, size, withCallback):
        if withCallback:
            util.StringPager(collector, pattern(size), 8192, self._done("string"), "hello", value=10)
        else:
            util.StringPager(collector, pattern(size))

    def remote_getFilePages(self, collector, path, withCallback):
        holder = []
        f = open(path, "rb")
        if withCallback:
            self.filePager = util.FilePager(collector, f, self._done("file", holder), "frodo", value=9)
        else:
            self.filePager = util.FilePager(collector, f)
        holder.append(self.filePager)

    def remote_filePagerChunks(self):
        return len(self.filePager.chunks)

    # test_publishable (GetPublisher)
    def remote_getPub(self):
        return PUB

    # typed interfaces: every answer here is of the wrong type
    def remote_add(self, a, b):
        return "%s" % (a + b)

    def remote_addOk(self, a, b):
        return a + b

    def remote_stats(self, xs):
        return {"n": len(xs), "mean": "x"}

    def remote_user(self):
        return {"name": "bob", "tags": ["a", 2]}

    def remote_goodPoint(self):
        return TypedPoint(1, 2)

    def remote_badPoint(self):
        return TypedPoint(1, "two")


@implementer(pb.IPBRoot)
class PerConnection:
    def rootObject(self, broker):
        return CacheRoot(broker)


def cache_factory(argv):
    """The "cache" server of roots.json: a per-connection CacheRoot, brokers that report."""
    if argv:
        raise SystemExit("serve: this root takes no options: %s" % " ".join(argv))
    factory = pb.PBServerFactory(PerConnection())
    factory.protocol = RecordingBroker
    return factory
