"""FST waveforms from the native harness: a traced build writes only the asked window,
with the Amaranth design's signal names, in a file a wave viewer reads (pywellen is the
reader Surfer is built on)."""
import pytest

from test_harness import EchoTop, random_traffic
from tickwire.tools.build.harness import NativeSimError, build_native

pywellen = pytest.importorskip("pywellen")
PS_PER_CYCLE = 6400


@pytest.fixture(scope="module")
def traced():
    return build_native(EchoTop(), "echo_top", trace=True)


def read(path):
    w = pywellen.Waveform(str(path))
    return w, {v.full_name: v for v in w.all_vars()}


def test_window_has_the_design_names_and_only_its_cycles(traced, tmp_path):
    import random
    beats = random_traffic(random.Random(5), 80)
    out = tmp_path / "w.fst"
    res = traced.run(beats, writes_before=[(0x10, 0xABCD)], trace=(out, 100, 50))
    assert out.read_bytes()[:1] == b"\x00" and out.stat().st_size > 1000   # FST header block
    w, sig = read(out)
    assert w.file_format == "FST"
    for name in ("beat_out__valid", "beat_out__payload", "xgmii_d", "core.cycle",
                 "core.beat_out__payload.cycle", "core.bank."):
        assert any(name in n for n in sig), name
    clk = [t for t, _v in next(v for n, v in sig.items() if n.endswith(".clk")).tv]
    assert min(clk) == 100 * PS_PER_CYCLE and max(clk) < 150 * PS_PER_CYCLE
    assert len(clk) == 100                       # both edges of 50 cycles
    # The design's own free-running counter: 50 consecutive values inside the window.
    cyc = [v for _t, v in sig[next(n for n in sig if n.endswith("core.cycle"))].tv]
    assert cyc == list(range(cyc[0], cyc[0] + len(cyc))) and len(cyc) == 51
    assert res.streams["beat_out"]                # the run itself still records outputs


def test_traced_run_gives_the_same_outputs(traced, tmp_path):
    import random
    beats = random_traffic(random.Random(9), 60)
    plain = build_native(EchoTop(), "echo_top").run(beats)
    with_trace = traced.run(beats, trace=(tmp_path / "x.fst", 0, 10))
    assert plain.streams == with_trace.streams


def test_trace_needs_a_traced_build(tmp_path):
    plain = build_native(EchoTop(), "echo_top")
    with pytest.raises(NativeSimError, match="traced build"):
        plain.run([], trace=(tmp_path / "x.fst", 0, 10))
