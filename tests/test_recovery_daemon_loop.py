"""The recovery loop through the processes: `tickwire serve --device model
--model-feed CAPTURE.pcap` with a capture that lost packets on both ports, the test
exchange on loopback, and `tickwire status/book` reading the result; also a daemon
SIGKILLed mid-recovery and restarted."""
import json

from conftest import ServeDaemon
from test_recovery_daemon import MSGS, serve_args, wait_for
from tickwire.tools.exchange.glimpse_server import GlimpseServer
from tickwire.tools.exchange.mold_server import MoldRequestServer


def test_daemon_recovers_a_lossy_feed_and_books_match_the_oracle(tmp_path):
    """The whole loop through the processes: `serve --model-feed` replays a capture
    that lost packets on both ports into the model card; the daemon re-requests from
    the request server; `tickwire book` then shows the oracle's BBO for every symbol.
    The subscriptions come from a previous daemon run (restored at start)."""
    from tickwire.tools.feeds import lossy
    dirs = [(int.from_bytes(m[1:3], "big"), m[11:19].decode().strip())
            for m in MSGS if m[:1] == b"R"]
    d = ServeDaemon(tmp_path / "state")
    try:
        for slot, (loc, name) in enumerate(dirs):
            p = d.cli("subscribe", str(loc), str(slot), "--symbol", name)
            assert p.returncode == 0, p.stderr
    finally:
        d.stop()
    cap = lossy.two_feed(MSGS, loss_a=0.02, loss_b=0.02, both_packets=[3, 40, 41, 90],
                         skew_b=10)
    lossy.write(tmp_path / "c.pcap", cap)
    with MoldRequestServer(MSGS) as m, GlimpseServer(MSGS, {"tw": "pw"}) as g:
        args = serve_args(tmp_path, (m, g)) + ["--model-feed", str(tmp_path / "c.pcap"),
                                                "--model-feed-speed", "0"]
        d = ServeDaemon(tmp_path / "state", args)
        try:
            def settled():
                s = json.loads(d.cli("status", "--json").stdout)["recovery"]
                done = int(s.get("gaps", 0)) >= 3 and int(s.get("pending", 0)) == 0 \
                    and not s.get("stale_locates")
                mc = json.loads(d.cli("counters", "mold.messages", "--json").stdout)
                return s if done and _value(mc, "mold.messages") == len(MSGS) else None
            st = wait_for(settled, timeout=60)
            assert int(st["recovered"]) >= 3 and int(st.get("abandoned", 0)) == 0
            assert_books_equal_oracle(d, dirs)
        finally:
            d.stop()


def assert_books_equal_oracle(d, dirs):
    """`tickwire book NAME` for every subscribed symbol equals the complete session's BBO."""
    from tickwire.model import book as book_model
    ref = book_model.BookModel({loc: i for i, (loc, _n) in enumerate(dirs)})
    for i, msg in enumerate(MSGS, 1):
        ref.apply(book_model.decode(msg, i))
    for loc, name in dirs:
        b = json.loads(d.cli("book", name, "--json").stdout)
        bid_px, bid_qty, _bo, ask_px, ask_qty, _ao = ref.books[loc].bbo() \
            if loc in ref.books else (0,) * 6
        got_bid = (int(b["bids"][0]["price"]), int(b["bids"][0]["qty"])) if b["bids"] else (0, 0)
        got_ask = (int(b["asks"][0]["price"]), int(b["asks"][0]["qty"])) if b["asks"] else (0, 0)
        assert (got_bid, got_ask) == ((bid_px, bid_qty), (ask_px, ask_qty)), name
        assert not b.get("unreliable")


def _value(reply, name):
    v = reply.get("counters", {}).get(name)
    return None if v is None else int(v)


def test_daemon_killed_during_recovery_restarts_and_books_end_exact(tmp_path):
    """Daemon 1 sees the gaps while the request server stays silent and is killed
    (SIGKILL) mid-recovery: recovery.json holds the open gaps. Daemon 2 reads them,
    closes the ones its (restarted) model card no longer holds, recovers the card's
    own gaps from a working server, and the books end exact."""
    import signal
    from tickwire.tools.exchange.mold_server import Behaviour
    from tickwire.tools.feeds import lossy
    dirs = [(int.from_bytes(m[1:3], "big"), m[11:19].decode().strip())
            for m in MSGS if m[:1] == b"R"]
    d = ServeDaemon(tmp_path / "state")
    try:
        for slot, (loc, name) in enumerate(dirs):
            assert d.cli("subscribe", str(loc), str(slot), "--symbol", name).returncode == 0
    finally:
        d.stop()
    cap = lossy.two_feed(MSGS, both_packets=[10, 60])
    lossy.write(tmp_path / "c.pcap", cap)
    feed = ["--model-feed", str(tmp_path / "c.pcap"), "--model-feed-speed", "0"]
    state = tmp_path / "state"
    with MoldRequestServer(MSGS, behaviour=Behaviour(drop_prob=1.0)) as m, \
            GlimpseServer(MSGS, {"tw": "pw"}) as g:
        d = ServeDaemon(state, serve_args(tmp_path, (m, g)) + feed)
        try:
            wait_for(lambda: int(json.loads(d.cli("status", "--json").stdout)["recovery"]
                                 .get("pending", 0)) >= 1)
            saved = json.loads((state / "recovery.json").read_text())
            assert saved["pending"], "the open gap is on disk before it is recovered"
        finally:
            d.stop(sig=signal.SIGKILL)
    with MoldRequestServer(MSGS) as m, GlimpseServer(MSGS, {"tw": "pw"}) as g:
        d = ServeDaemon(state, serve_args(tmp_path, (m, g)) + feed)
        try:
            st = wait_for(lambda: (lambda s: s if int(s.get("recovered", 0)) >= 2 and
                                   int(s.get("pending", 0)) == 0 and not s.get("stale_locates")
                                   else None)(
                json.loads(d.cli("status", "--json").stdout)["recovery"]), timeout=60)
            assert int(st.get("abandoned", 0)) == 0
            assert_books_equal_oracle(d, dirs)
        finally:
            d.stop()
    log = [json.loads(x) for x in (state / "audit.jsonl").read_text().splitlines()]
    assert any(e["action"] == "Recovery" and "after a restart" in e["result"] for e in log)
