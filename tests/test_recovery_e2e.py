"""Loopback recovery end to end (model card): a two-feed capture losing packets on
both ports drives the model card's data path; the recovery manager re-requests from
the MoldUDP64 request server and falls back to GLIMPSE; the books end equal to the
oracle (the complete session through the reference book). Also: a restart of the
daemon's recovery during a gap, a hold-buffer overflow, a late join."""
import os
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tickwire.control.daemon.recovery.feedcard import FeedCard
from tickwire.control.daemon.recovery.glimpse import GlimpseClient
from tickwire.control.daemon.recovery.manager import RecoveryManager
from tickwire.control.daemon.recovery.rerequest import RerequestClient
from tickwire.model import book as book_model
from tickwire.tools.exchange.glimpse_server import GlimpseServer
from tickwire.tools.exchange.mold_server import Behaviour, MoldRequestServer
from tickwire.tools.feeds import itch_file, lossy

FULL = Path(__file__).resolve().parents[1] / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
MSGS = list(itch_file.read(FULL))
SUBS = {loc: slot for slot, loc in enumerate(
    int.from_bytes(m[1:3], "big") for m in MSGS if m[:1] == b"R")}


def oracle(upto=len(MSGS)):
    ref = book_model.BookModel(SUBS)
    for i, m in enumerate(MSGS[:upto], 1):
        ref.apply(book_model.decode(m, i))
    return {loc: tuple(ref.top(loc, s, 1 << 30) for s in (0, 1)) for loc in SUBS}


def frames(**kw):
    cap = lossy.two_feed(MSGS, **kw)
    return [("b" if f.feed == "B" else "a", f.data) for f in cap.frames], cap


class Loop:
    """The exchange, the card and the manager wired on loopback."""

    def __init__(self, tmp_path, behaviour=None, hold=4096, join=False, position=None):
        cred = tmp_path / "cred"
        cred.write_text("tw:pw")
        os.chmod(cred, 0o600)
        self.state = tmp_path / "state"
        self.state.mkdir(mode=0o700, exist_ok=True)
        self.pos = {"n": 0}
        self.mold = MoldRequestServer(MSGS, behaviour=behaviour).start()
        self.glimpse = GlimpseServer(MSGS, {"tw": "pw"}, heartbeat_s=0.05,
                                     position=position or (lambda: self.pos["n"])).start()
        self.card = FeedCard(SUBS, hold_packets=hold, join=join)
        self.cred = cred
        self.audit = []
        self.registry = CollectorRegistry()
        self.mgr = self.manager()

    def manager(self, registry=None, other_feed_s=0.0):
        return RecoveryManager(
            self.card, self.state,
            RerequestClient(self.mold.address, "TICKWIRE01", timeout_s=0.05, retries=3),
            GlimpseClient(self.glimpse.address, self.cred, heartbeat_s=0.05),
            audit=lambda action, req, result: self.audit.append((action, req, result)),
            registry=registry or self.registry, poll_s=0.002, other_feed_s=other_feed_s)

    def play(self, fr, cap):
        """Live frames; the exchange's position follows the publisher."""
        ends = {}
        for f in cap.frames:
            ends[f.data] = f.seq + f.count - 1 if f.count not in (0, 0xFFFF) else f.seq - 1
        for port, data in fr:
            self.pos["n"] = max(self.pos["n"], ends.get(data, 0))
            self.card.frame(port, data)

    def settle(self):
        import time
        t0 = time.monotonic()
        while (self.card.stale or not self.card.events.empty() or self.mgr.pending) and \
                time.monotonic() - t0 < 20:
            if not self.mgr.step():
                time.sleep(0.005)

    def close(self):
        self.mold.stop()
        self.glimpse.stop()


def _recover(tmp_path, behaviour=None, **kw):
    fr, cap = frames(**kw)
    loop = Loop(tmp_path, behaviour=behaviour)
    loop.mgr.start()
    try:
        loop.play(fr, cap)
        loop.mgr.stop()
        loop.settle()
    finally:
        loop.close()
    return loop, cap


def test_loss_on_both_ports_recovered_by_rerequest(tmp_path):
    loop, _cap = _recover(tmp_path, loss_a=0.03, loss_b=0.03,
                          both_packets=[2, 30, 31, 32, 90], skew_b=5)
    assert loop.card.books() == oracle()
    assert loop.card.stale_locates() == []
    st = loop.mgr.status()
    assert st["gaps"] >= 3 and st["recovered"] + st["filled_by_other_feed"] == st["gaps"]
    assert st["abandoned"] == 0 and st["messages_rerequested"] >= 5
    assert sum(1 for a in loop.audit if a[0] == "Recovery") == st["gaps"]
    assert loop.registry.get_sample_value("tickwire_recovery_gaps_total") == st["gaps"]
    assert loop.registry.get_sample_value("tickwire_recovery_gap_to_exact_seconds_count") \
        == st["gaps"]


def test_silent_request_server_falls_back_to_a_snapshot(tmp_path):
    fr, cap = frames(both_packets=[40, 41])
    loop = Loop(tmp_path, behaviour=Behaviour(drop_prob=1.0))
    try:
        loop.play(fr, cap)
        loop.settle()
    finally:
        loop.close()
    st = loop.mgr.status()
    assert st["abandoned"] == 1 and st["snapshots"] == 1
    assert loop.card.books() == oracle()
    assert any("abandoned" in a[2] for a in loop.audit)


def test_hold_buffer_overflow_asks_for_a_snapshot(tmp_path):
    fr, cap = frames(both_packets=[10])
    loop = Loop(tmp_path, hold=5)
    try:
        loop.play(fr, cap)            # nobody recovers during play: the buffer fills
        assert loop.card.counts["hold_overflow"] > 0 and loop.card.stale
        loop.settle()
    finally:
        loop.close()
    assert loop.mgr.status()["snapshots"] >= 1
    assert loop.card.books() == oracle() and not loop.card.stale


def test_restart_during_recovery_keeps_the_gap(tmp_path):
    """The first manager sees the gap and dies before recovering it; a new one reads
    recovery.json and finishes the job."""
    fr, cap = frames(both_packets=[20])
    loop = Loop(tmp_path)
    try:
        loop.mgr = loop.manager(registry=CollectorRegistry(), other_feed_s=60)
        loop.play(fr, cap)
        loop.mgr.step()               # the gap is recorded, then the daemon "dies"
        assert loop.mgr.status()["pending"]
        assert (loop.state / "recovery.json").exists()
        while not loop.card.events.empty():   # what the card said is gone with the process
            loop.card.events.get_nowait()
        loop.mgr = loop.manager(registry=CollectorRegistry())
        assert loop.mgr.status()["pending"], "the new manager knows the open gap"
        loop.settle()
    finally:
        loop.close()
    assert loop.mgr.status()["recovered"] == 1 and loop.card.books() == oracle()


def test_late_join_by_snapshot_during_live_traffic(tmp_path):
    """The card starts mid-session: it holds live packets until the daemon loads a
    snapshot taken while the feed runs, then follows the feed exactly."""
    fr, cap = frames()
    half = len(fr) // 2
    loop = Loop(tmp_path, join=True)
    try:
        loop.play(fr[:half], cap)     # the exchange is at `half`; the card was not there
        loop.card.held.clear()
        loop.mgr.force_snapshot()
        t = threading.Thread(target=loop.play, args=(fr[half:], cap))
        t.start()
        loop.settle()
        t.join()
        loop.settle()
    finally:
        loop.close()
    assert loop.mgr.status()["snapshots"] == 1
    assert loop.card.books() == oracle()


def test_loopback_command_reports_books_equal_to_the_oracle(capsys):
    """`python -m tickwire.tools.exchange.loopback` (the clean-clone demo of the loop)."""
    from tickwire.tools.exchange import loopback
    assert loopback.main([str(FULL), "--both-packets", "3,40,41", "--skew-b", "20"]) == 0
    import json
    out = json.loads(capsys.readouterr().out)
    assert out["books_equal_oracle"] and out["recovery"]["recovered"] >= 2


def test_snapshot_without_a_server_stays_stale_and_is_audited_once(tmp_path):
    fr, cap = frames(both_packets=[10])
    card = FeedCard(SUBS)
    for port, data in fr:
        card.frame(port, data)
    audit = []
    mgr = RecoveryManager(card, tmp_path, audit=lambda *a: audit.append(a),
                          registry=CollectorRegistry())
    for _ in range(50):
        mgr.step()
    st = mgr.status()
    assert st["abandoned"] == 1 and st["snapshots"] == 0
    assert card.stale_locates() == sorted(SUBS), "never silently wrong: stale and flagged"
    assert "no GLIMPSE server" in st["last"]
    assert sum("FAILED" in a[2] for a in audit) == 1




@pytest.mark.parametrize("behaviour", [Behaviour(late_s=0.1), Behaviour(partial=5),
                                       Behaviour(duplicate=True)],
                         ids=["late", "partial", "twice"])
def test_request_server_late_partial_or_twice_books_end_exact(tmp_path, behaviour):
    """The server's answers come late, a few messages at a time, or twice: the books
    still end equal to the oracle and nothing stays stale; every gap was recovered,
    or abandoned for a snapshot (a partial server is too slow for the retry budget)."""
    loop, cap = _recover(tmp_path, behaviour, loss_a=0.02, both_packets=[5, 50, 51],
                         skew_b=3)
    assert loop.card.books() == oracle() and loop.card.stale_locates() == []
    st = loop.mgr.status()
    assert st["gaps"] >= 1 and st["messages_rerequested"] > 0
    assert st["recovered"] + st["filled_by_other_feed"] + st["abandoned"] == st["gaps"]
    assert st["snapshots"] >= (st["abandoned"] > 0)


def test_gap_before_end_of_session_recovered(tmp_path):
    """The session's last packet lost on both feeds: End of Session names the next
    sequence number, so the gap is seen, re-requested and filled."""
    from tickwire.tools.feeds import moldfeed
    last = len(moldfeed.pack_messages(MSGS)) - 1
    loop, cap = _recover(tmp_path, both_packets=[last], end_of_session=True)
    assert cap.lost_both and loop.card.books() == oracle()
    assert loop.card.stale_locates() == [] and loop.mgr.status()["recovered"] == 1
