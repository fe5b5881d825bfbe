"""make fit's arithmetic: TRELLIS_COMB as nextpnr packs the cells, the verdict and the
overrides (the Yosys run itself is `make fit`, minutes long, not part of make test)."""
import pytest

from tickwire.rtl.config import build
from tickwire.tools.build import core_fit


def _blocks(**comb):
    return {k: {"comb": v, "ff": 0, "dp16kd": 0, "mult18": 0} for k, v in comb.items()}


def test_carry_cells_and_lut_ram_take_two_slots():
    assert core_fit.comb_of({"LUT4": 100, "CCU2C": 10, "TRELLIS_DPR16X4": 3, "TRELLIS_FF": 9}) == 126


def test_a_core_over_the_part_fails_with_the_overflowing_resource_named():
    cells = {"LUT4": 80000, "CCU2C": 2000, "TRELLIS_FF": 50000, "DP16KD": 208}
    row = core_fit.row_of(cells, _blocks(book=40000, risk=9000), 400, build("board"))
    assert row["status"] == "failed" and row["luts"] == 84000
    assert row["reason"].startswith("does not fit: comb 84,000 of 83,640")
    assert "dp16kd" not in row["reason"].split(".")[0]      # 208 of 208 fits
    assert "book 40,000, risk 9,000" in row["reason"]


def test_a_core_within_the_part_is_ok_and_says_it_is_yosys_only():
    row = core_fit.row_of({"LUT4": 60000, "DP16KD": 150}, _blocks(book=30000), 300,
                          build("lab"))
    assert row["status"] == "ok" and row["fmax_mhz"] is None
    assert "Yosys only" in row["reason"] and "71.7 %" in row["reason"]


def test_overrides_are_typed_and_unknown_names_are_refused():
    assert core_fit.overrides(["risk_history=8", "clock_mhz=18"]) == {"risk_history": 8,
                                                                      "clock_mhz": 18.0}
    with pytest.raises(SystemExit, match="unknown parameter 'risk_hist'"):
        core_fit.overrides(["risk_hist=8"])
