"""make bench: discovery, not-run sections, goal arithmetic and deterministic output."""
import json

import pytest

from tickwire.tools.build import bench
from tickwire.tools.build.bench import NotRun, Result
from tickwire.tools.build.bench import synth as synth_bench


def test_how_far_is_signed_toward_the_good_side():
    fast = Result("x.fmax", 156.25, 200.0, "MHz", "m")
    assert fast.meets is True
    assert fast.how_far() == "meets by 43.75 MHz (+28.0%)"
    slow = Result("y.fmax", 156.25, 125.0, "MHz", "m")
    assert slow.meets is False
    assert slow.how_far() == "MISSES by 31.25 MHz (-20.0%)"
    small = Result("z.luts", 1000, 250, "LUT4", "m", better="lower")
    assert small.meets is True and small.how_far() == "meets by 750 LUT4 (+75.0%)"
    with pytest.raises(ValueError):
        Result("bad", 1, None, "u", "m")   # an ok result must carry a number


def test_sections_sorted_not_run_and_errors_isolated(tmp_path):
    def bench_b():
        raise NotRun("needs the book")

    def bench_a():
        return [Result("a.rate", 10, 12, "Mmsg/s", "replay")]

    def bench_c():
        raise ZeroDivisionError("boom")

    sections = bench.run(benches=dict(sorted({"b": bench_b, "a": bench_a, "c": bench_c}.items())))
    assert [s.name for s in sections] == ["a", "b", "c"]
    assert sections[1].results[0].status == "not run"
    assert sections[1].results[0].measured is None
    assert sections[2].results[0].status == "error" and "boom" in sections[2].results[0].reason
    md, js = bench.write(sections, tmp_path)
    first = js.read_text()
    bench.write(bench.run(benches={"a": bench_a, "b": bench_b, "c": bench_c}), tmp_path)
    assert js.read_text() == first                 # deterministic: no timestamps
    data = json.loads(first)
    assert data["sections"][0]["results"][0]["how_far"] == "meets by 2 Mmsg/s (+20.0%)"
    text = md.read_text()
    assert "not run: needs the book" in text and "| a.rate | ≥ 10 | 12 | Mmsg/s |" in text


def test_discover_finds_the_synth_section():
    assert "synth" in bench.discover()


def test_synth_section_from_results_json():
    data = {"goal_mhz": 156.25, "flow": "f", "blocks": [
        {"block": "mac", "status": "ok", "fmax_mhz": 180.5, "goal_mhz": 156.25, "luts": 900,
         "ffs": 700, "brams": 2, "available": {"TRELLIS_COMB": 83640, "TRELLIS_FF": 83640,
                                                "DP16KD": 208}},
        {"block": "book", "status": "not available", "reason": "cannot import"},
    ]}
    res = {r.name: r for r in synth_bench.rows_to_results(data, "results.json")}
    assert res["mac.fmax"].measured == 180.5 and res["mac.fmax"].meets
    assert res["mac.brams"].goal == 208 and res["mac.brams"].better == "lower"
    assert res["book.fmax"].status == "not run" and "cannot import" in res["book.fmax"].reason


def test_synth_section_not_run_without_results(tmp_path, monkeypatch):
    monkeypatch.setattr(synth_bench.flow, "OUT", tmp_path / "synth")
    monkeypatch.setattr(bench.options, "with_synth", False)
    sec = bench.run_section("synth", synth_bench.bench_synth)
    assert sec.results[0].status == "not run"
    assert "make synth" in sec.results[0].reason
