"""tools/feeds/lossy.py: two-feed captures whose losses and skew are what they claim,
and the replay contract for one-sided loss (the skew-tolerant A/B arbitration's
hold buffer fills it from the other feed)."""
from pathlib import Path

from tickwire.tools.feeds import itch_file, lossy, moldfeed, pcap

FULL = Path(__file__).resolve().parents[1] / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
MSGS = list(itch_file.read(FULL))


def by_feed(cap):
    out = {"A": {}, "B": {}}
    for f in cap.frames:
        out[f.feed][f.seq] = f
    return out


def test_losses_are_one_sided_unless_declared_both():
    cap = lossy.two_feed(MSGS, loss_a=0.2, loss_b=0.2, both_packets=[4, 9], seed=3)
    seqs = [f.seq for f in moldfeed.build_feed(MSGS)]
    feeds = by_feed(cap)
    gone_both = {s for s in seqs if s not in feeds["A"] and s not in feeds["B"]}
    assert gone_both == {seqs[4], seqs[9]} == {s for s, _c in cap.lost_both}
    assert set(cap.lost_a) == {s for s in seqs if s not in feeds["A"]} - gone_both
    assert set(cap.lost_b) == {s for s in seqs if s not in feeds["B"]} - gone_both
    assert cap.lost_a and cap.lost_b


def test_feed_b_is_n_packets_late_and_timestamps_increase(tmp_path):
    cap = lossy.two_feed(MSGS, skew_b=20, interval_ns=2000, jitter_ns=0)
    feeds = by_feed(cap)
    s = sorted(feeds["A"])[30]
    lag = feeds["B"][s].ts - feeds["A"][s].ts
    assert 20 * 2000 <= lag <= 20 * 2000 + 1000
    ts = [f.ts for f in cap.frames]
    assert ts == sorted(ts)
    lossy.write(tmp_path / "c.pcap", cap)
    back = list(pcap.read(tmp_path / "c.pcap"))
    assert [t for t, _d in back] == ts and [d for _t, d in back] == [f.data for f in cap.frames]


def test_cli_writes_the_capture(tmp_path, capsys):
    assert lossy.main([str(FULL), str(tmp_path / "x.pcap"), "--loss-a", "0.1",
                       "--both-packets", "2", "--skew-b", "5"]) == 0
    assert "on both 1 packets" in capsys.readouterr().err
    assert sum(1 for _ in pcap.read(tmp_path / "x.pcap")) > 100


def test_one_sided_loss_with_b_20_late_gives_the_complete_trajectory(tmp_path):
    from test_replay_recovery import run
    full, _ = run(tmp_path, FULL, "full")
    cap = lossy.two_feed(MSGS, loss_a=0.03, loss_b=0.03, skew_b=20)
    lossy.write(tmp_path / "c.pcap", cap)
    rows, stats = run(tmp_path, tmp_path / "c.pcap", "c")
    assert stats["stale_locates"] == []
    assert rows == full
