"""DuplicateHistory: the last `depth` accepted orders, for check 12 (duplicate).

`hit` (combinational) is set when `order` has the clordid of a remembered order, or
the same account/slot/side/qty/price as one remembered less than `window` ns before
`t`. `push` remembers `order` at time `t`, overwriting the oldest entry.
"""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..layouts import Order


class DuplicateHistory(wiring.Component):
    def __init__(self, depth):
        self.depth = depth
        super().__init__({"order": In(Order), "t": In(64), "window": In(32), "hit": Out(1),
                          "push": In(1)})

    def elaborate(self, platform):
        m = Module()
        H, o = self.depth, self.order
        h_valid = [Signal(name=f"h_valid_{i}") for i in range(H)]
        h_ord = [Signal(Order, name=f"h_ord_{i}") for i in range(H)]
        h_t = [Signal(64, name=f"h_t_{i}") for i in range(H)]
        head = Signal(range(H))
        hits = []
        for i in range(H):
            e = h_ord[i]
            same = ((e.account == o.account) & (e.slot == o.slot) & (e.side == o.side) &
                    (e.qty == o.qty) & (e.price == o.price))
            age = (self.t - h_t[i])[:64]
            hits.append(h_valid[i] & ((e.clordid == o.clordid) | (same & (age < self.window))))
        m.d.comb += self.hit.eq(Cat(*hits).any())
        with m.If(self.push):
            for i in range(H):
                with m.If(head == i):
                    m.d.sync += [h_valid[i].eq(1), h_ord[i].eq(o), h_t[i].eq(self.t)]
            m.d.sync += head.eq(Mux(head == H - 1, 0, head + 1))
        return m
