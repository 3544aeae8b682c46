"""The one Python PB server: serves the roots named on its command line, as the catalogue declares them.

    <python with Twisted> interop/peer.py serve ROOT [ROOT...] [--lifetime SECONDS]

Each ROOT is a name from interop/conformance/roots.json (the scenario catalogue's "server" field
names the same roots); the catalogue gives the factory that builds its pb.PBServerFactory, whether
cyclic garbage collection stays on, and how Twisted's log is shown. Every root listens on its own
127.0.0.1 port chosen by the OS, and one JSON line reports them all, by root name:

    {"event": "listening", "root": PORT, "portal": PORT, "twisted": "22.4.0", "python": "3.11.2"}

Roots may print their own events after it (the cache root: decache, observing, ...). The server
exits when stdin closes, on SIGTERM, or after --lifetime seconds (default 900; --timeout is the
same option).

Environment:
    CONFORMANCE_CHALLENGE=<32 hex digits>   every login challenge is these 16 bytes (recording
                                            mode: Twisted draws challenges from `random`)
"""

import binascii
import gc
import importlib
import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
CATALOGUE = os.path.normpath(os.path.join(HERE, "..", "conformance", "roots.json"))


def read_catalogue():
    with open(CATALOGUE) as f:
        return json.load(f)["roots"]


def parse_args(argv, known):
    roots, lifetime, i = [], 900.0, 0
    while i < len(argv):
        a = argv[i]
        if a in ("--lifetime", "--timeout") and i + 1 < len(argv):
            lifetime = float(argv[i + 1])
            i += 2
            continue
        if a not in known:
            raise SystemExit("serve: unknown root %r; the catalogue (%s) has: %s" % (a, CATALOGUE, ", ".join(sorted(known))))
        if a not in roots:
            roots.append(a)
        i += 1
    if not roots:
        raise SystemExit("serve: name at least one root: " + ", ".join(sorted(known)))
    return roots, lifetime


def load_factory(spec):
    module, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(module), name)


def main():
    catalogue = read_catalogue()
    roots, lifetime = parse_args(sys.argv[1:], catalogue)
    declared = [catalogue[r] for r in roots]
    if not all(d.get("cyclicGc", True) for d in declared):
        gc.disable()  # before the root modules make any object

    from common import emit, install_log_observer, log_errors_to_stderr, stop_when_stdin_closes
    from twisted import __version__ as twisted_version
    from twisted.internet import reactor
    from twisted.spread import pb

    fixed = os.environ.get("CONFORMANCE_CHALLENGE")
    if fixed:
        value = binascii.unhexlify(fixed)
        pb.challenge = lambda: value

    if any(d.get("log") == "events" for d in declared):
        install_log_observer()
    else:
        log_errors_to_stderr()

    ports = {}
    for name, d in zip(roots, declared):
        factory = load_factory(d["factory"])()
        ports[name] = reactor.listenTCP(0, factory, interface="127.0.0.1").getHost().port

    def stop(_why):
        if reactor.running:
            reactor.stop()

    stop_when_stdin_closes(reactor, stop, "stdin closed")
    reactor.callLater(lifetime, stop, "lifetime")
    fields = dict(ports)
    fields.update(twisted=twisted_version, python=sys.version.split()[0])
    emit("listening", **fields)
    reactor.run()


if __name__ == "__main__":
    main()
