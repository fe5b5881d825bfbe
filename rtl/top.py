"""The tickwire core: two XGMII ports in, register bus, decoded and book streams out.

    port A: XgmiiRx -> UdpRx --\\
                               FeedMerge -> MoldRx -> ItchDecoder -> itch_out
    port B: XgmiiRx -> UdpRx --/                            \\-> FIFO -> OrderBook -> bbo_out
                                                                             |  \\-> topn_out
    host orders (order window) -------------------------------------> RiskGate -> verdict_out
    HwClock.now -> both MACs (SFD timestamps travel in the payloads)     (BBO)   \\-> accepted_out

One clock domain (`sync`, the XGMII receive clock, 156.25 MHz). XgmiiRx registers
its input once, UdpRx/FeedMerge/MoldRx are combinational and ItchDecoder registers
its output: a message is decoded 2 cycles after the XGMII beat carrying its last
byte. Every block's counters and controls are wired to the CSR bank by register
name (`wire_block`), so the register map in rtl/regmap is the only place addresses
exist.

Register bus: three masters share the CSR bank through a round-robin `CsrArbiter`
(rtl/host/bus/arbiter.py): m0 the AXI4-Lite slave `s_axil` (`AxiLiteToCsrReq`), m1 the UART
bridge (`uart_rx` idle high / `uart_tx`, 8N1 at `uart_divisor` cycles per bit: 52 is
3 Mbaud at 156.25 MHz), m2 the PCIe BAR0 completer (UltraScale+ CQ in `pcie_cq__*`,
CC out `pcie_cc__*`, `pcie_cq_np_req`). Their counters land in the `link` block.
Honest caveat: here the PCIe ports run in `sync`. On hardware the PCIe user clock
is 250 MHz, so an AXI-stream clock-domain crossing (async FIFOs on CQ and CC, or a
CSR-request CDC in front of the arbiter) is needed; it is not built here.
"""
from types import SimpleNamespace

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .host.bus.arbiter import CsrArbiter
from .host.bus.axil import AxiLiteSignature, AxiLiteToCsrReq
from .clock.hw_clock import HwClock
from .host.csr import CsrBank, constant_status, wire_block
from .rx.merge.feed_merge import FeedMerge
from .rx.itch.decoder import ItchDecoder
from .book import OrderBook
from .book.order_book import BOOK_TYPES
from .layouts import BboUpdate, ItchMsg, Order, Verdict, top_n_layout
from .risk.gate import RiskGate, wire_windows
from .host.uart.bridge import UartBridge
from .rx.mac.xgmii_rx import XgmiiRx
from .rx.mold.mold_rx import MoldRx
from .rx.udp.udp_rx import UdpRx
from .host.pcie.endpoint import PcieBarEndpoint, UsAxisSignature
from .host.pcie.links import wire_links
from .regmap import MAP, MAP_MAGIC, MAP_VERSION

#: Fixed correction subtracted from the SFD time (PHY/PCS receive latency; zero in
#: simulation, set per board). Reported in clock.rx_ts_offset_ns.
RX_TS_OFFSET_NS = 0
#: Default build parameters (simulation): book slots, order-table size, top-N depth.
BOOK_SLOTS = 64
#: The order table holds 117,695 live orders at the peak of the 1 M-message, 64-symbol
#: synthetic day with no collision at this size (two-choice, 4-way sets).
BOOK_ORDERS = 262144
TOP_N = 5
#: Price levels kept exactly per book side (rtl/book/levels.py).
BOOK_LEVELS = 64
#: Decoded messages queued in front of the book (it takes one every 2 cycles).
BOOK_FIFO_DEPTH = 16
#: UART bridge bit time in clock cycles: 156.25 MHz / 52 = 3.005 Mbaud (0.16 % fast).
UART_DIVISOR = 52


class TickwireCore(wiring.Component):
    def __init__(self, regmap=MAP, merge_depth=512, book_slots=BOOK_SLOTS,
                 book_orders=BOOK_ORDERS, top_n=TOP_N, uart_divisor=UART_DIVISOR,
                 book_levels=BOOK_LEVELS):
        self.book_params = dict(slots=book_slots, orders=book_orders, top_n=top_n,
                                levels=book_levels)
        super().__init__({
            "xgmii_a_d": In(64), "xgmii_a_c": In(8),
            "xgmii_b_d": In(64), "xgmii_b_c": In(8),
            "s_axil": In(AxiLiteSignature()),
            "uart_rx": In(1, init=1), "uart_tx": Out(1, init=1),
            "pcie_cq": In(UsAxisSignature(64, 88)), "pcie_cc": Out(UsAxisSignature(64, 33)),
            "pcie_cq_np_req": Out(2),
            "itch_out": Out(stream.Signature(ItchMsg, always_ready=True)),
            "bbo_out": Out(stream.Signature(BboUpdate, always_ready=True)),
            "topn_out": Out(stream.Signature(top_n_layout(top_n), always_ready=True)),
            "verdict_out": Out(stream.Signature(Verdict, always_ready=True)),
            "accepted_out": Out(stream.Signature(Order, always_ready=True)),
        })
        self.regmap = regmap
        self.merge_depth = merge_depth
        self.uart_divisor = uart_divisor
        self.bank = CsrBank(regmap)

    @property
    def reset_cycles(self):
        """Cycles after reset before the book takes SUB_CMD (its sweep of every table;
        `book.busy` reads 1 until then)."""
        return OrderBook.sweep_cycles(**self.book_params)

    def cache_key(self):
        """Names the build parameters (tools/build/simrun.py caches the Verilog by it)."""
        return repr((sorted(self.book_params.items()), self.merge_depth, self.regmap.hash,
                     self.uart_divisor))

    def elaborate(self, platform):
        m = Module()
        m.submodules.bank = bank = self.bank
        # Host links: AXI4-Lite, UART and PCIe take turns on the bank.
        m.submodules.arbiter = arb = CsrArbiter(3)
        wiring.connect(m, arb.bus, bank.bus)
        m.submodules.axil = axil = AxiLiteToCsrReq()
        wiring.connect(m, wiring.flipped(self.s_axil), axil.axil)
        wiring.connect(m, axil.csr, arb.m0)
        m.submodules.uart = uart = UartBridge(self.uart_divisor)
        m.d.comb += [uart.rx.eq(self.uart_rx), self.uart_tx.eq(uart.tx)]
        wiring.connect(m, uart.csr, arb.m1)
        m.submodules.pcie = pcie = PcieBarEndpoint(bar=0)
        wiring.connect(m, wiring.flipped(self.pcie_cq), pcie.cq)
        wiring.connect(m, pcie.cc, wiring.flipped(self.pcie_cc))
        m.d.comb += self.pcie_cq_np_req.eq(pcie.cq_np_req)
        wiring.connect(m, pcie.csr, arb.m2)
        m.d.comb += [
            constant_status(bank, "id.magic", MAP_MAGIC),
            constant_status(bank, "id.map_version", MAP_VERSION),
            constant_status(bank, "id.map_hash", self.regmap.hash),
        ]

        m.d.comb += wire_links(bank, pcie=pcie, uart=uart)

        m.submodules.clock = clock = HwClock(ts_offset_ns=RX_TS_OFFSET_NS)
        m.d.comb += wire_block(bank, "clock", clock)

        m.submodules.merge = merge = FeedMerge(depth=self.merge_depth)
        book_fifo_overflow = Signal()
        m.d.comb += wire_block(bank, "merge", SimpleNamespace(
            ev_overflow_a=merge.ev_overflow_a, ev_overflow_b=merge.ev_overflow_b,
            ev_dup_discard_a=merge.ev_dup_discard_a, ev_dup_discard_b=merge.ev_dup_discard_b,
            ev_dup_discard_msgs=merge.ev_dup_discard_msgs,
            ev_book_fifo_overflow=book_fifo_overflow))
        for port, d, c, merge_in in (("a", self.xgmii_a_d, self.xgmii_a_c, merge.a),
                                     ("b", self.xgmii_b_d, self.xgmii_b_c, merge.b)):
            mac = XgmiiRx(ts_offset_ns=RX_TS_OFFSET_NS)
            udp = UdpRx()
            m.submodules[f"mac_{port}"] = mac
            m.submodules[f"udp_{port}"] = udp
            m.d.comb += [mac.xgmii_d.eq(d), mac.xgmii_c.eq(c), mac.now.eq(clock.now)]
            m.d.comb += wire_block(bank, f"mac_{port}", mac)
            m.d.comb += wire_block(bank, f"net_{port}", udp)
            wiring.connect(m, mac.out, udp.i)
            wiring.connect(m, udp.o, merge_in)

        m.submodules.mold = mold = MoldRx()
        m.submodules.itch = itch = ItchDecoder()
        m.d.comb += wire_block(bank, "mold", mold)
        m.d.comb += wire_block(bank, "itch", itch)
        wiring.connect(m, merge.o, mold.i)
        m.d.comb += merge.expected.eq(mold.st_expected_seq)
        wiring.connect(m, mold.o, itch.i)
        m.d.comb += [self.itch_out.valid.eq(itch.o.valid),
                     self.itch_out.payload.eq(itch.o.payload)]

        # Book: only the types that change a book (A F E C X D U H) enter its FIFO, so
        # the book's one-message-per-2-cycles issue keeps up with the wire (the shortest
        # book message, a 19-byte Delete, takes 2.6 beats) and bursts of short non-book
        # messages (12-byte System Events run at one per 1.75 beats) never queue ahead
        # of an Add. The short FIFO absorbs the one-cycle jitter of the issue slot.
        m.submodules.book_fifo = bfifo = fifo.SyncFIFO(width=ItchMsg.size, depth=BOOK_FIFO_DEPTH)
        m.submodules.book = book = OrderBook(**self.book_params)
        m.d.comb += wire_block(bank, "book", book)
        t = itch.o.payload.type
        for_book = itch.o.valid & Cat(*[t == ord(c) for c in BOOK_TYPES]).any()
        m.d.comb += [bfifo.w_en.eq(for_book), bfifo.w_data.eq(itch.o.payload),
                     book_fifo_overflow.eq(for_book & ~bfifo.w_rdy),
                     book.i.valid.eq(bfifo.r_rdy), book.i.payload.eq(bfifo.r_data),
                     bfifo.r_en.eq(book.i.ready)]
        m.d.comb += [self.bbo_out.valid.eq(book.bbo.valid),
                     self.bbo_out.payload.eq(book.bbo.payload),
                     self.topn_out.valid.eq(book.topn.valid),
                     self.topn_out.payload.eq(book.topn.payload)]

        # Risk gate: host orders from the order window, the live book from BBO updates.
        m.submodules.risk = risk = RiskGate()
        m.d.comb += wire_block(bank, "risk", risk)
        m.d.comb += wire_windows(bank, risk)
        m.d.comb += [risk.now.eq(clock.now),
                     risk.orders.valid.eq(0), risk.events.valid.eq(0),   # host DMA port: later
                     risk.bbo.valid.eq(book.bbo.valid), risk.bbo.payload.eq(book.bbo.payload),
                     risk.verdicts.ready.eq(1), risk.accepted.ready.eq(1),
                     self.verdict_out.valid.eq(risk.verdicts.valid),
                     self.verdict_out.payload.eq(risk.verdicts.payload),
                     self.accepted_out.valid.eq(risk.accepted.valid),
                     self.accepted_out.payload.eq(risk.accepted.payload)]
        return m
