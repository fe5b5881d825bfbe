"""Control plane against the RTL: `tickwire simulate` and `tickwire serve` as two processes.

The watchdog test is issue #5's "the daemon killed": the daemon programs the card's
watchdog and heartbeats; SIGKILL it, and the gateware (not the daemon) engages the kill
switch; a restarted daemon reports the trip and does not release it; `tickwire kill off`
does. Every wait is bounded; sockets are Unix sockets in short temp directories.
"""
import json
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from tickwire.control.regmap import REGS, WINDOWS
from tickwire.control.transport import open_device
from tickwire.model import limits as lm
from tickwire.tools import demo_control
from tickwire.tools.demo_control import SimCardProcess, ControlDaemon
from tickwire.control.regmap import RISK_ORDER_SUBMIT_KIND_ORDER

A = {n: r.addr for n, r in REGS.items()}
CLOCK_HZ = 156_250_000
WATCHDOG_MS = 10                     # simulated ms: 1.5625 M cycles, seconds of wall time
WD_CYCLES = WATCHDOG_MS * CLOCK_HZ // 1000
ENGAGED, TRIPPED = 1, 2              # risk.status bits


@pytest.fixture
def tmp():
    d = Path(tempfile.mkdtemp(prefix="twcs", dir="/tmp"))      # short: sun_path <= 107
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def card(tmp):
    c = SimCardProcess(tmp / "card.sock")
    yield c
    assert c.stop() == 0


def _run_cycles(dev, n, timeout=300):
    """Wait until the simulated clock has advanced `n` cycles (bounded in wall time)."""
    c0 = dev.cycle()[0]
    deadline = time.monotonic() + timeout
    while dev.cycle()[0] - c0 < n:
        assert time.monotonic() < deadline, f"simulation did not advance {n} cycles in {timeout} s"
        time.sleep(0.2)


def _win(name):
    return WINDOWS[name].addr


def _submit_order(dev, clordid):
    dev.write_burst(_win("risk.order"), [clordid, 0, 0, 100, 1_000_000])   # acct 0 slot 0 buy 100 @ $100
    dev.write32(A["risk.order_submit"], RISK_ORDER_SUBMIT_KIND_ORDER)


def test_watchdog_engages_when_the_daemon_is_killed(card, tmp):
    d = ControlDaemon(card.device, tmp / "ctl.sock", tmp / "state", watchdog_ms=WATCHDOG_MS)
    try:
        with open_device(card.device, timeout=60) as dev:
            assert dev.read32(A["risk.watchdog_cycles"]) == WD_CYCLES
            # the daemon's heartbeats keep the card alive well past one timeout
            _run_cycles(dev, WD_CYCLES * 3 // 2)
            assert dev.read32(A["risk.status"]) & (ENGAGED | TRIPPED) == 0
            r = d.cli("status", "--json")
            assert r.returncode == 0, r.stderr
            s = json.loads(r.stdout)
            assert not s["watchdog"]["tripped"] and int(s["watchdog"]["heartbeats_sent"]) > 0
            assert not s["kill"]["engaged"]
            assert d.cli("limits", "load", str(demo_control.LIMITS)).returncode == 0

            d.stop(signal.SIGKILL)
            c0, st0 = dev.cycle()[0], dev.read32(A["risk.status"])
            assert st0 & TRIPPED == 0                         # not yet: the timeout runs
            prev, deadline = c0, time.monotonic() + 300
            while True:
                c, st = dev.cycle()[0], dev.read32(A["risk.status"])
                if st & TRIPPED:
                    break
                assert time.monotonic() < deadline, "watchdog never tripped"
                prev = c
                time.sleep(0.2)
            assert st & ENGAGED                               # the trip engages the kill switch
            # the last heartbeat was before c0: the trip is due by c0 + timeout (checked
            # between two reads), and not much earlier than one timeout after the kill
            assert prev < c0 + WD_CYCLES
            assert c > c0 + WD_CYCLES // 2
            rejects = dev.read64(A["risk.rejects[0]"])
            _submit_order(dev, 7001)
            deadline = time.monotonic() + 60
            while dev.read64(A["risk.rejects[0]"]) == rejects:
                assert time.monotonic() < deadline, "order not rejected as kill_switch"
                time.sleep(0.1)

            # a restarted daemon reports the trip and does not release it
            d = ControlDaemon(card.device, tmp / "ctl.sock", tmp / "state", watchdog_ms=WATCHDOG_MS)
            s = json.loads(d.cli("status", "--json").stdout)
            assert s["watchdog"]["tripped"] and s["kill"]["engaged"]
            assert s["limits_version"] == "1"                 # re-applied from the state dir
            assert "TRIPPED" in d.cli("status").stdout
            assert dev.read32(A["risk.status"]) & (ENGAGED | TRIPPED) == ENGAGED | TRIPPED
            assert dev.read_burst(_win("risk.sym_limits"), 4)[1] == lm.load(demo_control.LIMITS).symbols[0].max_qty

            # the explicit operator act releases it, and the new daemon's heartbeats hold
            r = d.cli("kill", "off")
            assert r.returncode == 0 and "kill switch off" in r.stdout, r.stderr
            assert dev.read32(A["risk.status"]) & (ENGAGED | TRIPPED) == 0
            _run_cycles(dev, WD_CYCLES * 3 // 2)
            assert dev.read32(A["risk.status"]) & (ENGAGED | TRIPPED) == 0
            assert json.loads(d.cli("status", "--json").stdout)["watchdog"]["tripped"] is False
    finally:
        d.stop()
    audit = [json.loads(x) for x in (tmp / "state" / "audit.jsonl").read_text().splitlines()]
    assert [e["action"] for e in audit if e["who"] != "daemon"] == ["LoadLimits", "SetKill"]
    # since #16 the daemon audits its own events: the trip it found and the release
    own = [e["action"] for e in audit if e["who"] == "daemon"]
    assert "WatchdogTrip" in own and "Recovery" in own and own.index("WatchdogTrip") < own.index("Recovery")


def test_control_demo_runs_on_the_bundled_feed(monkeypatch):
    """The demo section end to end, forced onto the bundled synthetic feed."""
    monkeypatch.setattr(demo_control, "REAL", Path("/nonexistent/feed.itch"))
    lines = []
    assert demo_control.run_control_demo(lines.append) == 0, "\n".join(lines)
    text = "\n".join(lines)
    assert "synthetic_8sym_6000.itch" in text
    for cmd in ("status", "limits load", "limits show", "subscribe 1 0 --symbol AAPL", "book AAPL",
                "counters mold.", "counters book."):
        assert f"$ tickwire {cmd}" in text, cmd
    assert "applied, now version 1" in text and "DESK1" in text
    book = text.split("$ tickwire book AAPL")[1]
    bid = book.split("bid ")[1].splitlines()[0]
    ask = book.split("ask ")[1].splitlines()[0]
    assert "@" in bid and "@" in ask and "UNRELIABLE" not in book.splitlines()[1]
    assert float(bid.split("@ ")[1].split()[0]) < float(ask.split("@ ")[1].split()[0])
    assert "daemon exit 0" in text and "simulator exit 0" in text
