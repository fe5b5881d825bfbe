"""`tickwire replay --bbo-out`: the book contract, end to end through the command.

Both engines must write the same file; on the real AAPL sample that file must be the
verified trajectory byte for byte. The RTL engine is the integrated core in the
native Verilator harness (built once, cached), so this is the path users run.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "itch"
AAPL = SHARED / "nasdaq_itch50_20200130_aapl_first5000.itch"
AAPL_BBO = SHARED / "nasdaq_itch50_20200130_aapl_first5000.bbo.csv"
BUNDLED = ROOT / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
HEADER = b"seq,locate,bid_px,bid_qty,ask_px,ask_qty"


def replay(tmp_path, path, engine, *extra):
    out = tmp_path / f"{engine}.csv"
    lat = tmp_path / f"{engine}.json"
    args = [sys.executable, "-m", "tickwire", "replay", str(path), "--engine", engine,
            "--bbo-out", str(out), "--quiet", *extra]
    if engine == "rtl":
        args += ["--latency-out", str(lat)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr
    return out.read_bytes(), (json.loads(lat.read_text()) if engine == "rtl" else None)


def check_latency(lat):
    c = lat["itch_to_bbo_cycles"]
    assert 0 < c["min"] <= c["p50"] <= c["p99"] <= c["max"], c


@pytest.mark.xdist_group("tw_core")
def test_engines_agree_on_the_bundled_sample_over_ab(tmp_path):
    model, _ = replay(tmp_path, BUNDLED, "model", "--ab")
    rtl, lat = replay(tmp_path, BUNDLED, "rtl", "--ab")
    assert model.splitlines()[0] == HEADER
    assert len(model.splitlines()) > 100, "the bundled sample should move the book"
    assert rtl == model
    check_latency(lat)


@pytest.mark.xdist_group("tw_core")
def test_aapl_sample_reproduces_the_verified_trajectory(tmp_path):
    if not AAPL.exists() or not AAPL_BBO.exists():
        pytest.skip(f"{SHARED} absent (real Nasdaq sample not available here)")
    want = AAPL_BBO.read_bytes()
    model, _ = replay(tmp_path, AAPL, "model")
    rtl, lat = replay(tmp_path, AAPL, "rtl")
    assert model == want, "model engine differs from the verified trajectory"
    assert rtl == want, "RTL engine differs from the verified trajectory"
    check_latency(lat)


@pytest.mark.xdist_group("tw_core")
def test_bbo_cycles_line_up_with_the_bbo_rows(tmp_path):
    """--bbo-cycles-out: line n is the cycle of line n of --bbo-out (what --trace-from
    needs), cycles rise, and each row comes after its message's decode latency."""
    cyc = tmp_path / "cyc.csv"
    rtl, lat = replay(tmp_path, BUNDLED, "rtl", "--bbo-cycles-out", str(cyc))
    rows = rtl.decode().splitlines()
    cycles = cyc.read_text().splitlines()
    assert cycles[0] == "row,cycle" and len(cycles) == len(rows)
    values = [int(line.split(",")[1]) for line in cycles[1:]]
    assert [int(line.split(",")[0]) for line in cycles[1:]] == list(range(len(values)))
    assert values == sorted(values) and values[0] >= lat["itch_to_bbo_cycles"]["min"]
    assert lat["cycles"] > values[-1]
