"""ebr_balance pins a placement's block RAMs evenly over the EBR rows, keeping order."""
import pytest

from tickwire.tools.build import ebr_balance as eb
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
    assert pin(_placed(bels), net, weights=None) == {22: 2, 46: 2, 70: 2, 82: 2}
    got = {n: c["attributes"]["BEL"] for n, c in net["modules"]["top"]["cells"].items()}
    assert len(set(got.values())) == 8
    # a monotone map: the first two (row 70, leftmost) go to the top row, in column order
    assert got["r0"].endswith("/Y22/EBR0") and got["r1"].split("/")[1] == "Y22"
    assert got["r7"].split("/")[1] == "Y82"
    x0, x1 = (int(got[n].split("/")[0][1:]) for n in ("r0", "r1"))
    assert x0 < x1


def test_by_default_rows_take_their_band_of_the_die():
    bels = {f"r{i}": f"X{COLUMNS[i][0]}/Y{70 if i < 4 else 82}/{COLUMNS[i][1]}"
            for i in range(8)}
    net = {"modules": {"top": {"cells": {n: {"type": "DP16KD", "attributes": {}}
                                         for n in bels}}}}
    assert pin(_placed(bels), net) == {22: 3, 46: 2, 70: 1, 82: 2}


def test_too_many_rams_is_an_error():
    rams = {f"r{i}": (4, 22, "EBR0") for i in range(5)}
    with pytest.raises(ValueError, match="do not fit"):
        balance(rams, (22, 46), [(4, "EBR0"), (6, "EBR1")])


def test_band_weights_and_shares():
    """Rows get RAMs in proportion to the die band each serves (halfway to the next row),
    no row more than it has sites, and every RAM a row."""
    w = eb.band_weights(eb.ROWS)
    assert w == [34, 24, 18, 20] and sum(w) == 96
    assert eb.shares(154, w, 52) == [52, 39, 30, 33]
    assert eb.shares(208, w, 52) == [52, 52, 52, 52]
    assert sum(eb.shares(101, w, 52)) == 101
    with pytest.raises(ValueError):
        eb.shares(209, w, 52)


def test_weighted_balance_fills_rows_by_their_share():
    rams = {f"r{i}": (4 + (i % 40), 70 + 12 * (i % 2), "EBR0") for i in range(154)}
    bels = eb.balance(rams, eb.ROWS, eb.COLUMNS, eb.band_weights(eb.ROWS))
    rows = {}
    for bel in bels.values():
        y = int(eb.BEL_RE.match(bel).group(2))
        rows[y] = rows.get(y, 0) + 1
    assert rows == {22: 52, 46: 39, 70: 30, 82: 33}
    assert len(set(bels.values())) == 154
