"""NextBest: refills a side's level cache with the next level beyond its last cached one.

Why: when levels leave the top of a side, the cache (rtl/book/level_cache.py) holds
fewer than K; the next level is found in the price tree (rtl/book/price_tree.py) in a
bounded number of node reads, its exact aggregate read from the level table, and it
is appended. It runs while the book holds issue and nothing is in flight, so the
tables it reads are consistent; it loops until the cache is full or holds the whole
side. Cost per level found: cache read, one read of the 6 nodes on the last cached
key's path, at most 5 node reads down, one level read, one append; about 4 cycles
each, so 16-40 cycles.

A search that finds nothing although the cache says more levels exist is an
inconsistency (a hash-set collision dropped a node or level): reported on `bad`.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .price_tree import BITS, DEPTHS, digit, lowest_set, tree_key


def layouts(sb, k):
    return dict(
        req=data.StructLayout({"slot": sb, "side": 1}),
        creq=data.StructLayout({"append": 1, "slot": sb, "side": 1, "px": 32, "qty": 32,
                                "orders": 16}),
        cres=data.StructLayout({"count": range(k + 1), "depth": 16, "last_px": 32}),
        treq=data.StructLayout({"slot": sb, "side": 1, "tkey": 32, "depths": DEPTHS}),
        tres=data.StructLayout({"hit": DEPTHS, "bits": data.ArrayLayout(64, DEPTHS)}),
        lreq=data.StructLayout({"slot": sb, "side": 1, "px": 32}),
        lres=data.StructLayout({"hit": 1, "qty": 32, "orders": 16}),
    )


class NextBest(wiring.Component):
    def __init__(self, slot_bits, k):
        self.sb, self.k = slot_bits, k
        L = layouts(slot_bits, k)
        super().__init__({
            "req": In(stream.Signature(L["req"])),
            "go": In(1),
            "busy": Out(1),
            "creq": Out(stream.Signature(L["creq"], always_ready=True)),
            "cres": In(stream.Signature(L["cres"], always_ready=True)),
            "treq": Out(stream.Signature(L["treq"], always_ready=True)),
            "tres": In(stream.Signature(L["tres"], always_ready=True)),
            "lreq": Out(stream.Signature(L["lreq"], always_ready=True)),
            "lres": In(stream.Signature(L["lres"], always_ready=True)),
            "bad": Out(stream.Signature(slot_bits, always_ready=True)),
        })

    def _pick_tkey(self, m, base, d, pos):
        """base with depth d's digit = pos and every lower digit 0."""
        out = Signal(32, name="picked")
        with m.Switch(d):
            for dd in range(DEPTHS):
                with m.Case(dd):
                    lo = 32 - sum(BITS[:dd + 1])
                    m.d.comb += out.eq(Cat(Const(0, lo), pos[:BITS[dd]], base[lo + BITS[dd]:]))
        return out

    def elaborate(self, platform):
        m = Module()
        slot, side = Signal(self.sb), Signal()
        from_valid, ftkey, cur = Signal(), Signal(32), Signal(32)
        cur_d = Signal(range(DEPTHS))
        cands = Signal(data.ArrayLayout(64, DEPTHS))
        masks = Signal(data.ArrayLayout(64, DEPTHS))
        pos_q = Signal(6)
        val = Signal(64)
        qty, orders = Signal(32), Signal(16)
        m.d.comb += self.bad.payload.eq(slot)
        for port in (self.creq, self.treq, self.lreq):
            m.d.comb += [port.payload.slot.eq(slot), port.payload.side.eq(side)]
        res = self.tres.payload
        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.comb += self.req.ready.eq(self.go)
                with m.If(self.req.valid & self.go):
                    m.d.sync += [slot.eq(self.req.payload.slot), side.eq(self.req.payload.side)]
                    m.next = "C_REQ"
            with m.State("C_REQ"):
                m.d.comb += self.creq.valid.eq(1)
                m.next = "C_WAIT"
            with m.State("C_WAIT"):
                c = self.cres.payload
                with m.If(self.cres.valid):
                    m.d.sync += [from_valid.eq(c.count != 0),
                                 ftkey.eq(tree_key(c.last_px, side))]
                    with m.If((c.count == self.k) | (c.depth == c.count)):
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "T_ANC"
            with m.State("T_ANC"):
                m.d.comb += [self.treq.valid.eq(1), self.treq.payload.tkey.eq(ftkey),
                             self.treq.payload.depths.eq((1 << DEPTHS) - 1)]
                for d in range(DEPTHS):       # the digits beyond ftkey's, while we wait
                    w = 1 << BITS[d]
                    above = ~((Const(2, w + 1) << digit(ftkey, d)) - 1)
                    m.d.sync += masks[d].eq(Mux(from_valid, above[:w],
                                                (1 << w) - 1 if d == 0 else 0))
                m.next = "T_AWAIT"
            with m.State("T_AWAIT"):
                with m.If(self.tres.valid):
                    for d in range(DEPTHS):
                        w = 1 << BITS[d]
                        m.d.sync += cands[d].eq(Mux(res.hit[d], res.bits[d][:w] & masks[d][:w], 0))
                    m.next = "PICK_A"
            with m.State("PICK_A"):
                sel = Signal(range(DEPTHS))
                for d in range(DEPTHS):
                    with m.If(cands[d].any()):
                        m.d.comb += sel.eq(d)
                m.d.sync += [cur_d.eq(sel), val.eq(cands[sel]), cur.eq(ftkey)]
                m.next = "PICK"
            with m.State("T_DOWN"):
                m.d.comb += [self.treq.valid.eq(1), self.treq.payload.tkey.eq(cur),
                             self.treq.payload.depths.eq(Const(1, DEPTHS) << cur_d)]
                m.next = "T_DWAIT"
            with m.State("T_DWAIT"):
                with m.If(self.tres.valid):
                    m.d.sync += val.eq(Mux(res.hit.bit_select(cur_d, 1), res.bits[cur_d], 0))
                    m.next = "PICK"
            with m.State("PICK"):
                found, pos = lowest_set(m, val, "nb")
                m.d.sync += pos_q.eq(pos)
                m.next = "PICK2"
                with m.If(~found):
                    m.next = "BAD"
            with m.State("PICK2"):
                m.d.sync += cur.eq(self._pick_tkey(m, cur, cur_d, pos_q))
                with m.If(cur_d == DEPTHS - 1):
                    m.next = "L_REQ"
                with m.Else():
                    m.d.sync += cur_d.eq(cur_d + 1)
                    m.next = "T_DOWN"
            with m.State("L_REQ"):
                m.d.comb += [self.lreq.valid.eq(1), self.lreq.payload.px.eq(tree_key(cur, side))]
                m.next = "L_WAIT"
            with m.State("L_WAIT"):
                with m.If(self.lres.valid):
                    m.d.sync += [qty.eq(self.lres.payload.qty), orders.eq(self.lres.payload.orders)]
                    with m.If(self.lres.payload.hit):
                        m.next = "A_REQ"
                    with m.Else():
                        m.next = "BAD"
            with m.State("A_REQ"):
                m.d.comb += [self.creq.valid.eq(1), self.creq.payload.append.eq(1),
                             self.creq.payload.px.eq(tree_key(cur, side)),
                             self.creq.payload.qty.eq(qty), self.creq.payload.orders.eq(orders)]
                m.next = "C_WAIT"
            with m.State("BAD"):
                m.d.comb += self.bad.valid.eq(1)
                m.next = "IDLE"
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        return m
