"""risk-replay hands the gate the book as of `after_seq`: every book message counts,
including 19-byte Deletes (a length filter once dropped them and crossed the book)."""
import csv
from pathlib import Path

import pytest

from tickwire.model.limits import load
from tickwire.tools import risk_replay

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "itch"
FEED = DATA / "nasdaq_itch50_20200130_aapl_first5000.itch"
BBO = DATA / "nasdaq_itch50_20200130_aapl_first5000.bbo.csv"


def test_book_at_after_seq_matches_the_verified_trajectory(tmp_path):
    if not FEED.exists():
        pytest.skip(f"{DATA} absent: the real AAPL sample is needed for this check")
    rows = [tuple(map(int, r)) for r in list(csv.reader(BBO.open()))[1:]]
    orders = tmp_path / "orders.csv"
    seqs = (1000, 3000, 4000, 5000)
    orders.write_text("after_seq,clordid,account,symbol,side,qty,price\n" + "".join(
        f"{s},{i},DESK1,AAPL,B,100,3215000\n" for i, s in enumerate(seqs, 1)))
    steps = risk_replay.script(str(FEED), str(orders), load(REPO / "tools/demo_data/limits.yaml"))
    for seq, step in zip(seqs, steps):
        want = [r for r in rows if r[0] <= seq][-1]
        bid_px, bid_qty, ask_px, ask_qty = step["book"][:4]
        assert (bid_px, bid_qty, ask_px, ask_qty) == want[2:6], seq
