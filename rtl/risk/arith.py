"""Wide arithmetic for the gate at 156.25 MHz on the ECP5: multiplies as registered
18x18 DSP partial products, sums of up to three terms with one carry chain, and
signed sums of several operands (a compare of sums) with one carry chain.

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


def operands(terms, width):
    """The (value, shift) terms as `width`-bit operands: a term starting exactly where
    another ends is concatenated onto it (no adder)."""
    merged = []
    for v, s in sorted(terms, key=lambda t: t[1]):
        for k, (mv, ms) in enumerate(merged):
            if ms + len(mv) == s:
                merged[k] = (Cat(mv, v), ms)
                break
        else:
            merged.append((v, s))
    return [_place(v, s, width) for v, s in merged]


def sum_terms(terms, width):
    """Sum of (value, shift) terms with one carry chain (see `operands`); at most three
    operands may remain, and three go through a 3:2 carry-save layer (one LUT) first.
    `width` bits."""
    ops = operands(terms, width)
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


def signed_sum(ops, width):
    """Sum of [(value, negate)] in `width`-bit two's complement (each value extended by
    its own signedness) with one carry chain: two operands are one add or subtract,
    more go through 3:2 carry-save layers (one LUT each) first. Why: the gate compares
    sums (`a + b > c` as the sign of `c - a - b`) in one cycle, never two chains in a row."""
    if len(ops) == 2 and not ops[0][1]:
        (a, _), (b, neg) = ops
        a, b = _extend(a, width).as_signed(), _extend(b, width).as_signed()
        return ((a - b) if neg else (a + b))[:width]
    vals, k = [], 0
    for v, neg in ops:
        e = _extend(v, width)
        vals.append(~e if neg else e)
        k += neg
    if k:
        vals.append(Const(k, width))        # -x = ~x + 1
    while len(vals) > 2:
        nxt = []
        while len(vals) >= 3:
            x, y, z = vals[:3]
            vals = vals[3:]
            nxt += [(x ^ y ^ z)[:width],
                    Cat(Const(0, 1), ((x & y) | (x & z) | (y & z))[:width - 1])]
        vals = nxt + vals
    return (vals[0] + vals[1])[:width]


def _extend(v, width):
    """`v` sign- or zero-extended (by its shape) to `width` bits, unsigned."""
    if v.shape().signed:
        return Cat(v, v[-1].replicate(width - len(v)))[:width]
    return Cat(v, Const(0, max(width - len(v), 0)))[:width]


def carry_save(ops, width, one=False):
    """Three operands [(value, shift)] (each extended by its signedness) in carry-save
    form: (sum, carry), `width` bits each, sum + carry = the total (+ 1 if `one`: the
    carry's free bit 0) mod 2**width. One LUT, no carry chain.

    Why: a total needed as an operand of compares in the next stage costs them no
    extra carry-save layer (a compare against it is sum + carry - x, three operands,
    one layer), where registering the total itself would take a carry chain more."""
    x, y, z = (_place(_extend(v, width - sh), sh, width) for v, sh in ops)
    return ((x ^ y ^ z)[:width],
            Cat(Const(int(one), 1), ((x & y) | (x & z) | (y & z))[:width - 1]))


def raw_sum(vals, ones=0):
    """Sum of `width`-bit words (mod 2**width) plus `ones` (at most the number of 3:2
    layers), with one carry chain: each +1 goes into a layer's free carry bit 0."""
    width = len(vals[0])
    vals = list(vals)
    while len(vals) > 2:
        x, y, z = vals[:3]
        c0, ones = int(ones > 0), ones - int(ones > 0)
        vals = [(x ^ y ^ z)[:width], Cat(Const(c0, 1), ((x & y) | (x & z) | (y & z))[:width - 1])] \
            + vals[3:]
    assert ones == 0, "more +1s than 3:2 layers"
    return (vals[0] + vals[1])[:width]
