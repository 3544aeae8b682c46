"""Python peer for the live TypeScript <-> Twisted cross-check.

Run as `<python with Twisted> interop/peer.py crosscheck`. It reads one JSON request per
line on stdin and answers each with one JSON line on stdout (ASCII, flushed at once); it
exits on {"op": "quit"} or when stdin closes. Values use the descriptions of VALUES.md.

Requests:
  {"op": "version"}
      -> {"ok": true, "twisted": "22.4.0", "python": "3.11.2"}
  {"op": "encode", "value": DESC, "dialect": "pb"|"none"}
      -> {"ok": true, "hex": banana(jelly(value)) with Twisted}
  {"op": "roundtrip", "hex": HEX, "dialect": "pb"|"none"}
      -> {"ok": true, "hex": HEX2, "value": DESC}   (decode, unjelly with globalSecurity,
         describe, re-jelly, re-encode)
  {"op": "generate", "seed": N, "count": K}
      -> {"ok": true, "values": [{"value": DESC, "pb": HEX, "none": HEX}, ...]}
  {"op": "banana_encode", "sexp": BANANA_DESC, "dialect": ...}  -> {"ok": true, "hex": HEX}
  {"op": "banana_decode", "hex": HEX, "dialect": ...}  -> {"ok": true, "items": [BANANA_DESC...]}
  {"op": "quit"}
      -> {"ok": true} and exit
Any failure: {"ok": false, "error": "ExceptionType: message"}.
"""

import datetime
import decimal
import json
import math
import os
import random
import struct
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyvalues  # noqa: E402
from twisted.spread import banana as _banana  # noqa: E402
from twisted.spread import jelly as _jelly  # noqa: E402

# ---------------------------------------------------------------------------------------
# seeded value generator

VOCABULARY = [
    word for word, _code in sorted(_banana.Banana.outgoingVocabulary.items(), key=lambda kv: kv[1])
]
NEAR_MISSES = [
    b"Non", b"NONE", b"none", b"None ", b"lists", b"lis", b"unicode", b"boolean", b"set",
    b"frozenset", b"root", b"Tuple", b"dictionar", b"decrefs", b"versio", b"",
]

# What the receiving side makes of a sent jelly.Unpersistable (PB sends it as unpersistable).
UNPERSISTABLE_REASON = (
    "Unpersistable data: b'instance of class twisted.spread.jelly.Unpersistable deemed insecure'"
)

INT_BOUNDARIES = [
    0, 1, 127, 128, 255, 256, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32,
    2 ** 53 - 1, 2 ** 53, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 63, 2 ** 64, 2 ** 448 - 1,
]
SPECIAL_FLOATS = [
    0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 1e100, -1e-100, 5e-324, -5e-324, 2.2250738585072014e-308,
    sys.float_info.max, -sys.float_info.max, float("inf"), float("-inf"), float("nan"),
    float(2 ** 53), float(2 ** 53 + 2), float(-(2 ** 63)), 1e15, 1e16, 1e21, 0.1,
]

_CHAR_POOLS = [
    (0x20, 0x7E),  # printable ASCII
    (0x00, 0x1F),  # controls
    (0x80, 0x7FF),  # 2-byte UTF-8
    (0x800, 0xD7FF),  # 3-byte UTF-8 below the surrogates
    (0xE000, 0xFFFF),  # 3-byte UTF-8 above the surrogates
    (0x10000, 0x10FFFF),  # outside the BMP
    (0x1F600, 0x1F64F),  # emoji
]


_STABLE_HASH_TYPES = (
    bool, int, bytes, str, datetime.datetime, datetime.date, datetime.time,
    datetime.timedelta, decimal.Decimal,
)


def _stable_hash(v):
    """True if v is hashable and its hash (so set order) is the same in every run.

    With PYTHONHASHSEED pinned, str/bytes/datetime hashes repeat; None (before Python 3.12),
    NaN (3.10+) and plain objects such as jelly.Unpersistable hash by address.
    """
    t = type(v)
    if t is float:
        return not math.isnan(v)
    if t in _STABLE_HASH_TYPES:
        return True
    if t is tuple or t is frozenset:
        return all(_stable_hash(m) for m in v)
    return False


class ValueGenerator(object):
    """Random Python values of every VALUES.md type, reproducible from a seed."""

    MAX_DEPTH = 4

    def __init__(self, seed):
        self.rng = random.Random(seed)

    # -- leaves --------------------------------------------------------------------------

    def gen_int(self):
        r = self.rng
        c = r.random()
        if c < 0.3:
            return r.randint(-200, 200)
        if c < 0.6:
            v = r.choice(INT_BOUNDARIES) + r.choice([-1, 0, 0, 1])
            v = min(v, 2 ** 448 - 1)
            return -v if r.random() < 0.5 else v
        if c < 0.8:
            v = r.getrandbits(r.randint(1, 64))
        else:
            v = r.getrandbits(r.randint(1, 448))
        return -v if r.random() < 0.5 else v

    def gen_float(self):
        r = self.rng
        c = r.random()
        if c < 0.35:
            return r.choice(SPECIAL_FLOATS)
        if c < 0.55:
            return float(r.randint(-(2 ** 20), 2 ** 20))
        if c < 0.8:
            return r.uniform(-1e6, 1e6)
        x = struct.unpack("!d", struct.pack("!Q", r.getrandbits(64)))[0]
        if math.isnan(x):
            x = float("nan")  # only the canonical NaN bit pattern
        return x

    def gen_bytes(self):
        r = self.rng
        c = r.random()
        if c < 0.25:
            return r.choice(VOCABULARY)
        if c < 0.35:
            return r.choice(NEAR_MISSES)
        n = r.choice([0, 1, 2, 3, 5, 8, 13, 31, 32]) if r.random() < 0.9 else r.randint(100, 300)
        return bytes(r.getrandbits(8) for _ in range(n))

    def gen_str(self):
        r = self.rng
        c = r.random()
        if c < 0.2:
            return r.choice(VOCABULARY).decode("ascii")
        if c < 0.27:
            return r.choice(NEAR_MISSES).decode("ascii")
        n = r.choice([0, 1, 2, 4, 7, 12, 20])
        out = []
        for _ in range(n):
            lo, hi = r.choice(_CHAR_POOLS)
            out.append(chr(r.randint(lo, hi)))
        return "".join(out)

    def gen_datetime(self):
        r = self.rng
        if r.random() < 0.15:
            return r.choice([datetime.datetime.min, datetime.datetime.max])
        return datetime.datetime(
            r.randint(1, 9999), r.randint(1, 12), r.randint(1, 28), r.randint(0, 23),
            r.randint(0, 59), r.randint(0, 59), r.choice([0, r.randint(0, 999999)]),
        )

    def gen_date(self):
        r = self.rng
        if r.random() < 0.15:
            return r.choice([datetime.date.min, datetime.date.max])
        return datetime.date(r.randint(1, 9999), r.randint(1, 12), r.randint(1, 28))

    def gen_time(self):
        r = self.rng
        if r.random() < 0.15:
            return r.choice([datetime.time.min, datetime.time.max])
        return datetime.time(
            r.randint(0, 23), r.randint(0, 59), r.randint(0, 59), r.choice([0, r.randint(0, 999999)])
        )

    def gen_timedelta(self):
        r = self.rng
        c = r.random()
        if c < 0.15:
            return r.choice([datetime.timedelta.min, datetime.timedelta.max, datetime.timedelta(0),
                             datetime.timedelta(microseconds=-1)])
        if c < 0.5:
            return datetime.timedelta(seconds=r.uniform(-1e6, 1e6))
        return datetime.timedelta(
            days=r.randint(-999999999 + 1, 999999999 - 1),
            seconds=r.randint(0, 86399),
            microseconds=r.randint(0, 999999),
        )

    def gen_decimal(self):
        r = self.rng
        c = r.random()
        if c < 0.2:
            return decimal.Decimal(r.choice(["0", "-0.5", "3.14", "1E+10", "0.00", "1", "-1", "100"]))
        digits = r.randint(1, 40)
        coeff = r.randint(0, 10 ** digits - 1)
        exponent = r.randint(-30, 30)
        sign = 1 if (coeff and r.random() < 0.5) else 0
        return decimal.Decimal((sign, tuple(int(d) for d in str(coeff)), exponent))

    def gen_unpersistable(self):
        return _jelly.Unpersistable(UNPERSISTABLE_REASON)

    LEAVES = [
        ("none", 3), ("bool", 3), ("int", 10), ("float", 6), ("bytes", 8), ("str", 8),
        ("datetime", 2), ("date", 2), ("time", 2), ("timedelta", 2), ("decimal", 3),
        ("unpersistable", 1),
    ]
    # hashable leaves that never collide with each other across types and have stable hashes
    KEY_LEAVES = [
        ("int", 6), ("float", 3), ("bytes", 6), ("str", 8), ("none", 1), ("bool", 1),
        ("datetime", 1), ("date", 1), ("time", 1), ("timedelta", 1), ("decimal", 2),
    ]
    CONTAINERS = [("list", 5), ("tuple", 4), ("dict", 5), ("set", 2), ("frozenset", 2)]

    def _pick(self, table):
        total = sum(w for _, w in table)
        x = self.rng.uniform(0, total)
        for name, w in table:
            x -= w
            if x <= 0:
                return name
        return table[-1][0]

    def gen_leaf(self, kind):
        if kind == "none":
            return None
        if kind == "bool":
            return self.rng.random() < 0.5
        return getattr(self, "gen_" + kind)()

    # -- containers ----------------------------------------------------------------------

    def _count(self):
        r = self.rng
        if r.random() < 0.03:
            return r.choice([127, 128, 129])
        return r.choice([0, 1, 1, 2, 2, 3, 3, 4, 5, 6])

    def gen_value(self, depth):
        r = self.rng
        # reuse something made earlier in this value: shared reference, or a cycle when
        # the reused list/dict is still being filled (an ancestor)
        if self.pool and r.random() < 0.12:
            return r.choice(self.pool)
        if depth >= self.MAX_DEPTH or r.random() < 0.45:
            return self.gen_leaf(self._pick(self.LEAVES))
        return self.gen_container(self._pick(self.CONTAINERS), depth)

    def gen_key(self, depth, allow_none=False):
        """A hashable value with a hash that repeats from run to run.

        A key leaf, or a tuple / frozenset of them. None (whose hash is its address before
        Python 3.12) only as a whole dict key, where order does not depend on hashes.
        """
        r = self.rng
        if self.hashable_pool and r.random() < 0.1:
            return r.choice(self.hashable_pool)
        if depth < self.MAX_DEPTH and r.random() < 0.15:
            n = r.randint(1, 3)
            members = [self.gen_key(depth + 1) for _ in range(n)]
            if r.random() < 0.5:
                v = tuple(members)
            else:
                v = frozenset(self._distinct(members))
                if not v:
                    v = tuple(members)
            self.hashable_pool.append(v)
            return v
        while True:
            kind = self._pick(self.KEY_LEAVES)
            if kind == "none" and not allow_none:
                continue
            v = self.gen_leaf(kind)
            if isinstance(v, float) and math.isnan(v):
                continue
            return v

    def _distinct(self, members):
        """Drop members equal to an earlier one (1 == 1.0 == True, 0 == -0.0 == False)."""
        out = []
        for m in members:
            if not any(type(m) is not type(o) and m == o for o in out) and m not in out:
                out.append(m)
        return out

    def gen_container(self, kind, depth):
        n = self._count()
        if kind == "list":
            v = []
            self.pool.append(v)
            for _ in range(n):
                v.append(self.gen_value(depth + 1))
            return v
        if kind == "dict":
            v = {}
            self.pool.append(v)
            keys = self._distinct([self.gen_key(depth + 1, allow_none=True) for _ in range(min(n, 12))])
            for k in keys:
                v[k] = self.gen_value(depth + 1)
            return v
        if kind == "tuple":
            v = tuple(self.gen_value(depth + 1) for _ in range(max(n, 1)))
            self.pool.append(v)
            if _stable_hash(v):
                self.hashable_pool.append(v)
            return v
        members = self._distinct([self.gen_key(depth + 1) for _ in range(min(n, 12))])
        if kind == "set":
            v = set(members)
        else:
            if not members:
                members = [self.gen_key(depth + 1)]
            v = frozenset(members)
            self.hashable_pool.append(v)
        self.pool.append(v)
        return v

    def candidate(self):
        self.pool = []
        self.hashable_pool = []
        if self.rng.random() < 0.2:
            return self.gen_leaf(self._pick(self.LEAVES))
        return self.gen_container(self._pick(self.CONTAINERS), 0)


def check_vector(value):
    """Description and both encodings of value, if Twisted round-trips it exactly; else None.

    Conditions: the description rebuilds a value with the same bytes, decoding + unjellying
    the bytes gives back the same description, and re-jellying that gives the same bytes.
    """
    try:
        desc = pyvalues.to_desc(value)
        out = {"value": desc}
        for dialect in ("pb", "none"):
            data = pyvalues.encode_value(value, dialect)
            if pyvalues.encode_value(pyvalues.from_desc(desc), dialect) != data:
                return None
            received = pyvalues.decode_value(data, dialect)
            if pyvalues.to_desc(received) != desc:
                return None
            if pyvalues.encode_value(received, dialect) != data:
                return None
            out[dialect] = data.hex()
        # the description must survive JSON unchanged (tuples vs lists, etc.)
        if json.loads(json.dumps(desc)) != desc:
            return None
        return out
    except Exception:
        return None


def generate(seed, count, max_attempts_factor=50):
    gen = ValueGenerator(seed)
    values = []
    attempts = 0
    while len(values) < count:
        attempts += 1
        if attempts > max(count, 1) * max_attempts_factor:
            raise RuntimeError("could not generate %d values in %d attempts" % (count, attempts))
        vec = check_vector(gen.candidate())
        if vec is not None:
            values.append(vec)
    return values


# ---------------------------------------------------------------------------------------
# request handling


def _dialect(req):
    d = req.get("dialect", "pb")
    if d not in ("pb", "none"):
        raise ValueError("dialect must be 'pb' or 'none', not %r" % (d,))
    return d


def handle(req):
    if not isinstance(req, dict):
        raise ValueError("request must be a JSON object")
    op = req.get("op")
    if op == "version":
        return {"ok": True, "twisted": pyvalues.twisted_version(), "python": pyvalues.python_version()}
    if op == "encode":
        value = pyvalues.from_desc(req["value"])
        return {"ok": True, "hex": pyvalues.encode_value(value, _dialect(req)).hex()}
    if op == "roundtrip":
        dialect = _dialect(req)
        data = bytes.fromhex(req["hex"])
        value = pyvalues.decode_value(data, dialect)
        desc = pyvalues.to_desc(value)
        again = pyvalues.encode_value(value, dialect)
        return {"ok": True, "hex": again.hex(), "value": desc}
    if op == "generate":
        seed = req.get("seed", 0)
        count = req.get("count", 1)
        if not isinstance(count, int) or count < 0 or count > 100000:
            raise ValueError("count must be an int in 0..100000")
        return {"ok": True, "values": generate(seed, count)}
    if op == "banana_encode":
        sexp = pyvalues.sexp_from_desc(req["sexp"])
        return {"ok": True, "hex": pyvalues.banana_bytes(sexp, _dialect(req)).hex()}
    if op == "banana_decode":
        items = pyvalues.banana_decode(bytes.fromhex(req["hex"]), _dialect(req))
        return {"ok": True, "items": [pyvalues.sexp_to_desc(x) for x in items]}
    if op == "quit":
        return {"ok": True}
    raise ValueError("unknown op %r" % (op,))


def _error(exc):
    return {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}


def _write(out, obj):
    try:
        line = json.dumps(obj, ensure_ascii=True, allow_nan=False)
    except Exception as e:  # a reply that cannot be JSON (should not happen)
        line = json.dumps(_error(e))
    out.write(line.encode("ascii") + b"\n")
    out.flush()


def main():
    # (interop/peer.py runs this role with PYTHONHASHSEED=0, so set orders repeat)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    inp = sys.stdin.buffer
    out = sys.stdout.buffer
    while True:
        raw = inp.readline()
        if not raw:
            return 0  # EOF
        if not raw.strip():
            continue
        try:
            req = json.loads(raw.decode("utf-8"))
        except Exception as e:
            _write(out, _error(e))
            continue
        try:
            reply = handle(req)
        except Exception as e:
            reply = _error(e)
        _write(out, reply)
        if isinstance(req, dict) and req.get("op") == "quit":
            return 0


if __name__ == "__main__":
    sys.exit(main())
