"""Outcomes (rtl/risk/outcomes.py): the checks 9..11 decided for both outcomes of the
order ahead equal the checks made on the state that outcome leaves (tickwire/model/
risk.py: open + notional > credit, position + open + qty > limit, t_tau < tat with
tat' = (max(t, tat) + interval) mod 2**64), for random and extreme words, t_tau
given whole (rtl/risk/layouts.py `tau`, `tau_p`) and the position thresholds less the
order ahead's qty and the credit threshold less its notional (`nthr_*_p`)."""
import random

from amaranth.hdl import Module
from amaranth.sim import Simulator

from clocked import put
from tickwire.rtl.risk.layouts import TAU_W
from tickwire.rtl.risk.outcomes import Outcomes

M64 = (1 << 64) - 1


def _word(rng, bits, signed=False):
    v = rng.choice([0, 1, (1 << bits) - 1, rng.getrandbits(bits), rng.getrandbits(bits // 2)])
    if signed:
        v -= rng.choice([0, 1 << (bits - 1), rng.getrandbits(bits - 1)])
    return v


def _case(rng):
    q = _word(rng, 32)
    t, tat = _word(rng, 64), _word(rng, 64)
    if rng.random() < 0.3:                    # near the top: tat + interval wraps
        tat = M64 - rng.randrange(1 << 33)
    nxt = dict(order=dict(side=rng.randrange(3)), thr_credit=_word(rng, 65, True),
               thr_long=_word(rng, 33, True), thr_short=_word(rng, 33, True))
    # t_tau = t + (burst-1) x interval: from t - interval up to 2**64 + 2**48
    tau = rng.choice([_word(rng, 64), -rng.randrange(1 << 32), _word(rng, 64) + _word(rng, 48)])
    if rng.random() < 0.5:                    # t_tau close to the bucket under test
        tau = tat + rng.randrange(-2, 3)
    # tau = t_tau (mod 2**TAU_W), made whole in stage 2
    nxt["tau"] = tau % (1 << TAU_W)
    prev = dict(order=dict(side=rng.randrange(3), qty=q), notional=_word(rng, 64), t=t,
                interval=_word(rng, 32), t_iv=(t + 0) & M64)
    prev["t_iv"] = (t + prev["interval"]) & M64
    state = lambda: (dict(open=_word(rng, 64), tat=tat if rng.random() < 0.5 else _word(rng, 64)),
                     dict(lu=_word(rng, 65, True), su=_word(rng, 65, True)))
    (ba, bs), (pa, ps) = state(), state()
    if rng.random() < 0.5:                    # credit right at the limit
        nxt["thr_credit"] = pa["open"] + prev["notional"] + rng.randrange(-1, 2)
    # and t_tau less the order ahead's interval
    nxt["tau_p"] = (tau - prev["interval"]) % (1 << TAU_W)
    for k in ("credit", "long", "short"):     # the gate holds them complemented
        nxt[f"nthr_{k}"] = ~nxt.pop(f"thr_{k}")
    # and the position thresholds less the qty the order ahead books on its side
    # (made in stage 2 from the order in stage 3: rtl/risk/checks.py)
    pbuy = prev["order"]["side"] == 0
    nxt["nthr_long_p"] = nxt["nthr_long"] + (q if pbuy else 0)
    nxt["nthr_short_p"] = nxt["nthr_short"] + (0 if pbuy else q)
    nxt["nthr_credit_p"] = nxt["nthr_credit"] + prev["notional"]
    return nxt, prev, ba, bs, pa, ps


def _want(nxt, prev, ba, bs, pa, ps):
    buy, pbuy = nxt["order"]["side"] == 0, prev["order"]["side"] == 0
    nxt = dict(nxt, **{f"thr_{k}": ~nxt[f"nthr_{k}"] for k in ("credit", "long", "short")})
    q = prev["order"]["qty"]
    tau = nxt["tau"]
    tau -= (tau >> (TAU_W - 1)) << TAU_W      # signed
    pos = lambda lu, su: lu > nxt["thr_long"] if buy else su > nxt["thr_short"]
    tat2 = (max(prev["t"], pa["tat"]) + prev["interval"]) & M64
    rej = (ba["open"] > nxt["thr_credit"], pos(bs["lu"], bs["su"]), tau < ba["tat"])
    acc = (pa["open"] + prev["notional"] > nxt["thr_credit"],
           pos(ps["lu"] + (q if pbuy else 0), ps["su"] + (0 if pbuy else q)), tau < tat2)
    return rej, acc


def test_outcomes_equal_the_checks_on_each_resulting_state():
    rng = random.Random(13)
    dut = Outcomes()
    cases = [_case(rng) for _ in range(600)]
    m = Module()
    m.submodules.dut = dut
    sim = Simulator(m)
    seen = set()

    async def bench(ctx):
        for c in cases:
            nxt, prev, ba, bs, pa, ps = c
            for port, v in zip((dut.nxt, dut.prev, dut.base_a, dut.base_s, dut.prev_a,
                                dut.prev_s), c):
                put(ctx, port, v)
            # the order ahead's `late` (t > tat) comes registered from the gate's state
            # stage (rtl/risk/exposure.py), decided there from the same state
            ctx.set(dut.late, prev["t"] > pa["tat"])
            await ctx.delay(1e-9)
            rej, acc = _want(*c)
            got_r = tuple(bool(ctx.get(getattr(dut.rej, f))) for f in ("credit", "position", "rate"))
            got_a = tuple(bool(ctx.get(getattr(dut.acc, f))) for f in ("credit", "position", "rate"))
            assert (got_r, got_a) == (rej, acc), c
            seen.update((i, v) for i, v in enumerate(rej + acc))
    sim.add_testbench(bench)
    sim.run()
    assert len(seen) == 12          # every check seen failing and passing, both outcomes
