"""PTP-style hardware clock: seconds + nanoseconds, advanced every cycle by `period`.

Why a fractional accumulator: 156.25 MHz is 6.4 ns per cycle, not a whole number, and
software disciplines the clock by trimming the period (frequency adjust), so the
period is unsigned 8.32 fixed point and the 32-bit fraction carries into ns.
Commands (one strobe, bits may combine): SET loads set_sec/set_ns and clears the
fraction (SET wins over STEP); STEP adds signed step_ns atomically, borrowing from
or carrying into seconds; SNAPSHOT latches the time as it was in the strobe cycle.
"""
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layouts import Timestamp

NS_PER_SEC = 1_000_000_000
DEFAULT_PERIOD = (6 << 32) | 0x66666666          # 6.4 ns, 8.32 fixed point
CMD_SET, CMD_STEP, CMD_SNAPSHOT = 1, 2, 4


class HwClock(wiring.Component):
    ctl_period: In(40, init=DEFAULT_PERIOD)
    ctl_set_sec: In(48)
    ctl_set_ns: In(32)
    ctl_step_ns: In(32)
    stb_cmd: In(1)
    stb_cmd_data: In(32)
    st_snap_sec: Out(48)
    st_snap_ns: Out(32)
    st_rx_ts_offset_ns: Out(32)
    now: Out(Timestamp)

    def __init__(self, ts_offset_ns=0):
        self.ts_offset_ns = ts_offset_ns
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        sec = Signal(48)
        ns = Signal(32)
        frac = Signal(32)
        m.d.comb += [self.now.sec.eq(sec), self.now.ns.eq(ns),
                     self.st_rx_ts_offset_ns.eq(self.ts_offset_ns)]

        cmd = self.stb_cmd_data & self.stb_cmd.replicate(32)
        frac_sum = Signal(33)
        m.d.comb += frac_sum.eq(frac + self.ctl_period[:32])
        step = Signal(signed(32))
        with m.If(cmd[1]):
            m.d.comb += step.eq(self.ctl_step_ns.as_signed())
        ns_next = Signal(signed(34))      # -1e9 < ns_next < 2e9 + 256
        m.d.comb += ns_next.eq(ns + self.ctl_period[32:] + frac_sum[32] + step)

        m.d.sync += frac.eq(frac_sum[:32])
        with m.If(cmd[0]):
            m.d.sync += [sec.eq(self.ctl_set_sec), ns.eq(self.ctl_set_ns), frac.eq(0)]
        with m.Elif(ns_next < 0):
            m.d.sync += [sec.eq(sec - 1), ns.eq(ns_next + NS_PER_SEC)]
        with m.Elif(ns_next >= NS_PER_SEC):
            m.d.sync += [sec.eq(sec + 1), ns.eq(ns_next - NS_PER_SEC)]
        with m.Else():
            m.d.sync += ns.eq(ns_next)

        with m.If(cmd[2]):
            m.d.sync += [self.st_snap_sec.eq(sec), self.st_snap_ns.eq(ns)]
        return m
