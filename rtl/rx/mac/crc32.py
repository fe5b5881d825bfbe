"""Parallel Ethernet CRC-32 over 1..8 bytes per cycle, from `amaranth.lib.crc` matrices.

`amaranth.lib.crc.Processor` handles one fixed word width; a MAC beat holds 0..8 frame
bytes (partial first/last beats). The MAC needs one network only (rtl/rx/mac/xgmii_rx.py):
the register update is linear, r' = F r ^ G d, and a zero byte only multiplies the state,
so k bytes followed by 8 - k zero bytes leave F^(8-k) of the k-byte result; comparing that
with F^(8-k) of the residue (a constant per k) checks a frame ending after k bytes.
`crc32_next` builds the n-byte network from the catalog's F/G matrices (tests). Reflecting the whole n-byte word (as
`Processor` does) processes lane 0 first, LSB first: Ethernet bit order.
"""
from functools import lru_cache

from amaranth.hdl import Cat
from amaranth.lib.crc import Parameters, catalog

ALGORITHM = catalog.CRC32_ETHERNET

#: CRC register value at the start of a frame (register domain, not reflected).
INIT = ALGORITHM.initial_crc


def _reflect(value, width):
    return int(f"{value:0{width}b}"[::-1], 2)


#: Register value after a frame whose trailing FCS is correct (the CRC residue).
RESIDUE = _reflect(ALGORITHM(8).residue(), ALGORITHM.crc_width)


@lru_cache(maxsize=None)
def _matrices(nbytes):
    return Parameters(ALGORITHM, 8 * nbytes)._matrices()


def state_term(state, nbytes):
    """The state's share of crc32_next (XOR it with data_term for the full update)."""
    f, _ = _matrices(nbytes)
    return Cat(*(Cat(*(state[j] for j in range(32) if f[j][i])).xor() for i in range(32)))


def state_term_const(state, nbytes):
    """state_term of a constant state, as an int (0 bytes: the state itself)."""
    if nbytes == 0:
        return state
    f, _ = _matrices(nbytes)
    return sum((sum(state >> j & 1 for j in range(32) if f[j][i]) & 1) << i for i in range(32))


def data_term(data, nbytes):
    """The data's share of crc32_next: independent of the state, so it can be computed
    from the raw input before the MAC's input register."""
    _, g = _matrices(nbytes)
    width = 8 * nbytes
    return Cat(*(Cat(*(data[width - 1 - j] for j in range(width) if g[j][i])).xor()
                 for i in range(32)))


def data_term_const(value, nbytes):
    """data_term of constant bytes (lane i = bits 8i..8i+7 of `value`), as an int."""
    _, g = _matrices(nbytes)
    width = 8 * nbytes
    return sum((sum(value >> (width - 1 - j) & 1 for j in range(width) if g[j][i]) & 1) << i
               for i in range(32))


def crc32_next(state, data, nbytes):
    """Register value after feeding bytes data[0:8], ..., data[8*nbytes-8:8*nbytes] to `state`.

    `state` and `data` should be Signals: each output bit is one XOR reduction of their bits.
    """
    f, g = _matrices(nbytes)
    width = 8 * nbytes
    bits = []
    for i in range(32):
        terms = [state[j] for j in range(32) if f[j][i]]
        terms += [data[width - 1 - j] for j in range(width) if g[j][i]]   # reflected word
        bits.append(Cat(*terms).xor())
    return Cat(*bits)
