"""bench/synth.json: entries carry the rtl tree, replace by key, and stale ones are named."""
import json

import pytest

from tickwire.tools.build import synth_record as sr

ROW = {"block": "risk", "status": "ok", "timing": "routed", "fmax_mhz": 160.0,
       "goal_mhz": 156.25, "luts": 1200, "ffs": 900, "brams": 4, "dsps": 2,
       "critical_path": {"start": "a", "end": "b", "delay_ns": 6.2}, "seconds": 12.0}


def test_entry_fields_and_slack():
    e = sr.entry(ROW, "board", 1)
    assert (e["block"], e["build"], e["seed"], e["routed"]) == ("risk", "board", 1, True)
    assert (e["lut4"], e["ff"], e["dp16kd"], e["mult18"]) == (1200, 900, 4, 2)
    # 6.4 ns period at 156.25 MHz, 6.25 ns at 160: 0.15 ns to spare.
    assert e["worst_slack_ns"] == 0.15
    assert e["rtl_tree"] and len(e["rtl_tree"]) == 40


def test_record_replaces_same_key_keeps_others(tmp_path):
    path = tmp_path / "synth.json"
    sr.record([sr.entry(ROW, "board", 1), sr.entry(ROW, "board", 2)], path)
    sr.record([sr.entry({**ROW, "fmax_mhz": 150.0}, "board", 1)], path)
    entries = json.loads(path.read_text())["entries"]
    assert sorted((e["seed"], e["fmax_mhz"]) for e in entries) == [(1, 150.0), (2, 160.0)]
    assert entries[0]["worst_slack_ns"] < 0


def test_unrouted_is_not_routed():
    e = sr.entry({**ROW, "timing": "post-placement estimate"}, "board", 1)
    assert e["routed"] is False


def test_stale_detection():
    a = {"rtl_tree": "x" * 40, "dirty": False}
    b = {"rtl_tree": "y" * 40, "dirty": False}
    c = {"rtl_tree": "x" * 40, "dirty": True}
    assert sr.stale([a, b, c], "x" * 40) == [b, c]


def test_committed_file_is_well_formed():
    if not sr.PATH.exists():
        pytest.skip("bench/synth.json not written yet (make synth)")
    for e in sr.load()["entries"]:
        for key in ("block", "build", "seed", "routed", "fmax_mhz", "rtl_tree", "lut4"):
            assert key in e, (key, e)


def test_critical_path_ends():
    rep = {"critical_paths": [{"path": [
        {"from": {"cell": "ff1"}, "to": {"cell": "lut"}, "delay": 1.0},
        {"from": {"cell": "lut"}, "to": {"cell": "ff2"}, "delay": 2.0}]}]}
    assert sr.critical_path(rep) == {"start": "ff1", "end": "ff2", "delay_ns": 3.0}
    assert sr.critical_path({}) is None


def test_failed_run_still_has_every_required_key():
    """A timed-out route records no figures, but the row keeps the schema (lut4 null),
    as a merge re-route that timed out showed."""
    e = sr.entry({"block": "merge", "status": "failed", "reason": "timed out"}, "board", 1)
    for key in ("block", "build", "seed", "routed", "fmax_mhz", "rtl_tree", "lut4"):
        assert key in e, key
    assert e["lut4"] is None and e["fmax_mhz"] is None and e["routed"] is False
