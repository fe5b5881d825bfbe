"""The tickwire core: two XGMII ports in, register bus, decoded and book streams out.

    port A: XgmiiRx -> UdpRx -> MoldRx.a --\\
                                           FeedMerge -> ItchDecoder -> itch_out
    port B: XgmiiRx -> UdpRx -> MoldRx.b --/                            \\-> BookInput -> OrderBook -> bbo_out
                                                                             |  \\-> topn_out
    host orders (order window) -------------------------------------> RiskGate -> verdict_out
    HwClock.now -> both MACs (SFD timestamps travel in the payloads)     (BBO)   \\-> accepted_out

One clock domain (`sync`, the XGMII receive clock, 156.25 MHz). No combinational
path crosses a block boundary: XgmiiRx registers its input and its (realigned)
output, UdpRx and ItchDecoder register their outputs, and a StreamReg follows any
block whose output is combinational (`_boundary`: MoldRx unless it declares
`registered_output`; FeedMerge -> MoldRx stays combinational, see below). Last byte
-> decoded message: MAC 2 + UDP 1 + MoldUDP64 slice 1 + ITCH 1 = 5 cycles (one more
for the upper half of a lane-4 frame's beat, which the MAC realigns). Every block declares its registers (rtl/<block>/regs.py) and exposes them as
ports; `assemble` binds the CSR bank to the components that own them, and the map
(`build_map(cfg)`, bases in rtl/regmap) is the only place addresses exist. Every build
parameter comes from the CoreConfig (rtl/config.py); `id.build` carries its digest.

Register bus: three masters share the CSR bank through a round-robin `CsrArbiter`
(rtl/host/bus/arbiter.py): m0 the AXI4-Lite slave `s_axil` (`AxiLiteToCsrReq`), m1 the UART
bridge (`uart_rx` idle high / `uart_tx`, 8N1 at `uart_divisor` cycles per bit: 52 is
3 Mbaud at 156.25 MHz), m2 the PCIe BAR0 completer (UltraScale+ CQ in `pcie_cq__*`,
CC out `pcie_cc__*`, `pcie_cq_np_req`). Their counters land in the `link` block.
Honest caveat: here the PCIe ports run in `sync`. On hardware the PCIe user clock
is 250 MHz, so an AXI-stream clock-domain crossing (async FIFOs on CQ and CC, or a
CSR-request CDC in front of the arbiter) is needed; it is not built here.
"""
from amaranth.hdl import Cat, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .book import BookInput, OrderBook
from .clock.hw_clock import HwClock
from .config import BUILDS, CoreConfig
from .host.bus.arbiter import CsrArbiter
from .host.bus.axil import AxiLiteSignature, AxiLiteToCsrReq
from .host.csr import CsrBank
from .host.id_block import IdBlock
from .host.pcie.endpoint import PcieBarEndpoint, UsAxisSignature
from .host.uart.bridge import UartBridge
from .layouts import BboUpdate, ItchMsg, Order, RawMsg, Verdict, top_n_layout
from .regmap import build_map
from .regmap.binding import assemble
from .risk.gate import RiskGate
from .rx.itch.decoder import ItchDecoder
from .rx.mac.xgmii_rx import XgmiiRx
from .rx.inject.window import InjectWindow
from .rx.merge.feed_merge import FeedMerge, connect_mold
from .rx.mold.mold_rx import MoldRx
from .rx.stream_reg import StreamReg
from .rx.udp.udp_rx import UdpRx


class TickwireCore(wiring.Component):
    def __init__(self, cfg: CoreConfig = BUILDS["sim"]):
        if not isinstance(cfg, CoreConfig):
            raise TypeError("TickwireCore takes a CoreConfig (tickwire.rtl.config)")
        self.cfg = cfg
        super().__init__({
            "xgmii_a_d": In(64), "xgmii_a_c": In(8),
            "xgmii_b_d": In(64), "xgmii_b_c": In(8),
            "s_axil": In(AxiLiteSignature()),
            "uart_rx": In(1, init=1), "uart_tx": Out(1, init=1),
            "pcie_cq": In(UsAxisSignature(64, 88)), "pcie_cc": Out(UsAxisSignature(64, 33)),
            "pcie_cq_np_req": Out(2),
            "itch_out": Out(stream.Signature(ItchMsg, always_ready=True)),
            "bbo_out": Out(stream.Signature(BboUpdate, always_ready=True)),
            "topn_out": Out(stream.Signature(top_n_layout(cfg.top_n), always_ready=True)),
            "verdict_out": Out(stream.Signature(Verdict, always_ready=True)),
            "accepted_out": Out(stream.Signature(Order, always_ready=True)),
        })
        self.regmap = build_map(cfg)
        self.bank = CsrBank(self.regmap)

    def _order_book(self):
        c = self.cfg
        return OrderBook(**c.book_params())

    @property
    def uart_divisor(self):
        """UART bit time in cycles (the native harness drives uart_rx/uart_tx at it)."""
        return self.cfg.uart_divisor

    @property
    def reset_cycles(self):
        """Cycles after reset before the book takes SUB_CMD (its sweep of every table;
        `book.busy` reads 1 until then)."""
        c = self.cfg
        return OrderBook.sweep_cycles(**c.book_params())

    def cache_key(self):
        """Names the build (tools/build/simrun.py caches the Verilog by it)."""
        return repr((sorted(self.cfg.params().items()), self.cfg.name, self.regmap.hash))

    @staticmethod
    def _boundary(m, name, block, out, layout):
        """Stage boundary (issue 13): `out` itself when `block` registers its output
        (class attribute `registered_output = True`), else `out` through a StreamReg, so
        no combinational path runs from one block into the next."""
        if getattr(block, "registered_output", False):
            return out
        m.submodules[name] = reg = StreamReg(layout)
        wiring.connect(m, out, reg.i)
        return reg.o

    def _inject(self, m, owners, merge):
        """Host injection (issue 14): the register window as the sequencer's third
        source, gap reports and stale books (rtl/rx/inject/)."""
        m.submodules.inject = owners["inject"] = inj = InjectWindow(self.cfg.book_slots)
        wiring.connect(m, inj.inj, merge.inject)
        wiring.connect(m, inj.raw, merge.raw)
        wiring.connect(m, merge.report, inj.report)
        m.d.comb += [merge.gap_wait.eq(inj.gap_wait),
                     merge.skip.eq(inj.skip), merge.join.eq(inj.join),
                     merge.join_seq.eq(inj.join_seq), inj.waiting.eq(merge.waiting),
                     inj.inj_ev.eq(merge.inj_ev),
                     inj.overflow.eq(Cat(merge.ev_overflow_a, merge.ev_overflow_b)),
                     inj.bad_frame.eq(m.submodules.mold.bad_fwd)]

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        m.submodules.bank = bank = self.bank
        owners = {}               # register block instance -> the component(s) owning it
        m.submodules.id = owners["id"] = IdBlock(self.regmap.hash, cfg.digest)

        # Host links: AXI4-Lite, UART and PCIe take turns on the bank.
        m.submodules.arbiter = arb = CsrArbiter(3)
        wiring.connect(m, arb.bus, bank.bus)
        m.submodules.axil = axil = AxiLiteToCsrReq()
        wiring.connect(m, wiring.flipped(self.s_axil), axil.axil)
        wiring.connect(m, axil.csr, arb.m0)
        m.submodules.uart = uart = UartBridge(cfg.uart_divisor)
        m.d.comb += [uart.rx.eq(self.uart_rx), self.uart_tx.eq(uart.tx)]
        wiring.connect(m, uart.csr, arb.m1)
        m.submodules.pcie = pcie = PcieBarEndpoint(bar=0)
        wiring.connect(m, wiring.flipped(self.pcie_cq), pcie.cq)
        wiring.connect(m, pcie.cc, wiring.flipped(self.pcie_cc))
        m.d.comb += self.pcie_cq_np_req.eq(pcie.cq_np_req)
        wiring.connect(m, pcie.csr, arb.m2)
        owners["link"] = [pcie, uart]

        m.submodules.clock = owners["clock"] = clock = HwClock(ts_offset_ns=cfg.rx_ts_offset_ns)

        # MoldUDP64 checks per port (MoldRx), then the A/B sequencer (FeedMerge).
        m.submodules.mold = owners["mold"] = mold = MoldRx()
        m.submodules.merge = owners["merge"] = merge = FeedMerge(
            depth=cfg.merge_depth, jump_window=cfg.merge_jump_window)
        for k, (port, d, c, mold_in) in enumerate((("a", self.xgmii_a_d, self.xgmii_a_c, mold.a),
                                                  ("b", self.xgmii_b_d, self.xgmii_b_c, mold.b))):
            mac = XgmiiRx(ts_offset_ns=cfg.rx_ts_offset_ns)
            udp = UdpRx(n_filters=cfg.udp_filters)
            m.submodules[f"mac_{port}"] = owners[f"mac_{port}"] = mac
            m.submodules[f"udp_{port}"] = owners[f"net_{port}"] = udp
            m.d.comb += [mac.xgmii_d.eq(d), mac.xgmii_c.eq(c), mac.now.eq(clock.now)]
            wiring.connect(m, mac.out, udp.i)
            wiring.connect(m, udp.o, mold_in)
            m.d.comb += mold.late_bad[k].eq(udp.csum_bad)   # the UDP checksum trails
        connect_mold(m, mold, merge)
        self._inject(m, owners, merge)

        m.submodules.itch = owners["itch"] = itch = ItchDecoder()
        wiring.connect(m, self._boundary(m, "merge_o", merge, merge.o, RawMsg), itch.i)
        wiring.connect(m, itch.o, wiring.flipped(self.itch_out))

        # Book: its type filter and queue (BookInput), then the book.
        m.submodules.book_input = book_in = BookInput(depth=cfg.book_fifo_depth)
        m.submodules.book = book = self._order_book()
        owners["book"] = [book, book_in]
        wiring.connect(m, itch.o, book_in.i)
        wiring.connect(m, book_in.o, book.i)
        m.d.comb += merge.pause.eq(book_in.almost_full)     # held messages wait for room
        # a message the queue drops is lost after sequencing: books stale, snapshot needed
        m.d.comb += m.submodules.inject.book_lost.eq(book_in.ev_fifo_overflow)
        # BBO and top-N updates leave flagged unreliable while the books are stale (a gap
        # reported, not yet recovered: rtl/rx/inject/); the risk gate sees the book's own flag.
        stale = m.submodules.inject.stale
        for src, dst in ((book.bbo, self.bbo_out), (book.topn, self.topn_out)):
            m.d.comb += [dst.valid.eq(src.valid), dst.payload.eq(src.payload),
                         dst.payload.unreliable.eq(src.payload.unreliable | stale)]

        # Risk gate: host orders from the order window, the live book from BBO updates.
        m.submodules.risk = owners["risk"] = risk = RiskGate(
            accounts=cfg.risk_accounts, slots=cfg.risk_slots, history=cfg.risk_history)
        wiring.connect(m, book.bbo, risk.bbo)
        m.d.comb += [risk.now.eq(clock.now), risk.now_ns.eq(clock.now_ns),
                     risk.orders.valid.eq(0), risk.events.valid.eq(0),   # host DMA port: later
                     risk.verdicts.ready.eq(1), risk.accepted.ready.eq(1),
                     self.verdict_out.valid.eq(risk.verdicts.valid),
                     self.verdict_out.payload.eq(risk.verdicts.payload),
                     self.accepted_out.valid.eq(risk.accepted.valid),
                     self.accepted_out.payload.eq(risk.accepted.payload)]

        m.d.comb += assemble(bank, owners)
        return m
