"""Round-robin arbiter: N register-bus masters (AXI4-Lite, PCIe, UART) -> the CSR bank.

The bank's bus has fixed timing and no stall, so a master that may have to wait
needs a handshake: masters speak `CsrReqSignature`, the CSR bus plus `ack`. A master
holds addr, w_data and r_stb or w_stb high until `ack` (read data is valid in the ack
cycle) and drops the strobe on the next cycle. One transaction at a time; after a
grant the search starts at the next master, so a requester waits at most N-1
transactions (never starved). Every transaction takes READ_LATENCY + 2 cycles
(grant, strobe, wait for the bank's pipelined read data, ack), and each granted
request gets exactly one `ack`, in the last of them.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .csr_bus import ADDR_WIDTH, READ_LATENCY, CsrBusSignature


class CsrReqSignature(wiring.Signature):
    """Master's view: the CSR bus with a request/acknowledge handshake."""
    def __init__(self, addr_width=ADDR_WIDTH):
        super().__init__({
            "addr": Out(addr_width),
            "r_stb": Out(1),
            "w_stb": Out(1),
            "w_data": Out(32),
            "r_data": In(32),
            "ack": In(1),
        })


class CsrArbiter(wiring.Component):
    """`masters` ports m0..m{n-1} (CsrReqSignature) -> `bus` (CsrBusSignature)."""

    def __init__(self, n, addr_width=ADDR_WIDTH):
        self.n = n
        members = {f"m{i}": In(CsrReqSignature(addr_width)) for i in range(n)}
        members["bus"] = Out(CsrBusSignature(addr_width))
        super().__init__(members)

    @property
    def masters(self):
        return [getattr(self, f"m{i}") for i in range(self.n)]

    def elaborate(self, platform):
        m = Module()
        ms, bus = self.masters, self.bus
        cur = Signal(range(self.n))          # granted master (and the last one granted)
        m.d.sync += [bus.r_stb.eq(0), bus.w_stb.eq(0)]
        for i, mp in enumerate(ms):
            m.d.comb += mp.r_data.eq(bus.r_data)

        with m.FSM():
            with m.State("IDLE"):
                # Priority rotates: masters after `cur` first, `cur` itself last. Later
                # statements win in Amaranth, so assign lowest priority first.
                with m.Switch(cur):
                    for c in range(self.n):
                        with m.Case(c):
                            order = [(c + off) % self.n for off in range(1, self.n + 1)]
                            for i in reversed(order):
                                mp = ms[i]
                                with m.If(mp.r_stb | mp.w_stb):
                                    m.d.sync += [cur.eq(i), bus.addr.eq(mp.addr),
                                                 bus.w_data.eq(mp.w_data),
                                                 bus.w_stb.eq(mp.w_stb),
                                                 bus.r_stb.eq(~mp.w_stb)]
                                    m.next = "STROBE"
            with m.State("STROBE"):
                m.next = "WAIT_1" if READ_LATENCY > 1 else "ACK"
            for k in range(1, READ_LATENCY):
                with m.State(f"WAIT_{k}"):
                    m.next = f"WAIT_{k + 1}" if k + 1 < READ_LATENCY else "ACK"
            with m.State("ACK"):
                for i, mp in enumerate(ms):
                    m.d.comb += mp.ack.eq(cur == i)
                m.next = "IDLE"
        return m
