"""The Python PB peer: one program for every test, harness and tool that needs real Twisted.

    <python with Twisted> interop/peer.py ROLE [role arguments...]

One source for Python 2.7 and 3 (Twisted 16.6 to 24.10). ROLE picks what it does; the role's
own arguments follow (each role module's docstring describes them). Every role runs on Python 3.
On Python 2.7, serve (every root but inspect and bench-*), conformance-client and
legacy-client run (the per-version tests drive them there; test/interop/peer-program.test.ts
starts every root);
crosscheck, bench and inspect-* compare with Python 3's own text or measure, and refuse Python 2:

    serve ROOT...        the one PB server: serves the roots named, as the catalogue of roots
                         (interop/conformance/roots.json) declares them: root and portal (what
                         the scenario catalogue calls), cache (test_pb.py's Cacheables, pagers
                         and Publishables: test/live/cache), live-root and live-portal (test/live,
                         test/cred, test/net; interop/pbpeers.ts), over TCP, TLS or Unix sockets;
                         legacy (test/legacy/live.test.ts, every Twisted version), inspect (the
                         session test/inspect/proxy-live watches), bench-echo and bench-login
                         (scripts/bench-pb.ts)
    conformance-client   the harness's client driver: runs catalogue scenarios read from stdin
    legacy-client        login + every value type, Copyable, Cacheable, failures, references,
                         pager, as a client against the TypeScript server (test/legacy/live)
    live-client          runs one JSON scenario against the TypeScript server
    cache-client         test_pb.py's cache, pager and publish tests as a client
    crosscheck           banana/jelly encode/decode requests, one JSON line each (interop/crosscheck.ts)
    bench client         the Twisted client of scripts/bench-pb.ts (its server: serve
                         bench-echo bench-login)
    inspect-repr         Python's repr() of each golden jelly vector (test/inspect/pretty.test.ts)
    inspect-session      client: a session pb-inspect's proxy watches (test/inspect/proxy-live),
                         against serve inspect

Every role reports on stdout one JSON object a line and ends when stdin closes (or after its
--timeout). The role modules live in interop/peers/ with the helpers they share (common.py:
output, logging, lifetime; pyvalues.py: the value descriptions of interop/VALUES.md). A role
runs as __main__, so its classes reach the wire as __main__.Name, as Twisted's own scripts do; the
root modules serve imports name theirs explicitly (conformance.Name, or __main__.Name).
"""
from __future__ import absolute_import, division, print_function

import os
import runpy
import sys

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")

# role -> (module file in interop/peers, arguments put before the caller's, pin the hash seed,
#          needs Python 3: the roles that compare with Python 3's own text and repr or measure)
ROLES = {
    "serve": ("server.py", [], False, False),
    "conformance-client": ("conformance_client.py", [], False, False),
    "legacy-client": ("legacy.py", ["client"], False, False),
    "live-client": ("live_client.py", [], False, False),
    "cache-client": ("cache_client.py", [], False, False),
    # set iteration order (str/bytes hashes) must repeat from run to run for the generated values
    "crosscheck": ("crosscheck.py", [], True, True),
    "bench": ("bench.py", [], False, True),
    "inspect-repr": ("inspect_repr.py", [], False, True),
    "inspect-session": ("inspect_session.py", [], False, True),
}


def usage():
    return "usage: peer.py ROLE [arguments]; ROLE one of: " + ", ".join(sorted(ROLES))


def pin_hash_seed():
    """Re-runs this program with PYTHONHASHSEED=0 unless it already has it."""
    if os.environ.get("PYTHONHASHSEED") == "0":
        return
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    try:
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    except OSError:
        pass  # keep going with a random hash seed


def main(argv):
    if not argv or argv[0] not in ROLES:
        sys.stderr.write(usage() + "\n")
        return 2
    module, before, pin, python3 = ROLES[argv[0]]
    if python3 and sys.version_info[0] < 3:
        sys.stderr.write("peer.py %s needs Python 3 (this is Python %d.%d)\n" % ((argv[0],) + tuple(sys.version_info[:2])))
        return 2
    if pin:
        pin_hash_seed()
    path = os.path.join(PEERS, module)
    sys.path.insert(0, PEERS)
    sys.argv = [path] + before + argv[1:]
    runpy.run_path(path, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
