"""The conformance reference service, Python (Twisted) side; its TypeScript twin is service.ts.

Its two roots, "root" (a per-connection pb.Root) and "portal" (a Portal), are declared in
interop/conformance/roots.json and served by interop/peer.py serve (interop/peers/server.py):

    <python with Twisted> interop/peer.py serve root portal [--lifetime SECONDS]

The catalogue turns cyclic garbage collection off for them, so a RemoteReference sends its decref
exactly when its last Python reference goes (reference counting), the same moment in every run.
"""

import sys

sys.dont_write_bytecode = True

from twisted.cred import checkers, portal  # noqa: E402
from twisted.internet import defer, reactor, task  # noqa: E402
from twisted.spread import pb, util  # noqa: E402
from common import ObservedValue  # noqa: E402
from zope.interface import implementer  # noqa: E402

MODULE = "conformance"  # so that reflect.qual() names our classes conformance.X on the wire


def _named(cls):
    cls.__module__ = MODULE
    return cls


@_named
class MyError(pb.Error):
    """A pb.Error subclass: conformance.MyError."""


@_named
class Point(pb.Copyable):
    def __init__(self, x, y):
        self.x = x
        self.y = y


@_named
class Line(pb.Copyable):
    def __init__(self, a, b, owner):
        self.a = a
        self.b = b
        self.owner = owner


class RemotePoint(pb.RemoteCopy):
    pass


class RemoteLine(pb.RemoteCopy):
    pass


pb.setUnjellyableForClass("conformance.Point", RemotePoint)
pb.setUnjellyableForClass("conformance.Line", RemoteLine)


@_named
class Counter(ObservedValue):
    """Every copy is told of each change through observe_set."""

    def bump(self, n):
        self.value += n
        for o in self.observers:
            o.callRemote("set", self.value)
        return self.value


class Thing(pb.Referenceable):
    def __init__(self, name):
        self.name = name

    def remote_hello(self, x):
        return (u"hello", self.name, x)


class Board(pb.Viewable):
    def view_who(self, perspective):
        return perspective.name if isinstance(perspective, User) else None

    def view_post(self, perspective, text):
        return (perspective.name if isinstance(perspective, User) else None, text)


BOARD = Board()


def page_data(n):
    return bytes(bytearray((i * 7 + 3) & 0xFF for i in range(n)))


def _text(x):
    return x.decode("utf-8") if isinstance(x, bytes) else x


class ConformanceRoot(pb.Referenceable):
    def __init__(self, broker):
        self.broker = broker
        self.things = {}
        self.notes_ = []
        self.counter = Counter()

    # values
    def remote_echo(self, x):
        return x

    def remote_echoArgs(self, *a, **kw):
        return (a, kw)

    # failures
    def remote_fail(self):
        raise ValueError("oops")

    def remote_failError(self):
        raise MyError("denied")

    def remote_failDeferred(self):
        return defer.fail(ValueError("deferred"))

    def remote_failLater(self):
        def boom():
            raise ValueError("later")

        return task.deferLater(reactor, 0, boom)

    # references
    def remote_getThing(self, name):
        t = Thing(_text(name))
        self.things[_text(name)] = t
        return t

    def remote_isThing(self, obj, name):
        return obj is self.things.get(_text(name))

    def remote_callMeBack(self, ref, x):
        return ref.callRemote("called", x)

    def remote_callBack(self, ref, method, *args):
        return ref.callRemote(str(_text(method)), *args)  # a native str method name on Python 2 too

    def remote_callEach(self, refs, x):
        return defer.gatherResults([r.callRemote("called", x) for r in refs])

    # pbanswer=False
    def remote_note(self, x):
        self.notes_.append(x)

    def remote_notes(self):
        return list(self.notes_)

    # copies
    def remote_getPoint(self, x, y):
        return Point(x, y)

    def remote_takePoint(self, p):
        if isinstance(p, RemotePoint):
            return (True, p.x, p.y)
        return (False, None, None)

    def remote_getSharedPoints(self):
        p = Point(1, 2)
        return (p, p)

    def remote_getLine(self):
        return Line(Point(1, 2), Point(3, 4), Thing(u"owner"))

    def remote_takeLine(self, line):
        if not isinstance(line, RemoteLine) or not isinstance(line.owner, pb.RemoteReference):
            raise ValueError("not a line")
        return line.owner.callRemote("called", line.a.x + line.b.y)

    # caches
    def remote_getCounter(self):
        return self.counter

    def remote_bump(self, n):
        return self.counter.bump(n)

    def remote_counterObservers(self):
        return len(self.counter.observers)

    # views
    def remote_getBoard(self):
        return BOARD

    # pagers
    def remote_sendPages(self, collector, n):
        util.StringPager(collector, page_data(n))

    # time and connection
    def remote_slow(self, ms, x=None):
        return task.deferLater(reactor, ms / 1000.0, lambda: x)

    def remote_dropMe(self):
        self.broker.transport.loseConnection()


@implementer(pb.IPBRoot)
class PerConnectionRoot(object):
    def rootObject(self, broker):
        return ConformanceRoot(broker)


class User(pb.Avatar):
    def __init__(self, name, mind):
        self.name = name
        self.mind = mind

    def perspective_whoami(self):
        return self.name

    def perspective_echo(self, x):
        return x

    def perspective_board(self):
        return BOARD

    def perspective_pingMind(self, x):
        if self.mind is None:
            raise MyError("no mind")
        return self.mind.callRemote("ping", x)

    def perspective_slow(self, ms, x=None):
        return task.deferLater(reactor, ms / 1000.0, lambda: x)

    def logout(self):
        self.mind = None


@implementer(portal.IRealm)
class Realm(object):
    @defer.inlineCallbacks
    def requestAvatar(self, avatarId, mind, *interfaces):
        assert pb.IPerspective in interfaces
        name = avatarId.decode("utf-8") if isinstance(avatarId, bytes) else u"anonymous"
        user = User(name, mind)
        del mind
        if user.mind is not None:
            for i in range(1, 4):
                yield user.mind.callRemote("greet", name, i)
        defer.returnValue((pb.IPerspective, user, user.logout))


def make_portal():
    db = checkers.InMemoryUsernamePasswordDatabaseDontUse()
    db.addUser(b"alice", b"secret")
    p = portal.Portal(Realm(), [db])
    p.registerChecker(checkers.AllowAnonymousAccess())
    return p


def root_factory(argv):
    """The "root" server of roots.json."""
    if argv:
        raise SystemExit("serve: this root takes no options: %s" % " ".join(argv))
    return pb.PBServerFactory(PerConnectionRoot())


def portal_factory(argv):
    """The "portal" server of roots.json."""
    if argv:
        raise SystemExit("serve: this root takes no options: %s" % " ".join(argv))
    return pb.PBServerFactory(make_portal())
