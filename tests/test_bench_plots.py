"""Bench plots: drawn beside report.md, embedded in it, and redrawn from the saved
results.json + latency_samples.json without running a benchmark."""
import json
import shutil
import struct
from pathlib import Path

import pytest

from tickwire.tools.build import bench
from tickwire.tools.build.bench import Result, __main__ as bench_main, plots

REPO = Path(__file__).resolve().parents[1]


def png_size(path):
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture
def samples(monkeypatch):
    monkeypatch.setattr(bench, "fresh_samples", {})
    return bench.fresh_samples


def synth_section():
    out = []
    for block, fmax, luts in (("mac", 114.2, 2960), ("clock", 207.2, 733)):
        out.append(Result(f"{block}.fmax", 156.25, fmax, "MHz", "yosys + nextpnr (results.json)"))
        for key, n, avail in (("luts", luts, 83640), ("ffs", 600, 83640), ("brams", 2, 208)):
            out.append(Result(f"{block}.{key}", avail, n, key, "results.json", better="lower"))
    return bench.Section("synth", "per block", out)


def test_write_draws_every_plot_and_embeds_it(tmp_path, samples):
    bench.record_latency("itch_to_decode", [2] * 500, "line-rate run")
    bench.record_latency("itch_to_bbo", [6] * 900 + [7] * 50 + [13] * 9 + [138], "long run")
    bench.record_latency("order_to_verdict", [3] * 2000, "gate run")
    md, _ = bench.write([synth_section()], tmp_path)
    report = md.read_text()
    for name, caption in plots.PLOTS:
        w, h = png_size(tmp_path / name)
        assert w >= 600 and h >= 300
        assert f"![{caption}]({name})" in report
    saved = json.loads((tmp_path / plots.SAMPLES).read_text())
    assert saved["itch_to_bbo"]["counts"] == {"6": 900, "7": 50, "13": 9, "138": 1}


def test_plots_only_redraws_from_saved_files_and_keeps_samples(tmp_path, samples):
    bench.record_latency("order_to_verdict", [3, 3, 4], "gate run")
    bench.write([synth_section()], tmp_path)
    for name, _ in plots.PLOTS:
        (tmp_path / name).unlink(missing_ok=True)
    (tmp_path / "report.md").unlink()
    assert bench_main.main(["--plots-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "latency_hist.png").exists() and (tmp_path / "synth.png").exists()
    assert "latency_cdf.png" in (tmp_path / "report.md").read_text()
    assert json.loads((tmp_path / plots.SAMPLES).read_text())["order_to_verdict"]["counts"] == \
        {"3": 2, "4": 1}


def test_a_partial_run_keeps_the_other_sample_sets(tmp_path, samples):
    bench.record_latency("itch_to_decode", [2, 2], "first run")
    bench.write([], tmp_path)
    samples.clear()
    bench.record_latency("order_to_verdict", [3], "second run")
    bench.write([], tmp_path)
    assert set(json.loads((tmp_path / plots.SAMPLES).read_text())) == {"itch_to_decode",
                                                                      "order_to_verdict"}


def test_unknown_latency_set_is_an_error(samples):
    with pytest.raises(KeyError):
        bench.record_latency("itch_to_nowhere", [1], "x")


def test_committed_results_redraw_into_tmp(tmp_path):
    """The committed bench/ files are enough to redraw every plot the report embeds."""
    for name in ("results.json", plots.SAMPLES):
        shutil.copy(REPO / "bench" / name, tmp_path / name)
    bench.redraw(tmp_path)
    committed = (REPO / "bench" / "report.md").read_text()
    for name, caption in plots.PLOTS:
        if f"({name})" in committed:
            png_size(tmp_path / name)
            assert (REPO / "bench" / name).exists()


def test_only_run_merges_over_saved_sections(tmp_path):
    a = bench.Section("alpha", "", [Result("x", 1, 2, "s", "m")])
    b = bench.Section("beta", "", [Result("y", None, 3, "s", "m")])
    bench.write([a, b], tmp_path, samples={})
    a2 = bench.Section("alpha", "", [Result("x", 1, 5, "s", "m2")])
    got = bench.merged([a2], tmp_path)
    assert [s.name for s in got] == ["alpha", "beta"]
    assert got[0].results[0].measured == 5 and got[1].results[0].measured == 3
