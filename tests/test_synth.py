"""make synth: report parsing (on a recorded nextpnr-ecp5 report) and one real run."""
import json
import re
from pathlib import Path

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tickwire.tools.build import synth

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class TinyRam(wiring.Component):
    """A 1024x16 RAM (one DP16KD) behind a write counter: registers, carry chain, BRAM."""
    we: In(1)
    wdata: In(16)
    raddr: In(10)
    rdata: Out(16)

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=16, depth=1024, init=[])
        wr, rd = mem.write_port(), mem.read_port()
        waddr = Signal(10)
        m.d.comb += [wr.addr.eq(waddr), wr.data.eq(self.wdata), wr.en.eq(self.we),
                     rd.addr.eq(self.raddr), self.rdata.eq(rd.data)]
        with m.If(self.we):
            m.d.sync += waddr.eq(waddr + 1)
        return m


def test_parse_recorded_nextpnr_report():
    # Recorded from `synth_component("tiny_ram", TinyRam())` (critical paths trimmed).
    report = json.loads((FIXTURES / "nextpnr_report_tiny_ram.json").read_text())
    pnr = synth.parse_nextpnr_report(report)
    assert pnr["fmax_mhz"] == pytest.approx(report["fmax"]["clk"]["achieved"])
    assert pnr["constraint_mhz"] == 156.25
    assert pnr["util"]["DP16KD"] == (1, 208)
    stat = json.loads((FIXTURES / "yosys_stat_tiny_ram.json").read_text())
    cells = synth.parse_yosys_stat(stat)
    assert cells["DP16KD"] == 1
    row = synth.summarise("tiny_ram", pnr, cells)
    fmax = report["fmax"]["clk"]["achieved"]
    assert row["fmax_mhz"] == round(fmax, 2)
    assert row["margin_mhz"] == round(fmax - 156.25, 2)
    assert row["margin_pct"] == round(100 * (fmax - 156.25) / 156.25, 1)
    assert row["meets_goal"] is (fmax >= 156.25)
    assert row["luts"] == report["utilization"]["TRELLIS_COMB"]["used"]
    assert row["ffs"] == report["utilization"]["TRELLIS_FF"]["used"]
    assert row["brams"] == 1
    assert row["available"]["TRELLIS_COMB"] == 83640
    md = synth.table([row, {"block": "mac", "status": "not available", "reason": "no module"}])
    lines = md.splitlines()
    assert lines[2].startswith(f"| tiny_ram | {fmax:.2f} | 156.25 | {row['margin_mhz']:+.2f} MHz")
    assert "| mac | not available: no module |" in lines[3]


def test_parse_handles_missing_clock_and_renamed_net():
    # A purely combinational block has no fmax entry; a global-promoted clock gets a prefix.
    assert synth.parse_nextpnr_report({"fmax": {}, "utilization": {}})["fmax_mhz"] is None
    rep = {"fmax": {"$glbnet$clk": {"achieved": 200.5, "constraint": 156.25}}, "utilization": {}}
    assert synth.parse_nextpnr_report(rep)["fmax_mhz"] == 200.5
    row = synth.summarise("comb", synth.parse_nextpnr_report({"fmax": {}}), {})
    assert row["fmax_mhz"] is None and row["meets_goal"] is False
    assert "n/a" in synth.table([row])


def test_unrouted_block_reports_the_placement_estimate_as_such():
    # nextpnr --no-route writes no fmax to --report; the log's last estimate is the figure
    log = ("Info: Max frequency for clock 'clk': 11.50 MHz (FAIL at 156.25 MHz)\n"
           "Info: Running simulated annealing placer for refinement.\n"
           "Info: Max frequency for clock '$glbnet$clk': 20.03 MHz (FAIL at 156.25 MHz)\n")
    assert synth.placement_estimate(log) == 20.03
    assert synth.placement_estimate("Info: Program finished normally.") is None
    row = synth.summarise("book", {"fmax_mhz": 20.03, "util": {}}, {})
    row["timing"] = synth.ESTIMATE
    assert "20.03 (placed, not routed: estimate)" in synth.table([row])
    assert "book" not in synth.PLACE_ONLY_BLOCKS        # the book v2 is routed (issue 12)


def test_unavailable_block_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setitem(synth.BLOCKS, "ghost", ("tickwire.rtl.no_such_block:Ghost", {}))
    rows = synth.run(["ghost"], out=tmp_path, log=lambda *_: None)
    assert rows == [{"block": "ghost", "status": "not available",
                     "reason": rows[0]["reason"]}]
    assert "tickwire.rtl.no_such_block" in rows[0]["reason"]
    synth.write_outputs(rows, out=tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["blocks"][0]["status"] == "not available"
    assert "ghost" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
def test_real_synthesis_of_tiny_ram(tmp_path):
    row = synth.synth_component("tiny_ram", TinyRam(), out=tmp_path)
    assert row["status"] == "ok"
    assert row["fmax_mhz"] is not None and row["fmax_mhz"] > 50
    assert row["brams"] == 1                  # the RAM was inferred as a DP16KD
    assert 10 <= row["ffs"] <= 200            # the 10-bit write pointer, plus a little
    assert row["yosys_cells"].get("DP16KD") == 1
    assert (tmp_path / "tiny_ram" / "report.json").exists()
    # the path tail from the routed SDF agrees with nextpnr's own worst path
    tail = (tmp_path / "tiny_ram" / "paths.txt").read_text()
    worst = float(re.search(r"worst ([\d.]+) ns", tail).group(1))
    assert abs(1000 / worst - row["fmax_mhz"]) < 0.5, tail


def _nextpnr_args(tmp_path, monkeypatch, name, **settings):
    """The nextpnr command line `place_and_route` builds for an empty block `name` with
    synth's module settings (PLACER, TIMING_WEIGHT, ...) set; nothing runs."""
    class Stop(Exception):
        pass

    seen = []

    def fake_run(cmd, log, cwd):
        if "nextpnr" in Path(cmd[0]).name:
            seen.append(cmd)
            raise Stop

    monkeypatch.setattr(synth, "_run", fake_run)
    for k, v in settings.items():
        monkeypatch.setattr(synth, k, v)
    v = tmp_path / name / f"{name}.v"
    v.parent.mkdir(exist_ok=True)
    v.write_text(f"module {name}; endmodule\n")
    with pytest.raises(Stop):
        synth.place_and_route(name, v)
    return seen[0]


def test_placer_choice_reaches_nextpnr(tmp_path, monkeypatch):
    """`--placer` is passed to nextpnr as given, and left out by default (HeAP)."""
    for placer in (None, "static"):
        cmd = _nextpnr_args(tmp_path, monkeypatch, "blk", PLACER=placer)
        assert ("--placer" in cmd) == (placer is not None)
        if placer:
            assert cmd[cmd.index("--placer") + 1] == placer


def test_heap_timing_weight_per_block(tmp_path, monkeypatch):
    """HeAP's timing weight goes to nextpnr for the blocks that have one (merge, risk),
    not for the others, not with another placer, and --timing-weight sets it for all."""
    def weight(name, placer=None, every=None):
        cmd = _nextpnr_args(tmp_path, monkeypatch, name, PLACER=placer, TIMING_WEIGHT=every)
        flag = "--placer-heap-timingweight"
        return int(cmd[cmd.index(flag) + 1]) if flag in cmd else None

    assert weight("merge") == synth.HEAP_TIMING_WEIGHT["merge"] == 30
    assert weight("risk") == 30
    assert weight("mac") is None
    assert weight("merge", placer="static") is None
    assert weight("mac", every=20) == 20


def _fake_tools(route):
    """A stand-in for `synth._run` that writes what Yosys and nextpnr would: a placed
    netlist of two flip-flops across the die, an 80 MHz placement estimate; the route
    (`--no-place`) does `route(cmd, cwd)`. Returns the commands seen."""
    seen = []

    def ff(loc, d, q):
        return {"type": "TRELLIS_FF", "connections": {"DI": [d], "Q": [q]},
                "port_directions": {"DI": "input", "Q": "output"},
                "attributes": {"NEXTPNR_BEL": f"X{loc[0]}/Y{loc[1]}/SLICEA"}}

    def fake_run(cmd, log, cwd):
        seen.append(cmd)
        name = Path(cmd[0]).name
        util = {"utilization": {"TRELLIS_COMB": {"used": 10, "available": 83640},
                                "TRELLIS_FF": {"used": 2, "available": 83640}}}
        if "yosys" in name:
            (cwd / "stat.json").write_text(json.dumps(
                {"design": {"num_cells_by_type": {"TRELLIS_FF": 2}}}))
            (cwd / "blk.json").write_text(json.dumps({"modules": {}}))
        elif "--no-route" in cmd:
            doc = {"modules": {"blk": {"cells": {"a_FF": ff((5, 5), 9, 1),
                                                 "b_FF": ff((120, 90), 1, 2)}}}}
            (cwd / "placed.json").write_text(json.dumps(doc))
            (cwd / "place_report.json").write_text(json.dumps(util))
            (cwd / "place.log").write_text(
                "Info: Max frequency for clock 'clk': 80.00 MHz (FAIL at 156.25 MHz)\n")
        else:
            route(cmd, cwd, util)

    return fake_run, seen


def _row(tmp_path, monkeypatch, route):
    fake_run, seen = _fake_tools(route)
    monkeypatch.setattr(synth, "_run", fake_run)
    monkeypatch.setattr(synth, "ROUTER2_BLOCKS", {"blk"})
    v = tmp_path / "blk" / "blk.v"
    v.parent.mkdir()
    v.write_text("module blk; endmodule\n")
    return synth.place_and_route("blk", v), seen, v.parent


def test_router2_block_placed_then_routed_keeps_the_estimate_on_a_timeout(tmp_path, monkeypatch):
    """A router2 block (the book) is placed in one nextpnr run and routed from the placed
    JSON in another; when the route times out the row keeps the placement estimate, says
    why, and placed_paths.txt says where the placed design's time goes."""
    import subprocess

    def route(cmd, cwd, util):
        raise subprocess.TimeoutExpired(cmd, 60)
    row, seen, work = _row(tmp_path, monkeypatch, route)
    place, route_cmd = [c for c in seen if "nextpnr" in Path(c[0]).name]
    assert "--write" in place and "--no-route" in place and "--seed" in place
    assert route_cmd[route_cmd.index("--json") + 1] == "placed.json"
    assert "--no-place" in route_cmd and route_cmd[route_cmd.index("--router") + 1] == "router2"
    assert row["status"] == "ok" and row["timing"] == synth.ESTIMATE
    assert row["fmax_mhz"] == 80.0 and row["luts"] == 10
    assert "router2 did not finish in 60 s" in row["reason"]
    text = (work / "placed_paths.txt").read_text()
    # a_FF (5, 5) -> b_FF (120, 90): clock-to-Q + 54 ps x (6 + 110 + 80 + 2 x 10)
    assert f"worst path {0.309 + 0.054 * 216:.2f} ns" in text and "| a_FF | b_FF | 1 |" in text


def test_router2_block_routed_reports_the_route(tmp_path, monkeypatch):
    def route(cmd, cwd, util):
        (cwd / "report.json").write_text(json.dumps(
            {**util, "fmax": {"clk": {"achieved": 160.5, "constraint": 156.25}}}))
    row, _, work = _row(tmp_path, monkeypatch, route)
    assert row["timing"] == "routed" and row["fmax_mhz"] == 160.5 and "reason" not in row
    assert (work / "placed_paths.txt").exists() and (work / "paths.txt").exists()
    assert (work / "placed_paths.png").stat().st_size > 10_000
