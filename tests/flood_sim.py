"""The bench's line-rate Add/Delete flood (tools/build/bench/packet.py) on the OrderBook
alone, in the Amaranth simulator, with the input queue modelled around it.

Why: the bench replays the whole core in Verilator (10-20 min a run); the book's
overflow on that feed depends only on when the book takes messages, so here messages
arrive on a fixed schedule (an Add every `add_gap` cycles, a Delete every `del_gap`:
the wire's pace of those frames), wait in a queue of `depth` places (a message that
finds it full is dropped and counted, as book_input.py does) and are offered to the
book. Imported as a plain name by the book tests."""
import random

from amaranth.sim import Simulator

from book_sim import fields
from tickwire.control.regmap import BOOK_SUB_CMD_MAP
from tickwire.model.book import Msg
from tickwire.rtl.book import OrderBook

FLOOD = dict(slots=8, orders=8192, levels=2048, top_n=5, locate_bits=6)


def flood_msgs(symbols=8, per_symbol=431, seed=1):
    """Adds on `symbols` locates (40 prices a side, 100 apart, as packet.py), then one
    Delete for each in a shuffled order: [(phase, Msg)], phase 'A' or 'D'."""
    rng = random.Random(seed)
    n = symbols * per_symbol
    out = []
    refs = list(range(1_000_001, 1_000_001 + 4 * n, 4))
    for i, ref in enumerate(refs):
        loc = 1 + i % symbols
        side = "B" if rng.random() < 0.5 else "S"
        px = 1_000_000 + (-1 if side == "B" else 1) * 100 * rng.randint(1, 40)
        out.append(("A", Msg(ord("A"), loc, oref=ref, side=ord(side),
                             shares=100 * rng.randint(1, 9), price=px)))
    order = list(range(n))
    rng.shuffle(order)
    for i in order:
        out.append(("D", Msg(ord("D"), 1 + i % symbols, oref=refs[i])))
    for k, (_, m) in enumerate(out, 1):
        m.seq = k
    return out


def run_flood(msgs, params=FLOOD, add_gap=4.75, del_gap=2.78, depth=512, stats=None):
    """Returns dict: overflow (messages dropped), max_q (deepest queue), held (cycles a
    queued message waited while the book was not ready), cycles, dropped seqs, bbo rows."""
    dut = OrderBook(**params)
    res = {"overflow": 0, "max_q": 0, "held": 0, "dropped": [], "bbo": []}
    subs = {loc: loc - 1 for loc in range(1, params["slots"] + 1)}
    n_adds = sum(ph == "A" for ph, _ in msgs)
    if stats is not None:
        stats.update(dict.fromkeys(("cyc", "urgent", "nbhold", "nbbusy", "wanted", "append", "read", "cres"), 0))
    arrive, t = [], 0.0
    for ph, _ in msgs:
        t += add_gap if ph == "A" else del_gap
        arrive.append(int(t))

    async def bench(ctx):
        cyc = 0
        while ctx.get(dut.st_busy):
            await ctx.tick()
        for loc, slot in subs.items():
            ctx.set(dut.ctl_sub_locate, loc)
            ctx.set(dut.ctl_sub_slot, slot)
            ctx.set(dut.stb_sub_cmd_data, BOOK_SUB_CMD_MAP)
            ctx.set(dut.stb_sub_cmd, 1)
            await ctx.tick()
            ctx.set(dut.stb_sub_cmd, 0)
            while ctx.get(dut.st_busy):
                await ctx.tick()
        q, nxt, cur = [], 0, None
        while nxt < len(msgs) or q or cur is not None:
            while nxt < len(msgs) and arrive[nxt] <= cyc:
                if len(q) >= depth:
                    res["overflow"] += 1
                    res["dropped"].append(msgs[nxt][1].seq)
                else:
                    q.append(msgs[nxt][1])
                nxt += 1
            res["max_q"] = max(res["max_q"], len(q))
            if cur is None and q:
                cur = q.pop(0)
                for k, v in fields(cur).items():
                    ctx.set(getattr(dut.i.payload, k), v)
                ctx.set(dut.i.valid, 1)
            elif cur is None:
                ctx.set(dut.i.valid, 0)
            took = cur is not None and ctx.get(dut.i.ready)
            if stats is not None and nxt > n_adds:
                u, h, b = ctx.get(dut.urgent_now) | ctx.get(dut.urgent), ctx.get(dut.nb.hold), ctx.get(dut.nb.busy)
                stats["cyc"] += 1
                stats["urgent"] += u
                if u and not stats.get("_u"):
                    stats.setdefault("eps", []).append([cyc, 0, ctx.get(dut.refill_q.level), ctx.get(dut.nb.busy)])
                if u:
                    stats["eps"][-1][1] += 1
                stats["_u"] = u
                stats["nbhold"] += h & ~u
                stats["nbbusy"] += b
                stats["wanted"] += cur is not None
                if ctx.get(dut.nb.creq.valid) and ctx.get(dut.nb.creq.ready):
                    stats["append" if ctx.get(dut.nb.creq.payload.append) else "read"] += 1
                if ctx.get(dut.nb.cres.valid):
                    stats["cres"] += 1
            if ctx.get(dut.bbo.valid):
                p = ctx.get(dut.bbo.payload)
                res["bbo"].append((p.seq, p.locate, p.slot, p.bid_px, p.bid_qty, p.bid_orders,
                                   p.ask_px, p.ask_qty, p.ask_orders, p.halted, p.unreliable))
            await ctx.tick()
            cyc += 1
            if cur is not None and not took:
                res["held"] += 1
            if took:
                cur = None
                ctx.set(dut.i.valid, 0)
        for _ in range(200):
            if ctx.get(dut.bbo.valid):
                p = ctx.get(dut.bbo.payload)
                res["bbo"].append((p.seq, p.locate, p.slot, p.bid_px, p.bid_qty, p.bid_orders,
                                   p.ask_px, p.ask_qty, p.ask_orders, p.halted, p.unreliable))
            await ctx.tick()
        res["cycles"] = cyc

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return res
