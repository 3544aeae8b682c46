"""The one Python PB server: serves the roots named on its command line, as the catalogue declares them.

    <python with Twisted> interop/peer.py serve ROOT [ROOT...] [--lifetime SECONDS]
        [--port N | --unix PATH] [--tls CERT KEY] [root options...]

Each ROOT is a name from interop/conformance/roots.json (the scenario catalogue's "server" field
names the same roots); the catalogue gives the factory that builds its pb.PBServerFactory, whether
cyclic garbage collection stays on, and how Twisted's log is shown. Every root listens on its own
127.0.0.1 port chosen by the OS, and one JSON line reports them all, by root name:

    {"event": "listening", "root": PORT, "portal": PORT, "twisted": "22.4.0", "python": "3.11.2"}

With one root, --port picks its port, --unix serves it on a Unix socket instead (the line then
has "path" and no port), --tls over TLS with that certificate and key. Every other option is the
root's own (its factory parses them: the live roots' --pb-version, --mind-calls...).

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


LISTEN_OPTIONS = {"--lifetime": 1, "--timeout": 1, "--port": 1, "--unix": 1, "--tls": 2}


def parse_args(argv, known):
    """(roots, listen options, the roots' own options): roots come first, options after."""
    roots, listen, rest, i = [], {"--lifetime": ["900"]}, [], 0
    while i < len(argv):
        a = argv[i]
        if a in LISTEN_OPTIONS:
            values = argv[i + 1:i + 1 + LISTEN_OPTIONS[a]]
            if len(values) < LISTEN_OPTIONS[a]:
                raise SystemExit("serve: %s needs %d value(s)" % (a, LISTEN_OPTIONS[a]))
            listen["--lifetime" if a == "--timeout" else a] = values
            i += 1 + len(values)
        elif rest or a.startswith("-"):
            rest.append(a)  # a root option, or its value
            i += 1
        elif a in known:
            if a not in roots:
                roots.append(a)
            i += 1
        else:
            raise SystemExit("serve: unknown root %r; the catalogue (%s) has: %s" % (a, CATALOGUE, ", ".join(sorted(known))))
    if not roots:
        raise SystemExit("serve: name at least one root: " + ", ".join(sorted(known)))
    if len(roots) > 1 and any(k in listen for k in ("--port", "--unix", "--tls")):
        raise SystemExit("serve: --port, --unix and --tls need a single root")
    return roots, listen, rest


def load_factory(spec):
    module, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(module), name)


def main():
    catalogue = read_catalogue()
    roots, listen, rest = parse_args(sys.argv[1:], catalogue)
    declared = [catalogue[r] for r in roots]
    for name, d in zip(roots, declared):
        if d.get("python3") and sys.version_info[0] < 3:
            raise SystemExit("serve: root %s needs Python 3 (this is Python %d.%d)" % ((name,) + tuple(sys.version_info[:2])))
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

    fields = {}
    for name, d in zip(roots, declared):
        factory = load_factory(d["factory"])(rest)
        if "--unix" in listen:
            fields["path"] = listen["--unix"][0]
            reactor.listenUNIX(fields["path"], factory)
            continue
        port = int(listen.get("--port", ["0"])[0])
        if "--tls" in listen:
            from twisted.internet import ssl

            cert_path, key_path = listen["--tls"]
            with open(cert_path) as c, open(key_path) as k:
                cert = ssl.PrivateCertificate.loadPEM(c.read() + k.read())
            listening = reactor.listenSSL(port, factory, cert.options(), interface="127.0.0.1")
        else:
            listening = reactor.listenTCP(port, factory, interface="127.0.0.1")
        fields[name] = listening.getHost().port

    def stop(why):
        if reactor.running:
            emit("stopping", why=why)
            reactor.stop()

    stop_when_stdin_closes(reactor, stop, "stdin closed")
    reactor.callLater(float(listen["--lifetime"][0]), stop, "lifetime")
    fields.update(twisted=twisted_version, python="%d.%d.%d" % tuple(sys.version_info[:3]))
    emit("listening", **fields)
    reactor.run()


if __name__ == "__main__":
    main()
