"""Register bus arbiter (rtl/host/bus/arbiter.py): every request answered exactly once.

The masters are free inputs that keep the promised handshake (Assume): a request
(r_stb or w_stb) stays up with stable addr/w_data until `ack` and drops the cycle
after it. Proved, for the core's 3 masters:
  - an ack goes only to a master that is requesting, and to one master at a time;
  - an ack answers exactly one bus transaction: ack in cycle t <=> a bus strobe in
    t - READ_LATENCY (the bank's pipelined read), carrying that master's address,
    write data and kind;
  - a request is acked at most once (the cycle after an ack it is down by assumption,
    so a second ack would need a new request) and within N x (READ_LATENCY + 2)
    cycles (never starved: each transaction takes grant, strobe, the read latency's
    wait and ack).
"""
from amaranth.hdl import Assert, Assume, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from tickwire.rtl.host.bus.arbiter import CsrArbiter
from tickwire.rtl.host.bus.csr_bus import READ_LATENCY

from .observe import elaborate_observed

ADDR = 8          # address bits in the proof (the property does not depend on width)


class ArbiterProps(wiring.Component):
    def __init__(self, n=3, bound=None):
        self.n = n
        self.bound = (READ_LATENCY + 2) * n if bound is None else bound   # smaller: FAIL
        members = {}
        for i in range(n):
            members.update({f"addr{i}": In(ADDR), f"r{i}": In(1), f"w{i}": In(1),
                            f"d{i}": In(32)})
        members["r_data"] = In(32)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        n = self.n
        arb = CsrArbiter(n, addr_width=ADDR)
        m.submodules.arb, sigs, fsms = elaborate_observed(arb)
        # Legal-state invariants (induction starts anywhere): 3 FSM states, cur < n.
        # The bus strobes are only up in STROBE.
        (state, enc), cur = fsms["fsm"], sigs["cur"]
        m.d.comb += [Assert(state < len(enc), "FSM in a legal state"), Assert(cur < n, "cur < n"),
                     Assert(~(arb.bus.r_stb | arb.bus.w_stb) | (state == enc["STROBE"]),
                            "bus strobe only in STROBE")]
        m.d.comb += arb.bus.r_data.eq(self.r_data)
        m.d.comb += Assume(~ResetSignal())
        bound = self.bound
        bus_stb = arb.bus.r_stb | arb.bus.w_stb
        cur_bus, cur_addr, cur_data, cur_w = bus_stb, arb.bus.addr, arb.bus.w_data, arb.bus.w_stb
        for k in range(READ_LATENCY):       # the bus transaction READ_LATENCY cycles ago
            past_bus, past_addr = Signal(name=f"pb{k}"), Signal(ADDR, name=f"pa{k}")
            past_data, past_w = Signal(32, name=f"pd{k}"), Signal(name=f"pw{k}")
            m.d.sync += [past_bus.eq(cur_bus), past_addr.eq(cur_addr),
                         past_data.eq(cur_data), past_w.eq(cur_w)]
            cur_bus, cur_addr, cur_data, cur_w = past_bus, past_addr, past_data, past_w
        acks = []
        for i, mp in enumerate(arb.masters):
            addr, r, w, d = (getattr(self, f"{x}{i}") for x in ("addr", "r", "w", "d"))
            m.d.comb += [mp.addr.eq(addr), mp.r_stb.eq(r), mp.w_stb.eq(w), mp.w_data.eq(d)]
            req = r | w
            p_req, p_ack = Signal(name=f"p_req{i}"), Signal(name=f"p_ack{i}")
            p_addr, p_r, p_w, p_d = (Signal(ADDR, name=f"p_addr{i}"), Signal(name=f"p_r{i}"),
                                     Signal(name=f"p_w{i}"), Signal(32, name=f"p_d{i}"))
            wait = Signal(range(bound + 2), name=f"wait{i}")
            acked = Signal(name=f"acked{i}")
            m.d.sync += [p_req.eq(req), p_ack.eq(mp.ack), p_addr.eq(addr), p_r.eq(r),
                         p_w.eq(w), p_d.eq(d)]
            # The master's promise: hold the request until ack, drop it right after.
            with m.If(p_req & ~p_ack):
                m.d.comb += Assume(req & (addr == p_addr) & (r == p_r) & (w == p_w) &
                                   (d == p_d))
            with m.If(p_ack):
                m.d.comb += Assume(~req)
            m.d.comb += Assume(~(r & w))
            # Ghosts: cycles waited, and whether this request was already answered.
            with m.If(req & ~mp.ack):
                m.d.sync += wait.eq(wait + 1)
            with m.Else():
                m.d.sync += wait.eq(0)
            with m.If(~req):
                m.d.sync += acked.eq(0)
            with m.Elif(mp.ack):
                m.d.sync += acked.eq(1)
            m.d.comb += [
                Assert(~mp.ack | req, "ack without a request"),
                Assert(~(mp.ack & acked), "request answered twice"),
                Assert(wait <= bound, "request not answered in time"),
                Assert(~mp.ack | ((past_addr == addr) & (past_w == w) &
                                  (~w | (past_data == d))), "ack of another transaction"),
            ]
            acks.append(mp.ack)
        any_ack = Signal()
        m.d.comb += any_ack.eq(sum(acks) != 0)
        m.d.comb += [Assert(sum(a.as_unsigned() for a in acks) <= 1, "two acks at once"),
                     Assert(any_ack == past_bus, "ack <=> a bus strobe READ_LATENCY cycles before")]
        return m


def component():
    return ArbiterProps(3)


DEPTH = (READ_LATENCY + 2) * 3    # k-induction needs the wait bound (18 at READ_LATENCY 4)
