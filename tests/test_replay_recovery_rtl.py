"""The recovery replay contract on the RTL (board build, native harness): gap fills
(`--recover-from`) and a late join (`--join-at/--snapshot-from`) go through the core's
host injection window as register writes (tools/engines/rtl_recovery.py), and the
BBO csv equals the model engine's, which equals the complete stream's."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tickwire.tools.feeds import itch_file, lossy, moldfeed

FULL = Path(__file__).resolve().parents[1] / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
BUILD = "board"


def replay(tmp_path, inp, engine, *extra):
    out, stats = tmp_path / f"{engine}.csv", tmp_path / f"{engine}.json"
    args = [sys.executable, "-m", "tickwire", "replay", str(inp), "--engine", engine,
            "--build", BUILD, "--bbo-out", str(out), "--stats-out", str(stats), "--quiet",
            *extra]
    p = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr
    return out.read_bytes(), json.loads(stats.read_text())


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    return replay(tmp_path_factory.mktemp("full"), FULL, "model")[0]


@pytest.mark.xdist_group(f"tw_core_{BUILD}")
def test_recover_from_on_the_rtl_equals_the_model_and_the_complete_stream(tmp_path, complete):
    """Gaps on both feeds: the session's first packet, a single packet, a run of
    eight (64 messages) and the last one (only End of Session reveals it), with
    one-sided loss on both feeds around them. Packets of 8 messages and no skew: with
    B late, the hold buffers release their backlog at one message a cycle, faster
    than the book takes them (book.fifo_overflow, on the RTL with or without recovery:
    a merge/book matter, see the branch notes)."""
    msgs = list(itch_file.read(FULL))
    last = len(moldfeed.pack_messages(msgs, per_packet=8)) - 1
    cap = lossy.two_feed(msgs, per_packet=8, loss_a=0.03, loss_b=0.03,
                         both_packets=[0, 3, *range(40, 48), last], end_of_session=True)
    lossy.write(tmp_path / "c.pcap", cap)
    lost = sum(c for _s, c in cap.lost_both)
    model_csv, m = replay(tmp_path, tmp_path / "c.pcap", "model", "--recover-from", str(FULL))
    rtl_csv, r = replay(tmp_path, tmp_path / "c.pcap", "rtl", "--recover-from", str(FULL))
    assert rtl_csv == model_csv == complete
    assert r["stale_locates"] == m["stale_locates"] == []
    assert r["recovery"]["messages_recovered"] == m["recovery"]["messages_recovered"] >= lost
    c = r["counters"]
    assert c["inject.messages"] == r["recovery"]["messages_recovered"]
    assert "mold.gaps" not in c and "inject.overruns" not in c and "book.fifo_overflow" not in c


@pytest.mark.xdist_group(f"tw_core_{BUILD}")
def test_join_at_on_the_rtl_equals_the_model(tmp_path, complete):
    n = 1500
    cap = lossy.two_feed(list(itch_file.read(FULL)), per_packet=8, both_packets=[5, 60, 300])
    lossy.write(tmp_path / "j.pcap", cap)
    extra = ["--join-at", str(n), "--snapshot-from", str(FULL), "--recover-from", str(FULL)]
    model_csv, m = replay(tmp_path, tmp_path / "j.pcap", "model", *extra)
    rtl_csv, r = replay(tmp_path, tmp_path / "j.pcap", "rtl", *extra)
    assert rtl_csv == model_csv
    rows = rtl_csv.decode().splitlines()[1:]
    assert min(int(x.split(",")[0]) for x in rows) == n - 1
    later = [x for x in rows if int(x.split(",")[0]) >= n]
    assert later == [x for x in complete.decode().splitlines()[1:] if int(x.split(",")[0]) >= n]
    assert r["recovery"]["snapshot_messages"] == m["recovery"]["snapshot_messages"] > 0
    assert r["counters"]["inject.messages"] >= r["recovery"]["snapshot_messages"]


@pytest.mark.xdist_group(f"tw_core_{BUILD}")
def test_without_recovery_bbo_updates_after_a_real_gap_are_flagged(tmp_path):
    """No host answers: the gap is declared (inject.gap_wait = 0) and every BBO and
    top-N update from then on leaves the core flagged unreliable (the books are stale
    until the host clears them); none before it."""
    from tickwire.tools import replay as rp
    from tickwire.tools.engines import ENGINES
    from tickwire.tools.feeds import pacing
    cap = lossy.two_feed(list(itch_file.read(FULL)), per_packet=8, both_packets=[100])
    lossy.write(tmp_path / "g.pcap", cap)
    feed = rp.load_feed(tmp_path / "g.pcap")
    pacing.pace(feed.frames)
    cfg = rp.build(BUILD)
    subs = rp.subscriptions(feed, None, cfg.book_slots, warn=lambda *a: None)
    res = ENGINES["rtl"].run(feed, subs, cfg=cfg)
    (first, _count), = cap.lost_both
    flagged = res.extra["bbo_unreliable_seqs"]
    after = [r[0] for r in res.bbo_rows if r[0] >= first]
    assert res.counters["mold.gaps"] == 1 and res.counters["inject.gaps"] == 1
    assert after and flagged == after
    # top-N updates carry the same flag: from the gap on, as the model's
    top = res.extra["topn_unreliable_seqs"]
    assert top and min(top) >= first
    model = ENGINES["model"].run(feed, subs, cfg=cfg)
    assert top == model.extra["topn_unreliable_seqs"]
    assert flagged == model.extra["bbo_unreliable_seqs"]
