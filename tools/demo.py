"""`tickwire demo` (`make demo`): the main job, end to end, on bundled data.

1. Replays the real Nasdaq AAPL sample from ../shared/data/itch (or, when that folder
   is absent, the small synthetic sample in tools/demo_data) through the RTL in the
   native Verilator harness: messages by type, drops, latency, hardware timestamps.
2. Shows the book: BBO rows (and whether they match the reference trajectory when
   it is available), the demo symbol's top levels, the update-latency histogram.
3. Sends a few host orders through the risk gate (RTL) and prints the verdicts.
4. Runs the simulated card, the control-plane daemon and a few ops CLI commands
   (status, limits load, book, counters) and shows their output.
"""
import csv
import io
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "itch"
REAL = SHARED / "nasdaq_itch50_20200130_aapl_first5000.itch"
REAL_BBO = SHARED / "nasdaq_itch50_20200130_aapl_first5000.bbo.csv"
SYNTH = REPO / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
LIMITS = REPO / "tools" / "demo_data" / "limits.yaml"
ORDERS = REPO / "tools" / "demo_data" / "orders.csv"


def add_arguments(p):
    p.add_argument("--input", help="ITCH BinaryFILE or pcap to replay instead of the sample")
    p.add_argument("--skip-risk", action="store_true", help="skip the risk-gate section")
    p.add_argument("--skip-control", action="store_true",
                   help="skip the simulated card + daemon + CLI section")


def _table(rows, head):
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(str(v).rjust(w) for v, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def _ts(t):
    return "-" if not t else f"{t['sec']}.{t['ns']:09d} s (hardware clock since reset)"


def _hist(values, width=40):
    if not values:
        return "  (no updates)"
    lo, hi = min(values), max(values)
    counts = {v: values.count(v) for v in range(lo, hi + 1)}
    top = max(counts.values())
    return "\n".join(f"  {v:3d} cycles {c:6d} {'#' * max(1, c * width // top) if c else ''}"
                     for v, c in counts.items())


def _rel(path):
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def run(args):
    from tickwire.tools import replay
    from tickwire.tools.engines import rtl_replay
    from tickwire.tools.engines import ENGINES

    background = None
    if not args.skip_risk:      # the risk gate compiles on the other core meanwhile
        from tickwire.tools.build import prebuild
        from tickwire.tools.build.simrun import BUILD_ROOT
        bg_log = BUILD_ROOT / "logs" / "prebuild-risk_gate.log"
        background = prebuild.start("risk_gate", bg_log)
    path = Path(args.input) if args.input else (REAL if REAL.exists() else SYNTH)
    if not args.input and not REAL.exists():
        print(f"note: {SHARED} is absent; using the bundled synthetic sample {SYNTH.name}")
    section(f"1. Packet path: {path.name} through the RTL (Verilator, native harness)")
    from tickwire.rtl.config import BUILDS
    print(f"building the core, build {BUILDS['sim'].describe()}: elaborate, Verilate, "
          "compile (a first run takes about two minutes; later runs reuse the build)", flush=True)
    if background is not None:
        print(f"  (the risk gate builds in the background meanwhile: {_rel(bg_log)})", flush=True)
    feed = replay.load_feed(str(path))
    subs = replay.subscriptions(feed, None, ENGINES["rtl"].slots())
    res = rtl_replay.run(feed, subs)
    model = ENGINES["model"].run(feed, subs)

    rows = [(t, n, model.itch_msgs.get(t, 0)) for t, n in res.itch_msgs.items() if n or
            model.itch_msgs.get(t, 0)]
    print(f"{feed.messages} messages in {len(feed.frames['a'])} MoldUDP64 frames on port A, "
          f"{res.latency['cycles']} cycles simulated "
          f"({res.latency['sim_cycles_per_s'] / 1e6:.2f} M cycles/s)")
    print(_table(rows, ["type", "RTL", "model"]))
    drops = {k: v for k, v in replay.stats_json(res.counters, res.itch_msgs)["drops"].items() if v}
    print("drops/errors:", drops or "none")
    lat = res.latency["itch_to_decode_cycles"]
    print(f"last byte on the wire -> decoded message: min {lat['min']} / p50 {lat['p50']} / "
          f"p99 {lat['p99']} / max {lat['max']} cycles (6.4 ns each)")
    print("first receive timestamp:", _ts(res.extra["first_rx_ts"]))
    print("last receive timestamp: ", _ts(res.extra["last_rx_ts"]))

    section("2. Order book")
    same = res.bbo_rows == model.bbo_rows
    print(f"{len(res.bbo_rows)} top-of-book updates from the RTL; "
          f"RTL == reference model: {'yes' if same else 'NO'}")
    if path == REAL and REAL_BBO.exists():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "bbo.csv"
            replay.write_bbo(out, res.bbo_rows)
            exact = out.read_bytes() == REAL_BBO.read_bytes()
        print(f"matches the verified trajectory {REAL_BBO.name} byte for byte: "
              f"{'yes' if exact else 'NO'}")
    print("last 5 updates:")
    print(_table(res.bbo_rows[-5:], ["seq", "locate", "bid_px", "bid_qty", "ask_px", "ask_qty"]))
    top = res.extra.get("top_levels", {})
    if top:
        locate = next(iter(subs))
        print(f"top levels of locate {locate} at the end of the replay:")
        bids, asks = top.get((subs[locate], 0), []), top.get((subs[locate], 1), [])
        n = max(len(bids), len(asks))
        lvl = lambda ls, i: (ls[i]["px"] / 1e4, ls[i]["qty"], ls[i]["orders"]) \
            if i < len(ls) and ls[i]["qty"] else ("", "", "")  # noqa: E731
        print(_table([(*lvl(bids, i), *lvl(asks, i)) for i in range(n)],
                     ["bid $", "shares", "orders", "ask $", "shares", "orders"]))
    lat = res.latency["itch_to_bbo_cycles"]
    print(f"last byte on the wire -> BBO update: min {lat['min']} / p50 {lat['p50']} / "
          f"p99 {lat['p99']} / max {lat['max']} cycles; histogram:")
    print(_hist(res.extra.get("bbo_latencies", [])))

    if not args.skip_risk:
        section("3. Pre-trade risk gate: host orders against the live book (RTL)")
        import os
        from tickwire.tools import risk_replay
        os.environ.setdefault("COCOTB_LOG_LEVEL", "WARNING")     # the gate runs under cocotb
        os.environ.setdefault("GPI_LOG_LEVEL", "WARNING")
        if background is not None and background.wait() != 0:
            print(f"the background build of the risk gate failed (log: {bg_log}); "
                  f"building it here")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "verdicts.csv"
            ns = risk_replay_args(path, out, "rtl")
            risk_replay.run(ns)
            verdicts = list(csv.reader(io.StringIO(out.read_text())))[1:]
        orders = list(csv.DictReader(ORDERS.open()))
        rows = [(o["clordid"], o["account"], o["symbol"], o["side"], o["qty"],
                 f"{int(o['price']) / 1e4:.2f}", v[1], v[2]) for o, v in zip(orders, verdicts)]
        print(f"limits: {LIMITS.relative_to(REPO)}")
        print(_table(rows, ["clordid", "account", "symbol", "side", "qty", "price $",
                            "verdict", "reason"]))
    status = 0
    if not getattr(args, "skip_control", False):
        section("4. Control plane: simulated card + daemon + ops CLI")
        from tickwire.tools.demo_control import run_control_demo
        status = run_control_demo(print)
    print()
    return status


def risk_replay_args(feed, out, engine):
    """The arguments `tickwire risk-replay` would get, parsed by its own parser so
    every option it has (e.g. --build) takes its default."""
    import argparse
    from tickwire.tools import risk_replay
    p = argparse.ArgumentParser()
    risk_replay.add_arguments(p)
    return p.parse_args(["--feed", str(feed), "--orders", str(ORDERS), "--limits", str(LIMITS),
                         "--engine", engine, "--verdicts-out", str(out)])


if __name__ == "__main__":
    sys.exit(run(__import__("argparse").Namespace(input=None, skip_risk=False,
                                                  skip_control=False)))
