"""`make bitstream` resumes: a stage whose inputs are unchanged is not rerun, a changed
input reruns it, and the post-placement estimate is the core clock's (not the 12 MHz
input's). The tools themselves are too slow for `make test` (hours on the full core)."""
import json

import pytest

from tickwire.tools.build import bitstream as bs


def test_stage_reuses_only_with_the_same_inputs(tmp_path):
    runs = []

    def fn():
        runs.append(1)
        (tmp_path / "p.json").write_text("netlist")
        return 1.5

    src = tmp_path / "in.v"
    src.write_text("module a; endmodule")
    assert bs.stage(tmp_path, "yosys", bs.digest(src, 1), "p.json", fn, fresh=False) == 1.5
    assert bs.stage(tmp_path, "yosys", bs.digest(src, 1), "p.json", fn, fresh=False) == 0.0
    assert len(runs) == 1
    src.write_text("module b; endmodule")                 # new sources: rerun
    bs.stage(tmp_path, "yosys", bs.digest(src, 1), "p.json", fn, fresh=False)
    bs.stage(tmp_path, "yosys", bs.digest(src, 2), "p.json", fn, fresh=False)  # new seed
    bs.stage(tmp_path, "yosys", bs.digest(src, 2), "p.json", fn, fresh=True)   # --fresh
    assert len(runs) == 4


def test_a_stage_that_failed_is_not_reused(tmp_path):
    def boom():
        (tmp_path / "p.json").write_text("half written")
        raise RuntimeError("nextpnr exited 1")

    try:
        bs.stage(tmp_path, "place", "abc", "p.json", boom, fresh=False)
    except RuntimeError:
        pass
    assert not (tmp_path / "place.stamp").exists()
    ran = []
    bs.stage(tmp_path, "place", "abc", "p.json", lambda: ran.append(1) or 2.0, fresh=False)
    assert ran == [1]


def test_placed_estimate_is_the_core_clock():
    log = ("Info: Max frequency for clock '$glbnet$clk12': 250.00 MHz (PASS at 12.00 MHz)\n"
           "Info: Max frequency for clock '$glbnet$sync_clk': 61.20 MHz (FAIL at 156.00 MHz)\n"
           "Info: Max frequency for clock '$glbnet$clk12': 240.00 MHz (PASS at 12.00 MHz)\n"
           "Info: Max frequency for clock '$glbnet$sync_clk': 58.75 MHz (FAIL at 156.00 MHz)\n")
    assert bs.placed_estimate(log, 156.0) == 58.75
    assert bs.placed_estimate("no timing here", 156.0) is None


def test_placed_util_from_the_log():
    log = ("Info: Device utilisation:\n"
           "Info: \t              DP16KD:     131/    208    62%\n"
           "Info: \t          MULT18X18D:      26/    156    16%\n"
           "Info: \t          TRELLIS_FF:   29130/  83640    34%\n"
           "Info: \t        TRELLIS_COMB:   70184/  83640    83%\n")
    assert bs.placed_util(log) == {"brams": 131, "dsps": 26, "ffs": 29130, "luts": 70184}


def test_the_route_takes_the_requested_router_not_the_stored_one(tmp_path):
    """nextpnr stores `router` in the placed JSON and a loading run prefers it to its
    command line: the route stage rewrites it (only that setting)."""
    placed = tmp_path / "tw_lab.placed.json"
    placed.write_text('{"settings": {"router": "router1", "seed": "1"}, "x": "router1"}')
    bs.stored_router(placed, "router2")
    assert placed.read_text() == '{"settings": {"router": "router2", "seed": "1"}, "x": "router1"}'
    bs.stored_router(placed, "router2")
    assert '"router": "router2"' in placed.read_text()


def test_the_route_writes_router2_settings_into_the_placed_design(tmp_path):
    """router2's knobs have no command-line flags: the route stage writes them (and
    timing_driven) into the placed JSON's settings, replacing a stored value and adding
    a missing one, and leaves everything else as it was."""
    placed = tmp_path / "tw_lab.placed.json"
    placed.write_text('{"settings": {"router": "router1", "timing_driven": "1", "seed": "1"},'
                      ' "x": {"timing_driven": "1"}}')
    bs.stored_router(placed, "router2", bs.route_settings(False, ["router2/bbMargin/x=24"]))
    assert bs.route_settings(False, ["router2/bbMargin/x=24"])["router2/bbMargin/x"] == "24"
    text = placed.read_text()
    settings = json.loads(text)["settings"]
    assert settings["router"] == "router2"
    assert settings["timing_driven"] == "0" * 32
    assert settings["router2/bbMargin/x"] == "24"
    assert settings["router2/bbMargin/y"] == bs.ROUTE_SETTINGS["router2/bbMargin/y"]
    assert json.loads(text)["x"] == {"timing_driven": "1"}
    bs.stored_router(placed, "router2", bs.route_settings(True, []))
    settings = json.loads(placed.read_text())["settings"]
    assert int(settings["timing_driven"], 2) == 1
    assert settings["router2/bbMargin/x"] == bs.ROUTE_SETTINGS["router2/bbMargin/x"]


def test_a_route_setting_needs_a_name_and_a_value():
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        bs.route_settings(False, ["router2/bbMargin/x"])


def test_router2_passes_are_read_from_its_log():
    from tickwire.tools.build import route_watch as rw
    log = ("Info: Running main router loop...\n"
           "Info:     iter=1 wires=1229656 overused=91588 overuse=115165 archfail=NA\n"
           "Info:     iter=2 wires=1263273 overused=46997 overuse=49922 archfail=NA\n")
    found = rw.passes(log)
    assert found == [(1, 1229656, 91588), (2, 1263273, 46997)]
    assert rw.summary(found) == {"route_passes": 2, "route_overused": [91588, 46997],
                                 "lowest_overused": 46997, "lowest_overused_pass": 2}
    assert rw.summary([]) == {}


def test_a_route_is_stalled_only_when_its_low_is_old():
    from tickwire.tools.build.route_watch import stalled
    falling = [(i, 0, 1000 - i) for i in range(1, 20)]
    assert not stalled(falling, 8)                   # a new low every pass
    rising = [(i, 0, n) for i, n in enumerate([900, 500, 300, 310, 320, 330, 340, 350,
                                               360, 370], start=1)]
    assert not stalled(rising[:-1], 8)               # low at pass 3, 6 passes old
    assert not stalled(rising[:-2] + [(9, 0, 300)], 8)   # equal is not new, still 6 old
    assert stalled(rising + [(11, 0, 380)], 8)       # 8 passes old
    assert not stalled([(1, 0, 5), (12, 0, 0)], 8)   # routed: never stalled


def test_a_stalled_route_is_stopped_with_its_figures(tmp_path):
    """A fake router that prints a falling then rising overuse, one pass a few ms, and
    never ends: run_watched stops it and names the low."""
    import sys
    from tickwire.tools.build.route_watch import RouteStalled, run_watched
    script = tmp_path / "fake_router.py"
    script.write_text(
        "import time\n"
        "counts = [900, 400, 120, 130, 150, 170, 200, 240, 280]\n"
        "with open('nextpnr.log', 'w') as f:\n"
        "    for i, n in enumerate(counts, 1):\n"
        "        f.write(f'Info:     iter={i} wires=1000 overused={n} overuse={n}\\n')\n"
        "        f.flush()\n"
        "        time.sleep(0.02)\n"
        "    time.sleep(60)\n")
    with pytest.raises(RouteStalled, match=r"lowest 120 overused wires at pass 3, "
                                           r"280 at pass 9"):
        run_watched([sys.executable, str(script)], tmp_path / "route.out", tmp_path,
                    timeout=30, watch_log=tmp_path / "nextpnr.log", patience=6, poll=0.2)


def test_a_route_that_finishes_is_not_stopped(tmp_path):
    import sys
    from tickwire.tools.build.route_watch import run_watched
    script = tmp_path / "ok_router.py"
    script.write_text("open('nextpnr.log', 'w').write("
                      "'Info:     iter=1 wires=10 overused=0 overuse=0\\n')\n")
    t = run_watched([sys.executable, str(script)], tmp_path / "route.out", tmp_path,
                    timeout=30, watch_log=tmp_path / "nextpnr.log", patience=1, poll=0.2)
    assert t >= 0


def test_heap_beta_needs_the_heap_placer(tmp_path, capsys):
    """`--heap-beta` is HeAP's option: with the default static placer it is refused
    before anything runs (nothing written to --out)."""
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        bs.main(["--out", str(out), "--no-record", "--heap-beta", "0.8"])
    assert e.value.code == 2
    assert "--heap-beta needs --placer heap" in capsys.readouterr().err
    assert not out.exists()
