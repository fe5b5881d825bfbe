"""PTP-style hardware clock: seconds + nanoseconds, advanced every cycle by `period`.

Why a fractional accumulator: 156.25 MHz is 6.4 ns per cycle, not a whole number, and
software disciplines the clock by trimming the period (frequency adjust), so the
period is unsigned 8.32 fixed point and the 32-bit fraction carries into ns.
Commands (one strobe, bits may combine): SET loads set_sec/set_ns and clears the
fraction (SET wins over STEP); STEP adds signed step_ns atomically, borrowing from
or carrying into seconds; SNAPSHOT latches the time as it was in the strobe cycle.
For timing, period and step_ns are registered once before use: they must be written
at least one cycle before CMD (always so over the register bus), and a new period
is in effect from the second cycle after it is written.

`now_ns` is the same time as one 64-bit count of nanoseconds (sec x 1e9 + ns), for
the risk gate's rate and duplicate windows: it moves by the same amount as `ns`
every cycle, and SET loads it from set_sec x 1e9 + set_ns, which is computed all the
time in a 3-stage DSP pipeline (rtl/risk/arith.py): set_sec and set_ns must be
written at least 4 cycles before CMD (always so over the UART or PCIe register bus).
"""
from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..layouts import Timestamp
from ..regmap.binding import register_members
from . import regs

NS_PER_SEC = 1_000_000_000
DEFAULT_PERIOD = regs.BLOCK.reg("period").reset        # 6.4 ns, 8.32 fixed point
#: Bit positions of clock.cmd's fields (declared once, in regs.py).
SET, STEP, SNAPSHOT = (regs.BLOCK.reg("cmd").field(n).offset for n in ("SET", "STEP", "SNAPSHOT"))


class HwClock(wiring.Component):
    registers = regs.BLOCK

    def __init__(self, ts_offset_ns=0):
        self.ts_offset_ns = ts_offset_ns
        super().__init__({"now": Out(Timestamp), "now_ns": Out(64),
                          **register_members(self.registers)})

    def elaborate(self, platform):
        m = Module()
        sec = Signal(48)
        ns = Signal(32)
        m.d.comb += [self.now.sec.eq(sec), self.now.ns.eq(ns),
                     self.st_rx_ts_offset_ns.eq(self.ts_offset_ns)]

        cmd = self.stb_cmd_data & self.stb_cmd.replicate(len(self.stb_cmd_data))

        # Timing (156.25 MHz on ECP5): no carry chain feeds another in one cycle.
        # `acc` holds frac + period_frac one step ahead, so the carry into ns is a
        # register bit; the wrap is chosen from three parallel adds of registered
        # constants (a period change reaches the fraction one cycle late: < 1e-9 ns).
        acc = Signal(33, init=DEFAULT_PERIOD & 0xFFFFFFFF)     # frac (32 bits) + carry
        m.d.sync += acc.eq(acc[:32] + self.ctl_period[:32])
        carry = acc[32]
        pint = self.ctl_period[32:]
        step = self.ctl_step_ns.as_signed()
        p0 = DEFAULT_PERIOD >> 32
        k = {name: Signal(signed(34), init=p0 + off, name=f"k_{name}") for name, off in
             (("run", 0), ("run_lo", -NS_PER_SEC), ("stp", 0), ("stp_lo", -NS_PER_SEC),
              ("stp_hi", NS_PER_SEC))}
        m.d.sync += [k["run"].eq(pint), k["run_lo"].eq(pint - NS_PER_SEC),
                     k["stp"].eq(pint + step), k["stp_lo"].eq(pint + step - NS_PER_SEC),
                     k["stp_hi"].eq(pint + step + NS_PER_SEC)]
        stepping = cmd[STEP]
        mid, lo, hi = Signal(signed(34)), Signal(signed(34)), Signal(signed(34))
        m.d.comb += [
            mid.eq(ns + Mux(stepping, k["stp"], k["run"]) + carry),
            lo.eq(ns + Mux(stepping, k["stp_lo"], k["run_lo"]) + carry),   # mid - 1e9
            hi.eq(ns + k["stp_hi"] + carry),                                # mid + 1e9
        ]

        ns64, set64 = self.now_ns, self._set_ns64(m)
        with m.If(cmd[SET]):
            m.d.sync += ns64.eq(set64)
        with m.Else():
            m.d.sync += ns64.eq(ns64 + Mux(stepping, k["stp"], k["run"]) + carry)

        with m.If(cmd[SET]):
            m.d.sync += [sec.eq(self.ctl_set_sec), ns.eq(self.ctl_set_ns),
                         acc.eq(self.ctl_period[:32])]
        with m.Elif(lo >= 0):
            m.d.sync += [sec.eq(sec + 1), ns.eq(lo)]
        with m.Elif(stepping & (mid < 0)):
            m.d.sync += [sec.eq(sec - 1), ns.eq(hi)]
        with m.Else():
            m.d.sync += ns.eq(mid)

        with m.If(cmd[SNAPSHOT]):
            m.d.sync += [self.st_snap_sec.eq(sec), self.st_snap_ns.eq(ns)]
        return m

    def _set_ns64(self, m):
        """set_sec x 1e9 + set_ns, three registered stages behind the control registers:
        DSP partial products, two partial sums, the final sum."""
        from ..risk.arith import partial_products, sum_terms
        p = partial_products(m, self.ctl_set_sec, Const(NS_PER_SEC, 30), 1, "set_sec")
        g1, g2 = Signal(64), Signal(64)
        ns_a, ns_b, out = Signal(32), Signal(32), Signal(64)
        assert len(p) == 6            # (a0b0, a0b1, a1b0, a1b1, a2b0, a2b1): 48 x 30 bits
        m.d.sync += [g1.eq(sum_terms([p[0], p[3], p[1], p[5]], 64)),
                     g2.eq(sum_terms([p[2], p[4]], 64)),
                     ns_a.eq(self.ctl_set_ns), ns_b.eq(ns_a),
                     out.eq(sum_terms([(g1, 0), (g2, 0), (ns_b, 0)], 64))]
        return out
