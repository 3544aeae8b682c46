#!/usr/bin/env python3
"""Twisted's half of scripts/bench.ts: the same four payloads through Twisted's own banana and jelly.

Encoding goes through Banana.sendEncoded (the broker's path, dialect "pb" selected) after jelly;
decoding feeds Banana.dataReceived 64 KiB chunks, as a socket delivers them, and unjellies what
comes out, as Broker._recv_message does. Rates are per second of this process's CPU time
(time.process_time), as scripts/bench.ts measures, so that other work on a shared machine does
not skew the comparison; wall-clock rates are reported alongside.

Usage: bench_twisted.py [--quick]. Prints one JSON object:
  {"twisted", "python", "chunk", "payloads": {name: {"bytes", "sha256", "hex"?, "encode", "decode"}}}
with each measurement {"ops": median ops/s, "samples": [...], "wallOps": ..., "iterations": n,
"latency": {"p50Us", "p99Us", "ops"}} (each operation timed alone after the samples).
"""
import hashlib
import json
import sys
import time

import twisted
from twisted.spread import banana, jelly

CHUNK = 64 * 1024


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


def build_cases():
    """{name: (encode(), decode(), bytes)}: the operations to time, each on one payload."""
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
    specs = [
        ("call", encode_call, decode_call, lambda v: v[5] == args and v[6] == kw),
        ("list", encode_value(lst), decode_value, lambda v: v == lst),
        ("string", encode_bytes(big), decode_bytes, lambda v: v == big),
        ("dict", encode_value(dct), decode_value, lambda v: v == dct),
    ]
    cases = {}
    for name, enc, dec, check in specs:
        wire = enc()
        chunks = chunked(wire)
        assert check(dec(chunks)), f"{name}: round trip failed"
        cases[name] = {"encode": enc, "decode": (lambda d, c: lambda: d(c))(dec, chunks), "wire": wire}
    return cases


def describe(wire):
    d = {"bytes": len(wire), "sha256": hashlib.sha256(wire).hexdigest()}
    if len(wire) <= 256:
        d["hex"] = wire.hex()
    return d


# ---- timing ------------------------------------------------------------------------------------

def warm(fn, seconds):
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline or n < 2:
        fn()
        n += 1


def calibrate(fn, seconds):
    """Iterations that take about `seconds`, found on growing batches."""
    iters = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        dt = time.perf_counter() - t0
        if dt >= seconds / 10:
            return max(1, round(iters * seconds / dt))
        iters *= 4


def run(fn, iters):
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return time.process_time() - c0, time.perf_counter() - t0


def median(xs):
    ordered = sorted(xs)
    return ordered[len(ordered) // 2]


LATENCY_MAX_OPS = 200000


def latency(fn, seconds):
    """Each call of fn timed alone for about `seconds`: p50 and p99 in microseconds, as bench.ts does."""
    times = []
    deadline = time.perf_counter() + seconds
    clock = time.perf_counter_ns
    while len(times) < LATENCY_MAX_OPS and (len(times) < 2 or time.perf_counter() < deadline):
        t0 = clock()
        fn()
        times.append((clock() - t0) / 1000.0)
    times.sort()

    def at(q):
        return times[min(len(times) - 1, int(q * len(times)))]

    return {"p50Us": at(0.5), "p99Us": at(0.99), "ops": len(times)}


def measure(fn, samples, sample_seconds, warm_seconds, latency_seconds):
    warm(fn, warm_seconds)
    iters = calibrate(fn, sample_seconds)
    cpu, wall = [], []
    for _ in range(samples):
        c, w = run(fn, iters)
        cpu.append(iters / c)
        wall.append(iters / w)
    return {"ops": median(cpu), "samples": cpu, "wallOps": median(wall), "iterations": iters, "latency": latency(fn, latency_seconds)}


# ---- modes -------------------------------------------------------------------------------------

def standalone(cases, quick):
    samples, sample_seconds, warm_seconds, latency_seconds = (3, 0.05, 0.1, 0.05) if quick else (7, 0.2, 0.5, 0.2)
    results = {}
    for name, c in cases.items():
        entry = describe(c["wire"])
        entry["encode"] = measure(c["encode"], samples, sample_seconds, warm_seconds, latency_seconds)
        entry["decode"] = measure(c["decode"], samples, sample_seconds, warm_seconds, latency_seconds)
        results[name] = entry
    json.dump(
        {"twisted": twisted.__version__, "python": sys.version.split()[0], "chunk": CHUNK, "payloads": results},
        sys.stdout,
    )
    sys.stdout.write("\n")


def main():
    standalone(build_cases(), "--quick" in sys.argv[1:])


if __name__ == "__main__":
    main()
