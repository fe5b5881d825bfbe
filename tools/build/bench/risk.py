"""Risk gate section: order-in to verdict latency and the sustained order rate.

The gate (rtl/risk/gate.py) runs alone under cocotb + Verilator, because the core
feeds it orders only through a register window (one order per several bus cycles),
which would measure the bus, not the gate. This module is both the benchmark and
the cocotb bench it runs (`cocotb_orders`): limits loaded through the windows, one
BBO per slot, then one order offered every cycle. Latency is counted from the cycle
an order handshakes (valid & ready) to the cycle its verdict is valid; the verdicts
are checked against the reference model so the run is not timing garbage.
"""
import json
import os
import random
import sys
import tempfile
from pathlib import Path

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from tickwire.tools.engines.risk_tb import start_gate

from . import Result, record_latency

CLOCK_MHZ = 156.25
NS_PER_CYCLE = 1000 / CLOCK_MHZ
N_ORDERS = 2000
#: Published comparison (Fixnetix iX-eCute, 20+ pre-trade checks), for the report.
FIXNETIX_NS = 740
_WINDOWS = ("order", "last_rejects", "acct_limits", "sym_limits", "pos_limits")


def make_limits(rng):
    """Limits that let a share of orders through and trip every other check."""
    from tickwire.model.limits import Account, Limits, Symbol
    from tickwire.rtl.config import BUILDS
    ACCOUNTS, SLOTS = BUILDS["sim"].risk_accounts, BUILDS["sim"].risk_slots
    syms = [Symbol(name=f"S{i}", max_qty=rng.choice([100, 500, 5000]),
                   collar=rng.randint(0, 20) * 100, restricted=(i == SLOTS - 1))
            for i in range(SLOTS)]
    accts = []
    for i in range(ACCOUNTS):
        a = Account(name=f"A{i}", enabled=(i != ACCOUNTS - 1), max_notional=2 * 10**10,
                    credit=10**11, rate_interval_ns=rng.choice([7, 50]), rate_burst=30,
                    dup_window_ns=rng.choice([0, 200]))
        a.positions = {s: (20000, 5000) for s in range(SLOTS)}
        accts.append(a)
    return Limits(symbols=syms, accounts=accts)


def make_books(rng, slots):
    return [dict(slot=s, bid_px=1_000_000 - 100 * rng.randint(1, 5), bid_qty=100,
                 ask_px=1_000_000 + 100 * rng.randint(1, 5), ask_qty=100, halted=int(s == 2),
                 unreliable=0) for s in range(slots)]


def make_orders(rng, n, accounts, slots):
    return [dict(clordid=1000 + i, account=rng.randrange(accounts), slot=rng.randrange(slots),
                 side=rng.randrange(3), tif=0, qty=rng.choice([1, 10, 100, 600, 6000]),
                 price=1_000_000 + 100 * rng.randint(-30, 30)) for i in range(n)]


def latency_stats(entries, verdicts):
    """Per-order latency (verdict cycle - entry cycle) from {clordid: cycle} and
    [(clordid, cycle)]; raises if a verdict has no entry or comes out of order."""
    order = sorted(entries, key=entries.get)
    got = [c for c, _ in verdicts]
    if got != order:
        raise RuntimeError(f"verdicts out of order or missing: {len(got)} of {len(order)}")
    return [cyc - entries[c] for c, cyc in verdicts]


# ------------------------------------------------------------------ the cocotb bench
@cocotb.test()
async def cocotb_orders(dut):
    """Drive the scenario of RISK_BENCH_IN; write cycles and verdicts to RISK_BENCH_OUT."""
    from tickwire.rtl.layouts import BboUpdate, Order, Verdict
    spec = json.loads(Path(os.environ["RISK_BENCH_IN"]).read_text())
    await start_gate(dut)
    cycle = 0
    t0 = spec["t0"]

    async def tick():
        nonlocal cycle
        await RisingEdge(dut.clk)
        cycle += 1
        t = t0 + cycle * 7
        dut.now.value = (t // 10**9) << 32 | t % 10**9
        dut.now_ns.value = t

    for name, words in spec["tables"].items():
        for addr, word in enumerate(words):
            await tick()
            getattr(dut, f"w_{name}__addr").value = addr
            getattr(dut, f"w_{name}__w_data").value = word
            getattr(dut, f"w_{name}__w_stb").value = 1
        await tick()
        getattr(dut, f"w_{name}__w_stb").value = 0
    dut.stb_commit.value = 1
    await tick()
    dut.stb_commit.value = 0
    for b in spec["books"]:
        dut.bbo__payload.value = BboUpdate.const(b).as_bits()
        dut.bbo__valid.value = 1
        await tick()
    dut.bbo__valid.value = 0
    for _ in range(4):          # the book reaches the gate's table 3 cycles after its update
        await tick()

    orders, i = spec["orders"], 0
    entries, verdicts, offered, taken = {}, [], 0, 0
    idle = 0
    while len(verdicts) < len(orders):
        await tick()
        dut.orders__valid.value = i < len(orders)
        if i < len(orders):
            dut.orders__payload.value = Order.const(orders[i]).as_bits()
        await ReadOnly()
        if i < len(orders):
            offered += 1
            if int(dut.orders__ready.value):
                entries[orders[i]["clordid"]] = cycle
                taken += 1
                i += 1
        if int(dut.verdicts__valid.value):
            v = Verdict.from_bits(int(dut.verdicts__payload.value))
            verdicts.append((v["clordid"], cycle, v["reason"],
                             v["ts"]["sec"] * 10**9 + v["ts"]["ns"]))
            idle = 0
        idle += 1
        assert idle < 64, "gate stopped giving verdicts"
    Path(os.environ["RISK_BENCH_OUT"]).write_text(json.dumps(
        {"entries": entries, "verdicts": verdicts, "offered": offered, "taken": taken}))


# ------------------------------------------------------------------ the benchmark
def run_gate(seed=3, n=N_ORDERS):
    """Run the cocotb bench; returns (spec, out) with the measured cycles."""
    from tickwire.model.limits import encode
    from tickwire.rtl.config import BUILDS
    ACCOUNTS, SLOTS = BUILDS["sim"].risk_accounts, BUILDS["sim"].risk_slots
    from tickwire.rtl.risk import RiskGate
    from tickwire.tools.build.simrun import run_cocotb
    rng = random.Random(seed)
    limits = make_limits(rng)
    spec = {"t0": 34_200_000_000_000, "tables": encode(limits, accounts=ACCOUNTS, slots=SLOTS),
            "books": make_books(rng, SLOTS), "orders": make_orders(rng, n, ACCOUNTS, SLOTS)}
    with tempfile.TemporaryDirectory(prefix="twrisk-") as tmp:
        sin, sout = Path(tmp) / "in.json", Path(tmp) / "out.json"
        sin.write_text(json.dumps(spec))
        stdout, sys.stdout = sys.stdout, sys.stderr      # cocotb chatter off the report
        try:
            run_cocotb(RiskGate(), "risk_gate", "tickwire.tools.build.bench.risk", Path(tmp),
                       extra_env={"RISK_BENCH_IN": str(sin), "RISK_BENCH_OUT": str(sout)},
                       testcase="cocotb_orders")
        finally:
            sys.stdout = stdout
        if not sout.exists():
            raise RuntimeError("the risk bench simulation wrote no results")
        out = json.loads(sout.read_text())
    return limits, spec, out


def model_disagreements(limits, spec, verdicts):
    """Verdicts the reference model would give differently (same order, same `now`)."""
    from tickwire.model.risk import BookState, RiskModel
    from tickwire.rtl.config import BUILDS
    ACCOUNTS, SLOTS = BUILDS["sim"].risk_accounts, BUILDS["sim"].risk_slots
    m = RiskModel(ACCOUNTS, SLOTS, limits=limits)
    books = {b["slot"]: BookState(b["bid_px"], b["bid_qty"], b["ask_px"], b["ask_qty"],
                                  bool(b["halted"]), False) for b in spec["books"]}
    by_id = {o["clordid"]: o for o in spec["orders"]}
    bad = []
    for clordid, _cyc, reason, ts in verdicts:
        o = by_id[clordid]
        want = m.order(clordid, o["account"], o["slot"], o["side"], o["qty"], o["price"], ts,
                       books.get(o["slot"], BookState()))
        if want != reason:
            bad.append((clordid, reason, want))
    return bad


def bench_risk():
    """Risk gate: order in to verdict latency (cycles from the order's handshake to its
    verdict) and orders accepted per cycle with one offered every cycle, from a
    cocotb + Verilator run of RiskGate, verdicts checked against tickwire.model.risk."""
    from tickwire.model.risk import REASONS
    from tickwire.tools.replay import summary
    limits, spec, out = run_gate()
    entries = {int(k): v for k, v in out["entries"].items()}
    lat = latency_stats(entries, [(c, cyc) for c, cyc, _r, _t in out["verdicts"]])
    s = summary(lat)
    record_latency("order_to_verdict", lat, f"RiskGate, {len(lat)} random orders offered one "
                   f"per cycle (cocotb + Verilator)")
    bad = model_disagreements(limits, spec, out["verdicts"])
    reasons = sorted({REASONS[r] for _c, _cy, r, _t in out["verdicts"]})
    n = len(spec["orders"])
    method = (f"cocotb+Verilator RiskGate, {n} random orders offered one per cycle, "
              f"verdict ready always; reasons seen: {', '.join(reasons)}")
    res = [Result(f"order -> verdict latency {k}", 5, s[k], "cycles", method, better="lower")
           for k in ("min", "p50", "p99", "max")]
    res.append(Result("order -> verdict latency max (ns at 156.25 MHz)", None,
                      round(s["max"] * NS_PER_CYCLE, 1), "ns",
                      f"published: {FIXNETIX_NS} ns for 20+ checks (Fixnetix iX-eCute); "
                      f"this gate runs {len(REASONS) - 1} checks", better="lower"))
    res.append(Result("orders accepted per cycle, one offered per cycle", 1.0,
                      round(out["taken"] / out["offered"], 4), "orders/cycle",
                      f"{out['taken']} handshakes over {out['offered']} offered cycles"))
    res.append(Result("verdicts differing from the reference model", 0, len(bad), "verdicts",
                      "tickwire.model.risk on the same orders with each verdict's entry `now`"
                      + (f"; first: clordid {bad[0][0]} rtl {REASONS[bad[0][1]]} model "
                         f"{REASONS[bad[0][2]]}" if bad else ""), better="lower"))
    return res
