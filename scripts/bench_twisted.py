#!/usr/bin/env python3
"""Twisted's half of scripts/bench.ts: the same four payloads through Twisted's own banana and jelly.

Encoding goes through Banana.sendEncoded (the broker's path, dialect "pb" selected) after jelly;
decoding feeds Banana.dataReceived 64 KiB chunks, as a socket delivers them, and unjellies what
comes out. Prints one JSON object on stdout:

  {"twisted": version, "python": version,
   "payloads": {name: {"bytes": n, "sha256": hex, "encode": {...}, "decode": {...}}}}

where each measurement is {"ops": median ops/s, "samples": [ops/s...], "wallOps": ...}: rates per
second of this process's CPU time (time.process_time), as scripts/bench.ts measures, so that other
work on a shared machine does not skew the comparison; wallOps is the wall-clock median.

Usage: bench_twisted.py [--quick]
"""
import hashlib
import json
import sys
import time

import twisted
from twisted.spread import banana, jelly

CHUNK = 64 * 1024
QUICK = "--quick" in sys.argv[1:]
SAMPLES = 3 if QUICK else 7
SAMPLE_SECONDS = 0.05 if QUICK else 0.2
WARMUP_SECONDS = 0.1 if QUICK else 0.5


# ---- the payloads (scripts/bench.ts builds the same ones) -------------------------------------

def call_args():
    return (1, "hello", 3.5), {}


def list_payload():
    return [i if i % 2 == 0 else b"item%d" % i for i in range(10000)]


def string_payload():
    return bytes(i * 7 % 251 for i in range(600 * 1024))


def dict_payload():
    return {
        "key%d" % i: {
            "id": i,
            "score": i + 0.25,
            "name": "name%d" % i,
            "tags": [i, i + 1, i + 2],
            "extra": None,
        }
        for i in range(1000)
    }


# ---- Twisted plumbing --------------------------------------------------------------------------

class _Sink:
    """A transport that keeps the last write, as sendEncoded writes one message at a time."""

    last = b""

    def write(self, data):
        self.last = data


def make_banana():
    b = banana.Banana(isClient=1)
    b.transport = _Sink()
    b.connectionMade()  # client: sends nothing, sets the prefix limit
    b._selectDialect(b"pb")
    return b


def chunked(data):
    return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]


# ---- timing ------------------------------------------------------------------------------------

def median(xs):
    ordered = sorted(xs)
    return ordered[len(ordered) // 2]


def measure(fn):
    """Median ops/s (per CPU second) over SAMPLES runs of about SAMPLE_SECONDS each, after a warm-up."""
    deadline = time.perf_counter() + WARMUP_SECONDS
    n = 0
    while time.perf_counter() < deadline or n < 2:
        fn()
        n += 1
    # Calibrate iterations per sample on a batch.
    iters = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        dt = time.perf_counter() - t0
        if dt >= SAMPLE_SECONDS / 10:
            iters = max(1, round(iters * SAMPLE_SECONDS / dt))
            break
        iters *= 4
    samples = []
    wall = []
    for _ in range(SAMPLES):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        wall.append(iters / (time.perf_counter() - t0))
        samples.append(iters / (time.process_time() - c0))
    return {"ops": median(samples), "samples": samples, "wallOps": median(wall), "iterations": iters}


def main():
    b = make_banana()
    got = []
    b.expressionReceived = got.append

    def send(sexp):
        b.sendEncoded(sexp)
        return b.transport.last

    def receive(chunks):
        del got[:]
        for c in chunks:
            b.dataReceived(c)
        assert len(got) == 1 and not b.listStack and not b.buffer, "incomplete decode"
        return got[0]

    results = {}

    # 1. A call message, as Broker._sendMessage / _recv_message do it.
    args, kw = call_args()

    def encode_call():
        return send([b"message", 17, 0, b"echo", 1, jelly.jelly(args), jelly.jelly(kw)])

    def decode_call(chunks):
        msg = receive(chunks)
        return msg[0], msg[1], msg[2], msg[3], msg[4], jelly.unjelly(msg[5]), jelly.unjelly(msg[6])

    # 2./4. jelly values.
    def encode_value(value):
        return lambda: send(jelly.jelly(value))

    def decode_value(chunks):
        return jelly.unjelly(receive(chunks))

    # 3. a byte string, banana only.
    def encode_bytes(value):
        return lambda: send(value)

    def decode_bytes(chunks):
        return receive(chunks)

    lst, big, dct = list_payload(), string_payload(), dict_payload()
    cases = [
        ("call", encode_call, decode_call, lambda v: v[5] == args and v[6] == kw),
        ("list", encode_value(lst), decode_value, lambda v: v == lst),
        ("string", encode_bytes(big), decode_bytes, lambda v: v == big),
        ("dict", encode_value(dct), decode_value, lambda v: v == dct),
    ]
    for name, enc, dec, check in cases:
        wire = enc()
        chunks = chunked(wire)
        assert check(dec(chunks)), f"{name}: round trip failed"
        entry = {
            "bytes": len(wire),
            "sha256": hashlib.sha256(wire).hexdigest(),
            "encode": measure(enc),
            "decode": measure(lambda: dec(chunks)),
        }
        if len(wire) <= 256:
            entry["hex"] = wire.hex()
        results[name] = entry

    json.dump(
        {
            "twisted": twisted.__version__,
            "python": sys.version.split()[0],
            "chunk": CHUNK,
            "payloads": results,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
