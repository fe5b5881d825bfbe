"""Payload lanes and the frame-length rule, prepared one beat ahead.

Why: `keep` of a payload beat and the "frame length matches the IPv4 total length"
verdict of the last beat would need 16-bit offset compares in the beat itself. Two
down-counters, loaded from the total length in beat 2 and decremented by 8 a beat,
give them as registered masks for the next beat instead:

  remp = 14 + total - 8b  (datagram bytes from the start of beat b)
         -> `mask`: lanes of beat b that are UDP payload (bytes in [42, 14 + total))
  remx = max(18 + total, 64) - 8b  (the frame size the header implies, FCS included,
         padded to the 64-byte minimum)
         -> `end_ok`, `end_keep`: beat b may be the last and its keep must be end_keep.
"""
from amaranth.hdl import Cat, Mux, Signal, signed

from .layout import IP_TOTAL, PAYLOAD, word

PAYLOAD_BEAT, PAYLOAD_LANE = divmod(PAYLOAD, 8)


def _therm(n3, full):
    """Lanes below n (n = n3, or 8 when `full`)."""
    return Mux(full, 0xFF, Cat(*(n3 > k for k in range(8))))


def lengths(m, lanes, valid, first, at, pos):
    """Returns (mask, end_ok, end_keep): registers describing the current beat."""
    mask = Signal(8, name="pl_mask")
    end_ok = Signal(name="end_ok")
    end_keep = Signal(8, name="end_keep")
    remp = Signal(signed(18), name="remp")
    remx = Signal(signed(18), name="remx")
    tot = Cat(word(lanes, IP_TOTAL), 0).as_signed()
    hdr = Mux(pos == PAYLOAD_BEAT - 1, (0xFF << PAYLOAD_LANE) & 0xFF,
              Mux(pos >= PAYLOAD_BEAT, 0xFF, 0))           # header lanes of the next beat
    with m.If(valid):
        m.d.sync += [mask.eq(0), end_ok.eq(0)]
        with m.If(at(2)):
            m.d.sync += [remp.eq(tot + (14 - 24)),
                         remx.eq(Mux(tot >= 64 - 18, tot + (18 - 24), 64 - 24))]
        with m.Elif(~first & (pos >= 3)):
            m.d.sync += [remp.eq(remp - 8), remx.eq(remx - 8),
                         mask.eq(Mux(remp < 8, 0, hdr & _therm(remp[:3], remp >= 16))),
                         end_ok.eq((remx >= 8) & (remx <= 16)),
                         end_keep.eq(_therm(remx[:3], remx == 16))]
    return mask, end_ok, end_keep
