"""Order-reference hashing for the order table: H3 (Carter-Wegman) XOR hashes.

Why H3: each output bit is the XOR of a fixed random subset of the 64 reference
bits, so the hardware is a shallow XOR network (no multiplier), the family is
universal (sequential Nasdaq references spread evenly), and two members with
different seeds are independent enough for two-choice insertion. The masks come
from a seeded PRNG, so a build and its tests agree on them without a table file.
"""
import random

from amaranth.hdl import Cat, Value


def h3_masks(bits, seed):
    """The `bits` 64-bit masks of hash member `seed` (output bit j = parity(ref & mask[j]))."""
    rng = random.Random(0x7ECC_0000 + seed)
    return [rng.getrandbits(64) | 1 << j for j in range(bits)]


def h3_hash(value, bits, seed):
    """Set index of a 64-bit reference: an int for ints, an Amaranth value for values."""
    masks = h3_masks(bits, seed)
    if isinstance(value, int):
        return sum((bin(value & mk).count("1") & 1) << j for j, mk in enumerate(masks))
    value = Value.cast(value)
    return Cat(*[Cat(*[value[i] for i in range(64) if mk >> i & 1]).xor() for mk in masks])


def refs_for(set0, set1, bits, n, base=0):
    """`n` distinct references whose bank-0 set is `set0` and bank-1 set is `set1`.

    Tests use it to fill chosen sets (collision and table-full paths): H3 is linear
    over GF(2), so this solves the 2*bits equations and walks the solution space.
    """
    rows = [(mk, set0 >> j & 1) for j, mk in enumerate(h3_masks(bits, 0))]
    rows += [(mk, set1 >> j & 1) for j, mk in enumerate(h3_masks(bits, 1))]
    pivots = []                                  # (pivot bit, mask, rhs), reduced
    for mk, rhs in rows:
        for pbit, pmk, prhs in pivots:
            if mk >> pbit & 1:
                mk, rhs = mk ^ pmk, rhs ^ prhs
        if mk == 0:
            assert rhs == 0, "inconsistent hash equations"
            continue
        pbit = mk.bit_length() - 1
        pivots = [(b, m ^ mk, r ^ rhs) if m >> pbit & 1 else (b, m, r) for b, m, r in pivots]
        pivots.append((pbit, mk, rhs))
    pivot_bits = {b for b, _, _ in pivots}
    free = [i for i in range(64) if i not in pivot_bits]
    out = []
    k = base
    while len(out) < n:
        x = 0
        for i, fb in enumerate(free):            # free bits from the counter k
            x |= (k >> i & 1) << fb
        for pbit, mk, rhs in pivots:             # each pivot bit fixed by its equation
            parity = bin(x & mk & ~(1 << pbit)).count("1") & 1
            x |= (parity ^ rhs) << pbit
        out.append(x)
        k += 1
    return out
