"""`tickwire serve --glimpse ... --rerequest ...` on the model card, `tickwire recover`
and `tickwire status` through the real processes: the forced snapshot is loaded,
counted, exported and audited; a viewer may not force one; a credentials file
others can read is refused; a real card is refused (no injection path)."""
import json
import os
import urllib.request
from pathlib import Path

import pytest

from conftest import ServeDaemon
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
