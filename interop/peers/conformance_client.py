"""The conformance client driver, Python (Twisted) side; its TypeScript twin is client.ts.

    <python with Twisted> interop/peer.py conformance-client

A persistent process: it prints {"event": "ready", "twisted": ..., "python": ...}, then reads one
JSON request per line on stdin,

    {"id": N, "scenario": SCENARIO, "host": "127.0.0.1", "port": PORT, "timeoutMs": T}

runs that scenario (interop/conformance/scenarios/*.json, defaults already filled in) on a fresh
connection, and prints one JSON line,

    {"event": "result", "id": N, "steps": [STEP-RESULT, ...], "timedOut": false, "error": null}

where each step result is {"i": i, "op": op, "result": R} and R is one of
    {"value": DESC}                               what came back, described (see describe())
    {"failure": {"type", "value", "remote"}}      a failure (remote: a CopiedFailure)
    {"sent": true}                                a pbanswer=False call went out
    {"ok": true}                                  a step with no result
    {"each": [R, ...]}                            inFlight: every call's R
    {"error": text}                               the driver itself could not run the step

The driver only runs steps and describes what it got; the TypeScript harness compares.
It exits when stdin closes. Cyclic garbage collection is off and every value received is kept
until the scenario ends (or a release step lets it go), so decrefs and decaches go out exactly
when a step says so.
"""

import gc
import hashlib
import json
import os
import sys
import threading
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
gc.disable()

import pyvalues  # noqa: E402
from common import emit, has_kind, log_errors_to_stderr  # noqa: E402
from twisted import __version__ as twisted_version  # noqa: E402
from twisted.cred import credentials  # noqa: E402
from twisted.internet import defer, reactor, task  # noqa: E402
from twisted.python import failure, reflect  # noqa: E402
from twisted.spread import pb, util  # noqa: E402


class RemotePoint(pb.RemoteCopy):
    TAG = "conformance.Point"


class RemoteLine(pb.RemoteCopy):
    TAG = "conformance.Line"


class RemoteCounter(pb.RemoteCache):
    TAG = "conformance.Counter"

    def observe_set(self, v):
        self.value = v


pb.setUnjellyableForClass("conformance.Point", RemotePoint)
pb.setUnjellyableForClass("conformance.Line", RemoteLine)
pb.setUnjellyableForClass("conformance.Counter", RemoteCounter)


class TaggedCopy(pb.Copyable):
    """A Copyable sent with a given tag and state (["copyable", tag, {key: DESC}])."""

    def __init__(self, tag, state):
        self.tag = tag
        self.state = state

    def getTypeToCopy(self):
        return self.tag.encode("utf-8")

    def getStateToCopy(self):
        return self.state


class Callback(pb.Referenceable):
    """The client's own objects the server calls: minds and callbacks. Records every call."""

    def __init__(self, name):
        self.name = name
        self.calls = []

    def _record(self, method, args):
        self.calls.append((method, list(args)))

    def remote_greet(self, name, i):
        self._record("greet", (name, i))

    def remote_ping(self, x):
        self._record("ping", (x,))
        return ("pong", x)

    def remote_called(self, x):
        self._record("called", (x,))
        return ("called", x)

    def remote_fail(self, msg):
        self._record("fail", (msg,))
        raise ValueError(msg)


class ScenarioBroker(pb.Broker):
    def __init__(self, *a, **kw):
        pb.Broker.__init__(self, *a, **kw)
        self.lost = defer.Deferred()

    def connectionLost(self, reason):
        pb.Broker.connectionLost(self, reason)
        if not self.lost.called:
            self.lost.callback(None)


class ScenarioFactory(pb.PBClientFactory):
    protocol = ScenarioBroker

    def __init__(self):
        pb.PBClientFactory.__init__(self)
        self.broker = None

    def buildProtocol(self, addr):
        p = pb.PBClientFactory.buildProtocol(self, addr)
        self.broker = p
        return p


# ---------------------------------------------------------------------------------------
# values

EXT = ("var", "callback", "copyable", "index")
SKIP_STATE = ("broker", "luid")


def _text(x):
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return str(x)


def describe_state(state):
    return ["dict", None, [[["str", k], describe(v)] for k, v in state.items() if k not in SKIP_STATE]]


def describe(v):
    try:
        return pyvalues.to_desc(v)
    except Exception:
        pass
    if isinstance(v, pb.RemoteReference):
        return ["remoteref"]
    cls = getattr(v, "__class__", type(v))  # (type() of an old-style instance is `instance` on Python 2)
    if isinstance(v, pb.RemoteCache):
        return ["cache", getattr(cls, "TAG", reflect.qual(cls)), describe_state(v.__dict__)]
    if isinstance(v, pb.RemoteCopy):
        return ["copy", getattr(cls, "TAG", reflect.qual(cls)), describe_state(v.__dict__)]
    if isinstance(v, Callback):
        return ["local", v.name]
    t = type(v)
    if t in (list, tuple, set, frozenset):
        return [t.__name__, None, [describe(x) for x in v]]
    if t is dict:
        return ["dict", None, [[describe(k), describe(x)] for k, x in v.items()]]
    return ["repr", repr(v)]


def failure_desc(f):
    if isinstance(f, pb.CopiedFailure):
        return {"type": _text(f.type), "value": _text(f.value), "remote": True}
    return {"type": reflect.qual(f.type), "value": str(f.value), "remote": False}


def exception_desc(e):
    return {"type": reflect.qual(type(e)), "value": str(e), "remote": False}


class Outcome(object):
    """What a Deferred ended with, without raising it into the generator."""

    def __init__(self, ok, value):
        self.ok = ok
        self.value = value


def outcome(d):
    out = defer.Deferred()
    d.addCallbacks(lambda v: out.callback(Outcome(True, v)), lambda f: out.callback(Outcome(False, f)))
    return out


# ---------------------------------------------------------------------------------------
# running one scenario


class Runner(object):
    def __init__(self, scenario, host, port):
        self.sc = scenario
        self.host = host
        self.port = port
        self.vars = {}
        self.keep = []
        self.callbacks = {}
        self.pending = {}
        self.results = []
        self.factory = None
        self.broker = None
        self.root = None
        self._ret = None

    def callback(self, name):
        if name not in self.callbacks:
            self.callbacks[name] = Callback(name)
        return self.callbacks[name]

    def lookup(self, path):
        parts = path.split(".")
        if parts[0] == "root":
            obj = self.root
        elif parts[0] in self.vars:
            obj = self.vars[parts[0]]
        else:
            raise KeyError("nothing saved as %r" % parts[0])
        for p in parts[1:]:
            obj = getattr(obj, p)
        return obj

    def build(self, d, index=None):
        if not has_kind(d, EXT):
            return pyvalues.from_desc(d)
        kind = d[0]
        if kind == "var":
            return self.lookup(d[1])
        if kind == "callback":
            return self.callback(d[1])
        if kind == "index":
            if index is None:
                raise ValueError("['index'] outside an inFlight step")
            return index
        if kind == "copyable":
            return TaggedCopy(d[1], dict((str(k), self.build(v, index)) for k, v in d[2].items()))
        if kind in ("list", "tuple"):
            items = [self.build(x, index) for x in d[2]]
            return items if kind == "list" else tuple(items)
        if kind in ("set", "frozenset"):
            items = [self.build(x, index) for x in d[2]]
            return set(items) if kind == "set" else frozenset(items)
        if kind == "dict":
            return {self.build(k, index): self.build(v, index) for k, v in d[2]}
        raise ValueError("bad argument %r" % (d,))

    def connect(self):
        self.factory = ScenarioFactory()
        reactor.connectTCP(self.host, self.port, self.factory)
        return self.factory.getRootObject()

    def value_result(self, value, save=None):
        self.keep.append(value)
        if save:
            self.vars[save] = value
        return {"value": describe(value)}

    def outcome_result(self, o, save=None):
        if o.ok:
            return self.value_result(o.value, save)
        return {"failure": failure_desc(o.value)}

    # call() and step() are generators for inlineCallbacks that leave their result in self._ret:
    # Python 2 generators cannot return a value, and defer.returnValue raises an exception whose
    # traceback (with cyclic GC off) would keep the frames, and every value in them, alive, so a
    # released copy would never be decached.
    @defer.inlineCallbacks
    def call(self, step):
        target = self.lookup(step["target"])
        args = [self.build(a) for a in step["args"]]
        kw = dict((str(k), self.build(v)) for k, v in step["kwargs"].items())  # native str keys, as on Python 2
        if step["noAnswer"]:
            kw["pbanswer"] = False
            target.callRemote(str(step["method"]), *args, **kw)
            self._ret = {"sent": True}
            return
        d = target.callRemote(str(step["method"]), *args, **kw)
        if step["async"]:
            self.pending[step.get("save") or "_"] = outcome(d)
            self._ret = {"ok": True}
            return
        o = yield outcome(d)
        self._ret = self.outcome_result(o, step.get("save"))
        return

    @defer.inlineCallbacks
    def step(self, step):
        op = step["op"]
        if op == "call":
            yield self.call(step)  # sets self._ret
            return
        if op == "await":
            o = yield self.pending.pop(step["target"])
            self._ret = self.outcome_result(o, step.get("save"))
            return
        if op == "login":
            mind = self.callback(step["mind"]) if step.get("mind") else None
            creds = credentials.UsernamePassword(step["username"].encode("utf-8"), step["password"].encode("utf-8"))
            o = yield outcome(self.factory.login(creds, client=mind))
            self._ret = self.outcome_result(o, step.get("save"))
            return
        if op == "loginAnonymous":
            mind = self.callback(step["mind"]) if step.get("mind") else None
            o = yield outcome(self.factory.login(credentials.Anonymous(), client=mind))
            self._ret = self.outcome_result(o, step.get("save"))
            return
        if op == "release":
            for name in step["targets"]:
                obj = self.vars.pop(name)
                self.keep = [k for k in self.keep if k is not obj]
                del obj
            self._ret = {"ok": True}
            return
        if op == "mindCalls":
            cb = self.callback(step["target"])
            self._ret = {"value": describe([(m, list(a)) for m, a in cb.calls])}
            return
        if op == "cacheValue":
            self._ret = {"value": describe(getattr(self.lookup(step["target"]), step["attr"]))}
            return
        if op == "read":
            self._ret = {"value": describe(self.lookup(step["target"]))}
            return
        if op == "pages":
            target = self.lookup(step["target"])
            args = [self.build(a) for a in step["args"]]
            o = yield outcome(util.getAllPages(target, str(step["method"]), *args))
            if not o.ok:
                self._ret = {"failure": failure_desc(o.value)}
                return
            data = b"".join(o.value)
            summary = (len(o.value), len(data), hashlib.sha256(data).hexdigest())
            self._ret = {"value": describe(summary)}
            return
        if op == "inFlight":
            target = self.lookup(step["target"])
            ds = []
            for i in range(step["count"]):
                args = [self.build(a, i) for a in step["args"]]
                ds.append(outcome(target.callRemote(str(step["method"]), *args)))
            outs = yield defer.gatherResults(ds)
            self._ret = {"each": [self.outcome_result(x) for x in outs]}
            return
        if op == "disconnect":
            self.factory.disconnect()
            yield self.broker.lost
            self._ret = {"ok": True}
            return
        if op == "waitLost":
            lost = defer.Deferred()
            self.broker.lost.addBoth(lambda r: lost.called or lost.callback(True))
            timer = reactor.callLater(step["timeoutMs"] / 1000.0, lambda: lost.called or lost.callback(False))
            gone = yield lost
            if timer.active():
                timer.cancel()
            self._ret = {"ok": True} if gone else {"error": "still connected after %d ms" % step["timeoutMs"]}
            return
        if op == "wait":
            yield task.deferLater(reactor, step["ms"] / 1000.0, lambda: None)
            self._ret = {"ok": True}
            return
        raise ValueError("unknown op %r" % (op,))

    @defer.inlineCallbacks
    def run(self):
        o = yield outcome(self.connect())
        if not o.ok:
            raise RuntimeError("could not connect: %s" % (o.value.getErrorMessage(),))
        self.root = o.value
        self.broker = self.factory.broker
        for i, step in enumerate(self.sc["steps"]):
            try:
                yield self.step(step)
                r = self._ret
            except Exception as e:
                r = {"failure": exception_desc(e)}
            self.results.append({"i": i, "op": step["op"], "result": r})
            # one reactor turn between steps, as an application's next event would come
            yield task.deferLater(reactor, 0, lambda: None)
        if not self.broker.disconnected:
            self.factory.disconnect()
            yield self.broker.lost

    def abort(self):
        if self.broker is not None and not self.broker.disconnected:
            self.broker.transport.abortConnection()


class Server(object):
    """Runs one request at a time, in arrival order."""

    def __init__(self):
        self.queue = []
        self.busy = False

    def submit(self, line):
        self.queue.append(line)
        self.next()

    def next(self):
        if self.busy or not self.queue:
            return
        self.busy = True
        line = self.queue.pop(0)
        try:
            req = json.loads(line)
        except ValueError as e:
            emit("result", id=None, steps=[], timedOut=False, error="bad request: %s" % e)
            self.busy = False
            return self.next()
        runner = Runner(req["scenario"], req.get("host", "127.0.0.1"), req["port"])
        state = {"done": False}

        def finish(timedOut, error):
            if state["done"]:
                return
            state["done"] = True
            if timer.active():
                timer.cancel()
            emit("result", id=req.get("id"), steps=runner.results, timedOut=timedOut, error=error)
            runner.keep = []
            runner.vars = {}
            self.busy = False
            reactor.callLater(0, self.next)

        def timeout():
            runner.abort()
            finish(True, "scenario timed out after %d ms" % req.get("timeoutMs", 20000))

        timer = reactor.callLater(req.get("timeoutMs", 20000) / 1000.0, timeout)
        d = runner.run()

        def failed(f):
            finish(False, "%s\n%s" % (f.getErrorMessage(), f.getTraceback()))

        d.addCallbacks(lambda _: finish(False, None), failed)


def main():
    log_errors_to_stderr()
    server = Server()

    def reader():
        try:
            for line in iter(sys.stdin.readline, ""):  # (Python 2's file iterator reads ahead)
                line = line.strip()
                if line:
                    reactor.callFromThread(server.submit, line)
        except Exception:
            traceback.print_exc()
        reactor.callFromThread(lambda: reactor.running and reactor.stop())

    t = threading.Thread(target=reader)
    t.daemon = True
    t.start()
    reactor.callWhenRunning(emit, "ready", twisted=twisted_version, python=sys.version.split()[0])
    reactor.run()


if __name__ == "__main__":
    main()
