"""Wide arithmetic for the gate at 156.25 MHz on the ECP5: multiplies as registered
18x18 DSP partial products, and sums of up to three terms with one carry chain.

Why: a 32x32 multiply left to Yosys becomes four MULT18X18D plus a combinational
adder tree after them; here the partial products are registered (one stage) and
summed in the next (a 3:2 carry-save layer, one LUT, then a single carry chain), so
no stage holds more than one DSP or one carry chain.
"""
from amaranth.hdl import Cat, Const, Signal

CHUNK = 17          # unsigned chunk that fits the DSP's signed 18-bit operand


def _chunks(v):
    n = len(v)
    return [(v[i:min(i + CHUNK, n)], i) for i in range(0, n, CHUNK)]


def partial_products(m, a, b, en, name):
    """Register the 17-bit x 17-bit partial products of a x b (unsigned) when `en`.
    Returns [(product signal, shift)]: a x b = sum(p << shift)."""
    out = []
    for ca, sa in _chunks(a):
        for cb, sb in _chunks(b):
            p = Signal(len(ca) + len(cb), name=f"{name}_p{sa}_{sb}")
            with m.If(en):
                m.d.sync += p.eq(ca * cb)
            out.append((p, sa + sb))
    return out


def sum_terms(terms, width):
    """Sum of (value, shift) terms with one carry chain. A term starting exactly where
    another ends is concatenated onto it (no adder); at most three operands may remain,
    and three go through a 3:2 carry-save layer (one LUT) first. `width` bits."""
    merged = []
    for v, s in sorted(terms, key=lambda t: t[1]):
        for k, (mv, ms) in enumerate(merged):
            if ms + len(mv) == s:
                merged[k] = (Cat(mv, v), ms)
                break
        else:
            merged.append((v, s))
    ops = [_place(v, s, width) for v, s in merged]
    assert len(ops) <= 3, f"{len(ops)} operands: split the sum over two stages"
    if len(ops) == 1:
        return ops[0]
    if len(ops) == 2:
        return (ops[0] + ops[1])[:width]
    x, y, z = ops
    carry = Cat(Const(0, 1), ((x & y) | (x & z) | (y & z))[:width - 1])
    return ((x ^ y ^ z) + carry)[:width]


def _place(v, s, width):
    e = Cat(Const(0, s), v) if s else v
    return Cat(e, Const(0, max(width - len(e), 0)))[:width]
