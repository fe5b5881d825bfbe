"""Drive a small OrderBook in the Amaranth simulator: messages in, BBO/top-N rows out.

Shared by the fast book tests (tests/test_book_*.py); imported as a plain name."""
from amaranth.sim import Simulator

from tickwire.control.regmap import BOOK_SUB_CMD_MAP
from tickwire.model.book import Msg
from tickwire.rtl.book import OrderBook

SMALL = dict(slots=2, orders=512, levels=256, top_n=5, locate_bits=4)


def fields(m):
    return dict(type=m.type, locate=m.locate, oref=m.oref, new_oref=m.new_oref, side=m.side,
                shares=m.shares, price=m.price, state=m.state, seq=m.seq)


def run_book(msgs, subs, params=SMALL, idle_every=0, cmds=None, watch=None):
    """Feed `msgs` (model Msgs, seq set) after subscribing `subs` {locate: slot}.
    `cmds` {index: (locate, slot, command bits)}: a subscription command strobed before
    message `index` is offered (with no message offered in its cycle), not waited for.
    `watch(dut)`: an async simulator process watching the book's internals, added too.
    Returns (bbo rows, topn rows, counters, taken cycles by seq, out cycles)."""
    dut = OrderBook(**params)
    bbo, topn, ev = [], [], {}
    taken, out_cyc = {}, []
    names = ("ignored", "collisions", "table_full", "unknown_ref", "depth_overflow",
             "level_miss", "msgs", "cmd_dropped")

    async def bench(ctx):
        cyc = 0

        async def tick():
            nonlocal cyc
            if ctx.get(dut.bbo.valid):
                p = ctx.get(dut.bbo.payload)
                bbo.append((p.seq, p.locate, p.slot, p.bid_px, p.bid_qty, p.bid_orders,
                            p.ask_px, p.ask_qty, p.ask_orders, p.halted, p.unreliable))
                out_cyc.append((p.seq, cyc))
            if ctx.get(dut.topn.valid):
                p = ctx.get(dut.topn.payload)
                topn.append((p.seq, p.slot, p.side,
                             [(lv.px, lv.qty, lv.orders) for lv in p.levels]))
            for n in names:
                ev[n] = ev.get(n, 0) + ctx.get(getattr(dut, f"ev_{n}"))
            await ctx.tick()
            cyc += 1

        while ctx.get(dut.st_busy):
            await tick()
        async def command(loc, slot, bits):
            ctx.set(dut.ctl_sub_locate, loc)
            ctx.set(dut.ctl_sub_slot, slot)
            ctx.set(dut.stb_sub_cmd_data, bits)
            ctx.set(dut.stb_sub_cmd, 1)
            await tick()
            ctx.set(dut.stb_sub_cmd, 0)

        for loc, slot in subs.items():
            await command(loc, slot, BOOK_SUB_CMD_MAP)
            while ctx.get(dut.st_busy):
                await tick()
        ev.clear()
        for i, m in enumerate(msgs):
            if idle_every and i % idle_every == 0:
                await tick()
            if cmds and i in cmds:
                ctx.set(dut.i.valid, 0)
                await command(*cmds[i])
            for k, v in fields(m).items():
                ctx.set(getattr(dut.i.payload, k), v)
            ctx.set(dut.i.valid, 1)
            while not ctx.get(dut.i.ready):
                await tick()
            taken[m.seq] = cyc
            await tick()
        ctx.set(dut.i.valid, 0)
        for _ in range(120):
            await tick()

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    if watch:
        sim.add_process(watch(dut))
    sim.run()
    return bbo, topn, ev, taken, out_cyc


def model_rows(msgs, subs, top_n=5):
    from tickwire.model.book import BookModel
    model = BookModel(subs, top_n=top_n)
    rows = []
    for m in msgs:
        e = model.apply(m)
        if e is not None:
            rows.append((e.seq, e.locate, e.slot, e.bid_px, e.bid_qty, e.bid_orders, e.ask_px,
                         e.ask_qty, e.ask_orders, int(e.halted), 0))
    top = [(e.seq, e.slot, e.side, e.levels + [(0, 0, 0)] * (top_n - len(e.levels)))
           for e in model.topn_events]
    return rows, top, model


def add(ref, side, sh, px, loc=5):
    return Msg(ord("A"), loc, oref=ref, side=ord(side), shares=sh, price=px)


def numbered(msgs):
    for i, m in enumerate(msgs, 1):
        m.seq = i
    return msgs
