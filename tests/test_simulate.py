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

from tickwire.control.regmap import BOOK_SUB_CMD_MAP, ITCH_TYPE_ORDER, MAP_MAGIC, REGS
from tickwire.control.transport import TransportError, open_device
from tickwire.rtl import top as rtl_top
from tickwire.rtl.regmap import MAP
from tickwire.control.regmap import CLOCK_CMD_SNAPSHOT

BUILD_TIMEOUT = 2400         # first run elaborates + builds the full RTL with Verilator
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
    dev.write32(A["clock.cmd"], CLOCK_CMD_SNAPSHOT)
    return dev.read64(A["clock.snap_sec"]) * 10**9 + dev.read32(A["clock.snap_ns"])


@pytest.mark.skipif("HwClock" not in inspect.getsource(rtl_top),
                    reason="TickwireCore does not wire the hardware clock (rtl/clock/hw_clock.py) yet")
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
    proc = start(sock)
    wait_listening(proc)
    assert sock.exists()
    with open_device(f"sim:unix:{sock}") as dev:
        assert dev.read32(A["id.magic"]) == MAP_MAGIC
        assert stop(proc, sock) == 0
        with pytest.raises(TransportError):
            dev.read32(A["id.magic"])                     # the card is gone, not a hang
    assert not sock.exists()
    err = proc.stderr.read()
    assert "stopped" in err


def test_bad_arguments_fail_fast(tmp_path):
    for args, msg in ((["--listen", "tcp:1"], "expected unix:PATH"),
                      (["--listen", f"unix:{tmp_path}/s", "--loop"], "--loop needs --feed")):
        p = subprocess.run([sys.executable, "-m", "tickwire", "simulate", *args],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 1 and msg in p.stderr


def _itch_msgs(dev):
    return sum(dev.read64(r.addr) for n, r in REGS.items() if n.startswith("itch.msgs["))


def _bbo(dev, slot):
    dev.write32(A["book.snap_slot"], slot)
    return {k: dev.read32(A[f"book.snap_{k}"]) for k in ("bid_px", "bid_qty", "ask_px", "flags")}


def test_feed_replay_loops_with_a_coherent_book(tmp_path):
    """--feed --loop: frames, Mold and ITCH counters move pass after pass, and the book
    stays coherent (the pass's 40 orders never collide with the previous pass's)."""
    from tickwire.tools.feeds import itch_file
    from tickwire.tools.feeds.itch_encode import add_order, system_event
    msgs = [system_event(0, 0, 1000, "O")] + \
        [add_order(1, 0, 2000 + i, i + 1, "B", 100, "AAPL", 1_000_000 + i) for i in range(40)]
    feed = itch_file.write(tmp_path / "feed.itch", msgs)
    sock = tmp_path / "card.sock"
    proc = start(sock, "--feed", str(feed), "--loop", "--cycles-per-sec", "0")
    wait_listening(proc)
    try:
        with open_device(f"sim:unix:{sock}") as dev:
            dev.write32(A["book.sub_locate"], 1)              # follow AAPL (locate 1) in slot 3
            dev.write32(A["book.sub_slot"], 3)
            dev.write32(A["book.sub_cmd"], BOOK_SUB_CMD_MAP)
            first = dev.read64(A["mold.messages"])
            deadline = time.monotonic() + 120
            frames = messages = 0
            while time.monotonic() < deadline:
                frames, messages = dev.read64(A["mac_a.frames_ok"]), dev.read64(A["mold.messages"])
                if messages >= first + 3 * len(msgs):         # three more passes at least
                    break
                time.sleep(0.2)
            assert messages >= first + 3 * len(msgs), (frames, messages)
            assert frames >= 3
            itch = _itch_msgs(dev)
            assert itch >= 3 * len(msgs)
            assert dev.read64(A[f"itch.msgs[{ITCH_TYPE_ORDER.index('S')}]"]) >= 3
            for bad in ("mac_a.fcs_errors", "mold.gaps", "mold.dup_messages", "book.collisions",
                        "book.unknown_ref", "book.table_full", "book.cmd_dropped"):
                assert dev.read64(A[bad]) == 0, bad
            assert dev.read64(A["book.msgs"]) >= 2 * 40          # whole passes reached the book
            assert dev.read64(A["book.unreliable"]) >> 3 & 1 == 0
            # between passes the book is flushed and rebuilt: when it holds the whole pass,
            # the best bid is the last order's price; never anything but this feed's prices
            seen = set()
            deadline = time.monotonic() + 300      # passes are slow on a loaded machine
            while time.monotonic() < deadline and 1_000_039 not in seen:
                b = _bbo(dev, 3)
                assert b["bid_px"] == 0 or 1_000_000 <= b["bid_px"] <= 1_000_039, b
                assert b["ask_px"] == 0 and b["flags"] == 0, b
                seen.add(b["bid_px"])
                time.sleep(0.05)
            assert 1_000_039 in seen
    finally:
        assert stop(proc, sock) == 0
    assert not sock.exists()
    assert "feed passes:" in proc.stderr.read()


def test_feed_without_loop_stops_at_the_end(tmp_path):
    """One pass only: the counters stop at exactly the feed's message count."""
    from tickwire.tools.feeds import itch_file
    from tickwire.tools.feeds.itch_encode import add_order, system_event
    msgs = [system_event(0, 0, 1000, "O")] + \
        [add_order(2, 0, 2000 + i, 100 + i, "S", 10, "MSFT", 2_000_000 + i) for i in range(25)]
    feed = itch_file.write(tmp_path / "once.itch", msgs)
    sock = tmp_path / "card.sock"
    proc = start(sock, "--feed", str(feed), "--cycles-per-sec", "0")
    wait_listening(proc)
    try:
        with open_device(f"sim:unix:{sock}") as dev:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and dev.read64(A["mold.messages"]) < len(msgs):
                time.sleep(0.2)
            time.sleep(0.5)
            assert dev.read64(A["mold.messages"]) == len(msgs)
            assert _itch_msgs(dev) == len(msgs)
            assert dev.read64(A["mac_a.frames_ok"]) >= 1
            assert dev.read64(A["book.ignored"]) == 25           # nothing subscribed
    finally:
        assert stop(proc, sock) == 0
    assert "feed: replay finished" in proc.stderr.read()
