"""`tickwire simulate` as a subprocess: a Unix-socket card reached with open_device("sim:unix:...")."""
import inspect
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tickwire.control.regmap import MAP_MAGIC, REGS
from tickwire.control.transport import TransportError, open_device
from tickwire.rtl import top as rtl_top
from tickwire.rtl.regmap import MAP

BUILD_TIMEOUT = 900          # first run builds the full RTL with Verilator
A = {n: r.addr for n, r in REGS.items()}


def start(sock, *extra):
    proc = subprocess.Popen([sys.executable, "-m", "tickwire", "simulate", "--listen", f"unix:{sock}",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


def wait_listening(proc, timeout=BUILD_TIMEOUT):
    """The 'listening' line, or the process's exit; never waits longer than `timeout`."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=1.0):
            line = proc.stdout.readline()
            if line.startswith("listening"):
                return line.strip()
            if not line:
                break
    proc.kill()
    _, err = proc.communicate(timeout=30)
    raise AssertionError(f"simulate did not start (rc {proc.returncode}): {err[-2000:]}")


def stop(proc, sock):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return rc


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    sock = tmp_path_factory.mktemp("sim") / "card.sock"
    proc = start(sock)
    try:
        assert wait_listening(proc) == f"listening unix:{sock}"
        yield proc, sock
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_id_block_and_scratch(card):
    _, sock = card
    with open_device(f"sim:unix:{sock}") as dev:
        assert dev.read32(A["id.magic"]) == MAP_MAGIC
        assert dev.read32(A["id.map_hash"]) == MAP.hash
        for v in (0xDEADBEEF, 0x0BADF00D, 0):
            dev.write32(A["id.scratch"], v)
            assert dev.read32(A["id.scratch"]) == v
        dev.write_burst(A["id.scratch"], [0x5A5A1234])
        assert dev.read_burst(A["id.magic"], 5)[::4] == [MAP_MAGIC, 0x5A5A1234]
        with pytest.raises(TransportError, match="unaligned"):
            dev.read32(A["id.scratch"] + 1)


def test_two_clients_and_time_runs_between_requests(card):
    _, sock = card
    with open_device(f"sim:unix:{sock}") as a, open_device(f"sim:unix:{sock}") as b:
        c0, _ = a.cycle()
        time.sleep(0.5)                                   # no requests: the clock thread runs
        c1, _ = b.cycle()
        assert c1 - c0 > 1000
        a.write32(A["id.scratch"], 31337)
        assert b.read32(A["id.scratch"]) == 31337


def snapshot(dev):
    dev.write32(A["clock.cmd"], 4)                        # SNAPSHOT
    return dev.read64(A["clock.snap_sec"]) * 10**9 + dev.read32(A["clock.snap_ns"])


@pytest.mark.skipif("HwClock" not in inspect.getsource(rtl_top),
                    reason="TickwireCore does not wire the hardware clock (rtl/clock.py) yet")
def test_hardware_clock_advances_between_snapshots(card):
    _, sock = card
    with open_device(f"sim:unix:{sock}") as dev:
        # The clock thread may run a chunk between any two requests, so bracket each
        # snapshot with cycle reads: the elapsed cycles lie between the inner and outer spans.
        a0, t0, b0 = dev.cycle()[0], snapshot(dev), dev.cycle()[0]
        time.sleep(0.3)
        a1, t1, b1 = dev.cycle()[0], snapshot(dev), dev.cycle()[0]
        assert t1 > t0
        elapsed = (t1 - t0) / 6.4                         # 6.4 ns per cycle
        assert a1 - b0 - 1 <= elapsed <= b1 - a0 + 1


def test_sigterm_stops_and_removes_the_socket(tmp_path):
    sock = tmp_path / "card.sock"
    proc = start(sock, "--uart-tcp", "5999")              # accepted, ignored with a message
    wait_listening(proc)
    assert sock.exists()
    with open_device(f"sim:unix:{sock}") as dev:
        assert dev.read32(A["id.magic"]) == MAP_MAGIC
        assert stop(proc, sock) == 0
        with pytest.raises(TransportError):
            dev.read32(A["id.magic"])                     # the card is gone, not a hang
    assert not sock.exists()
    err = proc.stderr.read()
    assert "stopped" in err and "--uart-tcp 5999:" in err and "ignored" in err


def test_bad_arguments_fail_fast(tmp_path):
    for args, msg in ((["--listen", "tcp:1"], "expected unix:PATH"),
                      (["--listen", f"unix:{tmp_path}/s", "--loop"], "--loop needs --feed")):
        p = subprocess.run([sys.executable, "-m", "tickwire", "simulate", *args],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 1 and msg in p.stderr


def _has_xgmii():
    return any(n.startswith("xgmii") for n in rtl_top.TickwireCore().signature.members)


def test_feed_replay(tmp_path):
    from tickwire.tools.feeds import itch_file
    from tickwire.tools.feeds.itch_encode import add_order, system_event
    msgs = [system_event(0, 0, 1000, "O")] + \
        [add_order(1, 0, 2000 + i, i + 1, "B", 100, "AAPL", 1_000_000 + i) for i in range(40)]
    feed = itch_file.write(tmp_path / "feed.itch", msgs)
    sock = tmp_path / "card.sock"
    proc = start(sock, "--feed", str(feed), "--loop", "--cycles-per-sec", "0")
    if not _has_xgmii():
        out, err = proc.communicate(timeout=BUILD_TIMEOUT)
        assert proc.returncode == 1 and "no XGMII input" in err
        assert not sock.exists()
        return
    wait_listening(proc)
    try:
        with open_device(f"sim:unix:{sock}") as dev:
            deadline = time.monotonic() + 60
            seen = 0
            while time.monotonic() < deadline and seen < 10:
                seen = dev.read64(A["mac_a.frames_ok"])
                time.sleep(0.2)
            assert seen >= 10                             # looping: more frames than one pass
            assert dev.read64(A["mac_a.fcs_errors"]) == 0
    finally:
        assert stop(proc, sock) == 0
    assert not sock.exists()
