"""The Twisted half of the PB benchmark (scripts/bench-pb.ts starts it; never a test).

    <python with Twisted> interop/peer.py serve bench-echo bench-login [--lifetime SECONDS]
    <python with Twisted> interop/peer.py bench client --echo-port N --login-port N --config JSON

server: the roots bench-echo and bench-login of interop/conformance/roots.json, served by
interop/peers/server.py on two ports chosen by the OS: one whose root has remote_echo (and
remote_cpu: the CPU time the server has used), one serving a Portal with one user (user / pass,
InMemoryUsernamePasswordDatabaseDontUse) whose realm hands out an Avatar. Prints
{"event": "listening", "bench-echo": N, "bench-login": N, "twisted": ...} and exits when stdin
closes, on SIGTERM, or after --lifetime seconds.

client: measures what scripts/bench-pb.ts measures from TypeScript, against whichever server it
is pointed at, and prints {"event": "result", ...} (one JSON line) before exiting:
  - a remote echo of a small int and of a 1,000-entry nested dict, each sequential (one call in
    flight) and pipelined (`depth` calls in flight): calls/s, p50 and p99 latency;
  - full logins (connect, login with username/password through the Portal, disconnect), one
    after the other: logins/s, p50 and p99.
  Each also gives the CPU time the client and the server spent per operation.

The config (JSON) has one entry per measurement:
  {"smallSeq": {"depth": 1, "warmupS": .., "seconds": .., "minCalls": .., "maxCalls": ..}, ...}
Every measurement keeps `depth` calls in flight until `seconds` have passed and at least
`minCalls` were made (or `maxCalls` were), then waits for the last answers. calls/s counts
the answers received from the start to the last answer.
"""

import argparse
import gc
import json
import sys
import time

sys.dont_write_bytecode = True

from twisted import __version__ as twisted_version  # noqa: E402
from twisted.cred import checkers, credentials, portal  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402
from twisted.logger import globalLogBeginner  # noqa: E402
from twisted.spread import pb  # noqa: E402
from common import stop_when_stdin_closes  # noqa: E402
from zope.interface import implementer  # noqa: E402

USERNAME = b"user"
PASSWORD = b"pass"


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def nested_dict():
    """The same payload as scripts/bench-pb.ts: 1,000 str keys, each a dict of 5 fields."""
    return {
        "key%d" % i: {"id": i, "score": i + 0.25, "name": "name%d" % i, "tags": [i, i + 1, i + 2], "extra": None}
        for i in range(1000)
    }


def quiet_logging():
    """Only errors reach stderr (Twisted buffers every log event until logging begins)."""

    def observer(event):
        if event.get("isError") or event.get("log_failure") is not None:
            from twisted.logger import formatEvent

            sys.stderr.write("[twisted] %s\n" % formatEvent(event))
            f = event.get("log_failure")
            if f is not None:
                sys.stderr.write(f.getTraceback() + "\n")

    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)



# ---------------------------------------------------------------------------------------
# server


class EchoRoot(pb.Root):
    def remote_echo(self, x):
        return x

    def remote_cpu(self):
        """CPU seconds this process has used (all threads), for the client's figures."""
        return time.process_time()


class User(pb.Avatar):
    def perspective_echo(self, x):
        return x


@implementer(portal.IRealm)
class Realm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        assert pb.IPerspective in interfaces
        return (pb.IPerspective, User(), lambda: None)


def _no_options(argv):
    if argv:
        raise SystemExit("serve: this root takes no options: %s" % " ".join(argv))


def echo_factory(argv):
    """The "bench-echo" server of roots.json."""
    _no_options(argv)
    return pb.PBServerFactory(EchoRoot())


def login_factory(argv):
    """The "bench-login" server of roots.json."""
    _no_options(argv)
    db = checkers.InMemoryUsernamePasswordDatabaseDontUse()
    db.addUser(USERNAME, PASSWORD)
    return pb.PBServerFactory(portal.Portal(Realm(), [db]))


# ---------------------------------------------------------------------------------------
# client


def summary(latencies, completed, seconds):
    lat = sorted(latencies)

    def pct(p):
        if not lat:
            return None
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6

    return {
        "calls": completed,
        "seconds": seconds,
        "perSec": completed / seconds if seconds > 0 else None,
        "p50Us": pct(0.50),
        "p99Us": pct(0.99),
    }


class Loop:
    """Keeps `depth` operations in flight (one operation: a function giving a Deferred)."""

    def __init__(self, op, depth, seconds, min_calls, max_calls):
        self.op = op
        self.depth = depth
        self.seconds = seconds
        self.min_calls = min_calls
        self.max_calls = max_calls
        self.latencies = []
        self.issued = 0
        self.completed = 0
        self.in_flight = 0
        self.done = defer.Deferred()
        self.failed = False

    def run(self):
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + self.seconds
        self.last = self.t0
        for _ in range(min(self.depth, self.max_calls)):
            self.issue()
        return self.done

    def more(self, now):
        if self.failed or self.issued >= self.max_calls:
            return False
        return now < self.deadline or self.issued < self.min_calls

    def issue(self):
        self.issued += 1
        self.in_flight += 1
        t = time.perf_counter()
        d = self.op()
        d.addCallbacks(self.answered, self.error, callbackArgs=(t,))

    def answered(self, _result, t):
        now = time.perf_counter()
        self.latencies.append(now - t)
        self.completed += 1
        self.in_flight -= 1
        self.last = now
        if self.more(now):
            self.issue()
        elif self.in_flight == 0:
            self.done.callback(summary(self.latencies, self.completed, self.last - self.t0))

    def error(self, f):
        self.in_flight -= 1
        if not self.failed:
            self.failed = True
            self.done.errback(f)


@defer.inlineCallbacks
def measure(op, spec, root):
    """Warms up (same depth) for warmupS seconds and at least warmupMin calls, then measures.
    Also the CPU time both processes spent per operation (the server's through remote_cpu)."""
    if spec["warmupS"] > 0 or spec["warmupMin"] > 0:
        yield Loop(op, spec["depth"], spec["warmupS"], max(1, spec["warmupMin"]), spec["maxCalls"]).run()
    gc.collect()
    server0 = yield root.callRemote("cpu")
    client0 = time.process_time()
    result = yield Loop(op, spec["depth"], spec["seconds"], spec["minCalls"], spec["maxCalls"]).run()
    client1 = time.process_time()
    server1 = yield root.callRemote("cpu")
    result["depth"] = spec["depth"]
    result["clientCpuUs"] = (client1 - client0) * 1e6 / result["calls"]
    result["serverCpuUs"] = (server1 - server0) * 1e6 / result["calls"]
    return result


class LoginFactory(pb.PBClientFactory):
    def __init__(self):
        pb.PBClientFactory.__init__(self)
        self.lost = defer.Deferred()

    def clientConnectionLost(self, connector, reason, reconnecting=0):
        pb.PBClientFactory.clientConnectionLost(self, connector, reason, reconnecting)
        if not self.lost.called:
            self.lost.callback(None)

    def clientConnectionFailed(self, connector, reason):
        pb.PBClientFactory.clientConnectionFailed(self, connector, reason)
        if not self.lost.called:
            self.lost.errback(reason)


def full_login(port):
    """connect, login through the Portal, disconnect (and wait until the connection is gone)."""
    factory = LoginFactory()
    reactor.connectTCP("127.0.0.1", port, factory)
    d = factory.login(credentials.UsernamePassword(USERNAME, PASSWORD))

    def loggedIn(avatar):
        if not isinstance(avatar, pb.RemoteReference):
            raise TypeError("login gave %r" % (avatar,))
        factory.disconnect()
        return factory.lost

    return d.addCallback(loggedIn)


@defer.inlineCallbacks
def client(opts):
    config = json.loads(opts.config)
    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", opts.echo_port, factory)
    root = yield factory.getRootObject()

    small = 7
    payload = nested_dict()
    # The answers are right before anything is timed.
    got = yield root.callRemote("echo", small)
    if got != small:
        raise AssertionError("echo(7) gave %r" % (got,))
    got = yield root.callRemote("echo", payload)
    if got != payload:
        raise AssertionError("the nested dict did not come back equal")

    results = {}
    for name, spec in config.items():
        if name.startswith("small"):
            op = lambda: root.callRemote("echo", small)  # noqa: E731
        elif name.startswith("dict"):
            op = lambda: root.callRemote("echo", payload)  # noqa: E731
        elif name == "login":
            op = lambda: full_login(opts.login_port)  # noqa: E731
        else:
            raise ValueError("unknown measurement " + name)
        results[name] = yield measure(op, spec, root)
        sys.stderr.write("[peer.py bench] %s: %.1f/s\n" % (name, results[name]["perSec"]))
    factory.disconnect()
    return results


def run_client(opts):
    outcome = {}

    def finished(results):
        outcome["results"] = results

    def failed(f):
        outcome["error"] = f.getTraceback()

    def stop(why=None):
        if why and "results" not in outcome and "error" not in outcome:
            outcome["error"] = why
        if reactor.running:
            reactor.stop()

    d = client(opts)
    d.addCallbacks(finished, failed)
    d.addBoth(lambda _: reactor.callLater(0, stop))
    stop_when_stdin_closes(reactor, stop, "stdin closed")
    reactor.callLater(opts.timeout, stop, "timeout")
    reactor.run()
    if "results" in outcome:
        emit("result", twisted=twisted_version, python=sys.version.split()[0], results=outcome["results"])
    else:
        emit("error", error=outcome.get("error", "no result"))
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="role", required=True)
    c = sub.add_parser("client")  # the server: peer.py serve bench-echo bench-login
    c.add_argument("--echo-port", type=int, required=True)
    c.add_argument("--login-port", type=int, required=True)
    c.add_argument("--config", required=True)
    c.add_argument("--timeout", type=float, default=300)
    opts = ap.parse_args()
    quiet_logging()
    run_client(opts)


if __name__ == "__main__":
    main()
