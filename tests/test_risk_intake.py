"""RiskIntake: the order port first, then the host's staged order, then host events;
a second submit while one is pending is dropped; per-account kill switch."""
import random

from clocked import put, simulate
from tickwire.rtl.risk.intake import RiskIntake

ACCOUNTS, SLOTS = 4, 8


def order(rng):
    return dict(clordid=rng.randrange(1 << 64), account=rng.randrange(ACCOUNTS + 2),
                slot=rng.randrange(SLOTS + 2), side=rng.randrange(3), tif=rng.randrange(4),
                qty=rng.randrange(1 << 32), price=rng.randrange(1 << 32))


def staged_words(o):
    """The order window's words (docs/registers.md, risk.order)."""
    return [o["clordid"] & 0xFFFFFFFF, o["clordid"] >> 32,
            o["account"] | o["slot"] << 8 | o["side"] << 16 | o["tif"] << 18,
            o["qty"], o["price"], 0, 0, 0]


def run(steps):
    """steps: dicts with order, event, submit=(kind, order), ready, hold, kill, kill_accounts.
    Returns what came out each cycle: (kind, order, kill) or None."""
    dut = RiskIntake(ACCOUNTS, SLOTS, 8)
    out, drops = [], [0]

    async def bench(ctx):
        pending = staged = None             # reference: submitted kind, window contents
        for t, st in enumerate(steps):
            ctx.set(dut.window.w_stb, 0)
            for sig in (dut.orders.valid, dut.events.valid, dut.o.ready, dut.submit):
                ctx.set(sig, 0)
            for i, w in enumerate(staged_words(st["submit"][1]) if "submit" in st else []):
                ctx.set(dut.window.addr, i)
                ctx.set(dut.window.w_stb, 1)
                ctx.set(dut.window.w_data, w)
                await ctx.tick()
            ctx.set(dut.window.w_stb, 0)
            if "submit" in st:
                staged = st["submit"][1]
            ctx.set(dut.submit, "submit" in st)
            ctx.set(dut.submit_kind, st["submit"][0] if "submit" in st else 0)
            ready, hold = st.get("ready", 1), st.get("hold", 0)
            o, e = st.get("order"), st.get("event")
            ctx.set(dut.orders.valid, o is not None)
            put(ctx, dut.orders.payload, o or {})
            ctx.set(dut.events.valid, e is not None)
            put(ctx, dut.events.payload, e or {})
            ctx.set(dut.o.ready, ready)
            ctx.set(dut.hold, hold)
            ctx.set(dut.kill, st.get("kill", 0))
            ctx.set(dut.kill_accounts, st.get("kill_accounts", 0))
            ctx.set(dut.tripped, 0)
            ctx.set(dut.now.ns, t)
            # reference
            if o is not None:
                want, kind = o, 0
            elif pending is not None:
                want, kind = staged, pending
            elif e is not None:
                want = {k: v for k, v in e.items() if k != "kind"}
                kind = 3 if e["kind"] == 0 else e["kind"]
            else:
                want = kind = None
            take = ready and not hold
            assert ctx.get(dut.orders.ready) == take
            assert ctx.get(dut.events.ready) == (take and o is None and pending is None
                                                  and e is not None)
            assert ctx.get(dut.o.valid) == (want is not None and not hold)
            got = None
            if want is not None and not hold:
                p = ctx.get(dut.o.payload)
                got_order = {k: getattr(p.order, k) for k in want}
                assert got_order == want
                kill = st.get("kill", 0) or (want["account"] < ACCOUNTS
                                             and st.get("kill_accounts", 0) >> want["account"] & 1)
                assert (p.kind, p.kill, p.acct_ok, p.slot_ok, p.ts.ns) == (
                    kind, bool(kill), want["account"] < ACCOUNTS, want["slot"] < SLOTS, t)
                got = (kind, want["clordid"], bool(kill)) if take else None
            out.append(got)
            taken_host = take and o is None and pending is not None
            if "submit" in st:
                if pending is not None and not taken_host:
                    assert ctx.get(dut.host_dropped)
                    drops[0] += 1
                else:
                    pending = st["submit"][0]
            elif taken_host:
                pending = None
            await ctx.tick()
            assert ctx.get(dut.host_pending) == (pending is not None)
    simulate(dut, bench)
    return out, drops[0]


def test_priority_order_then_host_then_event():
    rng = random.Random(1)
    o1, o2, h = order(rng), order(rng), order(rng)
    ev = dict(order(rng), kind=2)
    ev.pop("tif")
    out, drops = run([{"order": o1, "event": ev, "submit": (0, h)}, {"order": o2, "event": ev},
                      {"event": ev}, {"event": ev}])
    assert [x[1] for x in out] == [o1["clordid"], o2["clordid"], h["clordid"], ev["clordid"]]
    assert drops == 0


def test_submit_while_pending_is_dropped_and_hold_takes_nothing():
    rng = random.Random(2)
    a, b = order(rng), order(rng)
    out, drops = run([{"submit": (1, a), "hold": 1}, {"submit": (2, b), "hold": 1},
                      {"ready": 0}, {}])
    # the dropped submit's kind is lost; its words did overwrite the window
    assert drops == 1 and out == [None, None, None, (1, b["clordid"], False)]


def test_kill_accounts_bit_of_the_orders_account():
    rng = random.Random(3)
    o = dict(order(rng), account=2)
    out, _ = run([{"order": o, "kill_accounts": 0b0100}, {"order": o, "kill_accounts": 0b1011},
                  {"order": dict(o, account=5), "kill_accounts": 0xF}])
    assert [x[2] for x in out] == [True, False, False]


def test_random_against_reference():
    rng = random.Random(4)
    steps = []
    for _ in range(300):
        st = {"ready": rng.random() < 0.8, "hold": rng.random() < 0.05,
              "kill": rng.random() < 0.05, "kill_accounts": rng.randrange(16)}
        if rng.random() < 0.4:
            st["order"] = order(rng)
        if rng.random() < 0.5:
            e = dict(order(rng), kind=rng.randrange(4))
            e.pop("tif")
            st["event"] = e
        if rng.random() < 0.1:
            st["submit"] = (rng.randrange(3), order(rng))
        steps.append(st)
    out, drops = run(steps)
    kinds = {x[0] for x in out if x}
    assert kinds == {0, 1, 2, 3} and drops > 0
