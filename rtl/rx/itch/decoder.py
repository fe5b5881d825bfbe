"""ITCH 5.0 decoder: RawMsg -> ItchMsg, one registered stage.

Why: the book and risk stages want fixed fields (order ref, side, shares, stock,
price) at fixed bit positions, not bytes. Only known types of exactly their spec
length are emitted: a wrong length means a framing problem upstream, and decoding a
misaligned message would corrupt the book (it is counted instead). The lengths
below are from the Nasdaq TotalView-ITCH 5.0 specification, section 1.
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import ItchMsg, RawMsg
from ...regmap.binding import register_members
from . import regs
from .regs import TYPE_ORDER

#: Message length in bytes of each ITCH 5.0 type (spec section 1.1 .. 1.9).
MSG_LENGTH = {
    "S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28, "J": 35,
    "h": 21, "A": 36, "F": 40, "E": 31, "C": 36, "X": 23, "D": 19, "U": 35, "P": 44,
    "Q": 40, "B": 19, "I": 50, "N": 20, "O": 48,
}


class ItchDecoder(wiring.Component):
    registers = regs.BLOCK

    def __init__(self):
        super().__init__({"i": In(stream.Signature(RawMsg, always_ready=True)),
                          "o": Out(stream.Signature(ItchMsg, always_ready=True)),
                          **register_members(self.registers)})

    def elaborate(self, platform):
        m = Module()
        raw = self.i.payload
        d = raw.data

        def be(offset, width):
            """Big-endian field of `width` bytes at byte `offset`."""
            return Cat(*(d[offset + width - 1 - k] for k in range(width)))

        dec = Signal(ItchMsg)
        ok = Signal()
        type_hit = Signal(len(TYPE_ORDER))
        len_err = Signal()
        unknown = Signal()
        m.d.comb += [
            dec.type.eq(d[0]), dec.locate.eq(be(1, 2)), dec.tracking.eq(be(3, 2)),
            dec.itch_ts.eq(be(5, 6)), dec.seq.eq(raw.seq), dec.feed.eq(raw.feed),
            dec.rx_ts.eq(raw.rx_ts),
        ]
        # Fields shared by several types sit at the same offsets (spec section 1.3/1.4).
        oref, side, shares_at20, stock_at24, price_at32 = be(11, 8), d[19], be(20, 4), \
            be(24, 8), be(32, 4)
        with m.Switch(d[0]):
            for k, t in enumerate(TYPE_ORDER):
                with m.Case(ord(t)):
                    with m.If(raw.length == MSG_LENGTH[t]):
                        m.d.comb += [ok.eq(1), type_hit.eq(1 << k)]
                    with m.Else():
                        m.d.comb += len_err.eq(1)
                    if t in "AFP":
                        m.d.comb += [dec.oref.eq(oref), dec.side.eq(side),
                                     dec.shares.eq(shares_at20), dec.stock.eq(stock_at24),
                                     dec.price.eq(price_at32)]
                    elif t in "EX":
                        m.d.comb += [dec.oref.eq(oref), dec.shares.eq(be(19, 4))]
                    elif t == "C":
                        m.d.comb += [dec.oref.eq(oref), dec.shares.eq(be(19, 4)),
                                     dec.price.eq(be(32, 4))]
                    elif t == "D":
                        m.d.comb += dec.oref.eq(oref)
                    elif t == "U":
                        m.d.comb += [dec.oref.eq(oref), dec.new_oref.eq(be(19, 8)),
                                     dec.shares.eq(be(27, 4)), dec.price.eq(be(31, 4))]
                    elif t == "Q":
                        # Shares is 8 bytes in Q; the low 32 bits are its last 4 bytes.
                        m.d.comb += [dec.shares.eq(be(15, 4)), dec.stock.eq(be(19, 8)),
                                     dec.price.eq(be(27, 4))]
                    elif t == "R":
                        m.d.comb += dec.stock.eq(be(11, 8))
                    elif t == "H":
                        m.d.comb += [dec.stock.eq(be(11, 8)), dec.state.eq(d[19])]
                    elif t == "S":
                        m.d.comb += dec.state.eq(d[11])
            with m.Default():
                m.d.comb += unknown.eq(1)

        valid = self.i.valid
        m.d.sync += [
            self.o.valid.eq(valid & ok),
            self.ev_length_errors.eq(valid & len_err),
            self.ev_unknown_type.eq(valid & unknown),
        ]
        m.d.sync += self.ev_msgs.eq(Cat(*(type_hit[k] & valid for k in range(len(TYPE_ORDER)))))
        with m.If(valid):
            m.d.sync += self.o.payload.eq(dec)
        return m
