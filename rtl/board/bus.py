"""Register-bus plumbing of the lab top (request/ack masters, rtl/host/bus/arbiter.py):

CsrReqMux: two masters onto one request/ack slave, one request at a time (the lab's
UART bridge and the LED poller). CsrSplit: one master onto two slaves by address
(the core below `base`, the feed player from it). CsrReqToAxiLite: a request/ack
master driving an AXI4-Lite slave (the core's `s_axil`), one transaction at a time.
Each passes exactly one ack back per request.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..host.bus.arbiter import CsrReqSignature
from ..host.bus.axil import AxiLiteSignature


class CsrReqMux(wiring.Component):
    a: In(CsrReqSignature())
    b: In(CsrReqSignature())
    o: Out(CsrReqSignature())

    def elaborate(self, platform):
        m = Module()
        busy, sel = Signal(), Signal()          # sel 0 = a, 1 = b, held while busy
        a, b, o = self.a, self.b, self.o
        req_a, req_b = a.r_stb | a.w_stb, b.r_stb | b.w_stb
        cur = Mux(busy, sel, ~req_a & req_b)
        with m.If(~busy & (req_a | req_b)):
            m.d.sync += [busy.eq(1), sel.eq(~req_a)]
        with m.If(o.ack):
            m.d.sync += busy.eq(0)
        src = [a, b]
        for i, s in enumerate(src):
            m.d.comb += [s.r_data.eq(o.r_data), s.ack.eq(o.ack & (cur == i))]
        m.d.comb += [o.addr.eq(Mux(cur, b.addr, a.addr)), o.w_data.eq(Mux(cur, b.w_data, a.w_data)),
                     o.r_stb.eq(Mux(cur, b.r_stb, a.r_stb)), o.w_stb.eq(Mux(cur, b.w_stb, a.w_stb))]
        return m


class CsrSplit(wiring.Component):
    def __init__(self, base):
        self.base = base
        super().__init__({"i": In(CsrReqSignature()), "lo": Out(CsrReqSignature()),
                          "hi": Out(CsrReqSignature())})

    def elaborate(self, platform):
        m = Module()
        i, hi = self.i, self.i.addr >= self.base
        for port, on in ((self.lo, ~hi), (self.hi, hi)):
            m.d.comb += [port.addr.eq(i.addr - (self.base if port is self.hi else 0)),
                         port.w_data.eq(i.w_data), port.r_stb.eq(i.r_stb & on),
                         port.w_stb.eq(i.w_stb & on)]
        m.d.comb += [i.ack.eq(Mux(hi, self.hi.ack, self.lo.ack)),
                     i.r_data.eq(Mux(hi, self.hi.r_data, self.lo.r_data))]
        return m


class CsrReqToAxiLite(wiring.Component):
    i: In(CsrReqSignature())
    axil: Out(AxiLiteSignature())

    def elaborate(self, platform):
        m = Module()
        i, x = self.i, self.axil
        with m.FSM():
            with m.State("IDLE"):
                with m.If(i.w_stb & ~i.ack):
                    m.d.sync += [x.awaddr.eq(i.addr), x.wdata.eq(i.w_data), x.awvalid.eq(1),
                                 x.wvalid.eq(1), x.wstrb.eq(0xF)]
                    m.next = "WRITE"
                with m.Elif(i.r_stb & ~i.ack):
                    m.d.sync += [x.araddr.eq(i.addr), x.arvalid.eq(1)]
                    m.next = "READ"
            with m.State("WRITE"):
                with m.If(x.awready):
                    m.d.sync += x.awvalid.eq(0)
                with m.If(x.wready):
                    m.d.sync += x.wvalid.eq(0)
                m.d.comb += x.bready.eq(1)
                with m.If(x.bvalid):
                    m.d.sync += i.ack.eq(1)
                    m.next = "DONE"
            with m.State("READ"):
                with m.If(x.arready):
                    m.d.sync += x.arvalid.eq(0)
                m.d.comb += x.rready.eq(1)
                with m.If(x.rvalid):
                    m.d.sync += [i.ack.eq(1), i.r_data.eq(x.rdata)]
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.sync += i.ack.eq(0)
                m.next = "IDLE"
        return m
