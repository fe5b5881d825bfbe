"""make bench: discovery, not-run sections, goal arithmetic and deterministic output."""
import json
import subprocess

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


def _entry(block, **kw):
    e = {"block": block, "build": "board", "seed": 1, "flow": "ooc", "status": "ok",
         "timing": "routed", "routed": True, "fmax_mhz": 180.5, "goal_mhz": 156.25,
         "lut4": 900, "ff": 700, "dp16kd": 2, "rtl_tree": None, "date": "2026-12-03T00:00:00Z"}
    e.update(kw)
    return e


def test_synth_section_from_synth_json():
    """bench/synth.json entries: board-build blocks by seed, full-core runs by build,
    an unfinished run listed as not run with its reason, other builds' blocks left out."""
    entries = [_entry("mac"), _entry("mac", seed=2, fmax_mhz=170.0),
               _entry("merge", fmax_mhz=121.9, dp16kd=64),
               _entry("risk", build="sim", fmax_mhz=99.0),
               _entry("lab_top", build="lab", flow="bitstream", status="not finished",
                      routed=False, fmax_mhz=None, reason="placer stopped", lut4=81022)]
    res = {r.name: r for r in synth_bench.results_from(entries)}
    assert res["mac.fmax"].measured == 180.5 and res["mac.fmax"].meets
    assert res["mac.seed2.fmax"].measured == 170.0
    assert not res["merge.fmax"].meets and res["merge.brams"].measured == 64
    assert res["merge.brams"].goal == 208 and res["merge.brams"].better == "lower"
    assert "risk.fmax" not in res                        # sim build: not the goal's build
    core = res["core[lab].fmax"]
    assert core.status == "not run" and "placer stopped" in core.reason
    assert res["core[lab].luts"].measured == 81022 and res["core[lab].luts"].goal == 83640
    assert "tree unknown" in res["mac.fmax"].method and "mac.seed2.luts" not in res


def test_synth_section_names_what_changed_since_the_build():
    """An entry built from this checkout's rtl tree is current; one from an older tree
    says whether the block's own folder changed."""
    tree, dirty = synth_bench.rec.rtl_tree()
    if tree is None:
        pytest.skip("not a git checkout")
    if not dirty:
        assert synth_bench.sources_since(tree, "merge") == "current"
    assert synth_bench.sources_since("0" * 40, "merge") == "tree unknown"
    # The tree before the newest change under rtl/rx/merge differs there from HEAD's.
    log = subprocess.run(["git", "log", "--format=%H", "-n", "2", "--", "rtl/rx/merge"],
                         cwd=synth_bench.flow.REPO, capture_output=True, text=True).stdout.split()
    if len(log) < 2:
        pytest.skip("shallow clone: no older rtl/rx/merge")
    old = subprocess.run(["git", "rev-parse", f"{log[1]}:rtl"], cwd=synth_bench.flow.REPO,
                         capture_output=True, text=True).stdout.strip()
    assert synth_bench.sources_since(old, "merge") == "rtl/rx/merge changed since"
    assert synth_bench.sources_since(old, "no_such_block").startswith("rtl/ changed since (")


def test_synth_section_not_run_without_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(synth_bench.rec, "PATH", tmp_path / "synth.json")
    monkeypatch.setattr(bench.options, "with_synth", False)
    sec = bench.run_section("synth", synth_bench.bench_synth)
    assert sec.results[0].status == "not run"
    assert "make synth" in sec.results[0].reason
