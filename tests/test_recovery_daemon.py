"""`tickwire serve --glimpse ... --rerequest ...` on the model card, `tickwire recover`
and `tickwire status` through the real processes: the forced snapshot is loaded,
counted, exported and audited; a viewer may not force one; a credentials file
others can read is refused; a real card is refused (no injection path)."""
import json
import os
import urllib.request
from pathlib import Path

import pytest

from conftest import ServeDaemon, cli_env
from tickwire.tools.exchange.glimpse_server import GlimpseServer
from tickwire.tools.exchange.mold_server import MoldRequestServer
from tickwire.tools.feeds import itch_file

FULL = Path(__file__).resolve().parents[1] / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
MSGS = list(itch_file.read(FULL))


@pytest.fixture
def exchange():
    with MoldRequestServer(MSGS) as m, GlimpseServer(MSGS, {"tw": "pw"}, position=3000) as g:
        yield m, g


def serve_args(tmp_path, exchange, mode=0o600):
    cred = tmp_path / "cred"
    cred.write_text("tw:pw")
    os.chmod(cred, mode)
    m, g = exchange
    return ["--rerequest", f"127.0.0.1:{m.address[1]}", "--glimpse", f"127.0.0.1:{g.address[1]}",
            "--glimpse-credentials", str(cred)]


def wait_for(fn, timeout=15):
    import time
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_recover_loads_a_snapshot_and_is_audited(tmp_path, exchange):
    d = ServeDaemon(tmp_path / "state", serve_args(tmp_path, exchange))
    try:
        st = json.loads(d.cli("status", "--json").stdout)
        assert st["recovery"]["configured"] and st["recovery"]["state"] == "idle"
        p = d.cli("recover")
        assert p.returncode == 0, p.stderr
        st = wait_for(lambda: (lambda s: s if s["recovery"].get("snapshots") else None)(
            json.loads(d.cli("status", "--json").stdout)))
        assert "resumed at 3001" in st["recovery"]["last"]
        text = d.cli("status").stdout
        assert "1 snapshot(s)" in text
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{d.metrics_port}/metrics",
                                         timeout=10).read().decode()
        assert "tickwire_recovery_snapshots_total 1.0" in metrics
        assert "tickwire_recovery_stale_books" in metrics
    finally:
        d.stop()
    log = [json.loads(x) for x in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
    assert any(e["action"] == "Recover" for e in log), "the operator's call"
    assert any(e["action"] == "Recovery" and "snapshot loaded" in e["result"] for e in log)


def test_viewer_cannot_force_a_snapshot(tmp_path, exchange):
    roles = tmp_path / "roles.yaml"
    roles.write_text(f"{os.getuid()}: viewer\n")
    d = ServeDaemon(tmp_path / "state", serve_args(tmp_path, exchange) + ["--roles", str(roles)])
    try:
        p = d.cli("recover")
        assert p.returncode == 5, p.stdout + p.stderr
    finally:
        d.stop()


def test_unconfigured_recover_fails_and_says_why(tmp_path):
    d = ServeDaemon(tmp_path / "state")
    try:
        p = d.cli("recover")
        assert p.returncode != 0 and "not configured" in (p.stdout + p.stderr)
        assert "not configured" in d.cli("status").stdout
    finally:
        d.stop()


def test_loose_credentials_file_is_refused(tmp_path, exchange):
    d = ServeDaemon(tmp_path / "state", serve_args(tmp_path, exchange, mode=0o644))
    try:
        assert d.cli("recover").returncode == 0
        st = wait_for(lambda: (lambda s: s if "0644" in s["recovery"].get("last", "") else None)(
            json.loads(d.cli("status", "--json").stdout)))
        assert int(st["recovery"].get("snapshots", 0)) == 0
    finally:
        d.stop()
    _, g = exchange
    assert g.logins == [], "never dialled with a file others can read"


def test_daemon_recovers_a_lossy_feed_and_books_match_the_oracle(tmp_path):
    """The whole loop through the processes: `serve --model-feed` replays a capture
    that lost packets on both ports into the model card; the daemon re-requests from
    the request server; `tickwire book` then shows the oracle's BBO for every symbol.
    The subscriptions come from a previous daemon run (restored at start)."""
    from tickwire.model import book as book_model
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
        finally:
            d.stop()


def _value(reply, name):
    v = reply.get("counters", {}).get(name)
    return None if v is None else int(v)
