"""ExposureState: checks 9..12 against the live state, exposure booked by accepted
orders only, released (clamped at zero) by host events, verdicts registered; the state
is zeroed after reset before anything is taken (docs/limits.md)."""
import random
from collections import deque

from clocked import put, simulate
from tickwire.rtl.risk.exposure import ExposureState

ACCOUNTS, SLOTS, HISTORY, REASONS = 2, 4, 4, 12
BUY = 0


class Ref:
    def __init__(self):
        self.open, self.tat = [0] * ACCOUNTS, [0] * ACCOUNTS
        self.pos = {}                                  # (account, slot) -> [pos, obuy, osell]
        self.hist = deque(maxlen=HISTORY)              # (order, t) of accepted orders
        self.count = dict(orders=0, accepts=0, events=0, event_errors=0, rejects=[0] * REASONS)

    def order(self, c):
        o, a = c["order"], c["order"]["account"]
        pos, ob, os_ = self.pos.setdefault((a, o["slot"]), [0, 0, 0])
        buy = o["side"] == BUY
        same = ("account", "slot", "side", "qty", "price")
        dup = any(h["clordid"] == o["clordid"] or
                  (all(h[k] == o[k] for k in same) and c["t"] - ht < c["window"])
                  for h, ht in self.hist)
        checks = [c["reason"] != 0 and c["reason"],
                  self.open[a] + c["notional"] > c["credit"] and 9,
                  (pos + ob + o["qty"] > c["long"] if buy else os_ + o["qty"] - pos > c["short"])
                  and 10,
                  (c["burst0"] or c["t"] + c["tau"] < self.tat[a]) and 11, dup and 12]
        r = next((x for x in checks if x), 0)
        self.count["orders"] += 1
        if r:
            self.count["rejects"][r - 1] += 1
            return r
        self.count["accepts"] += 1
        self.open[a] += c["notional"]
        self.tat[a] = max(c["t"], self.tat[a]) + c["interval"]
        self.pos[(a, o["slot"])][1 if buy else 2] += o["qty"]
        self.hist.append((o, c["t"]))
        return 0

    def event(self, c):
        o, a = c["order"], c["order"]["account"]
        if c["kind"] == 3 or not c["ok_idx"]:
            self.count["event_errors"] += 1
            return
        self.count["events"] += 1
        st = self.pos.setdefault((a, o["slot"]), [0, 0, 0])
        k = 1 if o["side"] == BUY else 2
        if c["notional"] > self.open[a] or o["qty"] > st[k]:
            self.count["event_errors"] += 1
        self.open[a] = max(0, self.open[a] - c["notional"])
        st[k] = max(0, st[k] - o["qty"])
        if c["kind"] == 1:
            st[0] += o["qty"] if o["side"] == BUY else -o["qty"]


def run(items, vready, aready):
    dut, ref = ExposureState(ACCOUNTS, SLOTS, HISTORY, REASONS), Ref()
    got = dict(verdicts=[], accepted=[], rejects=[], clear_cycles=0)
    cnt = dict(orders=0, accepts=0, events=0, event_errors=0, rejects=[0] * REASONS)

    async def bench(ctx):
        while ctx.get(dut.clearing):
            got["clear_cycles"] += 1
            await ctx.tick()
        want_v, want_a = [], []
        i = 0
        for vr, ar in zip(vready, aready):
            valid, c = items[i] if i < len(items) else (False, items[0][1])
            ctx.set(dut.i.valid, valid)
            put(ctx, dut.i.payload, c)
            ctx.set(dut.verdicts.ready, vr)
            ctx.set(dut.accepted.ready, ar)
            if ctx.get(dut.verdicts.valid) and vr:
                got["verdicts"].append(ctx.get(dut.verdicts.payload))
            if ctx.get(dut.accepted.valid) and ar:
                got["accepted"].append(ctx.get(dut.accepted.payload.clordid))
            if ctx.get(dut.i.ready):
                i += 1
                if valid and c["kind"] == 0:
                    r = ref.order(c)
                    want_v.append((c["order"]["clordid"], r == 0, r, c["ts"]["ns"]))
                    if r == 0:
                        want_a.append(c["order"]["clordid"])
                    assert ctx.get(dut.rejects.valid) == (r != 0)
                    if r:
                        rj = ctx.get(dut.rejects.payload)
                        assert (rj.clordid, rj.reason, rj.account, rj.slot, rj.ns) == (
                            c["order"]["clordid"], r, c["order"]["account"],
                            c["order"]["slot"], c["ts"]["ns"])
                elif valid:
                    ref.event(c)
            for k in ("orders", "accepts", "events", "event_errors"):
                cnt[k] += ctx.get(getattr(dut, "ev_" + k))
            rj = ctx.get(dut.ev_rejects)
            for b in range(REASONS):
                cnt["rejects"][b] += rj >> b & 1
            await ctx.tick()
        assert [(v.clordid, v.accept, v.reason, v.ts.ns) for v in got["verdicts"]] == want_v
        assert got["accepted"] == want_a
        assert cnt == ref.count
    simulate(dut, bench)
    return got, ref


def checked(rng, t, kind=0, **kw):
    o = dict(clordid=rng.randrange(1 << 64), account=rng.randrange(ACCOUNTS),
             slot=rng.randrange(SLOTS), side=rng.randrange(3), tif=0,
             qty=rng.choice([1, 10, 100]), price=rng.choice([100, 1000]))
    o.update(kw.pop("order", {}))
    c = dict(kind=kind, order=o, ts=dict(ns=t % 10 ** 9, sec=t // 10 ** 9), ok_idx=1, reason=0,
             notional=o["qty"] * o["price"], t=t, credit=10 ** 6, long=500, short=300,
             interval=1000, tau=3 * 1000, burst0=0, window=5000)
    c.update(kw)
    return c


def test_clears_then_books_exposure_and_rejects_in_priority():
    rng = random.Random(1)
    o = dict(account=0, slot=1, side=BUY, qty=100, price=1000)
    items = [(True, checked(rng, 10, order=o)),                       # ok: open 100000
             (True, checked(rng, 20, order=o, credit=150_000)),       # credit
             (True, checked(rng, 30, order=dict(o, qty=450))),       # position (100+450 > 500)
             (True, checked(rng, 40, order=dict(o, price=999))),      # ok
             (True, checked(rng, 50, order=dict(o, price=998))),      # ok
             (True, checked(rng, 60, order=dict(o, price=997))),      # ok: 4th of burst 4
             (True, checked(rng, 70, order=dict(o, price=996))),      # rate
             (True, checked(rng, 5000, order=o)),                     # duplicate (window)
             (True, checked(rng, 5000, order=o, reason=6)),           # stage 1's reason wins
             (True, checked(rng, 6000, kind=1, order=dict(o, qty=100)))]  # fill
    got, ref = run(items, [1] * 16, [1] * 16)
    assert got["clear_cycles"] == ACCOUNTS * SLOTS
    assert [v.reason for v in got["verdicts"]] == [0, 9, 10, 0, 0, 0, 11, 12, 6]
    assert ref.pos[(0, 1)] == [100, 300, 0] and ref.count["events"] == 1


def test_random_against_reference_with_backpressure():
    rng = random.Random(2)
    items, t = [], 0
    for _ in range(400):
        t += rng.choice([0, 1, 100, 1000, 4000])
        kind = rng.choice([0, 0, 0, 1, 2, 3])
        c = checked(rng, t, kind=kind, ok_idx=rng.random() < 0.95,
                    reason=rng.choice([0] * 8 + [3]), burst0=rng.random() < 0.05,
                    credit=rng.choice([10 ** 5, 10 ** 6]), long=rng.choice([100, 500]),
                    order=dict(clordid=rng.randrange(8)) if rng.random() < 0.1 else {})
        items.append((rng.random() < 0.9, c))
    n = 700
    got, ref = run(items, [rng.random() < 0.8 for _ in range(n)],
                   [rng.random() < 0.8 for _ in range(n)])
    assert set(v.reason for v in got["verdicts"]) == {0, 3, 9, 10, 11, 12}
    assert ref.count["events"] > 20 and ref.count["event_errors"] > 10
