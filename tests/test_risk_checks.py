"""OrderChecks: the stateless checks 1..8 in priority order (docs/limits.md), and what
stage 2 needs, registered; the two stage registers stall together on `o.ready`."""
import random

from clocked import put, simulate
from tickwire.rtl.risk.checks import OrderChecks

BUY = 0
M64 = (1 << 64) - 1


def reason(c, bk, a, y):
    """First failing stateless check, from the table in docs/limits.md (0 = none)."""
    o = c["order"]
    buy = o["side"] == BUY
    missing = bk["unreliable"] or (bk["ask_qty"] == 0 if buy else bk["bid_qty"] == 0)
    if y["bps"]:
        collar_bad = (o["price"] * 10000 > bk["ask_px"] * (10000 + y["collar"]) if buy
                      else o["price"] * 10000 < bk["bid_px"] * (10000 - y["collar"]))
    else:
        collar_bad = (o["price"] > bk["ask_px"] + y["collar"] if buy
                      else o["price"] < bk["bid_px"] - y["collar"])
    checks = [c["kill"], not c["acct_ok"] or not a["enabled"],
              not c["slot_ok"] or not y["enabled"] or y["restricted"], bk["halted"],
              missing and not y["allow_no_book"], o["qty"] == 0 or o["qty"] > y["max_qty"],
              o["qty"] * o["price"] > a["max_notional"], not missing and collar_bad]
    return next((code for code, bad in enumerate(checks, 1) if bad), 0)


def expect(c, bk, a, y, p):
    t = (c["ts"]["sec"] * 1_000_000_000 + c["ts"]["ns"]) & M64
    e = dict(kind=c["kind"], ok_idx=c["acct_ok"] and c["slot_ok"], reason=reason(c, bk, a, y),
             notional=c["order"]["qty"] * c["order"]["price"], t=t, credit=a["credit"],
             long=p["long"], short=p["short"], interval=a["interval"], burst0=a["burst"] == 0,
             window=a["window"])
    if a["burst"]:
        e["tau"] = (a["burst"] - 1) * a["interval"] & ((1 << 48) - 1)
    return e


def draw(rng):
    px = rng.choice([1000, 10000, 123456])
    o = dict(clordid=rng.randrange(1 << 64), account=rng.randrange(8), slot=rng.randrange(16),
             side=rng.randrange(3), tif=0, qty=rng.choice([0, 1, 100, 5000, rng.randrange(1 << 32)]),
             price=px + rng.choice([0, -5, 5, -25, 25, -1000, 1000]))
    c = dict(kind=rng.choice([0, 0, 0, 1, 2, 3]), order=o, kill=rng.random() < 0.05,
             acct_ok=rng.random() < 0.95, slot_ok=rng.random() < 0.95,
             ts=dict(ns=rng.randrange(10 ** 9), sec=rng.randrange(1 << 48)))
    bk = dict(bid_px=px - rng.choice([0, 10]), ask_px=px + rng.choice([0, 10]),
              bid_qty=rng.choice([0, 100, 100]), ask_qty=rng.choice([0, 100, 100]),
              halted=rng.random() < 0.05, unreliable=rng.random() < 0.05)
    a = dict(enabled=rng.random() < 0.95, max_notional=rng.choice([10 ** 6, 10 ** 9, M64]),
             credit=rng.randrange(1 << 64), interval=rng.randrange(1 << 32),
             burst=rng.choice([0, 1, 20, 0xFFFF]), window=rng.randrange(1 << 32))
    y = dict(enabled=rng.random() < 0.95, restricted=rng.random() < 0.05,
             allow_no_book=rng.random() < 0.2, bps=rng.random() < 0.5,
             max_qty=rng.choice([1000, 10000, (1 << 32) - 1]), collar=rng.choice([0, 5, 20, 20000]))
    p = dict(long=rng.randrange(1 << 32), short=rng.randrange(1 << 32))
    return c, bk, a, y, p


def run(items, ready):
    """items: (valid, candidate, book, acct, sym, pos) per cycle; ready: o.ready per cycle."""
    dut = OrderChecks()
    seen = []

    async def bench(ctx):
        s1 = (False, None)                     # what the stage-1 register holds
        out = None
        for (valid, *cand), rdy in zip(items, ready):
            ctx.set(dut.i.valid, valid)
            put(ctx, dut.i.payload, cand[0])
            if s1[1]:                           # its lookups, as registered beside it
                _, bk, a, y, p = s1[1]
                put(ctx, dut.book, bk), put(ctx, dut.acct, a)
                put(ctx, dut.sym, y), put(ctx, dut.pos, p)
            ctx.set(dut.o.ready, rdy)
            assert ctx.get(dut.i.ready) == rdy
            if rdy:
                out = (s1[0], expect(*s1[1]) if s1[1] else None, s1[1])
                s1 = (valid, cand)
            await ctx.tick()
            if out is not None:
                assert ctx.get(dut.o.valid) == out[0]
                if out[0]:
                    got = ctx.get(dut.o.payload)
                    assert {k: getattr(got, k) for k in out[1]} == out[1]
                    assert getattr(got.order, "clordid") == out[2][0]["order"]["clordid"]
                    seen.append(out[1]["reason"])
    simulate(dut, bench)
    return seen


def test_each_reason_in_priority_order():
    rng = random.Random(1)
    base = draw(rng)
    c, bk, a, y, p = (dict(x) for x in base)
    c.update(kind=0, kill=False, acct_ok=True, slot_ok=True)
    c["order"] = dict(c["order"], side=BUY, qty=10, price=1000)
    bk.update(bid_px=990, ask_px=1000, bid_qty=5, ask_qty=5, halted=False, unreliable=False)
    a.update(enabled=True, max_notional=10 ** 6)
    y.update(enabled=True, restricted=False, allow_no_book=False, bps=False, max_qty=100, collar=5)
    ok = (c, bk, a, y, p)

    def bad(**kw):
        cc, bb, aa, yy = dict(c), dict(bk), dict(a), dict(y)
        for k, v in kw.items():
            tgt = {"order": cc}.get(k.split("__")[0])
            if tgt is not None:
                cc["order"] = dict(cc["order"], **{k.split("__")[1]: v})
            else:
                for d in (cc, bb, aa, yy):
                    if k in d:
                        d[k] = v
        return (True, cc, bb, aa, yy, p)
    items = [(True, *ok), bad(kill=True, enabled=False), bad(acct_ok=False, halted=True),
             bad(restricted=True, ask_qty=0), bad(halted=True, order__qty=0),
             bad(ask_qty=0, order__qty=0), bad(order__qty=1000),
             bad(order__qty=100, order__price=10 ** 6), bad(order__price=1006),
             bad(order__price=1006, ask_qty=0, allow_no_book=True)]
    items += [(False, *ok)] * 3
    assert run(items, [1] * len(items)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 0]


def test_random_against_reference_with_stalls():
    rng = random.Random(2)
    items = [(rng.random() < 0.8, *draw(rng)) for _ in range(500)]
    seen = run(items, [rng.random() < 0.8 for _ in items])
    assert set(seen) == set(range(9))
