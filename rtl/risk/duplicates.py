"""DuplicateHistory: the last `depth` accepted orders, for check 12 (duplicate).

An order matches an entry with its clordid, or with the same account/slot/side/qty/
price entered at t0 with `lo < t0 <= t` (lo = t - its account's window: the window
in force for the checking order; `ahead_lo`, made in stage 1 by rtl/risk/checks.py). The order is matched against the entries, against
the accepted order on its way into them (`pushed`, two ahead of it) and against the
order in stage 4 (`prev_*`, one ahead, decided this same cycle); the three results
are registered and stage 4 combines them with that order's verdict, so the state
loop holds no wide compare:
    hit = others | (prev_accepted ? match_prev : oldest)
(`oldest` is the entry the push of an accepted previous order would overwrite);
`if_rej` = others | oldest and `if_acc` = others | match_prev are registered too.
Why the match starts in stage 2 (`ahead`, `ahead_nt` = ~t): the equalities (clordid, the
five fields) and `t0 <= t` of every entry, then the OR over the entries, in one cycle
were the gate's critical path (10.5 ns, most of it routing). Stage 2 registers them
per entry against what the entries hold a cycle later (the entry `pushed` overwrites
takes its match with the order on its way in), against the order on its way in next
and against the order in stage 3 (stage 4's next), `t0 > lo` included (the sign of
lo - t0: one two-operand carry chain from registers, `lo` registered in stage 1);
stage 3 only ORs. (`t0 > lo` in stage 3, from the registered `lo` with its fanout to
every entry's chain, then the OR, was the gate's critical path: 8.97 ns. With the
window instead of `lo`, t - window - t0 was a 3:2 layer per entry: 18 x 67 LUTs.)
`push` (stage 4 accepted `prev_*`) is registered with the order and written into the
entries a cycle later: the verdict drives one flip-flop, not the enables of every
entry. Everything registers on `adv`.
"""
from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..layouts import Order
from .arith import signed_sum

SAME = ("account", "slot", "side", "qty", "price")


def _pre(e, t0, o, nt, lo):
    """A match, made in stage 2: clordid equal, or the five fields equal with
    lo < t0 <= t (lo < t0 as the sign of lo - t0: one chain; t0 <= t as no carry out
    of t0 + ~t = t0 - t - 1 + 2**64: one chain, `nt` = ~t)."""
    after_lo = signed_sum([(lo, 0), (t0, 1)], 66)[65]
    return Cat(e.clordid == o.clordid, Cat(*(getattr(e, k) == getattr(o, k) for k in SAME)).all(),
               ~(t0 + nt)[64], after_lo)


def _hit(pre):
    return pre[0] | (pre[1] & pre[2] & pre[3])


class DuplicateHistory(wiring.Component):
    def __init__(self, depth):
        self.depth = depth
        super().__init__({
            "ahead": In(Order), "ahead_nt": In(64), "ahead_lo": In(signed(65)),
            "order": In(Order), "t": In(64),
            "prev_order": In(Order), "prev_t": In(64), "push": In(1), "adv": In(1),
            "others": Out(1), "oldest": Out(1), "match_prev": Out(1),
            "if_rej": Out(1), "if_acc": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        H, x, tx, wx = self.depth, self.ahead, self.ahead_nt, self.ahead_lo
        h_valid = [Signal(name=f"h_valid_{i}") for i in range(H)]
        h_ord = [Signal(Order, name=f"h_ord_{i}") for i in range(H)]
        h_t = [Signal(64, name=f"h_t_{i}") for i in range(H)]
        head = Signal(H, init=1)                 # one-hot: the entry written next
        pushed, p_ord, p_t = Signal(), Signal(Order), Signal(64)    # on its way in
        with m.If(self.adv):
            m.d.sync += [pushed.eq(self.push), p_ord.eq(self.prev_order), p_t.eq(self.prev_t)]
        # stage 2: against the entries as they will be, `p_ord` (next cycle's), `prev`
        # The entry `pushed` overwrites (`sel`, one-hot) has its match with `p_ord`
        # (`pre_w`) and no other; the others keep theirs (`pre_e`, with `ve`: valid and
        # not overwritten). Stage 3 ORs the two apart, so `pre_w` meets `sel` once, not
        # once per entry. Why: a mux after the chains, in stage 2, was merged by ABC
        # into the equality trees (`pushed` 7 LUT levels from `pre_h`: 7.22 ns); as a
        # mux per entry in stage 3, `pre_w`'s fanout to 16 muxes before the OR was 7
        # LUT levels to `if_rej` (7.30 ns).
        pre_e = [Signal(4, name=f"pre_e_{i}") for i in range(H)]
        pre_w, sel, ve = Signal(4, name="pre_w"), Signal(H, name="sel"), Signal(H, name="ve")
        pre_p, pre_n = Signal(4), Signal(4)
        with m.If(self.adv):
            m.d.sync += [pre_e[i].eq(_pre(h_ord[i], h_t[i], x, tx, wx)) for i in range(H)]
            m.d.sync += [pre_w.eq(_pre(p_ord, p_t, x, tx, wx)),     # into `head` if `pushed`
                         sel.eq(Mux(pushed, head, 0)),
                         ve.eq(Cat(*h_valid) & ~Mux(pushed, head, 0)),
                         pre_p.eq(_pre(self.prev_order, self.prev_t, x, tx, wx)),
                         pre_n.eq(_pre(self.order, self.t, x, tx, wx))]
        # stage 3
        hits = Signal(H)                         # the entries not just written
        m.d.comb += hits.eq(Cat(*(ve[i] & _hit(pre_e[i]) for i in range(H))))
        hit_w = _hit(pre_w)                      # the entry just written (`sel`)
        nxt = Cat(head[-1], head[:-1])
        gone = Mux(pushed, head | nxt, head)     # overwritten by `pushed`, or maybe next
        cand = Mux(pushed, nxt, head)            # overwritten if stage 4 accepts
        with m.If(self.adv):
            others = ((hits & ~gone).any() | (hit_w & (sel & ~gone).any())
                      | (pushed & _hit(pre_p)))
            oldest = (hits & cand).any() | (hit_w & (sel & cand).any())
            match_prev = _hit(pre_n)
            m.d.sync += [self.others.eq(others), self.oldest.eq(oldest),
                         self.match_prev.eq(match_prev),
                         # the hit for each verdict of the order ahead, whole (the
                         # verdict copies' terms: one LUT input each)
                         self.if_rej.eq(others | oldest), self.if_acc.eq(others | match_prev)]
        with m.If(self.adv & pushed):
            for i in range(H):
                with m.If(head[i]):
                    m.d.sync += [h_valid[i].eq(1), h_ord[i].eq(p_ord), h_t[i].eq(p_t)]
            m.d.sync += head.eq(nxt)
        return m
