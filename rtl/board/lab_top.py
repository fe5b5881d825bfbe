"""LabTop: the whole TickwireCore (lab build, rtl/config.py) on the Lattice ECP5-5G Evaluation Board.

  12 MHz oscillator -> EHXPLLL -> the build's core clock (`cfg.clock_mhz`,
      rtl/board/pll.py: the lab build runs at 18.000 MHz until the core routes at
      156.25; 156.25 itself is not reachable from 12 MHz, 156.000 is)
  FTDI UART (P2/P3) -> UartBridge -> CsrReqMux (with the LED poller) -> CsrSplit:
      addresses below PLAYER_BASE -> CsrReqToAxiLite -> the core's `s_axil` (the core's
      register map, unchanged: `tickwire serve --device uart:/dev/ttyUSB0` drives it);
      PLAYER_BASE and up -> the FeedPlayer's registers
  FeedPlayer -> both XGMII inputs (the ECP5's 5 Gb/s transceivers cannot run
      10GBASE-R; docs/lab_board.md describes the production port)
  LEDs 0..7: kill switch, watchdog tripped, gap, stale book, activity (decoded ITCH
      messages, stretched), player playing, PLL locked, heartbeat (~1 Hz blink)

Reset: the PLL's lock and the board's reset button, synchronised to the core clock,
on the ECP5's global set/reset network (rtl/board/gsr.py): the board's `sync` domain
is reset-less and every flip-flop returns to its init value through GSR. (On fabric
wires the reset reached 31,422 LSR pins and was the lab route's most overused net; a
DCCA global, tried 2026-12-04, could not reach the LUT inputs where Yosys had merged
the reset with a block's own clear, and router2 stopped at its first pass.)
`LabTop(sim=True)` leaves the PLL and pins out (a `sync` domain and uart_rx/uart_tx
ports) for the Verilator test (cocotb_tests/lab).
"""
from amaranth.hdl import Cat, ClockDomain, ClockSignal, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..top import TickwireCore          # first: it imports every block (regmap needs them)
from ..config import BUILDS
from ..host.uart.bridge import UartBridge
from ..regmap import build_map
from .bus import CsrReqMux, CsrReqToAxiLite, CsrSplit
from .leds import LedPoller
from .player import FeedPlayer
from .gsr import GsrReset
from .pll import Pll, dividers

PLAYER_BASE = 0xF000        # the top 4 KiB of the 64 KiB register space (unused by the map)


class LabTop(wiring.Component):
    def __init__(self, sim=False, cfg=BUILDS["lab"], player_depth=2048, poll_period=None):
        self.sim, self.cfg, self.player_depth = sim, cfg, player_depth
        self.clock_mhz = dividers(cfg.clock_mhz)[3]                # what the PLL makes
        hz = self.clock_mhz * 1e6
        self.poll_period = poll_period or round(hz / 1000)          # LEDs polled every 1 ms
        # activity stretched to ~50 ms, heartbeat's top bit toggles every ~0.5-1 s
        self.act_bits = max(1, round(hz * 0.05).bit_length())
        self.blink_bits = max(1, round(hz).bit_length())
        regmap = build_map(cfg)
        ends = [p.addr + 4 * p.item.words for p in list(regmap.registers()) + list(regmap.windows())]
        assert max(ends) <= PLAYER_BASE, "the register map reaches the feed player's space"
        self.led_addrs = tuple(regmap.by_name(n).addr for n in
                               ("risk.status", "mold.gaps", "book.unreliable"))
        super().__init__({"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "leds": Out(8)}
                         if sim else {})

    @staticmethod
    def default_build():
        """The build name `make bitstream` records its result under (bench/synth.json)."""
        return BUILDS["lab"].name

    def elaborate(self, platform):
        m = Module()
        if self.sim:
            rx, tx, leds = self.uart_rx, self.uart_tx, self.leds
            self._locked = 1
        else:
            rx, tx, leds = self._board(m, platform)

        m.submodules.core = core = TickwireCore(self.cfg)
        m.submodules.player = player = FeedPlayer(self.player_depth)
        m.d.comb += [core.xgmii_a_d.eq(player.xgmii_a_d), core.xgmii_a_c.eq(player.xgmii_a_c),
                     core.xgmii_b_d.eq(player.xgmii_b_d), core.xgmii_b_c.eq(player.xgmii_b_c)]

        m.submodules.bridge = bridge = UartBridge(self.cfg.uart_divisor)
        m.d.comb += [bridge.rx.eq(rx), tx.eq(bridge.tx)]
        m.submodules.poller = poller = LedPoller(self.led_addrs, period=self.poll_period)
        m.submodules.mux = mux = CsrReqMux()
        m.submodules.split = split = CsrSplit(PLAYER_BASE)
        m.submodules.axil = axil = CsrReqToAxiLite()
        wiring.connect(m, bridge.csr, mux.a)
        wiring.connect(m, poller.csr, mux.b)
        wiring.connect(m, mux.o, split.i)
        wiring.connect(m, split.lo, axil.i)
        wiring.connect(m, axil.axil, core.s_axil)
        wiring.connect(m, split.hi, player.csr)
        m.d.comb += [core.uart_rx.eq(1), core.pcie_cq.tvalid.eq(0), core.pcie_cc.tready.eq(1)]

        # activity: decoded messages, stretched to ~50 ms; heartbeat ~1 Hz
        act, blink = Signal(self.act_bits), Signal(self.blink_bits)
        m.d.sync += blink.eq(blink + 1)
        with m.If(core.itch_out.valid):
            m.d.sync += act.eq(-1)
        with m.Elif(act != 0):
            m.d.sync += act.eq(act - 1)
        m.d.comb += leds.eq(Cat(poller.kill, poller.watchdog, poller.gap, poller.stale,
                                 act != 0, player.playing, self._locked, blink[-1]))
        return m

    def _board(self, m, platform):
        """PLL, reset and pins of the ECP5-5G EVN."""
        clk12 = platform.request("clk12", 0)
        rst_btn = platform.request("rst", 0)
        m.submodules.pll = pll = Pll(self.cfg.clock_mhz)
        m.d.comb += pll.clk_in.eq(clk12.i)
        m.domains.sync = ClockDomain("sync", reset_less=True)     # reset through GSR
        m.d.comb += ClockSignal("sync").eq(pll.clk_out)
        m.submodules.gsr = gsr = GsrReset()
        m.d.comb += gsr.request.eq(~pll.locked | rst_btn.i)
        platform.add_clock_constraint(pll.clk_out, pll.mhz * 1e6)
        self._locked = pll.locked
        uart = platform.request("uart", 0)
        leds = Signal(8)
        for i in range(8):
            m.d.comb += platform.request("led", i).o.eq(leds[i])
        return uart.rx.i, uart.tx.o, leds
