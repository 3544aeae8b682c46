"""Python's repr() of each golden jelly vector, for test/inspect/pretty.test.ts.

    <python with Twisted> interop/peer.py inspect-repr < fixtures/jelly-vectors.jsonl

Reads the vectors (interop/VALUES.md), unjellies the bytes Twisted wrote for each value
(dialect none) with Twisted's own banana and jelly, and prints one JSON line per vector:
{"name": ..., "repr": repr(value)}. Vectors whose repr depends on more than the wire order
(sets: hash order) or that pb-inspect deliberately shows differently (shared and cyclic
references, unpersistables) are skipped: {"name": ..., "skip": reason}.
"""

import json
import sys

sys.dont_write_bytecode = True

from twisted.spread import banana, jelly  # noqa: E402

SKIP_NODES = {"set": "set order", "frozenset": "set order", "ref": "shared/cyclic", "unpersistable": "unpersistable"}


def skip_reason(node):
    if isinstance(node, list) and node and isinstance(node[0], str):
        if node[0] in SKIP_NODES:
            return SKIP_NODES[node[0]]
        for child in node[1:]:
            r = skip_reason(child)
            if r:
                return r
    elif isinstance(node, list):
        for child in node:
            r = skip_reason(child)
            if r:
                return r
    return None


def main():
    for line in sys.stdin:
        v = json.loads(line)
        if "value" not in v:
            continue
        reason = skip_reason(v["value"])
        if reason:
            print(json.dumps({"name": v["name"], "skip": reason}))
            continue
        sexp = banana.decode(bytes.fromhex(v["none"]))
        value = jelly.unjelly(sexp, jelly.DummySecurityOptions())
        print(json.dumps({"name": v["name"], "repr": repr(value)}))


if __name__ == "__main__":
    main()
