"""Pipelined IPv4 header checksum over the fixed 20-byte header (frame bytes 14..33).

Why: summing ten 16-bit words and folding the carries in the beat that carries the
last one is five adders deep. Here each beat adds at most two carry chains and the
verdict is a 20-bit pattern test on a register: the ten words sum to S < 10 * 2^16 <
2^20, and the header is good iff S mod 0xFFFF == 0 (S != 0), i.e. iff
S[15:0] + S[19:16] == 0xFFFF, i.e. S[15:4] all ones and S[3:0] == ~S[19:16].

    beat 1: w14                 -> q1
    beat 2: q1 + w16 + w18      -> x      w20 + w22           -> y
    beat 3: x + y               -> u      w24 + w26 + w28 + w30 -> v
    beat 4: u + v + w32         -> S      (registered; `good` is valid from beat 5)
"""
from amaranth.hdl import Signal

from .layout import word


def ip_checksum(m, lanes, at):
    """Build the accumulator into `m`; `at(b)` is "a valid beat b of the frame is on the
    input". Returns `good` (combinational from one register, valid from beat 5 on)."""
    def w(off):
        return word(lanes, off)
    q1, x, y, u, v = (Signal(20, name=f"csum_{n}") for n in ("q1", "x", "y", "u", "v"))
    s = Signal(20, name="csum_s")
    with m.If(at(1)):
        m.d.sync += q1.eq(w(14))
    with m.If(at(2)):
        m.d.sync += [x.eq(q1 + w(16) + w(18)), y.eq(w(20) + w(22))]
    with m.If(at(3)):
        m.d.sync += [u.eq(x + y), v.eq((w(24) + w(26)) + (w(28) + w(30)))]
    with m.If(at(4)):
        m.d.sync += s.eq(u + v + w(32))
    good = Signal(name="csum_good")
    m.d.comb += good.eq((s[4:16] == 0xFFF) & (s[0:4] == ~s[16:20]))
    return good
