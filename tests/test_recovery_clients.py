"""The daemon's recovery clients against the test exchange on loopback: a request
server that answers late, partially, twice, reordered or not at all; GLIMPSE login,
credentials-file checks, a snapshot taken during live traffic."""
import os
from pathlib import Path

import pytest

from tickwire.control.daemon.fsguard import UnsafePath
from tickwire.control.daemon.recovery.credentials import read_credentials
from tickwire.control.daemon.recovery.glimpse import GlimpseClient, LoginRejected
from tickwire.control.daemon.recovery.rerequest import RerequestClient
from tickwire.tools.exchange.glimpse_server import GlimpseServer
from tickwire.tools.exchange.mold_server import Behaviour, MoldRequestServer
from tickwire.tools.exchange.snapshot import LiveOrders
from tickwire.tools.feeds import itch_file

FULL = Path(__file__).resolve().parents[1] / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
MSGS = list(itch_file.read(FULL))


def fetch(behaviour, first=100, count=300, **kw):
    got = []
    with MoldRequestServer(MSGS, max_count=50, behaviour=behaviour) as srv:
        cli = RerequestClient(srv.address, "TICKWIRE01", max_count=50, timeout_s=0.1,
                              retries=4, **kw)
        try:
            res = cli.fetch(first, count, lambda f, ms: got.append((f, ms)))
        finally:
            cli.close()
        return res, got, srv.requests


def flat(got):
    """Injected runs must be contiguous and in order; returns the messages."""
    out, nxt = [], got[0][0] if got else None
    for f, ms in got:
        assert f == nxt, "injected out of sequence"
        out += ms
        nxt = f + len(ms)
    return out


@pytest.mark.parametrize("b", [Behaviour(), Behaviour(duplicate=True), Behaviour(reorder=True),
                               Behaviour(late_s=0.15), Behaviour(partial=20),
                               Behaviour(drop_first=3)],
                         ids=["plain", "twice", "reordered", "late", "partial", "drops"])
def test_rerequest_recovers_in_sequence(b):
    res, got, reqs = fetch(b)
    assert res.complete and flat(got) == MSGS[99:399]
    assert all(c <= 50 for _f, c in reqs), "split to the server's maximum count"
    if b.partial or b.drop_first or b.late_s:
        assert res.requests > 6, "the missing part was asked for again"


def test_rerequest_gives_up_on_a_silent_server():
    res, got, reqs = fetch(Behaviour(drop_prob=1.0), count=60)
    assert not res.complete and res.delivered == 0 and got == []
    assert len(reqs) == 4 * 2, "4 tries of 2 requests each, then give up"


def test_rerequest_rate_limit():
    import time
    t0 = time.monotonic()
    res, _got, reqs = fetch(Behaviour(), count=1000, rate=50.0)
    assert res.complete and len(reqs) == 20
    assert time.monotonic() - t0 >= (20 - 5) / 50 * 0.9, "no faster than 50 requests/s"


def creds(tmp_path, text="alice:s3cret", mode=0o600):
    p = tmp_path / "glimpse.cred"
    p.write_text(text)
    os.chmod(p, mode)
    return p


def test_credentials_only_from_an_owner_only_file(tmp_path):
    assert read_credentials(creds(tmp_path)) == ("alice", "s3cret")
    with pytest.raises(UnsafePath, match="0640"):
        read_credentials(creds(tmp_path, mode=0o640))
    link = tmp_path / "link"
    link.symlink_to(creds(tmp_path))
    with pytest.raises(OSError):
        read_credentials(link)
    with pytest.raises(ValueError):
        read_credentials(creds(tmp_path, "no-colon-here"))


def test_glimpse_login_rejected_and_refused_credentials(tmp_path):
    with GlimpseServer(MSGS, {"alice": "other"}) as srv:
        with pytest.raises(LoginRejected):
            GlimpseClient(srv.address, creds(tmp_path)).snapshot()
        with pytest.raises(UnsafePath):
            GlimpseClient(srv.address, creds(tmp_path, mode=0o644)).snapshot()
        assert srv.logins == [("alice", False)], "a loose credentials file never dials"


def test_snapshot_during_live_traffic_matches_the_session_at_that_point(tmp_path):
    """The session moves on between logins (each read of the position publishes
    more); each snapshot equals a fresh LiveOrders over exactly the messages before
    the sequence number it names, and later snapshots name later numbers."""
    pos = {"n": 0}

    def position():
        pos["n"] = min(pos["n"] + 1234, len(MSGS))
        return pos["n"]
    with GlimpseServer(MSGS, {"alice": "s3cret"}, position=position, heartbeat_s=0.05) as srv:
        seen = []
        for _ in range(4):
            msgs, nxt = GlimpseClient(srv.address, creds(tmp_path), heartbeat_s=0.05).snapshot()
            ref = LiveOrders()
            for m in MSGS[:nxt - 1]:
                ref.apply(m)
            assert msgs == ref.messages()
            seen.append(nxt)
    assert seen == [1235, 2469, 3703, 4937]


def test_rerequest_ignores_datagrams_not_from_the_server():
    """A forged 'retransmission' from another socket never reaches the injector."""
    import socket
    import struct
    got = []
    with MoldRequestServer(MSGS, behaviour=Behaviour(late_s=0.2)) as srv:
        cli = RerequestClient(srv.address, "TICKWIRE01", timeout_s=0.5, retries=2)
        forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fake = b"TICKWIRE01" + struct.pack(">QH", 100, 1) + struct.pack(">H", 12) + b"X" * 12
        forger.sendto(fake, cli.sock.getsockname())
        try:
            res = cli.fetch(100, 5, lambda f, ms: got.append((f, ms)))
        finally:
            cli.close()
            forger.close()
    assert res.complete and flat(got) == MSGS[99:104], "the forgery was not injected"


def test_corrupt_recovery_state_stops_the_start(tmp_path):
    from tickwire.control.daemon.recovery.feedcard import FeedCard
    from tickwire.control.daemon.recovery.manager import RecoveryManager
    (tmp_path / "recovery.json").write_text("{not json")
    with pytest.raises(ValueError, match="recovery.json is corrupt"):
        RecoveryManager(FeedCard({}), tmp_path)


def test_rerequest_to_a_server_that_is_down_gives_up_cleanly():
    """Nothing listens on the port (ICMP port unreachable on loopback): no exception,
    an incomplete result after the tries, so the manager falls back to a snapshot."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cli = RerequestClient(("127.0.0.1", port), "TICKWIRE01", timeout_s=0.05, retries=2)
    try:
        res = cli.fetch(1, 10, lambda f, ms: None)
    finally:
        cli.close()
    assert not res.complete and res.requests == 2
