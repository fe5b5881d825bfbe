"""The replay contract for captures with real gaps (model engine): --recover-from,
--join-at/--snapshot-from and stale_locates, on two-feed captures from
tools/feeds/lossy.py; and capture pacing (timestamps -> per-port arrival)."""
import json
from argparse import Namespace

import pytest

from tickwire.tools import replay
from tickwire.tools.feeds import itch_file, lossy, moldfeed, pacing

from pathlib import Path

FULL = Path(__file__).resolve().parents[1] / "tools" / "demo_data" / "synthetic_8sym_6000.itch"


def run(tmp_path, inp, name, **kw):
    args = Namespace(input=str(inp), engine="model", build="sim", ab=False,
                     msgs_per_packet=None, symbols=None, locates=None, speed="capture",
                     skew_b=0, recover_from=None, join_at=None, snapshot_from=None,
                     bbo_out=str(tmp_path / f"{name}.csv"),
                     stats_out=str(tmp_path / f"{name}.json"), latency_out=None,
                     bbo_cycles_out=None, quiet=True, trace=None, trace_from=0,
                     trace_cycles=1)
    for k, v in kw.items():
        setattr(args, k, v)
    assert replay.run(args) == 0
    rows = (tmp_path / f"{name}.csv").read_text().splitlines()[1:]
    return rows, json.loads((tmp_path / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    return run(tmp_path_factory.mktemp("full"), FULL, "full")


def capture(tmp_path, name, **kw):
    cap = lossy.two_feed(list(itch_file.read(FULL)), **kw)
    lossy.write(tmp_path / f"{name}.pcap", cap)
    return tmp_path / f"{name}.pcap", cap


#: The last packet lost on both feeds: only the End of Session packet's sequence
#: number (the next one) reveals the gap; the sequencer takes it as a mark that waits
#: in the hold buffer like a message (docs/bad-input-mold.md).
_EOS = [-1]


@pytest.mark.parametrize("both", [[3], [0], [40, 41, 42, 43, 44, 45, 46, 47], _EOS])
def test_recover_from_gives_the_complete_trajectory(tmp_path, complete, both):
    """A single lost packet, a long run, the session's first packet and its last
    (end-of-session follows), with one-sided loss and B 20 packets late around them."""
    n_packets = len(moldfeed.pack_messages(list(itch_file.read(FULL))))
    both = [p % n_packets for p in both]
    pcap, cap = capture(tmp_path, "c", loss_a=0.03, loss_b=0.03, both_packets=both,
                        skew_b=20, end_of_session=True)
    assert len(cap.lost_both) == len(both)
    locs = _directory_locates()[:replay.build("sim").book_slots]
    gapped, stats = run(tmp_path, pcap, "gapped", locates=",".join(map(str, locs)))
    if 0 not in both:       # a lost first packet is a session that starts later
        assert stats["counters"]["mold.gaps"] > 0
        assert stats["stale_locates"] == sorted(locs)
    rows, stats = run(tmp_path, pcap, "rec", recover_from=str(FULL))
    assert rows == complete[0]
    assert stats["stale_locates"] == []
    assert stats["recovery"]["messages_recovered"] >= sum(c for _s, c in cap.lost_both)


def _directory_locates():
    return [int.from_bytes(m[1:3], "big") for m in itch_file.read(FULL) if m[:1] == b"R"]


@pytest.mark.parametrize("n", [2, 1500, 4321])
def test_join_at_loads_a_snapshot_then_follows_the_complete_stream(tmp_path, complete, n):
    pcap, _ = capture(tmp_path, "j", both_packets=[5, 60], skew_b=3)
    rows, stats = run(tmp_path, pcap, "join", join_at=n, snapshot_from=str(FULL),
                      recover_from=str(FULL))
    seqs = [int(r.split(",")[0]) for r in rows]
    assert min(seqs) >= n - 1, "nothing from before the join"
    assert [r for r in rows if int(r.split(",")[0]) >= n] == \
        [r for r in complete[0] if int(r.split(",")[0]) >= n]
    assert stats["recovery"]["join_ignored_packets"] > 0 or n < 50
    assert stats["stale_locates"] == []


def test_locates_subscribe_without_a_stock_directory(tmp_path, complete):
    """A capture that starts after every R message, subscribed by locate."""
    msgs = list(itch_file.read(FULL))
    first = max(i for i, m in enumerate(msgs) if m[:1] == b"R") + 1
    tail = moldfeed.build_feed(msgs[first:], first_seq=first + 1)
    moldfeed.stamp(tail, gap_ns=1500)
    from tickwire.tools.feeds import pcap as pcap_io
    pcap_io.write(tmp_path / "tail.pcap", ((f.ts, f.data) for f in tail))
    none, _ = run(tmp_path, tmp_path / "tail.pcap", "none")
    assert none == [], "no directory, nothing subscribed"
    loc = _directory_locates()[:3]
    rows, _ = run(tmp_path, tmp_path / "tail.pcap", "loc", locates=",".join(map(str, loc)))
    assert rows and {int(r.split(",")[1]) for r in rows} <= set(loc)


def test_pacing_follows_timestamps_and_skew():
    frames = {"a": [moldfeed.Frame(b"\0" * 100, "A", ts=1000 * i) for i in range(4)],
              "b": [moldfeed.Frame(b"\0" * 100, "B", ts=1000 * i + 400) for i in range(4)]}
    starts = pacing.pace(frames)
    assert starts["a"] == [0, 1250, 2500, 3750]
    assert starts["b"] == [500, 1750, 3000, 4250]
    starts = pacing.pace(frames, skew_b_ns=800)
    assert starts["b"][0] == 1500
    back = pacing.pace(frames, speed="max")
    step = pacing.wire_chars(frames["a"][0])
    assert back["a"] == [0, step, 2 * step, 3 * step] and back["b"] == back["a"]
    assert all(f.idle == 0 for f in frames["a"])


def test_capture_order_decides_which_copy_arrives_first():
    """B stamped ahead of A: the model engine sees B's copy first."""
    from tickwire.tools.engines import _arrival_order
    feed = replay.Feed()
    fa = moldfeed.Frame(b"\0" * 200, "A", 1, 1, ts=5000)
    fb = moldfeed.Frame(b"\1" * 200, "B", 1, 1, ts=4000)
    feed.add("a", fa)
    feed.add("b", fb)
    pacing.pace(feed.frames)
    assert [f.feed for _p, f in _arrival_order(feed)] == ["B", "A"]
    pacing.pace(feed.frames, skew_b_ns=2000)
    assert [f.feed for _p, f in _arrival_order(feed)] == ["A", "B"]


def test_without_recovery_top_n_and_bbo_updates_after_a_real_gap_are_flagged(tmp_path):
    """The stale flag rides on every BBO and top-N update from the gap on (model
    engine; the RTL's is in test_replay_recovery_rtl.py), and on none before it."""
    from tickwire.model.device import DeviceModel
    from tickwire.tools.engines import ENGINES, _arrival_order
    cap = lossy.two_feed(list(itch_file.read(FULL)), per_packet=8, both_packets=[100])
    lossy.write(tmp_path / "g.pcap", cap)
    feed = replay.load_feed(tmp_path / "g.pcap")
    pacing.pace(feed.frames)
    cfg = replay.build("sim")
    subs = replay.subscriptions(feed, None, cfg.book_slots, warn=lambda *a: None)
    res = ENGINES["model"].run(feed, subs, cfg=cfg)
    (first, _count), = cap.lost_both
    assert res.counters["mold.gaps"] == 1
    bbo_after = [r[0] for r in res.bbo_rows if r[0] >= first]
    assert bbo_after and res.extra["bbo_unreliable_seqs"] == bbo_after
    # every top-N update: the same run, keeping the device model's events
    dev = DeviceModel(subscriptions=subs, top_n=cfg.top_n, risk_slots=cfg.risk_slots,
                      hold_depth=cfg.merge_depth,
                      jump_window=cfg.merge_jump_window)
    for t, port, f, lane, realign in _arrival_order(feed, times=True):
        dev.frame(port, f.data, fcs_ok=f.fcs_ok, t=t, lane=lane, realign=realign)
    dev.finish()
    events = dev.book.topn_events
    after = [e.seq for e in events if e.seq >= first]
    assert after and len(after) < len(events)
    assert [e.seq for e in events if e.unreliable] == after
    assert res.extra["topn_unreliable_seqs"] == after
