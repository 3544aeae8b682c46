# A Twisted PB server for the examples and the README samples: the other side a twisted-pb
# client talks to. Runs on Python 2.7 and 3 with any Twisted from 16.6.
#
#   python3 examples/twisted/server.py [--port 8787] [--login-port 8788] [--tls CERT KEY]
#
# Port 0 lets the OS pick; the ports in use are printed as one line of JSON:
#   {"port": 8787, "loginPort": 8788}
# --port serves a root object (below); --login-port serves a Portal with the user
# alice / secret; --tls serves both over TLS with that certificate and key (PEM files).
# --exit-on-stdin-close stops it when its stdin closes (for test harnesses).
from __future__ import print_function

import sys

from twisted.cred import checkers, portal
from twisted.internet import defer, reactor, task
from twisted.spread import pb
from zope.interface import implementer


class Point(pb.Copyable):
    """Sent by copy: the client registers a RemoteCopy for "__main__.Point"."""

    def __init__(self, x, y):
        self.x = x
        self.y = y


class ReceivedPoint(pb.RemoteCopy):
    """What a Point sent by the client becomes here."""


pb.setUnjellyableForClass("__main__.Point", ReceivedPoint)


class Scoreboard(pb.Cacheable):
    """Copied to each client once, then kept in sync through the observer it was given."""

    def __init__(self):
        self.scores = {}
        self.observers = []

    def getStateToCacheAndObserveFor(self, perspective, observer):
        self.observers.append(observer)
        return {"scores": self.scores}

    def stoppedObserving(self, perspective, observer):
        self.observers.remove(observer)

    def score(self, name, points):
        self.scores[name] = points
        for o in self.observers:
            o.callRemote("score", name, points)


class BuildFailed(pb.Error):
    """An application error: pb.Error subclasses travel without a traceback."""


BOARD = Scoreboard()


class ConnectionRoot(pb.Referenceable):
    """What each connection gets as its root object."""

    def __init__(self, broker):
        self.broker = broker

    def remote_echo(self, *args, **kwargs):
        return (args, kwargs) if kwargs else args

    def remote_fail(self):
        raise ValueError("bad value")

    def remote_failBuild(self, branch):
        raise BuildFailed("no such branch: %s" % (branch,))

    def remote_slow(self, seconds):
        return task.deferLater(reactor, seconds, lambda: "done after %s s" % (seconds,))

    def remote_dropMe(self):
        # Closes this connection a moment after answering, to show a client reconnecting.
        reactor.callLater(0.05, self.broker.transport.loseConnection)
        return "bye"

    def remote_getPoint(self):
        return Point(1, 2)

    def remote_getBadPoint(self):
        return Point(1, "two")

    def remote_describePoint(self, point):
        # u"": text on Python 2 as well (a Python 2 str would arrive as bytes).
        return u"%s at (%s, %s)" % (point.__class__.__name__, point.x, point.y)

    def remote_getBoard(self):
        return BOARD

    def remote_score(self, name, points):
        BOARD.score(name, points)

    def remote_isBoard(self, board):
        return board is BOARD

    def remote_add(self, a, b):
        return a + b

    def remote_stats(self, xs):
        # Answers a wrong type for "mean" on purpose: the typed-interface sample shows the error.
        return {"n": len(xs), "mean": "x"}


class Service(pb.Root):
    def rootObject(self, broker):
        return ConnectionRoot(broker)


class User(pb.Avatar):
    def __init__(self, name, mind):
        self.name = name
        self.mind = mind

    def perspective_whoami(self):
        return self.name

    def perspective_build(self, branch):
        if branch != "trunk":
            raise BuildFailed("no such branch: %s" % (branch,))
        return "built %s" % (branch,)

    @defer.inlineCallbacks
    def perspective_startTicks(self, count):
        # Calls the client's mind back, once per tick, and answers once all were acknowledged.
        acknowledged = []
        for i in range(count):
            answer = yield self.mind.callRemote("tick", i + 1)
            acknowledged.append(answer)
        defer.returnValue(acknowledged)


@implementer(portal.IRealm)
class Realm(object):
    def requestAvatar(self, avatarId, mind, *interfaces):
        if pb.IPerspective not in interfaces:
            raise NotImplementedError()
        name = avatarId.decode("utf-8") if isinstance(avatarId, bytes) else avatarId
        return pb.IPerspective, User(name, mind), lambda: None


def main(argv):
    port, login_port, tls, watch_stdin = 8787, 8788, None, False
    i = 0
    while i < len(argv):
        if argv[i] == "--port":
            port = int(argv[i + 1])
            i += 2
        elif argv[i] == "--login-port":
            login_port = int(argv[i + 1])
            i += 2
        elif argv[i] == "--exit-on-stdin-close":
            watch_stdin = True
            i += 1
        elif argv[i] == "--tls":
            tls = (argv[i + 1], argv[i + 2])
            i += 3
        else:
            raise SystemExit("unknown argument: %s" % argv[i])
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")
    factories = [pb.PBServerFactory(Service()), pb.PBServerFactory(portal.Portal(Realm(), [checker]))]
    ports = []
    for number, factory in zip([port, login_port], factories):
        if tls:
            from twisted.internet import ssl

            context = ssl.DefaultOpenSSLContextFactory(tls[1], tls[0])
            ports.append(reactor.listenSSL(number, factory, context, interface="127.0.0.1"))
        else:
            ports.append(reactor.listenTCP(number, factory, interface="127.0.0.1"))
    print('{"port": %d, "loginPort": %d}' % (ports[0].getHost().port, ports[1].getHost().port))
    sys.stdout.flush()
    if watch_stdin:
        reactor.callInThread(_wait_stdin_closed)
    reactor.run()


def _wait_stdin_closed():
    try:
        while sys.stdin.read(1):
            pass
    except Exception:
        pass
    reactor.callFromThread(reactor.stop)


if __name__ == "__main__":
    main(sys.argv[1:])
