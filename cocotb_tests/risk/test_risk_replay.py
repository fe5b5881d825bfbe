"""`risk-replay`: the model and rtl engines write identical verdict files for a synthetic
session (book moving, halts, collars at the touch, an unknown account and symbol)."""
import argparse
import random
from collections import Counter

from tickwire.tools import risk_replay
from tickwire.tools.feeds import itch_file
from tickwire.tools.gen_itch import generate

LIMITS = """\
version: 1
symbols:
  - {symbol: AAPL, max_qty: 500, collar: 2 ticks}
  - {symbol: AMZN, max_qty: 500, collar: 5 bps}
  - {symbol: GOOG, max_qty: 500, collar: 0 ticks, allow_no_book: true}
  - {symbol: GOOGL, max_qty: 300, collar: 10 bps}
  - {symbol: META, max_qty: 500, collar: 0.05 usd, restricted: false}
  - {symbol: MSFT, max_qty: 500, collar: 1 ticks}
  - {symbol: NVDA, max_qty: 500, collar: 3 ticks, restricted: true}
accounts:
  - account: ACME
    enabled: true
    max_notional: 40000
    credit: 400000
    rate: {burst: 10, per_second: 100000}
    duplicate_window_ms: 1
    positions: {default: {long: 2000, short: 1000}}
  - account: BETA
    enabled: true
    max_notional: 10000
    credit: 50000
    rate: {burst: 3, per_second: 1000}
    positions: {default: {long: 300, short: 300}, MSFT: {long: 0, short: 0}}
  - account: OFF
"""


def _session(tmp_path, n_orders=500, seed=4):
    rng = random.Random(seed)
    msgs = generate(symbols=8, messages=4000, seed=seed)
    feed = itch_file.write(tmp_path / "feed.itch", msgs)
    names = {int.from_bytes(m[1:3], "big"): m[11:19].decode().strip()
             for m in msgs if m[:1] == b"R"}
    last_px = {}
    rows = ["after_seq,clordid,account,symbol,side,qty,price"]
    seqs = sorted(rng.randrange(len(msgs) + 1) for _ in range(n_orders))
    k = 0
    for i, m in enumerate(msgs, 1):
        if m[:1] in b"AF":
            last_px[names[int.from_bytes(m[1:3], "big")]] = int.from_bytes(m[32:36], "big")
        while k < n_orders and seqs[k] <= i:
            sym = rng.choice(list(names.values()) + ["ZZZZ"])
            px = last_px.get(sym, 1_000_000) + rng.choice([-300, -100, -1, 0, 1, 100, 300])
            acct = rng.choice(["ACME", "ACME", "BETA", "OFF", "NOBODY"])
            if k and rng.random() < 0.1:        # resend the previous order: duplicate
                rows.append(f"{seqs[k]}," + rows[-1].split(",", 1)[1])
                k += 1
                continue
            cid = 1000 + k
            rows.append(f"{seqs[k]},{cid},{acct},{sym},{rng.choice(['B', 'S', 'SS'])},"
                        f"{rng.choice([1, 10, 50, 100, 300, 301, 500, 501])},{max(px, 1)}")
            k += 1
    orders = tmp_path / "orders.csv"
    orders.write_text("\n".join(rows) + "\n")
    limits = tmp_path / "limits.yaml"
    limits.write_text(LIMITS)
    return feed, orders, limits


def _run(engine, feed, orders, limits, out):
    p = argparse.ArgumentParser()
    risk_replay.add_arguments(p)
    args = p.parse_args(["--feed", str(feed), "--orders", str(orders), "--limits", str(limits),
                         "--engine", engine, "--verdicts-out", str(out)])
    assert risk_replay.run(args) == 0
    return out.read_text()


def test_model_and_rtl_engines_agree(tmp_path):
    feed, orders, limits = _session(tmp_path)
    model = _run("model", feed, orders, limits, tmp_path / "model.csv")
    rtl = _run("rtl", feed, orders, limits, tmp_path / "rtl.csv")
    lines = model.splitlines()
    assert lines[0] == "clordid,verdict,reason" and len(lines) == 501
    assert rtl == model
    reasons = Counter(line.split(",")[2] for line in lines[1:])
    for r in ("ok", "account_disabled", "restricted", "max_qty", "price_collar", "duplicate"):
        assert reasons[r] > 0, (r, reasons)
