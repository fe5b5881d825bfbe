"""congestion.py sums router2's heatmap files per block and per band of rows."""
from tickwire.tools.build.congestion import by_band, by_block, last_iteration, report


def test_by_block_groups_hierarchical_names():
    lines = ["core.book.cache.pre_r[3],5", "core.book.cache.old_r[0],2",
             "core.book.orders.s2[1],4", "rst,7", ""]
    assert by_block(lines) == {"core.book.cache": 7, "core.book.orders": 4, "(top)": 7}
    assert by_block(lines, depth=2) == {"core.book": 11, "(top)": 7}


def test_by_band_sums_rows_of_every_column():
    # two columns (x), five rows (y) each; a trailing comma as nextpnr writes it
    lines = ["0,1,0,2,3,", "1,0,0,0,4,"]
    assert by_band(lines, band=2) == [2, 2, 7]


def test_report_picks_the_last_pass(tmp_path):
    prefix = tmp_path / "hm"
    for it, n in ((1, 9), (2, 3)):
        (tmp_path / f"hm_congestion_by_net_{it}.csv").write_text(f"core.a.b.x,{n}\n")
        (tmp_path / f"hm_congestion_by_coordinate_{it}.csv").write_text(f"0,{n},\n")
    assert last_iteration(prefix) == 2
    text = report(prefix, 2)
    assert "| core.a.b | 3 | 100.0 % |" in text and "| 0-15 | 3 | 100.0 % |" in text
