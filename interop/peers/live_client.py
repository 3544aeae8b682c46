"""A Twisted PB client for the live tests (test/live/twisted-client.test.ts drives it).

    <python with Twisted> interop/peer.py live-client 'SCENARIO-JSON'    (or "-": read it from stdin)

The scenario says where to connect and which steps to run, one after the other:

    {"host": "127.0.0.1", "port": N}  or  {"unix": PATH}  (+ "tls": {"ca": PEM-PATH, "hostname": "localhost"})
    "dialects": ["pb", "none"], "version": 6, "timeout": 20, "unsafeTracebacks": false,
    "steps": [STEP, ...]

Steps ("label" names a step's result; "save" keeps its value under a name for later steps):

    {"op": "connect", "save": "root"}                   new connection, its root object
    {"op": "login", "user": "alice", "password": "secret", "mind": "m"|null, "save": "av"}
    {"op": "loginAnonymous", "mind": "m"|null, "save": "av"}
    {"op": "referenceable", "name": "m", "save": "m"}   a local Callback (also the mind)
    {"op": "call", "on": "root", "method": "echo", "args": [ARG...], "kwargs": {"k": ARG},
        "noAnswer": false, "trap": ["builtins.ValueError", ...], "save": "x"}
    {"op": "release", "var": "x"}                       del + gc.collect() (sends decref)
    {"op": "luids"}                                     [(luid, name)] of our broker's object table
    {"op": "untilGone", "name": "x", "call": "collect", "timeout": 5}
                                                        calls root.<call>() until our object "x" is
                                                        no longer in the broker's table (decref'd)
    {"op": "received"}                                  [(requestID, objectID, method, answerRequired)]
                                                        of every message the peer sent us
    {"op": "notifyOnDisconnect", "on": "x"}              records ["notified", "x"] in calls
    {"op": "raw", "exp": ["bogus", 1]}                  broker.sendCall(...) (strings as bytes)
    {"op": "sleep", "seconds": 0.1}
    {"op": "waitLost", "timeout": 5}                    waits until the connection is gone
    {"op": "disconnect"}                                closes the connection and waits

ARG is a value description (interop/VALUES.md) or one of
    ["var", name]    a saved value        ["copy", "Point", {"x": ARG, "y": ARG}]  a Copyable
    ["newrefs", n]   a list of n new Callbacks
and lists/tuples/dicts (without shared ids) may contain them.

Output, one JSON line each (common.emit): {"event": "step", ...} as each step ends,
{"event": "log", ...} for what Twisted logs, {"event": "call", ...} when the peer calls one of
our Referenceables, and last {"event": "report", "results": [...], "calls": [...], ...}.
A step result is {"i", "op", "label", "ok", "value": DESC} or {"ok": false, "failure": INFO,
"trapped": name|null, "sync": bool}. It exits by itself after the steps or the timeout.
"""

import gc
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import VersionedBroker, describe, emit, failure_info, has_kind, install_log_observer  # noqa: E402
import pyvalues  # noqa: E402
from twisted.cred import credentials  # noqa: E402
from twisted.internet import defer, reactor, task  # noqa: E402
from twisted.python import failure  # noqa: E402
from twisted.spread import pb  # noqa: E402

CALLS = []
SEQ = [0]


def seq():
    SEQ[0] += 1
    return SEQ[0]


class Point(pb.Copyable):
    """Sent as "__main__.Point" (the TypeScript side registers a RemoteCopy for it)."""

    def __init__(self, x, y):
        self.x = x
        self.y = y


class RemotePoint(pb.RemoteCopy):
    pass


pb.setUnjellyableForClass("__main__.Point", RemotePoint)
pb.setUnjellyableForClass("tsapp.shapes.Label", pb.RemoteCopy)
pb.setUnjellyableForClass("tsapp.secret.Secret", pb.RemoteCopy)

COPYABLES = {"Point": Point}


class Boom(Exception):
    pass


class Callback(pb.Referenceable):
    """A local object the peer can call: the mind of a login, or a callback passed to it."""

    def __init__(self, name):
        self.name = name

    def _record(self, method, args, kw):
        entry = {"seq": seq(), "name": self.name, "method": method, "args": describe(list(args)), "kwargs": describe(kw)}
        CALLS.append(entry)
        emit("call", **entry)

    def remote_print(self, *args, **kw):
        self._record("print", args, kw)
        return None

    def remote_getInfo(self, *args, **kw):
        self._record("getInfo", args, kw)
        return {"name": self.name, "python": sys.version.split()[0]}

    def remote_ping(self, *args, **kw):
        self._record("ping", args, kw)
        return ("pong",) + args

    def remote_called(self, *args, **kw):
        self._record("called", args, kw)
        return (args, kw)

    def remote_boom(self, msg="python boom"):
        self._record("boom", (msg,), {})
        raise ValueError(msg)

    def remote_slow(self, seconds, value=None):
        self._record("slow", (seconds, value), {})
        return task.deferLater(reactor, seconds, lambda: value)


class ScenarioBroker(VersionedBroker):
    def __init__(self, *a, **kw):
        VersionedBroker.__init__(self, *a, **kw)
        self.lost = defer.Deferred()
        self.received = []

    def proto_message(self, requestID, objectID, message, answerRequired, netArgs, netKw):
        oid = objectID.decode() if isinstance(objectID, bytes) else objectID
        msg = message.decode() if isinstance(message, bytes) else message
        self.received.append((requestID, oid, msg, answerRequired))
        return pb.Broker.proto_message(self, requestID, objectID, message, answerRequired, netArgs, netKw)

    def connectionLost(self, reason):
        pb.Broker.connectionLost(self, reason)
        if not self.lost.called:
            self.lost.callback(str(reason.value))


class ScenarioFactory(pb.PBClientFactory):
    protocol = ScenarioBroker

    def __init__(self, unsafeTracebacks=False):
        pb.PBClientFactory.__init__(self, unsafeTracebacks=unsafeTracebacks)
        self.broker = None

    def buildProtocol(self, addr):
        p = pb.PBClientFactory.buildProtocol(self, addr)
        self.broker = p
        return p


SPECIAL = ("var", "copy", "newrefs")


class Failed(Exception):
    """Carries a Failure as it was received (inlineCallbacks would turn a CopiedFailure into RemoteError)."""

    def __init__(self, f):
        Exception.__init__(self)
        self.failure = f


def settle(d):
    out = defer.Deferred()

    def bad(f):
        out.errback(failure.Failure(Failed(f)))

    d.addCallbacks(out.callback, bad)
    return out


class Runner:
    def __init__(self, scenario):
        self.sc = scenario
        self.vars = {}
        self.results = []
        self.factory = None
        self.factories = []
        self.refcount = [0]

    def arg(self, desc):
        if not has_kind(desc, SPECIAL):
            return pyvalues.from_desc(desc)
        kind = desc[0]
        if kind == "var":
            return self.vars[desc[1]]
        if kind == "copy":
            cls = COPYABLES[desc[1]]
            obj = cls.__new__(cls)
            for k, v in desc[2].items():
                setattr(obj, k, self.arg(v))
            return obj
        if kind == "newrefs":
            out = []
            for _ in range(desc[1]):
                self.refcount[0] += 1
                out.append(Callback("r%d" % self.refcount[0]))
            return out
        if kind in ("list", "tuple"):
            items = [self.arg(d) for d in desc[2]]
            return items if kind == "list" else tuple(items)
        if kind in ("set", "frozenset"):
            items = [self.arg(d) for d in desc[2]]
            return set(items) if kind == "set" else frozenset(items)
        if kind == "dict":
            return {self.arg(k): self.arg(v) for k, v in desc[2]}
        raise ValueError("bad argument %r" % (desc,))

    def connect(self):
        sc = self.sc
        factory = ScenarioFactory(unsafeTracebacks=sc.get("unsafeTracebacks", False))
        if sc.get("unix"):
            reactor.connectUNIX(sc["unix"], factory)
        elif sc.get("tls"):
            from twisted.internet import ssl

            with open(sc["tls"]["ca"]) as f:
                ca = ssl.Certificate.loadPEM(f.read())
            opts = ssl.optionsForClientTLS(sc["tls"].get("hostname", "localhost"), trustRoot=ca)
            reactor.connectSSL(sc.get("host", "127.0.0.1"), sc["port"], factory, opts)
        else:
            reactor.connectTCP(sc.get("host", "127.0.0.1"), sc["port"], factory)
        self.factory = factory
        self.factories.append(factory)
        return factory.getRootObject()

    def mind(self, step):
        name = step.get("mind")
        if name is None:
            return None
        if name not in self.vars:
            self.vars[name] = Callback(name)
        return self.vars[name]

    @defer.inlineCallbacks
    def run_step(self, i, step):
        op = step["op"]
        res = {"i": i, "op": op, "label": step.get("label", "%s#%d" % (op, i)), "ok": True}
        value = None
        try:
            if op == "connect":
                value = yield settle(self.connect())
            elif op == "login":
                creds = credentials.UsernamePassword(step["user"].encode(), step["password"].encode())
                value = yield settle(self.factory.login(creds, client=self.mind(step)))
            elif op == "loginAnonymous":
                value = yield settle(self.factory.login(credentials.Anonymous(), client=self.mind(step)))
            elif op == "referenceable":
                value = Callback(step.get("name", "cb"))
            elif op == "call":
                target = self.vars[step.get("on", "root")]
                args = [self.arg(a) for a in step.get("args", [])]
                kw = {k: self.arg(v) for k, v in step.get("kwargs", {}).items()}
                if step.get("noAnswer"):
                    kw["pbanswer"] = False
                    try:
                        target.callRemote(step["method"], *args, **kw)
                    except BaseException:
                        res["sync"] = True
                        raise
                else:
                    try:
                        d = target.callRemote(step["method"], *args, **kw)
                    except BaseException:
                        res["sync"] = True
                        raise
                    value = yield settle(d)
            elif op == "release":
                self.vars.pop(step["var"], None)
                gc.collect()
                # let the decref reach the wire before the next step
                yield task.deferLater(reactor, 0, lambda: None)
            elif op == "luids":
                objects = self.factory.broker.localObjects
                value = [(k, getattr(objects[k].object, "name", None)) for k in sorted(k for k in objects if isinstance(k, int))]
            elif op == "untilGone":
                # Calls `call` on the root (e.g. a method that runs the peer's garbage collector)
                # until the named local object has left our broker's table; value: tries needed.
                objects = lambda: self.factory.broker.localObjects  # noqa: E731
                gone = lambda: not any(getattr(o.object, "name", None) == step["name"] for o in objects().values())  # noqa: E731
                deadline = reactor.seconds() + step.get("timeout", 5)
                value = 0
                while not gone():
                    if reactor.seconds() > deadline:
                        raise RuntimeError("%s is still referenced" % step["name"])
                    value += 1
                    yield settle(self.vars["root"].callRemote(step["call"]))
                    yield task.deferLater(reactor, 0.02, lambda: None)
            elif op == "received":
                value = list(self.factory.broker.received)
            elif op == "notifyOnDisconnect":
                name = step["on"]

                def notified(_ref, name=name):
                    CALLS.append({"seq": seq(), "name": name, "method": "notified"})

                self.vars[name].notifyOnDisconnect(notified)
            elif op == "raw":
                exp = [x.encode() if isinstance(x, str) else x for x in step["exp"]]
                self.factory.broker.sendCall(*exp)
            elif op == "sleep":
                yield task.deferLater(reactor, step.get("seconds", 0.1), lambda: None)
            elif op == "waitLost":
                broker = self.factory.broker
                timeout = step.get("timeout", 5)
                d = defer.Deferred()
                broker.lost.addBoth(lambda r: d.called or d.callback(r))
                call = reactor.callLater(timeout, lambda: d.called or d.errback(failure.Failure(RuntimeError("still connected"))))
                value = yield d
                if call.active():
                    call.cancel()
            elif op == "disconnect":
                broker = self.factory.broker
                self.factory.disconnect()
                value = yield broker.lost
            else:
                raise ValueError("unknown op %r" % (op,))
        except BaseException as e:
            f = e.failure if isinstance(e, Failed) else failure.Failure()
            res["ok"] = False
            res["failure"] = failure_info(f)
            if step.get("trap"):
                try:
                    res["trapped"] = str(f.trap(*step["trap"]))
                except BaseException:
                    res["trapped"] = None
        else:
            if step.get("save"):
                self.vars[step["save"]] = value
            res["value"] = describe(value)
        res["seq"] = seq()
        self.results.append(res)
        emit("step", **res)

    @defer.inlineCallbacks
    def run(self):
        for i, step in enumerate(self.sc.get("steps", [])):
            yield self.run_step(i, step)
            # one reactor turn between steps: a step resumed from inside connectionLost (a
            # pending call's errback) must not run before the disconnect notifiers have.
            yield task.deferLater(reactor, 0, lambda: None)
        for f in self.factories:
            b = f.broker
            if b is not None and not b.disconnected:
                f.disconnect()
                yield b.lost


def main():
    raw = sys.argv[1] if len(sys.argv) > 1 else "-"
    scenario = json.loads(sys.stdin.read() if raw == "-" else raw)
    install_log_observer()
    ScenarioBroker.pbVersion = scenario.get("version", 6)
    if scenario.get("dialects"):
        ScenarioBroker.dialects = [d.encode() for d in scenario["dialects"]]
    runner = Runner(scenario)
    state = {"done": False}

    def finish(timedOut):
        if state["done"]:
            return
        state["done"] = True
        emit("report", results=runner.results, calls=CALLS, timedOut=timedOut)
        if reactor.running:
            reactor.stop()

    def failed(f):
        emit("crash", failure=failure_info(f), text=f.getTraceback())
        finish(False)

    reactor.callLater(scenario.get("timeout", 20), finish, True)
    reactor.callWhenRunning(lambda: runner.run().addCallbacks(lambda _: finish(False), failed))
    reactor.run()


if __name__ == "__main__":
    main()
