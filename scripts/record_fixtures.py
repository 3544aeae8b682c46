"""Record golden jelly/banana vectors from the real Twisted.

Usage:  <python with Twisted> scripts/record_fixtures.py [--check]

Writes fixtures/jelly-vectors.jsonl (format: interop/VALUES.md) and fixtures/README.md.
Every vector is validated before it is written:
  - banana(jelly(from_desc(desc))) gives the recorded bytes (both dialects),
  - unjelly(banana-decode(bytes)) with globalSecurity describes back to desc,
  - jelly + banana of that received value gives the same bytes again.
Values that fail are reported and left out. The output is the same on every run (the
script pins PYTHONHASHSEED=0 so that set iteration orders repeat).

--check: record into memory and compare with the files on disk; exit 1 if they differ.
"""

import datetime
import decimal
import json
import os
import random
import sys
import traceback

sys.dont_write_bytecode = True  # keep __pycache__ out of the repo
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "interop", "peers"))


def _pin_hash_seed():
    if os.environ.get("PYTHONHASHSEED") == "0":
        return
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


if __name__ == "__main__":
    _pin_hash_seed()

import pyvalues  # noqa: E402
import crosscheck as crosscheck_peer  # noqa: E402 (interop/peer.py crosscheck)
from twisted.spread import banana as tbanana  # noqa: E402
from twisted.spread import jelly as tjelly  # noqa: E402

OUT_DIR = os.path.join(ROOT, "fixtures")
OUT_FILE = os.path.join(OUT_DIR, "jelly-vectors.jsonl")
README = os.path.join(OUT_DIR, "README.md")

SEED = 20220404
LARGEST = 2 ** 448 - 1

D = datetime
Dec = decimal.Decimal


class Recorder(object):
    def __init__(self):
        self.lines = []
        self.names = set()
        self.skipped = []
        self.quirks = []
        self.counts = {}

    def _name(self, name):
        if name in self.names:
            raise SystemExit("duplicate fixture name %r" % (name,))
        self.names.add(name)

    def _count(self, name):
        cat = name.split("/", 1)[0]
        self.counts[cat] = self.counts.get(cat, 0) + 1

    def value(self, name, value, known_quirk=None):
        """Record value; known_quirk: why Twisted itself cannot round-trip it (not recorded)."""
        self._name(name)
        if known_quirk is not None:
            try:
                self._check_value(name, value)
            except Exception as e:
                self.quirks.append((name, known_quirk, _describe_error(e)))
            else:
                self.quirks.append((name, known_quirk, "no longer reproduces!"))
            return
        try:
            entry = self._check_value(name, value)
        except Exception as e:
            self.skipped.append((name, _describe_error(e)))
            return
        self.lines.append(entry)
        self._count(name)

    def _check_value(self, name, value):
        desc = pyvalues.to_desc(value)
        entry = {"name": name, "value": desc}
        for dialect in ("pb", "none"):
            data = pyvalues.encode_value(value, dialect)
            rebuilt = pyvalues.encode_value(pyvalues.from_desc(desc), dialect)
            if rebuilt != data:
                raise AssertionError("from_desc(desc) jellies to other bytes (%s)" % dialect)
            received = pyvalues.decode_value(data, dialect)
            got = pyvalues.to_desc(received)
            if got != desc:
                raise AssertionError(
                    "received value describes differently (%s): %s"
                    % (dialect, json.dumps(got)[:200])
                )
            if pyvalues.encode_value(received, dialect) != data:
                raise AssertionError("re-jellied received value differs (%s)" % dialect)
            entry[dialect] = data.hex()
        if json.loads(json.dumps(desc)) != desc:
            raise AssertionError("description does not survive JSON")
        entry["twisted"] = pyvalues.twisted_version()
        return entry

    def sexp(self, name, sexp):
        self._name(name)
        try:
            desc = pyvalues.sexp_to_desc(sexp)
            entry = {"name": name, "sexp": desc}
            for dialect in ("pb", "none"):
                data = pyvalues.banana_bytes(pyvalues.sexp_from_desc(desc), dialect)
                if data != pyvalues.banana_bytes(sexp, dialect):
                    raise AssertionError("sexp_from_desc(desc) encodes differently")
                items = pyvalues.banana_decode(data, dialect)
                if len(items) != 1 or pyvalues.sexp_to_desc(items[0]) != desc:
                    raise AssertionError("decoded banana differs (%s)" % dialect)
                entry[dialect] = data.hex()
        except Exception as e:
            self.skipped.append((name, _describe_error(e)))
            return
        entry["twisted"] = pyvalues.twisted_version()
        self.lines.append(entry)
        self._count(name)


def _describe_error(e):
    text = "%s: %s" % (type(e).__name__, e)
    tb = traceback.extract_tb(e.__traceback__)
    if tb:
        frame = tb[-1]
        text += " (at %s:%d %s)" % (os.path.basename(frame.filename), frame.lineno, frame.name)
    return text


def int_name(v):
    """A readable name for boundary ints: 2**k+d forms where that is shorter."""
    a = abs(v)
    sign = "-" if v < 0 else ""
    if a < 100000:
        return str(v)
    best = str(v)
    k = a.bit_length()
    for base in (k - 1, k):
        d = a - 2 ** base
        if abs(d) <= 2:
            text = "2**%d" % base + ("" if d == 0 else ("%+d" % d))
            if sign and d != 0:
                text = "-(" + text + ")"
            else:
                text = sign + text
            return text
    return best


def boundary_ints():
    vals = [0, 1, -1, 127, 128, -127, -128, 255, 256, 16383, 16384, -16384]
    for k in range(1, 65):
        for d in (-1, 0, 1):
            vals.append(2 ** (7 * k) + d)
            vals.append(-(2 ** (7 * k) + d))
    for base in (31, 32, 53, 63, 64):
        for d in (-1, 0, 1):
            vals.append(2 ** base + d)
            vals.append(-(2 ** base + d))
    vals += [LARGEST, -LARGEST, LARGEST - 1, -(LARGEST - 1)]
    out = []
    seen = set()
    for v in vals:
        if v in seen or abs(v) > LARGEST:
            continue
        seen.add(v)
        out.append(v)
    return out


FLOATS = [
    ("0.0", 0.0), ("-0.0", -0.0), ("1.0", 1.0), ("-1.0", -1.0), ("0.5", 0.5), ("-2.5", -2.5),
    ("3.0", 3.0), ("0.1", 0.1), ("1/3", 1.0 / 3.0), ("123.456", 123.456),
    ("pi", 3.141592653589793), ("1e100", 1e100), ("-1e100", -1e100), ("1e-100", 1e-100),
    ("1e15", 1e15), ("1e16", 1e16), ("1e21", 1e21), ("1e22", 1e22),
    ("5e-324", 5e-324), ("-5e-324", -5e-324), ("min-normal", 2.2250738585072014e-308),
    ("max", sys.float_info.max), ("-max", -sys.float_info.max),
    ("inf", float("inf")), ("-inf", float("-inf")), ("nan", float("nan")),
    ("2**31", float(2 ** 31)), ("2**53-1", float(2 ** 53 - 1)), ("2**53", float(2 ** 53)),
    ("2**53+2", float(2 ** 53 + 2)), ("-2**53", float(-(2 ** 53))), ("2**63", float(2 ** 63)),
    ("2**64", float(2 ** 64)), ("2**1023", float(2 ** 1023)), ("65536.0", 65536.0),
]

NEAR_MISSES = ["Non", "NONE", "none", "None ", " None", "lists", "lis", "unicode", "boolean",
               "set", "frozenset", "root", "Tuple", "dictionar", "decrefs", "versio",
               "datetime", "decimal", "true", "false", "didNotUnderstand", "method"]


def vocabulary():
    return [w for w, _ in sorted(tbanana.Banana.outgoingVocabulary.items(), key=lambda kv: kv[1])]


def record_all(rec):
    rng = random.Random(SEED)

    def rbytes(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    # --- None, bool --------------------------------------------------------------------
    rec.value("none/None", None)
    rec.value("bool/True", True)
    rec.value("bool/False", False)

    # --- int ---------------------------------------------------------------------------
    for v in boundary_ints():
        rec.value("int/" + int_name(v), v)

    # --- float -------------------------------------------------------------------------
    for name, v in FLOATS:
        rec.value("float/" + name, v)

    # --- bytes -------------------------------------------------------------------------
    for n in (0, 1, 2, 127, 128, 129, 255, 256, 16383, 16384):
        rec.value("bytes/len-%d" % n, rbytes(n))
    rec.value("bytes/all-256", bytes(range(256)))
    rec.value("bytes/all-256-reversed", bytes(reversed(range(256))))
    rec.value("bytes/all-256-twice", bytes(range(256)) * 2)
    for b in (0x00, 0x7F, 0x80, 0x81, 0x87, 0xFF):
        rec.value("bytes/single-%02x" % b, bytes([b]))
    rec.value("bytes/high-bit-run", b"\x80" * 70)
    rec.value("bytes/invalid-utf8", b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc")

    # --- vocabulary words: bytes compress in pb, str never ----------------------------
    for w in vocabulary():
        rec.value("vocab-bytes/" + w.decode(), w)
    for w in vocabulary():
        rec.value("vocab-str/" + w.decode(), w.decode())
    for w in NEAR_MISSES:
        rec.value("vocab-near-bytes/" + repr(w)[1:-1], w.encode())
        rec.value("vocab-near-str/" + repr(w)[1:-1], w)
    rec.value("vocab-list/all-bytes", vocabulary())
    rec.value("vocab-list/all-str", [w.decode() for w in vocabulary()])
    rec.value("vocab-list/as-dict-keys", {w: w.decode() for w in vocabulary()})

    # --- str ---------------------------------------------------------------------------
    strs = [
        ("empty", ""), ("a", "a"), ("ascii", "hello, world"), ("nul", "\x00"),
        ("controls", "".join(chr(c) for c in range(32)) + "\x7f"),
        ("latin1", "h\u00e9llo w\u00f6rld \u00ff"), ("u0080", "\u0080"), ("u07ff", "\u07ff"),
        ("u0800", "\u0800"), ("cjk", "\u65e5\u672c\u8a9e"), ("uffff", "\uffff"),
        ("ufeff-bom", "\ufeffbom"), ("u10000", "\U00010000"), ("emoji", "\U0001F600"),
        ("emoji-zwj", "\U0001F468\u200d\U0001F469\u200d\U0001F467"),
        ("u10ffff", "\U0010FFFF"), ("mixed", "a\u00e9\u4e2d\U0001F600z"),
        ("long-ascii-300", "x" * 300), ("long-nonbmp", "\U0001F600" * 40),
        ("combining", "e\u0301"), ("rtl", "\u05e9\u05dc\u05d5\u05dd"),
        ("newline", "line1\nline2\r\n"), ("quote", "\"'\\"),
    ]
    for name, s in strs:
        rec.value("str/" + name, s)

    # --- list / tuple ------------------------------------------------------------------
    for n in (0, 1, 2, 127, 128, 129):
        rec.value("list/len-%d" % n, list(range(n)))
    for n in (1, 2, 127, 128, 129):
        rec.value("tuple/len-%d" % n, tuple(range(n)))
    rec.value("tuple/len-0", ())
    rec.value("list/mixed", [1, "a", b"b", None, True, False, 2.5, [], {}])
    rec.value("tuple/mixed", (1, "a", b"b", None, True, 2.5))
    rec.value("list/nested-tuple-in-list", [(1, 2), [3, (4, [5])]])

    def nest_list(depth):
        v = [depth]
        for i in range(depth - 1):
            v = [v]
        return v

    def nest_tuple(depth):
        v = (depth,)
        for i in range(depth - 1):
            v = (v,)
        return v

    def nest_dict(depth):
        v = {"leaf": depth}
        for i in range(depth - 1):
            v = {"d": v}
        return v

    def nest_mixed(depth):
        v = "bottom"
        for i in range(depth):
            k = i % 5
            if k == 0:
                v = [v]
            elif k == 1:
                v = (v, i)
            elif k == 2:
                v = {i: v}
            elif k == 3:
                v = [i, v]
            else:
                v = (v,)
        return v

    rec.value("list/nested-50", nest_list(50))
    rec.value("tuple/nested-50", nest_tuple(50))
    rec.value("dict/nested-50", nest_dict(50))
    rec.value("list/nested-mixed-50", nest_mixed(50))
    rec.value("list/nested-empty-10", [[[[[[[[[[]]]]]]]]]])

    # --- dict --------------------------------------------------------------------------
    rec.value("dict/empty", {})
    rec.value("dict/str-keys", {"a": 1, "b": 2, "c": 3})
    rec.value("dict/str-keys-reverse-order", {"c": 3, "b": 2, "a": 1})
    rec.value("dict/bytes-keys", {b"x": 1, b"None": 2, b"list": 3, b"\xff": 4})
    rec.value("dict/int-keys", {3: "three", -1: "minus one", 0: "zero", 2 ** 70: "big", 1: 1})
    rec.value("dict/float-keys", {2.5: "a", -0.0: "negzero", float("inf"): "inf", 1e300: "x"})
    rec.value("dict/tuple-keys", {(1, 2): "a", ("x", b"y"): "b", ((1,), 2): "c"})
    rec.value("dict/frozenset-keys", {frozenset([1, 2]): "a", frozenset(["x"]): "b"})
    rec.value("dict/None-key", {None: "none"})
    rec.value("dict/bool-keys", {True: "t", False: "f"})
    rec.value("dict/datetime-keys", {
        D.datetime(2020, 1, 2, 3, 4, 5, 6): 1, D.date(2020, 1, 2): 2, D.time(3, 4, 5): 3,
        D.timedelta(1, 2, 3): 4,
    })
    rec.value("dict/decimal-keys", {Dec("3.14"): "pi", Dec("-1"): "m"})
    rec.value("dict/all-key-types", {
        "s": 1, b"s": 2, 7: 3, 2.5: 4, (1, "t"): 5, frozenset([9]): 6, None: 7, True: 8,
        D.datetime(2000, 1, 1): 9, D.date(1999, 12, 31): 10, Dec("0.1"): 11,
    })
    rec.value("dict/order-preserved", {k: i for i, k in enumerate([5, 3, 9, 1, 7, 2, 8, 0, 6, 4])})
    rec.value("dict/len-129", {i: i * i for i in range(129)})
    rec.value("dict/values-all-types", {
        "none": None, "bool": True, "int": -5, "big": 2 ** 100, "float": 1.5, "bytes": b"b",
        "str": "\u00e9", "list": [1], "tuple": (1,), "dict": {"x": 1}, "set": {1},
        "frozenset": frozenset([2]), "datetime": D.datetime(2001, 2, 3, 4, 5, 6, 7),
        "date": D.date(2001, 2, 3), "time": D.time(4, 5, 6, 7),
        "timedelta": D.timedelta(-1), "decimal": Dec("-1.5"),
    })

    # --- set / frozenset ---------------------------------------------------------------
    rec.value("set/empty", set())
    rec.value("frozenset/empty", frozenset())
    rec.value("set/ints", {1, 2, 3, 100, -7})
    rec.value("set/one", {42})
    rec.value("set/strs", {"a", "b", "\u00e9", "\U0001F600"})
    rec.value("set/bytes", {b"a", b"None", b"list"})
    rec.value("set/tuples", {(1, 2), (3, 4)})
    rec.value("set/mixed", {1, "one", b"one", 2.5, (1, "x"), frozenset([3])})
    rec.value("set/range-100", set(range(100)))
    rec.value("frozenset/ints", frozenset([5, 6, 7]))
    rec.value("frozenset/nested", frozenset([frozenset([1]), frozenset([2, 3])]))
    rec.value("frozenset/strs", frozenset(["x", "y", "z"]))
    rec.value("set/dates", {D.date(2020, 1, 1), D.date(2021, 6, 30)})
    # Python iterates set([-3, 5]) as 5, -3; Twisted rebuilds the received set from the wire
    # order (5, -3), which iterates as -3, 5, so re-sending it changes the bytes.
    rec.value("set/order-not-kept-by-unjelly", set([-3, 5]),
              known_quirk="received set iterates in another order than the wire (hash collision)")

    # --- datetime family ---------------------------------------------------------------
    dts = [
        ("datetime/min", D.datetime.min), ("datetime/max", D.datetime.max),
        ("datetime/epoch", D.datetime(1970, 1, 1)),
        ("datetime/sample", D.datetime(2020, 1, 2, 3, 4, 5, 6)),
        ("datetime/micro-max", D.datetime(2022, 4, 4, 23, 59, 59, 999999)),
        ("datetime/leapday", D.datetime(2024, 2, 29, 12, 0, 0)),
        ("date/min", D.date.min), ("date/max", D.date.max), ("date/sample", D.date(2020, 1, 2)),
        ("time/min", D.time.min), ("time/max", D.time.max), ("time/sample", D.time(3, 4, 5, 6)),
        ("time/noon", D.time(12)),
        ("timedelta/zero", D.timedelta(0)), ("timedelta/min", D.timedelta.min),
        ("timedelta/max", D.timedelta.max), ("timedelta/resolution", D.timedelta.resolution),
        ("timedelta/minus-1us", D.timedelta(microseconds=-1)),
        ("timedelta/minus-1day", D.timedelta(days=-1)),
        ("timedelta/minus-1.5s", D.timedelta(seconds=-1.5)),
        ("timedelta/sample", D.timedelta(days=5, seconds=3600, microseconds=250)),
        ("timedelta/big", D.timedelta(days=999999, seconds=86399)),
    ]
    for name, v in dts:
        rec.value(name, v)

    # --- decimal -----------------------------------------------------------------------
    decs = ["0", "-0.5", "3.14", "1E+10", "0.00", "1", "-1", "100", "1.10", "-0.001",
            "1E-100", "1E+999999", "-1234.5678E-20", "123456789012345678901234567890",
            "-1.000000000000000000001", "0.1", "2147483648", "-2147483649", "1E+1",
            "9" * 134, "-" + "9" * 134, "1" + "0" * 50 + "E-60"]
    for s in decs:
        rec.value("decimal/" + s if len(s) < 40 else "decimal/%s...(%d chars)" % (s[:12], len(s)),
                  Dec(s))

    # --- shared references and cycles --------------------------------------------------
    a = [1]
    b = [2]
    rec.value("shared/protocol-2.2-a-b-b-a", [a, b, b, a])
    d = {"k": "v"}
    rec.value("shared/dict-twice", {"x": d, "y": d})
    t = (1, "t")
    rec.value("shared/tuple-twice", [t, t])
    rec.value("shared/tuple-key-and-value", {t: t})
    s = {1, 2}
    rec.value("shared/set-in-list", [s, s, s])
    fs = frozenset([7])
    rec.value("shared/frozenset-in-set-and-list", [fs, {fs}, {fs: fs}])
    inner = [0]
    rec.value("shared/deep", [inner, [inner, [inner, (inner,)]]])
    same_str = "shared string object"
    rec.value("shared/str-object-not-referenced", [same_str, same_str])
    same_bytes = b"shared bytes object"
    rec.value("shared/bytes-object-not-referenced", [same_bytes, same_bytes])
    big = 2 ** 100
    rec.value("shared/int-object-not-referenced", [big, big])
    dt = D.datetime(2020, 1, 1)
    rec.value("shared/datetime-object-not-referenced", [dt, dt])
    empty = []
    rec.value("shared/empty-list", [empty, empty])
    rec.value("shared/empty-tuple-singleton", [(), ()])
    e1 = {}
    rec.value("shared/empty-dict", (e1, e1))
    x, y, z = [1], [2], [3]
    rec.value("shared/ids-order-of-second-encounter", [x, y, z, z, y, x])

    l1 = [1]
    l1.append(l1)
    rec.value("cycle/list-self", l1)
    d1 = {}
    d1["self"] = d1
    rec.value("cycle/dict-self", d1)
    d2 = {"a": 1}
    d2[2] = [d2]
    rec.value("cycle/dict-list-dict", d2)
    m1 = [1]
    m2 = [2, m1]
    m1.append(m2)
    rec.value("cycle/mutual-lists", [m1, m2])
    rec.value("cycle/mutual-lists-from-one", m1)
    tl = []
    tt = (tl, "in tuple")
    tl.append(tt)
    rec.value("cycle/through-tuple", tl)
    rec.value("cycle/through-tuple-from-tuple", tt)
    dl = {}
    dl["t"] = (1, [dl])
    rec.value("cycle/dict-tuple-list", dl)
    l3 = [None]
    l3[0] = l3
    rec.value("cycle/list-only-self", l3)
    l4 = []
    l4.append({"back": l4, "again": l4})
    rec.value("cycle/list-dict-back-twice", l4)
    # Twisted bug: a tuple on a cycle that is referenced again after the cycle closed fails
    # to unjelly (AssertionError in twisted.persisted.crefutil); not recorded.
    bl = []
    bt = (bl,)
    bl.append(bt)
    rec.value("cycle/tuple-on-cycle-referenced-later", [bl, bt],
              known_quirk="unjelly raises AssertionError for a tuple on a cycle referenced later")

    # --- unpersistable -----------------------------------------------------------------
    u = tjelly.Unpersistable(crosscheck_peer.UNPERSISTABLE_REASON)
    rec.value("unpersistable/alone", u)
    rec.value("unpersistable/in-list", [1, tjelly.Unpersistable(crosscheck_peer.UNPERSISTABLE_REASON), 2])
    rec.value("unpersistable/in-dict", {"u": tjelly.Unpersistable(crosscheck_peer.UNPERSISTABLE_REASON)})

    # --- mixtures from the seeded generator ---------------------------------------------
    for i, vec in enumerate(crosscheck_peer.generate(SEED, 80)):
        value = pyvalues.from_desc(vec["value"])
        rec.value("random/%03d" % i, value)

    # --- raw banana (no jelly) ---------------------------------------------------------
    raw_ints = [0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32, 2 ** 53, 2 ** 64,
                LARGEST, -1, -127, -128, -(2 ** 31 - 1), -(2 ** 31), -(2 ** 31) - 1,
                -(2 ** 53), -(2 ** 64), -LARGEST]
    for v in raw_ints:
        rec.sexp("banana/int/" + int_name(v), v)
    for name, v in (("0.0", 0.0), ("-0.0", -0.0), ("1.5", 1.5), ("nan", float("nan")),
                    ("inf", float("inf")), ("-inf", float("-inf")), ("5e-324", 5e-324),
                    ("3.0", 3.0)):
        rec.sexp("banana/float/" + name, v)
    rec.sexp("banana/bytes/empty", b"")
    rec.sexp("banana/bytes/None-vocab", b"None")
    rec.sexp("banana/bytes/uncache-vocab", b"uncache")
    rec.sexp("banana/bytes/unicode-not-vocab", b"unicode")
    rec.sexp("banana/bytes/len-128", rbytes(128))
    rec.sexp("banana/list/empty", [])
    rec.sexp("banana/list/nested-empty", [[], [[]]])
    rec.sexp("banana/list/dialect-offer", [b"pb", b"none"])
    rec.sexp("banana/list/version", [b"version", 6])
    rec.sexp("banana/list/mixed", [1, -1, 2 ** 40, -(2 ** 40), 1.5, b"x", [b"list", b"None"]])
    rec.sexp("banana/list/len-128", list(range(128)))


def render(rec):
    return "".join(
        json.dumps(entry, ensure_ascii=True, separators=(", ", ": ")) + "\n" for entry in rec.lines
    )


def render_readme(rec):
    cats = sorted(rec.counts.items())
    lines = [
        "# Golden vectors (generated)",
        "",
        "Generated by `scripts/record_fixtures.py` (run it as `npm run fixtures`, or",
        "`/usr/bin/python3 scripts/record_fixtures.py`) with the real Twisted "
        + pyvalues.twisted_version() + " on Python " + pyvalues.python_version() + ".",
        "Do not edit by hand: re-run the script; `--check` compares without writing.",
        "",
        "`jelly-vectors.jsonl`: %d vectors, one JSON object per line, in the format of"
        % len(rec.lines),
        "`interop/VALUES.md`. `pb` / `none` are the bytes Twisted's Banana writes for",
        "`jelly(value)` (taster `globalSecurity`, as PB) in each dialect; `sexp` entries are",
        "banana-only vectors. Each vector was checked to describe, rebuild, unjelly and",
        "re-jelly to the same bytes with Twisted. Output is deterministic (fixed random seed,",
        "PYTHONHASHSEED=0).",
        "",
        "| category | vectors |",
        "|---|---|",
    ]
    for cat, n in cats:
        lines.append("| %s | %d |" % (cat, n))
    lines.append("")
    return "\n".join(lines)


def main(argv):
    check = "--check" in argv
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    rec = Recorder()
    record_all(rec)
    body = render(rec)
    readme = render_readme(rec)
    for name, why in rec.skipped:
        print("skipped %s: %s" % (name, why))
    for name, quirk, what in rec.quirks:
        print("not recorded (known Twisted quirk: %s) %s: %s" % (quirk, name, what))
    summary = ", ".join("%s %d" % kv for kv in sorted(rec.counts.items()))
    print("%d vectors (%s); %d skipped; Twisted %s"
          % (len(rec.lines), summary, len(rec.skipped), pyvalues.twisted_version()))
    if check:
        same = True
        for path, text in ((OUT_FILE, body), (README, readme)):
            try:
                with open(path, "r", encoding="ascii") as f:
                    if f.read() != text:
                        print("differs: %s" % path)
                        same = False
            except IOError:
                print("missing: %s" % path)
                same = False
        return 0 if same else 1
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(OUT_FILE, "w", encoding="ascii", newline="\n") as f:
        f.write(body)
    with open(README, "w", encoding="ascii", newline="\n") as f:
        f.write(readme)
    print("wrote %s and %s" % (os.path.relpath(OUT_FILE, ROOT), os.path.relpath(README, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
