"""Watchdog: trips when the host sends no heartbeat for `cycles` cycles (0 = off).

Once tripped it stays tripped (every order is a kill_switch reject) until the host
releases it, so a host that comes back cannot trade before it has looked.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class Watchdog(wiring.Component):
    heartbeat: In(1)
    release: In(1)
    cycles: In(32)
    tripped: Out(1)

    def elaborate(self, platform):
        m = Module()
        count = Signal(32)
        with m.If(self.heartbeat | self.release | (self.cycles == 0)):
            m.d.sync += count.eq(0)
        with m.Elif(~self.tripped):
            m.d.sync += count.eq(count + 1)
            with m.If(count + 1 >= self.cycles):
                m.d.sync += self.tripped.eq(1)
        with m.If(self.release):
            m.d.sync += self.tripped.eq(0)
        return m
