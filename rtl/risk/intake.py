"""RiskIntake, stage 0 of the gate: pick this cycle's input and its kill switch.

Priority: the order port, then the order the host staged in the `order` window and
submitted (`submit`, kind 0 order / 1 fill / 2 cancel), then host events. A submit
while one is still pending and not taken this cycle is dropped (`host_dropped`).
Nothing is taken while `hold` (the state is being cleared after reset). `o` is
combinational: the next stage registers it when `o.ready` (the pipeline advance).
"""
from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..layouts import HostEvent, Order, RiskCandidate, Timestamp
from ..regmap.binding import WindowSignature


class RiskIntake(wiring.Component):
    def __init__(self, accounts, slots, order_words):
        self.accounts, self.slots, self.order_words = accounts, slots, order_words
        super().__init__({
            "orders": In(stream.Signature(Order)),
            "events": In(stream.Signature(HostEvent)),
            "window": In(WindowSignature(order_words)),
            "submit": In(1), "submit_kind": In(2),
            "kill": In(1), "kill_accounts": In(accounts), "tripped": In(1),
            "now": In(Timestamp),
            "hold": In(1),
            "o": Out(stream.Signature(RiskCandidate)),
            "host_pending": Out(1), "host_dropped": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        A, S = self.accounts, self.slots
        abits = max((A - 1).bit_length(), 1)

        # the host's staging words (the order window)
        stage = Array(Signal(32, name=f"stage_{i}") for i in range(self.order_words))
        win = self.window
        with m.If(win.w_stb):
            m.d.sync += stage[win.addr].eq(win.w_data)
        m.d.sync += win.r_data.eq(stage[win.addr])
        host_pending = self.host_pending
        host_kind = Signal(2)

        in_valid = Signal()
        out = self.o.payload
        inp = out.order
        sel_host = ~self.orders.valid & host_pending
        sel_event = ~self.orders.valid & ~host_pending & self.events.valid
        take = Signal()
        m.d.comb += [take.eq(self.o.ready & ~self.hold), self.orders.ready.eq(take),
                     self.events.ready.eq(take & sel_event)]
        ev = self.events.payload
        with m.If(self.orders.valid):
            m.d.comb += [in_valid.eq(1), inp.eq(self.orders.payload)]
        with m.Elif(host_pending):
            m.d.comb += [in_valid.eq(1), out.kind.eq(host_kind),
                         inp.clordid.eq(Cat(stage[0], stage[1])),
                         inp.account.eq(stage[2][0:8]), inp.slot.eq(stage[2][8:16]),
                         inp.side.eq(stage[2][16:18]), inp.tif.eq(stage[2][18:20]),
                         inp.qty.eq(stage[3]), inp.price.eq(stage[4])]
        with m.Elif(self.events.valid):
            m.d.comb += [in_valid.eq(1), out.kind.eq(Mux(ev.kind == 0, 3, ev.kind)),
                         inp.clordid.eq(ev.clordid), inp.account.eq(ev.account),
                         inp.slot.eq(ev.slot), inp.side.eq(ev.side), inp.qty.eq(ev.qty),
                         inp.price.eq(ev.price)]
        with m.If(self.submit):
            with m.If(host_pending & ~(take & sel_host)):
                m.d.comb += self.host_dropped.eq(1)
            with m.Else():
                m.d.sync += [host_pending.eq(1), host_kind.eq(self.submit_kind)]
        with m.Elif(take & sel_host):
            m.d.sync += host_pending.eq(0)

        acct_ok = inp.account < A
        m.d.comb += [
            self.o.valid.eq(in_valid & ~self.hold),
            out.ts.eq(self.now), out.acct_ok.eq(acct_ok), out.slot_ok.eq(inp.slot < S),
            out.kill.eq(self.kill | self.tripped
                        | (acct_ok & self.kill_accounts.bit_select(inp.account[:abits], 1))),
        ]
        return m
