"""Python side of the value descriptions defined in interop/VALUES.md.

Importable helpers shared by scripts/record_fixtures.py and the roles of interop/peer.py:

- from_desc(desc)          description -> Python value (shared containers and cycles kept)
- to_desc(value)           Python value -> description
- sexp_from_desc / sexp_to_desc   the banana-level node forms (raw banana vectors)
- banana_bytes(sexp, dialect) / banana_decode(data, dialect)   Twisted's own Banana
- jelly_value(value) / unjelly_value(sexp)                      Twisted's own jelly
- twisted_version()

Conventions of to_desc (VALUES.md leaves them open):
- Containers are list, tuple, dict, set and frozenset, identified by object identity.
- A container met more than once gets an ID; IDs are numbered 1, 2, 3... in the order of
  the containers' first occurrence in the depth-first walk jelly does (list/tuple/set items
  in order, dict entries key then value).
- Only the first occurrence carries the contents; later ones are ["ref", ID].
- Decimal: the coefficient is the one jelly puts on the wire (sign applied to the integer
  made of the digits, so Decimal("-0") is described as "0").
"""

import binascii
import datetime
import decimal
import random
import struct
import sys

# One source for Python 2.7 and 3. On Python 2 the native str is bytes: it is described as "str"
# when it is text (UTF-8), since that is what a Python 2 program means by it; unicode is "str" too.
PY2 = sys.version_info[0] == 2
TEXT = type(u"")
STRINGS = (str, TEXT)
INTS = (int, type(2 ** 64)) if PY2 else (int,)


def _unhex(h):
    return binascii.unhexlify(h)


def _hex(b):
    return binascii.hexlify(b).decode("ascii")

from twisted.spread import banana as _banana
from twisted.spread import jelly as _jelly

__all__ = [
    "DescError",
    "from_desc",
    "to_desc",
    "sexp_from_desc",
    "sexp_to_desc",
    "banana_bytes",
    "banana_decode",
    "jelly_value",
    "unjelly_value",
    "encode_value",
    "decode_value",
    "twisted_version",
    "python_version",
]


class DescError(ValueError):
    """A description that is malformed, or a value that has no description."""


_CONTAINERS = ("list", "tuple", "dict", "set", "frozenset")
_IMMUTABLE_CONTAINERS = ("tuple", "set", "frozenset")


# ---------------------------------------------------------------------------------------
# floats


def float_to_hex(x):
    return _hex(struct.pack("!d", x))


def float_from_hex(h):
    raw = _unhex(h)
    if len(raw) != 8:
        raise DescError("float needs 8 bytes of hex, got %r" % (h,))
    return struct.unpack("!d", raw)[0]


# ---------------------------------------------------------------------------------------
# description -> value


class _Node(object):
    """One container of a description, while it is being built."""

    __slots__ = ("kind", "ident", "children", "value", "built", "building")

    def __init__(self, kind, ident, children):
        self.kind = kind
        self.ident = ident
        self.children = children  # list of nodes / leaf values; dict: list of (k, v)
        self.value = None
        self.built = False
        self.building = False


class _Ref(object):
    __slots__ = ("ident",)

    def __init__(self, ident):
        self.ident = ident


class _Leaf(object):
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _expect_len(desc, n):
    if len(desc) != n:
        raise DescError("%s node needs %d elements: %r" % (desc[0], n, desc))


def _parse(desc, table):
    """Turn a description into a tree of _Node/_Ref/_Leaf, recording ids in table."""
    if not isinstance(desc, list) or not desc or not isinstance(desc[0], STRINGS):
        raise DescError("not a description node: %r" % (desc,))
    kind = desc[0]
    if kind == "none":
        _expect_len(desc, 1)
        return _Leaf(None)
    if kind == "bool":
        _expect_len(desc, 2)
        if not isinstance(desc[1], bool):
            raise DescError("bool node needs true/false: %r" % (desc,))
        return _Leaf(desc[1])
    if kind == "int":
        _expect_len(desc, 2)
        return _Leaf(int(desc[1]))
    if kind == "float":
        _expect_len(desc, 2)
        return _Leaf(float_from_hex(desc[1]))
    if kind == "bytes":
        _expect_len(desc, 2)
        return _Leaf(_unhex(desc[1]))
    if kind == "str":
        _expect_len(desc, 2)
        if not isinstance(desc[1], STRINGS):
            raise DescError("str node needs a string: %r" % (desc,))
        return _Leaf(TEXT(desc[1]))
    if kind == "datetime":
        _expect_len(desc, 2)
        return _Leaf(datetime.datetime(*[int(x) for x in desc[1]]))
    if kind == "date":
        _expect_len(desc, 2)
        return _Leaf(datetime.date(*[int(x) for x in desc[1]]))
    if kind == "time":
        _expect_len(desc, 2)
        return _Leaf(datetime.time(*[int(x) for x in desc[1]]))
    if kind == "timedelta":
        _expect_len(desc, 2)
        d, s, us = [int(x) for x in desc[1]]
        return _Leaf(datetime.timedelta(days=d, seconds=s, microseconds=us))
    if kind == "decimal":
        _expect_len(desc, 3)
        coeff = int(desc[1])
        exponent = desc[2]
        if not isinstance(exponent, int) or isinstance(exponent, bool):
            raise DescError("decimal exponent must be an int: %r" % (desc,))
        digits = tuple(int(c) for c in str(abs(coeff)))
        return _Leaf(decimal.Decimal((1 if coeff < 0 else 0, digits, exponent)))
    if kind == "unpersistable":
        _expect_len(desc, 2)
        return _Leaf(_jelly.Unpersistable(desc[1]))
    if kind == "ref":
        _expect_len(desc, 2)
        return _Ref(desc[1])
    if kind in _CONTAINERS:
        _expect_len(desc, 3)
        ident = desc[1]
        if ident is not None and (not isinstance(ident, int) or isinstance(ident, bool)):
            raise DescError("container ID must be null or an int: %r" % (desc,))
        items = desc[2]
        if not isinstance(items, list):
            raise DescError("container items must be a list: %r" % (desc,))
        node = _Node(kind, ident, None)
        if ident is not None:
            if ident in table:
                raise DescError("ID %r defined twice" % (ident,))
            table[ident] = node
        if kind == "dict":
            children = []
            for pair in items:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise DescError("dict entry must be [key, value]: %r" % (pair,))
                children.append((_parse(pair[0], table), _parse(pair[1], table)))
        else:
            children = [_parse(item, table) for item in items]
        node.children = children
        return node
    raise DescError("unknown description node %r" % (kind,))


def _same_order(container, members):
    return len(container) == len(members) and all(a is b for a, b in zip(container, members))


def _ordered_set(members, ctor):
    """A set/frozenset of members that iterates in the described order, when one exists.

    Python's iteration order depends on insertion order when hashes collide, so inserting
    in the described order does not always reproduce it: try the reverse and a few
    deterministic shuffles before settling for the plain build.
    """
    result = ctor(members)
    if _same_order(result, members) or len(result) != len(members):
        return result
    candidates = [list(reversed(members))]
    if len(members) <= 16:
        shuffler = random.Random(len(members))
        for _ in range(200):
            order = list(members)
            shuffler.shuffle(order)
            candidates.append(order)
    for order in candidates:
        attempt = ctor(order)
        if _same_order(attempt, members):
            return attempt
    return result


def from_desc(desc):
    """Build the Python value a description stands for.

    Lists and dicts are created empty first and filled last, so cycles through them work;
    tuples, sets and frozensets are built once their (immutable) members exist.
    """
    table = {}
    root = _parse(desc, table)
    mutables = []

    def resolve(item):
        if isinstance(item, _Ref):
            node = table.get(item.ident)
            if node is None:
                raise DescError("ref to undefined ID %r" % (item.ident,))
            return node
        return item

    def collect(item):
        # create the list/dict shells, depth first, without recursion limits
        stack = [item]
        while stack:
            it = stack.pop()
            if isinstance(it, _Node):
                if it.kind == "list":
                    it.value = []
                    it.built = True
                    mutables.append(it)
                elif it.kind == "dict":
                    it.value = {}
                    it.built = True
                    mutables.append(it)
                if it.kind == "dict":
                    for k, v in it.children:
                        stack.append(k)
                        stack.append(v)
                else:
                    stack.extend(it.children)

    collect(root)

    def value_of(item):
        item = resolve(item)
        if isinstance(item, _Leaf):
            return item.value
        if item.built:
            return item.value
        if item.building:
            raise DescError("cycle through immutable containers only (ID %r)" % (item.ident,))
        item.building = True
        members = [value_of(c) for c in item.children]
        if item.kind == "tuple":
            item.value = tuple(members)
        else:
            item.value = _ordered_set(members, set if item.kind == "set" else frozenset)
        item.building = False
        item.built = True
        return item.value

    result = value_of(root)
    for node in mutables:
        if node.kind == "list":
            node.value.extend(value_of(c) for c in node.children)
        else:
            for k, v in node.children:
                node.value[value_of(k)] = value_of(v)
    return result


# ---------------------------------------------------------------------------------------
# value -> description


def _container_kind(value):
    t = type(value)
    if t is list:
        return "list"
    if t is tuple:
        return "tuple"
    if t is dict:
        return "dict"
    if t is set:
        return "set"
    if t is frozenset:
        return "frozenset"
    return None


def _children(value, kind):
    if kind == "dict":
        out = []
        for k, v in value.items():
            out.append(k)
            out.append(v)
        return out
    return list(value)


def _leaf_desc(value):
    t = type(value)
    if value is None:
        return ["none"]
    if t is bool:
        return ["bool", value]
    if t in INTS:
        return ["int", str(value)]
    if t is float:
        return ["float", float_to_hex(value)]
    if t is bytes:
        if PY2:
            try:
                return ["str", value.decode("utf-8")]
            except UnicodeDecodeError:
                pass
        return ["bytes", _hex(value)]
    if t is TEXT:
        return ["str", value]
    if t is datetime.datetime:
        if value.tzinfo is not None:
            raise DescError("tz-aware datetime has no description")
        return [
            "datetime",
            [value.year, value.month, value.day, value.hour, value.minute, value.second,
             value.microsecond],
        ]
    if t is datetime.date:
        return ["date", [value.year, value.month, value.day]]
    if t is datetime.time:
        if value.tzinfo is not None:
            raise DescError("tz-aware time has no description")
        return ["time", [value.hour, value.minute, value.second, value.microsecond]]
    if t is datetime.timedelta:
        return ["timedelta", [value.days, value.seconds, value.microseconds]]
    if t is decimal.Decimal:
        sign, digits, exponent = value.as_tuple()
        if not isinstance(exponent, int):
            raise DescError("Decimal %s has no description (jelly cannot send it)" % (value,))
        coeff = 0
        for d in digits:
            coeff = coeff * 10 + d
        if sign:
            coeff = -coeff
        return ["decimal", str(coeff), exponent]
    if t is _jelly.Unpersistable or isinstance(value, _jelly.Unpersistable):  # (old-style class on Python 2)
        return ["unpersistable", value.reason]
    raise DescError("no description for %s value %r" % (t.__name__, value))


def to_desc(value):
    """Describe a Python value (see the module docstring for the ID convention)."""
    # Pass 1: count occurrences of each container (by identity), in jelly's walk order.
    counts = {}
    keep = []  # keep objects alive so ids stay unique
    stack = [value]
    while stack:
        v = stack.pop()
        kind = _container_kind(v)
        if kind is None:
            continue
        key = id(v)
        if key in counts:
            counts[key] += 1
            continue
        counts[key] = 1
        keep.append(v)
        stack.extend(reversed(_children(v, kind)))

    # Pass 2: emit, assigning ids in order of first occurrence to shared containers.
    ids = {}
    next_id = [1]

    def emit_container(v, kind):
        key = id(v)
        if key in ids:
            return ["ref", ids[key]], None
        ident = None
        if counts[key] > 1:
            ident = next_id[0]
            next_id[0] += 1
        ids[key] = ident
        return None, [kind, ident, []]

    # Iterative depth-first emission (deep nesting must not hit the recursion limit).
    result_holder = []
    # work items: (value, sink) where sink is a list to append the description to
    work = [(value, result_holder.append)]
    while work:
        v, sink = work.pop()
        kind = _container_kind(v)
        if kind is None:
            sink(_leaf_desc(v))
            continue
        if id(v) in ids:
            ref = ids[id(v)]
            if ref is None:
                raise DescError("internal: container met twice but counted once")
            sink(["ref", ref])
            continue
        _, node = emit_container(v, kind)
        sink(node)
        items = node[2]
        if kind == "dict":
            pending = []
            for k, val in v.items():
                pair = []
                items.append(pair)
                pending.append((k, pair.append))
                pending.append((val, pair.append))
        else:
            pending = [(m, items.append) for m in v]
        work.extend(reversed(pending))
    return result_holder[0]


# ---------------------------------------------------------------------------------------
# banana-level nodes (raw banana vectors)


def sexp_from_desc(desc):
    kind = desc[0]
    if kind == "int":
        return int(desc[1])
    if kind == "float":
        return float_from_hex(desc[1])
    if kind == "bytes":
        return _unhex(desc[1])
    if kind == "list":
        if desc[1] is not None:
            raise DescError("banana lists carry no ID: %r" % (desc,))
        return [sexp_from_desc(d) for d in desc[2]]
    raise DescError("unknown banana node %r" % (kind,))


def sexp_to_desc(sexp):
    t = type(sexp)
    if t is bool or t in INTS:
        return ["int", str(int(sexp))]
    if t is float:
        return ["float", float_to_hex(sexp)]
    if t is bytes:
        return ["bytes", _hex(sexp)]
    if t is list or t is tuple:
        return ["list", None, [sexp_to_desc(x) for x in sexp]]
    raise DescError("not a banana value: %r" % (sexp,))


# ---------------------------------------------------------------------------------------
# Twisted banana and jelly


class _CollectingTransport(object):
    def __init__(self):
        self.chunks = []
        self.lost = False

    def write(self, data):
        self.chunks.append(data)

    def writeSequence(self, seq):
        self.chunks.extend(seq)

    def loseConnection(self):
        self.lost = True

    def getvalue(self):
        return b"".join(self.chunks)


def _dialect_bytes(dialect):
    if isinstance(dialect, TEXT):
        dialect = dialect.encode("ascii")
    if dialect not in (b"pb", b"none"):
        raise ValueError("dialect must be pb or none, not %r" % (dialect,))
    return dialect


def _new_banana(dialect):
    proto = _banana.Banana(isClient=1)
    transport = _CollectingTransport()
    proto.transport = transport
    proto.connectionMade()  # a client writes nothing here; cleared below anyway
    proto._selectDialect(_dialect_bytes(dialect))
    del transport.chunks[:]
    return proto, transport


def banana_bytes(sexp, dialect):
    """Encode one banana expression with Twisted's Banana in the given dialect."""
    proto, transport = _new_banana(dialect)
    proto.sendEncoded(sexp)
    return transport.getvalue()


def banana_decode(data, dialect):
    """Decode every complete item in data with Twisted's Banana; incomplete input raises."""
    proto, _ = _new_banana(dialect)
    items = []
    proto.expressionReceived = items.append
    proto.dataReceived(data)
    if proto.buffer or proto.listStack:
        raise _banana.BananaError(
            "incomplete banana data: %d bytes buffered, %d unfinished lists"
            % (len(proto.buffer), len(proto.listStack))
        )
    return items


def jelly_value(value, taster=None):
    """twisted.spread.jelly.jelly with PB's security (globalSecurity) as the taster.

    For every type in VALUES.md this is the same as the default jelly() except
    jelly.Unpersistable, which PB (and only a refusing taster) sends as
    [b"unpersistable", b"instance of class ... deemed insecure"].
    """
    if taster is None:
        taster = _jelly.globalSecurity
    return _jelly.jelly(value, taster)


def unjelly_value(sexp):
    """twisted.spread.jelly.unjelly with globalSecurity, as PB does."""
    return _jelly.unjelly(sexp, taster=_jelly.globalSecurity)


def encode_value(value, dialect):
    """banana(jelly(value)) bytes."""
    return banana_bytes(jelly_value(value), dialect)


def decode_value(data, dialect):
    """unjelly(banana-decode(data)): exactly one item expected."""
    items = banana_decode(data, dialect)
    if len(items) != 1:
        raise _banana.BananaError("expected exactly one banana item, got %d" % (len(items),))
    return unjelly_value(items[0])


def twisted_version():
    import twisted

    return twisted.__version__


def python_version():
    return sys.version.split()[0]
