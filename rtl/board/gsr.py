"""GsrReset: the lab board's reset on the ECP5's global set/reset network (SGSR).

Why: on fabric wires the lab core's reset reached 31,422 flip-flops' LSR pins and 257
LUT inputs (Yosys netlist, rtl 90f111f); it was the most overused net of every lab
route. Through the SGSR primitive the same reset needs no routing at all: the lab
top's `sync` domain is reset-less, Yosys's `lattice_gsr` pass then enables GSR on
every flip-flop (their reset value is their init value, which is what the sync reset
restored: no register in rtl/ is `reset_less`), and the LSR pins are left to the
blocks' own clears. Block RAM contents survive either way (the book sweeps them).

The request (the PLL not locked, or the board's reset button) is asynchronous: two
flip-flops with GSR disabled synchronise it (they must not be reset by the GSR they
drive), and the SGSR applies and releases the global reset on the core clock's edge,
so every flip-flop leaves reset in the same cycle, as a synchronous reset does.
Board only: `LabTop(sim=True)` keeps a `sync` domain with an ordinary reset.
"""
from amaranth.hdl import ClockSignal, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In


def _sync_ff(d, q):
    """A flip-flop outside the global reset (GSR disabled), power-up value 1."""
    return Instance("TRELLIS_FF", p_GSR="DISABLED", p_CEMUX="1", p_CLKMUX="CLK",
                    p_LSRMUX="LSR", p_REGSET="SET", p_SRMODE="LSR_OVER_CE",
                    i_CLK=ClockSignal("sync"), i_LSR=0, i_DI=d, o_Q=q)


class GsrReset(wiring.Component):
    """`request` (asynchronous, active high) -> the ECP5's global reset, synchronous."""
    request: In(1)

    def elaborate(self, platform):
        m = Module()
        meta, held = Signal(init=1), Signal(init=1)
        m.submodules.sync0 = _sync_ff(self.request, meta)
        m.submodules.sync1 = _sync_ff(meta, held)
        m.submodules.sgsr = Instance("SGSR", i_GSR=~held, i_CLK=ClockSignal("sync"))
        return m
