"""FeedPlayer: XGMII beats written into block RAM over the register bus, played back
on both feed ports at line rate (one 64-bit beat per cycle), because the ECP5-5G has
no 10GBASE-R: on the lab board it stands in for the two 10GbE links.

The host writes whole frames as XGMII beats (data, control byte; preamble, SFD, FCS
and idles included) and starts playback. Feed B plays the same beats `delay_b`
cycles after feed A (0 = together, the usual A/B arbitration case); either feed can
be dropped (idles instead), so a gap on one feed is repaired by the other.

Registers (word offsets from the player's base, rtl/board/lab_top.py):
  0 CTRL     write: bit0 PLAY (one pass), bit1 LOOP (repeat until STOP), bit2 DROP_A,
             bit3 DROP_B, bit4 STOP. read: bit0 playing, bits 31:16 passes completed
  1 LENGTH   beats per pass
  2 DELAY_B  cycles feed B lags feed A
  3 WADDR    beat index written by the next WCTL write (auto-increments)
  4 WD_LO, 5 WD_HI  beat data, staged
  6 WCTL     XGMII control byte: writes {WCTL, WD_HI, WD_LO} at WADDR
  7 DEPTH    read: beats the RAM holds
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..host.bus.arbiter import CsrReqSignature

IDLE_D, IDLE_C = 0x0707070707070707, 0xFF


class FeedPlayer(wiring.Component):
    def __init__(self, depth=2048):
        self.depth = depth
        super().__init__({
            "csr": In(CsrReqSignature()),
            "xgmii_a_d": Out(64, init=IDLE_D), "xgmii_a_c": Out(8, init=IDLE_C),
            "xgmii_b_d": Out(64, init=IDLE_D), "xgmii_b_c": Out(8, init=IDLE_C),
            "playing": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        D, c = self.depth, self.csr
        length, delay, waddr = Signal(range(D + 1)), Signal(range(D + 1)), Signal(range(D))
        lo, hi = Signal(32), Signal(32)
        loop, drop_a, drop_b = Signal(), Signal(), Signal()
        passes = Signal(16)
        m.submodules.mem = mem = Memory(shape=72, depth=D, init=[])
        wr = mem.write_port()
        rd_a, rd_b = mem.read_port(transparent_for=()), mem.read_port(transparent_for=())

        # register slave: one access per request, acked the next cycle
        word = c.addr[2:5]
        start = Signal()
        with m.If((c.r_stb | c.w_stb) & ~c.ack):
            m.d.sync += c.ack.eq(1)
            with m.If(c.w_stb):
                with m.Switch(word):
                    with m.Case(0):
                        m.d.comb += start.eq(c.w_data[0])
                        m.d.sync += [loop.eq(c.w_data[1]), drop_a.eq(c.w_data[2]),
                                     drop_b.eq(c.w_data[3])]
                        with m.If(c.w_data[4]):
                            m.d.sync += [self.playing.eq(0), loop.eq(0)]
                    with m.Case(1):
                        m.d.sync += length.eq(c.w_data)
                    with m.Case(2):
                        m.d.sync += delay.eq(c.w_data)
                    with m.Case(3):
                        m.d.sync += waddr.eq(c.w_data)
                    with m.Case(4):
                        m.d.sync += lo.eq(c.w_data)
                    with m.Case(5):
                        m.d.sync += hi.eq(c.w_data)
                    with m.Case(6):
                        m.d.comb += [wr.en.eq(1), wr.data.eq(Cat(lo, hi, c.w_data[:8]))]
                        m.d.sync += waddr.eq(waddr + 1)
            with m.Else():
                m.d.sync += c.r_data.eq(Mux(word == 7, D, Mux(
                    word == 0, Cat(self.playing, Const(0, 15), passes),
                    Mux(word == 1, length, Mux(word == 2, delay, waddr)))))
        with m.Else():
            m.d.sync += c.ack.eq(0)
        m.d.comb += wr.addr.eq(waddr)

        # playback: A reads beat pos, B beat pos - delay; a pass ends when B is done
        pos, end = Signal(range(2 * D + 2)), Signal(range(2 * D + 2))
        in_a, in_b = Signal(), Signal()
        m.d.sync += end.eq(length + delay)
        with m.If(start):
            m.d.sync += [pos.eq(0), self.playing.eq(1)]
        with m.Elif(self.playing):
            m.d.sync += pos.eq(pos + 1)
            with m.If(pos + 1 >= end):
                m.d.sync += [pos.eq(0), passes.eq(passes + 1), self.playing.eq(loop)]
        m.d.comb += [rd_a.addr.eq(pos), rd_b.addr.eq(pos - delay)]
        m.d.sync += [in_a.eq(self.playing & (pos < length) & ~drop_a),
                     in_b.eq(self.playing & (pos >= delay) & (pos - delay < length) & ~drop_b)]
        for ok, rd, d, ctl in ((in_a, rd_a, self.xgmii_a_d, self.xgmii_a_c),
                               (in_b, rd_b, self.xgmii_b_d, self.xgmii_b_c)):
            m.d.sync += [d.eq(Mux(ok, rd.data[:64], IDLE_D)), ctl.eq(Mux(ok, rd.data[64:], IDLE_C))]
        return m
