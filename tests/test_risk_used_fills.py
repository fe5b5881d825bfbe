"""RiskGate: long_used and short_used after every order, fill and cancel.

The gate keeps, per (account, slot), the position, the open buy and open sell
quantities and the two sums the position check compares (rtl/risk/layouts.py,
rtl/risk/exposure.py):

    long_used  = position + open buys
    short_used = open sells - position

so an accepted buy books long_used, an accepted sell (or short) books short_used; a
buy fill moves the position up and releases open buys (long_used unchanged,
short_used down), a sell fill moves it down and releases open sells (short_used
unchanged, long_used down), a buy cancel releases long_used, a sell cancel
short_used. A swap of the two sums' deltas for fills or for cancels once passed every
other risk test: the position check only sees it near a limit. Here each event is
played on the gate's ports and the state entry is read straight from the gate's
state RAM after it, against values worked out by hand from the definitions above
(and checked against the reference model, tickwire/model/risk.py). The scripts start
flat, from a long and from a short position, and fill through zero both ways; a last
test plays the position check at its limit after fills and cancels.
"""
import pytest

from clocked import simulate
from tickwire.model.limits import Account, Limits, Symbol, encode
from tickwire.model.risk import BookState, RiskModel
from tickwire.rtl.risk import exposure as exposure_mod
from tickwire.rtl.risk.gate import RiskGate

ACCOUNTS, SLOTS = 2, 2
BUY, SELL, SHORT = 0, 1, 2
ORDER, FILL, CANCEL = 0, 1, 2
PRICE = 1_000_000
BID, ASK = 999_900, 1_000_100
LONG_LIMIT, SHORT_LIMIT = 600, 600       # above every used value below
MAX_QTY = 2000

# Each step: (kind, side, qty, expected (position, open buys, open sells, long_used,
# short_used) of the entry afterwards). Hand-computed, step by step.
#
# Account 0, slot 0: flat -> buys -> long -> sells through zero -> short -> buys
# through zero -> long.
SCRIPT_A = [
    # flat: buy order, partial and full fills
    (ORDER, BUY, 100,   (0, 100, 0, 100, 0)),
    (FILL, BUY, 30,     (30, 70, 0, 100, -30)),       # buy fill: lu same, su -30
    (FILL, BUY, 70,     (100, 0, 0, 100, -100)),      # full fill: long 100
    # long 100: buy order, partial and full cancel
    (ORDER, BUY, 50,    (100, 50, 0, 150, -100)),
    (CANCEL, BUY, 20,   (100, 30, 0, 130, -100)),     # buy cancel: lu -20, su same
    (CANCEL, BUY, 30,   (100, 0, 0, 100, -100)),
    # long 100: sell order, partial fill, cancel of the rest
    (ORDER, SELL, 40,   (100, 0, 40, 100, -60)),
    (FILL, SELL, 15,    (85, 0, 25, 85, -60)),        # sell fill: lu -15, su same
    (CANCEL, SELL, 25,  (85, 0, 0, 85, -85)),         # sell cancel: su -25, lu same
    # long 85: a sell filled through zero
    (ORDER, SELL, 200,  (85, 0, 200, 85, 115)),
    (FILL, SELL, 120,   (-35, 0, 80, -35, 115)),      # 85 -> -35: crosses zero
    (FILL, SELL, 80,    (-115, 0, 0, -115, 115)),     # full fill: short 115
    # short 115: short-sell order, fill, cancel
    (ORDER, SHORT, 60,  (-115, 0, 60, -115, 175)),
    (FILL, SHORT, 10,   (-125, 0, 50, -125, 175)),
    (CANCEL, SHORT, 50, (-125, 0, 0, -125, 125)),
    # short 125: buy order, partial cancel, fill through zero, full fill
    (ORDER, BUY, 300,   (-125, 300, 0, 175, 125)),
    (CANCEL, BUY, 40,   (-125, 260, 0, 135, 125)),
    (FILL, BUY, 200,    (75, 60, 0, 135, -75)),       # -125 -> 75: crosses zero
    (FILL, BUY, 60,     (135, 0, 0, 135, -135)),
]

# Account 1, slot 1: flat -> sells -> short; both sides open at once, each side's
# fill and cancel with the other side's order still open.
SCRIPT_B = [
    (ORDER, SELL, 80,   (0, 0, 80, 0, 80)),
    (FILL, SELL, 50,    (-50, 0, 30, -50, 80)),       # flat -> short 50
    (FILL, SELL, 30,    (-80, 0, 0, -80, 80)),
    (ORDER, BUY, 30,    (-80, 30, 0, -50, 80)),
    (ORDER, SELL, 40,   (-80, 30, 40, -50, 120)),
    (FILL, BUY, 10,     (-70, 20, 40, -50, 110)),     # buy fill with sells open
    (CANCEL, SELL, 15,  (-70, 20, 25, -50, 95)),      # sell cancel with buys open
    (FILL, SELL, 25,    (-95, 20, 0, -75, 95)),       # sell fill with buys open
    (CANCEL, BUY, 20,   (-95, 0, 0, -95, 95)),        # buy cancel
    (ORDER, BUY, 500,   (-95, 500, 0, 405, 95)),
    (ORDER, SHORT, 7,   (-95, 500, 7, 405, 102)),
    (FILL, BUY, 400,    (305, 100, 7, 405, -298)),    # short 95 -> long 305, sells open
    (CANCEL, SHORT, 7,  (305, 100, 0, 405, -305)),
    (FILL, BUY, 100,    (405, 0, 0, 405, -405)),
]

SCRIPTS = [((0, 0), SCRIPT_A), ((1, 1), SCRIPT_B)]


def _probes(want, n):
    """Orders aimed at the position check after a row `want`: one over the long
    headroom (LONG_LIMIT - long_used) and one over the short headroom (SHORT_LIMIT -
    short_used), both rejected (reason 10, position); then each headroom exactly,
    accepted and cancelled again. Sell and short alternate (`n`): the check treats
    them alike. Yields (kind, side, qty, expected reason or None for a cancel)."""
    lu, su = want[3], want[4]
    sell = (SELL, SHORT)[n % 2]
    yield ORDER, BUY, LONG_LIMIT - lu + 1, 10
    yield ORDER, sell, SHORT_LIMIT - su + 1, 10
    yield ORDER, BUY, LONG_LIMIT - lu, 0
    yield CANCEL, BUY, LONG_LIMIT - lu, None
    yield ORDER, sell, SHORT_LIMIT - su, 0
    yield CANCEL, sell, SHORT_LIMIT - su, None


def _limits():
    acct = dict(enabled=True, max_notional=10**13, credit=10**15, rate_interval_ns=1,
                rate_burst=60_000, dup_window_ns=0)
    return Limits(
        symbols=[Symbol(name=f"S{s}", max_qty=MAX_QTY, collar=10_000) for s in range(SLOTS)],
        accounts=[Account(name=f"A{a}", positions={s: (LONG_LIMIT, SHORT_LIMIT)
                                                   for s in range(SLOTS)}, **acct)
                  for a in range(ACCOUNTS)])


def test_hand_values_follow_the_definitions():
    """The hand-computed rows: open quantities follow the events, long_used =
    position + open buys, short_used = open sells - position."""
    for _, script in SCRIPTS:
        pos = ob = os_ = 0
        for kind, side, q, want in script:
            buy = side == BUY
            if kind == ORDER:
                ob, os_ = (ob + q, os_) if buy else (ob, os_ + q)
            else:
                ob, os_ = (ob - q, os_) if buy else (ob, os_ - q)
                if kind == FILL:
                    pos += q if buy else -q
            assert want == (pos, ob, os_, pos + ob, os_ - pos)


def test_reference_model_agrees_with_hand_values():
    m = RiskModel(accounts=ACCOUNTS, slots=SLOTS)
    m.commit(_limits())
    book = BookState(bid_px=BID, bid_qty=100, ask_px=ASK, ask_qty=100)
    cid = 1
    for (a, s), script in SCRIPTS:
        for kind, side, q, want in script:
            if kind == ORDER:
                assert m.order(cid, a, s, side, q, PRICE, cid, book) == 0
                cid += 1
            else:
                assert m.event(kind, a, s, side, q, PRICE)
            p, ob, os_ = m.pos[(a, s)]
            assert (p, ob, os_, p + ob, os_ - p) == want, (kind, side, q)
            for pk, ps, pq, reason in _probes(want, cid):
                if pk == ORDER:
                    assert m.order(cid, a, s, ps, pq, PRICE, cid, book) == reason
                    cid += 1
                else:
                    assert m.event(pk, a, s, ps, pq, PRICE)
            assert m.pos[(a, s)] == list(want[:3])
    assert m.event_errors == 0


class _Gate:
    """The bench's view of a RiskGate(ACCOUNTS, SLOTS): limits loaded and committed,
    a book on every slot, then one order or event at a time."""

    def __init__(self, ctx, dut):
        self.ctx, self.dut, self.cid, self.t = ctx, dut, 1, 0
        self.events = self.event_errors = 0

    async def tick(self, n=1):
        for _ in range(n):
            self.events += self.ctx.get(self.dut.ev_events)
            self.event_errors += self.ctx.get(self.dut.ev_event_errors)
            self.t += 10
            self.ctx.set(self.dut.now_ns, self.t)
            await self.ctx.tick()

    async def setup(self, limits=None):
        ctx, dut = self.ctx, self.dut
        ctx.set(dut.verdicts.ready, 1)
        ctx.set(dut.accepted.ready, 1)
        await self.tick(ACCOUNTS * SLOTS + 2)           # state clearing after reset
        for name, words in encode(limits or _limits(), accounts=ACCOUNTS,
                                  slots=SLOTS).items():
            port = getattr(dut, f"w_{name}")
            for addr, w in enumerate(words):
                ctx.set(port.addr, addr)
                ctx.set(port.w_data, w)
                ctx.set(port.w_stb, 1)
                await self.tick()
            ctx.set(port.w_stb, 0)
        for s in range(SLOTS):
            ctx.set(dut.bbo.valid, 1)
            for k, v in dict(slot=s, locate=s + 1, bid_px=BID, bid_qty=100, ask_px=ASK,
                             ask_qty=100).items():
                ctx.set(getattr(dut.bbo.payload, k), v)
            await self.tick()
        ctx.set(dut.bbo.valid, 0)
        await self.tick(8)                              # collar bounds recomputed
        ctx.set(dut.stb_commit, 1)
        await self.tick()
        ctx.set(dut.stb_commit, 0)
        await self.tick(8)

    async def order(self, account, slot, side, qty):
        """One order; returns its verdict's reason (0 = accepted), after its write."""
        ctx, dut = self.ctx, self.dut
        cid, self.cid = self.cid, self.cid + 1
        for k, v in dict(clordid=cid, account=account, slot=slot, side=side, qty=qty,
                         price=PRICE).items():
            ctx.set(getattr(dut.orders.payload, k), v)
        ctx.set(dut.orders.valid, 1)
        await self._handshake(dut.orders)
        for _ in range(20):
            if ctx.get(dut.verdicts.valid):
                v = ctx.get(dut.verdicts.payload)
                assert v.clordid == cid
                await self.tick()
                return v.reason
            await self.tick()
        raise AssertionError("no verdict")

    async def event(self, kind, account, slot, side, qty):
        ctx, dut = self.ctx, self.dut
        for k, v in dict(kind=kind, clordid=self.cid, account=account, slot=slot, side=side,
                         qty=qty, price=PRICE).items():
            ctx.set(getattr(dut.events.payload, k), v)
        ctx.set(dut.events.valid, 1)
        await self._handshake(dut.events)
        await self.tick(8)                              # through to the state write

    async def _handshake(self, port):
        for _ in range(20):
            if self.ctx.get(port.ready):
                await self.tick()
                self.ctx.set(port.valid, 0)
                return
            await self.tick()
        raise AssertionError("not taken")


@pytest.fixture
def slot_state(monkeypatch):
    """Record the gate's state memories as it elaborates; returns a reader of one
    (account, slot) entry: (position, open buys, open sells, long_used, short_used)."""
    made = []
    real = exposure_mod.Memory

    def recording(*args, **kwargs):
        mem = real(*args, **kwargs)
        made.append(mem)
        return mem

    monkeypatch.setattr(exposure_mod, "Memory", recording)
    sbits = max((SLOTS - 1).bit_length(), 1)

    def read(ctx, account, slot):
        # the slot state is kept in banks of equal depth (rtl/risk/exposure.py)
        banks = [m for m in made if m.shape is exposure_mod._Slot]
        i, depth = account << sbits | slot, banks[0].depth
        e = ctx.get(banks[i // depth].data[i % depth])
        return (e.pos, e.ob, e.os, e.lu, e.su)
    return read


async def _walk(ctx, dut):
    """Set the gate up, then play SCRIPTS step by step (an order, accepted, or a
    fill/cancel event), yielding (gate, account, slot, step, kind, side, qty, want)
    after each."""
    g = _Gate(ctx, dut)
    await g.setup()
    for (a, s), script in SCRIPTS:
        for i, (kind, side, q, want) in enumerate(script):
            if kind == ORDER:
                assert await g.order(a, s, side, q) == 0, (a, s, i)
            else:
                await g.event(kind, a, s, side, q)
            yield g, a, s, i, kind, side, q, want


def test_used_after_orders_fills_and_cancels(slot_state):
    dut, seen = RiskGate(ACCOUNTS, SLOTS, 4), []

    async def bench(ctx):
        async for g, a, s, i, kind, side, q, want in _walk(ctx, dut):
            got = slot_state(ctx, a, s)
            assert got == want, \
                f"entry ({a}, {s}) step {i} {('order', 'fill', 'cancel')[kind]} " \
                f"side {side} qty {q}: (pos, ob, os, long_used, short_used) " \
                f"{got} != {want}"
            seen.append((kind, side == BUY))
        # the other entries were never touched
        for a in range(ACCOUNTS):
            for s in range(SLOTS):
                if (a, s) not in dict(SCRIPTS):
                    assert slot_state(ctx, a, s) == (0, 0, 0, 0, 0)
        n_events = sum(kind != ORDER for _, script in SCRIPTS for kind, *_ in script)
        assert (g.events, g.event_errors) == (n_events, 0)
    simulate(dut, bench)
    assert set(seen) == {(k, b) for k in (ORDER, FILL, CANCEL) for b in (True, False)}


def test_position_check_at_the_limit_after_each_event():
    """The same scripts on the ports only (no look inside): after every step the
    position check rejects one share over each headroom the hand rows give and
    accepts exactly it."""
    dut, probes = RiskGate(ACCOUNTS, SLOTS, 4), []

    async def bench(ctx):
        g = None
        async for g, a, s, i, kind, side, q, want in _walk(ctx, dut):
            for pk, ps, pq, reason in _probes(want, i):
                if pk == ORDER:
                    got = await g.order(a, s, ps, pq)
                    assert got == reason, \
                        f"entry ({a}, {s}) after step {i} " \
                        f"{('order', 'fill', 'cancel')[kind]} side {side} qty {q} " \
                        f"(long_used {want[3]}, short_used {want[4]}): " \
                        f"{('buy', 'sell', 'short')[ps]} {pq} got reason {got}, " \
                        f"expected {reason}"
                    probes.append(reason)
                else:
                    await g.event(pk, a, s, ps, pq)
        assert g is not None and g.event_errors == 0
    simulate(dut, bench)
    assert probes.count(10) == probes.count(0) > 60


@pytest.mark.parametrize("side,release", [(BUY, 99), (BUY, 100), (BUY, 101),
                                          (SELL, 50), (SELL, 51)])
def test_a_release_right_behind_its_order(slot_state, side, release):
    """An order and, in the next cycle, a cancel on the same entry: the cancel's
    clamp (more released than is open) is decided against the open quantity the order
    has just booked, which is still in the state stage (rtl/risk/exposure.py
    `beyond`, from qty less the order's delta made a stage earlier, checks.py): a
    cancel of up to the order's qty is not an event error, one more is, and is clamped
    to zero. (A wrong delta there passed every other test: they play one event at a
    time.)"""
    dut = RiskGate(ACCOUNTS, SLOTS, 4)
    booked = 100 if side == BUY else 50
    acct, slot = 1, 0

    async def bench(ctx):
        g = _Gate(ctx, dut)
        await g.setup()
        for k, v in dict(clordid=g.cid, account=acct, slot=slot, side=side, qty=booked,
                         price=PRICE).items():
            ctx.set(getattr(dut.orders.payload, k), v)
        for k, v in dict(kind=CANCEL, clordid=g.cid, account=acct, slot=slot, side=side,
                         qty=release, price=PRICE).items():
            ctx.set(getattr(dut.events.payload, k), v)
        ctx.set(dut.orders.valid, 1)
        taken = []
        for _ in range(20):                     # the order first, the cancel right after
            o_rdy, e_rdy = ctx.get(dut.orders.ready), ctx.get(dut.events.ready)
            o_v, e_v = ctx.get(dut.orders.valid), ctx.get(dut.events.valid)
            await g.tick()
            if o_v and o_rdy:
                taken.append(("order", g.t))
                ctx.set(dut.orders.valid, 0)
                ctx.set(dut.events.valid, 1)
            elif e_v and e_rdy:
                taken.append(("event", g.t))
                ctx.set(dut.events.valid, 0)
                break
        assert [k for k, _ in taken] == ["order", "event"]
        assert taken[1][1] - taken[0][1] == 10, "the cancel was not taken the next cycle"
        await g.tick(12)
        pos, ob, os_, lu, su = slot_state(ctx, acct, slot)
        left = max(booked - release, 0)
        if side == BUY:
            assert (pos, ob, os_, lu, su) == (0, left, 0, left, 0)
        else:
            assert (pos, ob, os_, lu, su) == (0, 0, left, 0, left)
        assert (g.events, g.event_errors) == (1, int(release > booked))
    simulate(dut, bench)


@pytest.mark.parametrize("check", ["credit", "position"])
@pytest.mark.parametrize("spare", [-1, 0])
def test_an_order_right_behind_another_sees_what_it_booked(check, spare):
    """Two buys on one account (and, for the position check, one slot) in consecutive
    cycles, the limit at their joint amount (`spare` 0: the second fits exactly) or one
    below it (-1: the second is over: reason 9 credit, 10 position): the second's check
    adds the first one's notional or qty, which is only in the state stage
    (rtl/risk/outcomes.py `acc`, from thresholds less it made in stage 2, checks.py).
    Verdicts as the reference model's."""
    dut = RiskGate(ACCOUNTS, SLOTS, 4)
    q1, q2 = 300, 200
    lim = _limits()
    if check == "credit":
        probe = RiskModel(accounts=ACCOUNTS, slots=SLOTS)
        probe.commit(lim)
        book = BookState(bid_px=BID, bid_qty=100, ask_px=ASK, ask_qty=100)
        assert probe.order(1, 0, 0, BUY, q1, PRICE, 1, book) == 0
        lim.accounts[0].credit = probe.open[0] * (q1 + q2) // q1 + spare   # both at PRICE
        slots = (0, 1)
    else:
        lim.accounts[0].positions[0] = (q1 + q2 + spare, SHORT_LIMIT)
        slots = (0, 0)
    model = RiskModel(accounts=ACCOUNTS, slots=SLOTS)
    model.commit(lim)
    book = BookState(bid_px=BID, bid_qty=100, ask_px=ASK, ask_qty=100)
    want = [model.order(c, 0, s, BUY, q, PRICE, c, book)
            for c, s, q in ((1, slots[0], q1), (2, slots[1], q2))]
    assert want == [0, (9 if check == "credit" else 10) if spare < 0 else 0]

    async def bench(ctx):
        g = _Gate(ctx, dut)
        await g.setup(lim)
        orders = [dict(clordid=1, account=0, slot=slots[0], side=BUY, qty=q1, price=PRICE),
                  dict(clordid=2, account=0, slot=slots[1], side=BUY, qty=q2, price=PRICE)]
        got, taken = {}, []
        ctx.set(dut.orders.valid, 1)
        for k, v in orders[0].items():
            ctx.set(getattr(dut.orders.payload, k), v)
        for _ in range(40):
            rdy = ctx.get(dut.orders.ready) and ctx.get(dut.orders.valid)
            if ctx.get(dut.verdicts.valid):
                v = ctx.get(dut.verdicts.payload)
                got[v.clordid] = v.reason
            await g.tick()
            if rdy:
                taken.append(g.t)
                if len(taken) == 1:
                    for k, v in orders[1].items():
                        ctx.set(getattr(dut.orders.payload, k), v)
                else:
                    ctx.set(dut.orders.valid, 0)
        assert taken[1] - taken[0] == 10, "the second order was not taken the next cycle"
        assert [got.get(1), got.get(2)] == want
    simulate(dut, bench)
