"""AXI4-Lite slave to the internal register bus.

AXI4-Lite-shaped so that cocotbext-axi's AxiLiteMaster (port prefix `s_axil_`)
drives the design in tests. One transaction at a time. `AxiLiteToCsr` drives the
plain CSR bus (reads answer READ_LATENCY + 1 cycles after the address handshake); `AxiLiteToCsrReq`
is the same slave as one master of the arbiter (rtl/host/bus/arbiter.py), holding its
request until `ack`, so it can share the bank with the PCIe and UART bridges.
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .arbiter import CsrReqSignature
from .csr_bus import ADDR_WIDTH, READ_LATENCY, CsrBusSignature


class AxiLiteSignature(wiring.Signature):
    """Master's view of an AXI4-Lite port (flat AXI names, so prefixes work)."""
    def __init__(self, addr_width=ADDR_WIDTH):
        super().__init__({
            "awaddr": Out(addr_width), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
            "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "araddr": Out(addr_width), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
            "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
        })


class AxiLiteToCsr(wiring.Component):
    axil: In(AxiLiteSignature())
    csr: Out(CsrBusSignature())

    def elaborate(self, platform):
        m = Module()
        a, c = self.axil, self.csr
        read_wait = Signal(READ_LATENCY)  # a read strobed k+1 cycles ago (bit k)

        m.d.comb += [a.bresp.eq(0), a.rresp.eq(0)]
        m.d.sync += [c.r_stb.eq(0), c.w_stb.eq(0)]

        busy = Signal()
        m.d.comb += busy.eq(a.bvalid | a.rvalid | read_wait.any() | c.r_stb)

        # Writes take priority; both address and data must be present.
        with m.If(~busy & a.awvalid & a.wvalid):
            m.d.comb += [a.awready.eq(1), a.wready.eq(1)]
            m.d.sync += [c.addr.eq(a.awaddr), c.w_data.eq(a.wdata), c.w_stb.eq(1),
                         a.bvalid.eq(1)]
        with m.Elif(~busy & ~a.awvalid & a.arvalid):
            m.d.comb += a.arready.eq(1)
            m.d.sync += [c.addr.eq(a.araddr), c.r_stb.eq(1)]
        m.d.sync += read_wait.eq(Cat(c.r_stb, read_wait[:-1]))
        with m.If(read_wait[-1]):
            m.d.sync += [a.rdata.eq(c.r_data), a.rvalid.eq(1)]
        with m.If(a.bvalid & a.bready):
            m.d.sync += a.bvalid.eq(0)
        with m.If(a.rvalid & a.rready):
            m.d.sync += a.rvalid.eq(0)
        return m


class AxiLiteToCsrReq(wiring.Component):
    """AXI4-Lite slave as an arbiter master: the request is held until `ack`.

    Writes take priority when both arrive together (as in AxiLiteToCsr); bvalid /
    rvalid rise the cycle after the ack, and no new address is taken until the
    response has been accepted, so one transaction is in flight at a time.
    """
    axil: In(AxiLiteSignature())
    csr: Out(CsrReqSignature())

    def elaborate(self, platform):
        m = Module()
        a, c = self.axil, self.csr
        pending = Signal()          # a request is held on csr, waiting for ack

        m.d.comb += [a.bresp.eq(0), a.rresp.eq(0)]
        busy = Signal()
        m.d.comb += busy.eq(pending | a.bvalid | a.rvalid)

        with m.If(~busy & a.awvalid & a.wvalid):
            m.d.comb += [a.awready.eq(1), a.wready.eq(1)]
            m.d.sync += [c.addr.eq(a.awaddr), c.w_data.eq(a.wdata), c.w_stb.eq(1),
                         pending.eq(1)]
        with m.Elif(~busy & ~a.awvalid & a.arvalid):
            m.d.comb += a.arready.eq(1)
            m.d.sync += [c.addr.eq(a.araddr), c.r_stb.eq(1), pending.eq(1)]
        with m.If(pending & c.ack):
            m.d.sync += [c.r_stb.eq(0), c.w_stb.eq(0), pending.eq(0),
                         a.bvalid.eq(c.w_stb), a.rvalid.eq(c.r_stb)]
            with m.If(c.r_stb):
                m.d.sync += a.rdata.eq(c.r_data)
        with m.If(a.bvalid & a.bready):
            m.d.sync += a.bvalid.eq(0)
        with m.If(a.rvalid & a.rready):
            m.d.sync += a.rvalid.eq(0)
        return m
