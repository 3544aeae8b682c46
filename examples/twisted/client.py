# A Twisted PB client for the examples where twisted-pb is the server. Runs on Python 2.7 and 3.
#
#   python3 examples/twisted/client.py MODE PORT [--tls CA_CERT]
#
# MODE is one of:
#   echo     calls root.echo(1, "two", b"three") and prints the answer
#   login    logs in as alice / secret with a mind the server may call (remote_tick), calls
#            perspective_whoami and perspective_startTicks(3)
#   whoami   logs in as alice / secret (no mind) and calls perspective_whoami
#   copy     asks the root for a Point (a Copyable) and sends one back
#   cache    gets a Cacheable (a thermometer), lets the server change it, prints what it saw
# Each result is printed as one line: RESULT <json>. Exits non-zero on any error.
from __future__ import print_function

import json
import sys

from twisted.cred import credentials
from twisted.internet import defer, reactor, task
from twisted.spread import pb


def text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    if isinstance(value, dict):
        return dict((text(k), text(v)) for k, v in value.items())
    return value


def result(value):
    print("RESULT " + json.dumps(text(value), sort_keys=True))
    sys.stdout.flush()


class Mind(pb.Referenceable):
    def __init__(self):
        self.ticks = []

    def remote_tick(self, n):
        self.ticks.append(n)
        return "ack %d" % n


class Point(pb.Copyable):
    def __init__(self, x, y):
        self.x = x
        self.y = y


class ReceivedPoint(pb.RemoteCopy):
    pass


pb.setUnjellyableForClass("__main__.Point", ReceivedPoint)


class Thermometer(pb.RemoteCache):
    """A copy of the server's Cacheable; observe_ methods receive its updates."""

    def setCopyableState(self, state):
        self.__dict__.update(text(state))
        self.seen = [self.celsius]

    def observe_setCelsius(self, value):
        self.celsius = value
        self.seen.append(value)


pb.setUnjellyableForClass("example.Thermometer", Thermometer)


@defer.inlineCallbacks
def run(mode, factory):
    if mode == "login":
        mind = Mind()
        avatar = yield factory.login(credentials.UsernamePassword(b"alice", b"secret"), client=mind)
        who = yield avatar.callRemote("whoami")
        acks = yield avatar.callRemote("startTicks", 3)
        result({"whoami": who, "ticks": mind.ticks, "acks": acks})
        return
    if mode == "whoami":
        avatar = yield factory.login(credentials.UsernamePassword(b"alice", b"secret"))
        who = yield avatar.callRemote("whoami")
        result({"whoami": who})
        return
    root = yield factory.getRootObject()
    if mode == "echo":
        answer = yield root.callRemote("echo", 1, u"two", b"three")
        result(list(answer))
    elif mode == "copy":
        point = yield root.callRemote("getPoint")
        described = yield root.callRemote("describePoint", Point(3, 4))
        result({"got": [point.__class__.__name__, point.x, point.y], "described": described})
    elif mode == "cache":
        thermometer = yield root.callRemote("getThermometer")
        yield root.callRemote("setCelsius", 21.5)
        yield root.callRemote("setCelsius", 22.0)
        result({"seen": thermometer.seen, "celsius": thermometer.celsius})
    else:
        raise SystemExit("unknown mode: %s" % mode)


def main(argv):
    mode, port = argv[0], int(argv[1])
    factory = pb.PBClientFactory()
    if "--tls" in argv:
        from twisted.internet import ssl

        with open(argv[argv.index("--tls") + 1]) as f:
            authority = ssl.Certificate.loadPEM(f.read())
        options = ssl.optionsForClientTLS(u"localhost", trustRoot=authority)
        reactor.connectSSL("127.0.0.1", port, factory, options)
    else:
        reactor.connectTCP("127.0.0.1", port, factory)
    failed = []

    def done(outcome):
        if isinstance(outcome, Exception) or hasattr(outcome, "getTraceback"):
            failed.append(outcome)
            print(outcome.getTraceback() if hasattr(outcome, "getTraceback") else outcome, file=sys.stderr)
        factory.disconnect()
        reactor.callLater(0, reactor.stop)

    run(mode, factory).addBoth(done)
    reactor.callLater(20, lambda: (failed.append("timeout"), reactor.stop()))
    reactor.run()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
