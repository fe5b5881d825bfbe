"""CsrReqCdc: a register-bus request/response crossing between two clock domains.

Why: a real PCIe endpoint (the hard IP's user interface) runs on its own 250 MHz
user clock while the CSR bank runs on the core clock (156.25 MHz). The BAR completer
(rtl/host/pcie/endpoint.py) stays in the PCIe domain and speaks `CsrReqSignature` on
`up`; this block carries each request through an AsyncFIFO into the core domain,
where `down` is an ordinary arbiter master, and the read data back through another.
Both sides keep the hold-until-ack protocol (rtl/host/bus/arbiter.py): one request
is in flight at a time, and each one gets exactly one `ack` on `up`, whatever the
two clocks' ratio. Gray-coded AsyncFIFO pointers are the only signals crossing.
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import AsyncFIFO
from amaranth.lib.wiring import In, Out

from .arbiter import CsrReqSignature
from .csr_bus import ADDR_WIDTH


class CsrReqCdc(wiring.Component):
    """`up` in `up_domain` (a master connects here) -> `down` in `down_domain`."""

    def __init__(self, up_domain="pcie", down_domain="sync", addr_width=ADDR_WIDTH):
        self.up_domain, self.down_domain, self.addr_width = up_domain, down_domain, addr_width
        super().__init__({"up": In(CsrReqSignature(addr_width)),
                          "down": Out(CsrReqSignature(addr_width))})

    def elaborate(self, platform):
        m = Module()
        aw, up, down = self.addr_width, self.up, self.down
        ud, dd = m.d[self.up_domain], m.d[self.down_domain]
        m.submodules.req = req = AsyncFIFO(width=aw + 33, depth=4, w_domain=self.up_domain,
                                           r_domain=self.down_domain)
        m.submodules.rsp = rsp = AsyncFIFO(width=32, depth=4, w_domain=self.down_domain,
                                           r_domain=self.up_domain)

        # up side: send the held request once, then wait for its answer
        sent = Signal()
        m.d.comb += [req.w_data.eq(Cat(up.addr, up.w_data, up.w_stb)),
                     req.w_en.eq((up.r_stb | up.w_stb) & ~sent & req.w_rdy),
                     up.r_data.eq(rsp.r_data), rsp.r_en.eq(sent & rsp.r_rdy),
                     up.ack.eq(sent & rsp.r_rdy)]
        with m.If(req.w_en):
            ud += sent.eq(1)
        with m.If(up.ack):
            ud += sent.eq(0)

        # down side: present the request as an arbiter master until ack, answer it
        busy = Signal()
        with m.If(~busy & req.r_rdy):
            dd += [busy.eq(1), down.addr.eq(req.r_data[:aw]), down.w_data.eq(req.r_data[aw:aw + 32]),
                   down.w_stb.eq(req.r_data[-1]), down.r_stb.eq(~req.r_data[-1])]
        m.d.comb += [req.r_en.eq(busy & down.ack), rsp.w_en.eq(busy & down.ack),
                     rsp.w_data.eq(down.r_data)]
        with m.If(busy & down.ack):
            dd += [busy.eq(0), down.r_stb.eq(0), down.w_stb.eq(0)]
        return m
