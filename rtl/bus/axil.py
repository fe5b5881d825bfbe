"""AXI4-Lite slave to the internal register bus.

AXI4-Lite-shaped so that cocotbext-axi's AxiLiteMaster (port prefix `s_axil_`)
drives the design in tests, and the PCIe and UART bridges can sit in front of it.
One transaction at a time; reads answer two cycles after the address handshake.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .csr_bus import ADDR_WIDTH, CsrBusSignature


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
        read_wait = Signal()        # read strobed last cycle; data arrives now

        m.d.comb += [a.bresp.eq(0), a.rresp.eq(0)]
        m.d.sync += [c.r_stb.eq(0), c.w_stb.eq(0), read_wait.eq(0)]

        busy = Signal()
        m.d.comb += busy.eq(a.bvalid | a.rvalid | read_wait | c.r_stb)

        # Writes take priority; both address and data must be present.
        with m.If(~busy & a.awvalid & a.wvalid):
            m.d.comb += [a.awready.eq(1), a.wready.eq(1)]
            m.d.sync += [c.addr.eq(a.awaddr), c.w_data.eq(a.wdata), c.w_stb.eq(1),
                         a.bvalid.eq(1)]
        with m.Elif(~busy & ~a.awvalid & a.arvalid):
            m.d.comb += a.arready.eq(1)
            m.d.sync += [c.addr.eq(a.araddr), c.r_stb.eq(1)]
        with m.If(c.r_stb):
            m.d.sync += read_wait.eq(1)
        with m.If(read_wait):
            m.d.sync += [a.rdata.eq(c.r_data), a.rvalid.eq(1)]
        with m.If(a.bvalid & a.bready):
            m.d.sync += a.bvalid.eq(0)
        with m.If(a.rvalid & a.rready):
            m.d.sync += a.rvalid.eq(0)
        return m
