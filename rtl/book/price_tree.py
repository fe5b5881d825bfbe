"""The price tree: a sparse radix bitmap tree over the raw 32-bit price, per slot and side.

Why: the best level must be replaced by the next one in a bounded number of steps
whatever the depth of the book, so "which prices hold a level" is kept as a tree of
bitmaps over the price value itself.

Prices. A side's tree is over its *tree key*: the price for asks, the bitwise
complement (~price, 32 bits) for bids. Both maps are bijections of the 32-bit range,
x -> x increasing and x -> 2**32-1-x decreasing, so on either side "better" is
exactly "smaller tree key" and "next worse level" is exactly "smallest set key
greater than k". Every ITCH Price(4) value (0 .. 2**32-1, sub-penny prices below $1
included) is its own key: nothing is rounded, bucketed or offset, so the ordering is
exact by construction.

Shape. The key is split from the top into digits of BITS = (2, 6, 6, 6, 6, 6) bits.
A node at depth d is the bitmap (2**BITS[d] bits) of the digits present below the
prefix of its d upper digits; the root (depth 0, one per slot and side) is indexed
directly, deeper nodes are HashStore entries keyed by (slot, side, prefix). A node
exists iff its bitmap is non-zero: a level created sets its leaf bit and, when the
leaf is new, the parent's bit, and so on up; a level removed clears upwards the same
way. Next worse level from key k: read the 6 nodes on k's path at once, take the
deepest one with a set bit beyond k's digit, then walk down taking the lowest set
bit: at most 1 + 5 node reads, never a scan.
"""
from amaranth.hdl import Cat, Const, Mux, Signal, Value
from amaranth.lib import data

BITS = (2, 6, 6, 6, 6, 6)
DEPTHS = len(BITS)
assert sum(BITS) == 32


def prefix_bits(d):
    """Bits of the prefix above depth d's digit."""
    return sum(BITS[:d])


def digit(tkey, d):
    """Depth d's digit of a tree key (int or value)."""
    lo = 32 - prefix_bits(d + 1)
    if isinstance(tkey, int):
        return tkey >> lo & ((1 << BITS[d]) - 1)
    return tkey[lo:lo + BITS[d]]


def prefix(tkey, d):
    """The prefix (upper digits) selecting depth d's node."""
    n = prefix_bits(d)
    if isinstance(tkey, int):
        return tkey >> (32 - n) if n else 0
    return tkey[32 - n:] if n else Const(0, 0)


def tree_key(px, ask):
    """The tree key of a price: px for asks, ~px for bids (int or value)."""
    if isinstance(px, int):
        return px if ask else px ^ 0xFFFF_FFFF
    return Mux(ask, px, ~px)


def node_key(slot, side, tkey, d):
    """HashStore key of depth d's node on tkey's path: (prefix, side, slot)."""
    if isinstance(slot, int):
        return prefix(tkey, d) | side << prefix_bits(d) | slot << (prefix_bits(d) + 1)
    return Cat(prefix(tkey, d), side, slot)


def node_op(d):
    return data.StructLayout({"pos": BITS[d], "set": 1})


def node_modify(m, op, hit, old):
    """Set or clear bit `pos`; the node stays while any bit is set."""
    new = Signal(len(old), name="node_new")
    one = Const(1, len(old)) << op.pos
    m.d.comb += new.eq(Mux(op.set, old | one, old & ~one))
    return new, new.any(), op.set


def lowest_set(m, x, name):
    """(any, index of the lowest set bit) of x, as a balanced tree of 2:1 muxes."""
    x = x.as_value() if hasattr(x, "as_value") else x
    if len(x) == 1:
        return x[0], Const(0, 0)
    half = 1 << ((len(x) - 1).bit_length() - 1)
    lo_any, lo_idx = lowest_set(m, x[:half], name + "l")
    hi_any, hi_idx = lowest_set(m, x[half:], name + "h")
    width = (half - 1).bit_length()
    idx = Signal(width + 1, name=f"{name}_idx")
    m.d.comb += idx.eq(Mux(lo_any, Cat(lo_idx, Const(0, width - len(lo_idx) + 1)),
                           Cat(hi_idx, Const(0, width - len(hi_idx)), Const(1, 1))))
    return lo_any | hi_any, idx


def two_set(x):
    """Whether x has two or more bits set ((x & (x - 1)) != 0) as a balanced tree of
    (any, two) pairs: a few LUT levels beside `lowest_set`, not a subtraction chain."""
    def walk(v):
        if len(v) == 1:
            return v[0], Const(0, 1)
        half = len(v) // 2
        (la, lt), (ha, ht) = walk(v[:half]), walk(v[half:])
        return la | ha, lt | ht | (la & ha)
    return walk(Value.cast(x))[1]
