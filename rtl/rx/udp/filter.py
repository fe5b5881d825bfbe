"""Destination filter, split over the two beats that carry the address.

Why: a 32-bit group plus 16-bit port compare per entry in one beat is too deep for
156.25 MHz. The group's high half arrives in beat 3 (frame bytes 30-31) and is
compared there; beat 4 compares the low half and the port and ANDs the registered
high-half hit. `hits` (one bit per entry) is registered at the end of beat 4.
"""
from amaranth.hdl import Cat, Signal

from .layout import IP_DST, UDP_DPORT, word


def dest_filter(m, lanes, at, group, port, ctrl, n):
    """Returns (hits, feed): per-entry hit register, and the feed of the first hit."""
    hi_hit = Signal(n, name="flt_hi_hit")
    hits = Signal(n, name="flt_hits")
    dst_hi, dst_lo = word(lanes, IP_DST), word(lanes, IP_DST + 2)
    dport = word(lanes, UDP_DPORT)
    with m.If(at(3)):
        m.d.sync += hi_hit.eq(Cat(*(group[e][16:32] == dst_hi for e in range(n))))
    with m.If(at(4)):
        m.d.sync += hits.eq(Cat(*(hi_hit[e] & ctrl[e][0] & (group[e][0:16] == dst_lo)
                                  & (port[e] == dport) for e in range(n))))
    feed = Signal(name="flt_feed")
    for e in reversed(range(n)):            # the first matching entry wins
        with m.If(hits[e]):
            m.d.comb += feed.eq(ctrl[e][1])
    return hits, feed
