"""LedPoller: the lab board's status LEDs, read from the core's own registers.

Why over the bus: the core exposes no status pins (its state is in registers), and a
poller needs no change to it. Every `period` cycles it reads risk.status, mold.gaps
and book.unreliable through the lab's register bus (a request/ack master sharing it
with the UART bridge), so each LED lags by at most one period (~1 ms).
  kill: risk.status.KILLED; watchdog: risk.status.WATCHDOG_TRIPPED;
  gap: mold.gaps changed since the previous poll; stale: any book slot unreliable.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from ..host.bus.arbiter import CsrReqSignature


class LedPoller(wiring.Component):
    def __init__(self, addrs, period=156_000):
        """addrs: byte addresses of (risk.status, mold.gaps low word, book.unreliable)."""
        self.addrs, self.period = addrs, period
        super().__init__({"csr": Out(CsrReqSignature()), "kill": Out(1), "watchdog": Out(1),
                          "gap": Out(1), "stale": Out(1)})

    def elaborate(self, platform):
        m = Module()
        c = self.csr
        timer = Signal(range(self.period + 1))
        idx = Signal(range(len(self.addrs) + 1))
        last_gaps = Signal(32)
        m.d.sync += timer.eq(timer + 1)
        with m.If((timer == self.period) & (idx == len(self.addrs))):
            m.d.sync += [timer.eq(0), idx.eq(0)]
        with m.If((idx < len(self.addrs)) & ~c.r_stb & ~c.ack):
            m.d.sync += c.r_stb.eq(1)
            with m.Switch(idx):
                for k, a in enumerate(self.addrs):
                    with m.Case(k):
                        m.d.sync += c.addr.eq(a)
        with m.If(c.r_stb & c.ack):
            m.d.sync += [c.r_stb.eq(0), idx.eq(idx + 1)]
            with m.Switch(idx):
                with m.Case(0):
                    m.d.sync += [self.kill.eq(c.r_data[0]), self.watchdog.eq(c.r_data[1])]
                with m.Case(1):
                    m.d.sync += [self.gap.eq(c.r_data != last_gaps), last_gaps.eq(c.r_data)]
                with m.Case(2):
                    m.d.sync += self.stale.eq(c.r_data != 0)
        return m
