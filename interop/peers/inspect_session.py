"""A Twisted PB server and client for the pb-inspect proxy test (test/inspect/proxy-live.test.ts).

    <python with Twisted> interop/peer.py serve inspect [--port N] [--lifetime SECONDS]
    <python with Twisted> interop/peer.py inspect-session client --port N [--timeout SECONDS]

serve inspect: the "inspect" root of interop/conformance/roots.json, served by
interop/peers/server.py: a PBServerFactory(Portal) with the user alice/secret. Prints
{"event": "listening", "inspect": N, ...} on stdout, then one JSON line per login and logout.

client: connects to 127.0.0.1:N and runs a session that covers what the transcript must show:
login with a mind, calls with every common type and keyword arguments, a remote ValueError, a
missing method, a Copyable each way, a Cacheable with an observer update, a Referenceable
returned and called, a call back to the mind, a wrong password. Prints {"ok": true, ...} and
exits 0 when every result was as expected; exits 1 otherwise (or after --timeout seconds).
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True

from twisted.cred import checkers, credentials, portal  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402
from common import ObservedValue, stop_when_stdin_closes  # noqa: E402
from twisted.spread import pb  # noqa: E402
from zope.interface import implementer  # noqa: E402


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------
# shared classes: named __main__.X on the wire whether this file runs as the script (client) or
# is imported by the server, so the copy tags match


def _script(cls):
    cls.__module__ = "__main__"
    return cls


@_script
class Point(pb.Copyable, pb.RemoteCopy):
    def __init__(self, x=0, y=0):
        self.x = x
        self.y = y


pb.setUnjellyableForClass(Point, Point)


@_script
class Counter(ObservedValue):
    def bump(self, n):
        self.value += n
        return defer.gatherResults([o.callRemote("setValue", self.value) for o in self.observers])


class RemoteCounter(pb.RemoteCache):
    def setCopyableState(self, state):
        self.value = state["value"]

    def observe_setValue(self, value):
        self.value = value


pb.setUnjellyableForClass(Counter, RemoteCounter)


# ---------------------------------------------------------------------------------------
# server


class Thing(pb.Referenceable):
    def remote_hello(self, who):
        return "hello " + who


class User(pb.Avatar):
    def __init__(self, name, mind):
        self.name = name
        self.mind = mind
        self.counter = Counter()

    def perspective_echo(self, *args, **kw):
        return (args, kw)

    def perspective_fail(self, msg):
        raise ValueError(msg)

    def perspective_getPoint(self):
        return Point(1, 2)

    def perspective_takePoint(self, p):
        return p.x + p.y

    def perspective_getCounter(self):
        return self.counter

    def perspective_bump(self, n):
        return self.counter.bump(n).addCallback(lambda _: self.counter.value)

    def perspective_getThing(self):
        return Thing()

    def perspective_callMind(self, x):
        return self.mind.callRemote("notify", x)


@implementer(portal.IRealm)
class Realm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        emit(event="login", user=avatarId.decode())
        avatar = User(avatarId, mind)
        return pb.IPerspective, avatar, lambda: emit(event="logout", user=avatarId.decode())


def portal_factory(argv):
    """The "inspect" server of roots.json: a Portal with alice/secret."""
    if argv:
        raise SystemExit("serve: this root takes no options: %s" % " ".join(argv))
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")
    return pb.PBServerFactory(portal.Portal(Realm(), [checker]))


# ---------------------------------------------------------------------------------------
# client


class Mind(pb.Referenceable):
    def remote_notify(self, x):
        return ("got", x)


def expect(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


@defer.inlineCallbacks
def run_client(args):
    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", args.port, factory)
    avatar = yield factory.login(credentials.UsernamePassword(b"alice", b"secret"), client=Mind())

    got = yield avatar.callRemote("echo", 1, "hi", 2.5, None, True, b"raw", (1, 2), [3], {"k": "v"}, key=1.5)
    expect("echo", got, ((1, "hi", 2.5, None, True, b"raw", (1, 2), [3], {"k": "v"}), {"key": 1.5}))

    try:
        yield avatar.callRemote("fail", "oops")
        raise AssertionError("fail did not fail")
    except pb.RemoteError as e:
        expect("fail", (e.remoteType, e.args[0]), (b"builtins.ValueError", "oops"))

    try:
        yield avatar.callRemote("missing")
        raise AssertionError("missing did not fail")
    except pb.RemoteError as e:
        expect("missing", e.remoteType, b"builtins.AttributeError")

    p = yield avatar.callRemote("getPoint")
    expect("getPoint", (p.x, p.y), (1, 2))
    got = yield avatar.callRemote("takePoint", Point(3, 4))
    expect("takePoint", got, 7)

    counter = yield avatar.callRemote("getCounter")
    expect("counter", counter.value, 0)
    got = yield avatar.callRemote("bump", 5)
    expect("bump", (got, counter.value), (5, 5))

    thing = yield avatar.callRemote("getThing")
    got = yield thing.callRemote("hello", "x")
    expect("hello", got, "hello x")

    got = yield avatar.callRemote("callMind", 7)
    expect("callMind", got, ("got", 7))

    factory2 = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", args.port, factory2)
    try:
        yield factory2.login(credentials.UsernamePassword(b"alice", b"wrong"))
        raise AssertionError("wrong password accepted")
    except Exception as e:  # UnauthorizedLogin arrives as a RemoteError/CopiedFailure
        if "UnauthorizedLogin" not in repr(getattr(e, "remoteType", e)):
            raise
    factory2.disconnect()

    del thing, counter, p
    factory.disconnect()
    return "ok"


def client(args):
    result = {}

    def done(value):
        result["ok"] = value == "ok"
        emit(ok=True)
        reactor.callLater(0.1, reactor.stop)

    def failed(f):
        result["ok"] = False
        emit(ok=False, error=f.getErrorMessage(), traceback=f.getTraceback())
        reactor.stop()

    def timeout():
        emit(ok=False, error="timeout")
        reactor.stop()

    reactor.callWhenRunning(lambda: run_client(args).addCallbacks(done, failed))
    reactor.callLater(args.timeout, timeout)
    reactor.run()
    return 0 if result.get("ok") else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["client"])  # its server: peer.py serve inspect
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    if not args.port:
        ap.error("client needs --port")
    return client(args)


if __name__ == "__main__":
    sys.exit(main())
