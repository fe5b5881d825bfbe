"""ebr_balance pins a placement's block RAMs evenly over the EBR rows, keeping order."""
import pytest

from tickwire.tools.build.ebr_balance import COLUMNS, ROWS, balance, pin


def _placed(bels):
    return {"modules": {"top": {"cells": {
        **{n: {"type": "DP16KD", "attributes": {"NEXTPNR_BEL": b}} for n, b in bels.items()},
        "lut": {"type": "TRELLIS_COMB", "attributes": {"NEXTPNR_BEL": "X5/Y5/SLICEA"}}}}}}


def test_sites_are_the_parts_208():
    assert len(COLUMNS) == 52 and len(set(COLUMNS)) == 52 and len(ROWS) * 52 == 208


def test_crowded_bottom_rows_are_spread_in_order():
    # 8 RAMs, all in the two bottom rows as the placer left them
    bels = {f"r{i}": f"X{COLUMNS[i][0]}/Y{70 if i < 4 else 82}/{COLUMNS[i][1]}"
            for i in range(8)}
    net = {"modules": {"top": {"cells": {n: {"type": "DP16KD", "attributes": {}}
                                         for n in bels}}}}
    assert pin(_placed(bels), net) == {22: 2, 46: 2, 70: 2, 82: 2}
    got = {n: c["attributes"]["BEL"] for n, c in net["modules"]["top"]["cells"].items()}
    assert len(set(got.values())) == 8
    # a monotone map: the first two (row 70, leftmost) go to the top row, in column order
    assert got["r0"].endswith("/Y22/EBR0") and got["r1"].split("/")[1] == "Y22"
    assert got["r7"].split("/")[1] == "Y82"
    x0, x1 = (int(got[n].split("/")[0][1:]) for n in ("r0", "r1"))
    assert x0 < x1


def test_too_many_rams_is_an_error():
    rams = {f"r{i}": (4, 22, "EBR0") for i in range(5)}
    with pytest.raises(ValueError, match="do not fit"):
        balance(rams, (22, 46), [(4, "EBR0"), (6, "EBR1")])
