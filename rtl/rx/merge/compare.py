"""Wide compares as carry chains: `below(m, a, b)` is a < b, the borrow of a - b, and
`equal(m, a, b)` is neither below nor above (two chains side by side, one LUT after).

Why: on the ECP5 a 64-bit carry chain costs ~1.3 ns with no routing inside it (0.04 ns
a cell), while a 64-bit `==` maps to a four-level LUT tree whose routing hops cost
0.3-1.5 ns each in the merge (`seq == E + 1` and the jump claim's compares were its
critical paths at 135 and 120 MHz). `>` maps to a chain plus an equality tree, so
every compare here is written as a borrow.
"""
from amaranth.hdl import Signal


def below(m, a, b):
    """a < b (unsigned): the borrow of a - b."""
    d = Signal(max(len(a), len(b)) + 1)
    m.d.comb += d.eq(a - b)
    return d[-1]


def equal(m, a, b):
    """a == b: neither a < b nor b < a."""
    return ~below(m, a, b) & ~below(m, b, a)


def halves(m, a, b):
    """(a_hi < b_hi, b_hi < a_hi, a_lo < b_lo, b_lo < a_lo): four chains of half the
    width, from which a < b, a == b and a > b are each one LUT (HoldHead's flags)."""
    h = len(a) // 2
    return (below(m, a[h:], b[h:]), below(m, b[h:], a[h:]),
            below(m, a[:h], b[:h]), below(m, b[:h], a[:h]))
