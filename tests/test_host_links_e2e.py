"""Host links end to end: the simulated card reached over UART (TCP), AXI4-Lite and PCIe.

`tickwire simulate` runs the full RTL (Verilator); its register socket goes through
the AXI4-Lite slave (or, with --via pcie, through the PCIe BAR0 completer as CQ
requests whose completions the harness checks), and --uart-tcp puts the UART
bridge's serial line on loopback TCP, serialised bit by bit at the gateware's baud.
Every path meets the same arbiter and CSR bank, so all of them must read the same
registers, and each link's own counters must count exactly the requests it carried.
Processes run in a temp dir on loopback only; every wait is bounded.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import LIMIT_TABLES, ServeDaemon, limits_yaml, readline, short_tmpdir, stop_process
from tickwire.control.regmap import MAP_HASH, MAP_MAGIC, MAP_VERSION, REGS, WINDOWS
from tickwire.control.transport import open_device
from tickwire.rtl.config import BUILDS as _CONFIGS

#: the build the simulated/model cards run (rtl/config.py)
SIM_ACCOUNTS, SIM_SLOTS = _CONFIGS["sim"].risk_accounts, _CONFIGS["sim"].risk_slots

BUILD_TIMEOUT = 2400                 # first run elaborates + builds the full RTL with Verilator
RATE = "0"                           # flat out (the full core runs ~1e5 cycles/s)
UART_TIMEOUT = 30.0                  # a read is 7800 cycles: ~0.1 s here, more on a busy box
COUNTERS = sorted(n for n, r in REGS.items() if r.kind == "counter")
A = {n: r.addr for n, r in REGS.items()}
ID_REGS = ("id.magic", "id.map_version", "id.map_hash")


class SimCardProcess:
    """One `tickwire simulate` process: its Unix socket and (optionally) its UART port."""

    def __init__(self, *extra):
        self.dir = short_tmpdir("twh")
        self.sock = os.path.join(self.dir, "card.sock")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tickwire", "simulate", "--listen", f"unix:{self.sock}",
             "--cycles-per-sec", RATE, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.uart_port = None
        deadline = time.monotonic() + BUILD_TIMEOUT
        while True:
            line = readline(self.proc, deadline - time.monotonic())     # "" at exit or deadline
            if line.startswith("uart tcp:"):
                self.uart_port = int(line.strip().rsplit(":", 1)[1])
            elif line.startswith("listening"):
                return
            elif not line:
                break
        self.stop()
        raise AssertionError(f"simulate did not start: {self.err[-2000:]}")

    @property
    def sim(self):
        return f"sim:unix:{self.sock}"

    @property
    def uart(self):
        return f"uart:socket://127.0.0.1:{self.uart_port}"

    def stop(self):
        self.err = stop_process(self.proc, self.dir, timeout=30, kill_timeout=10, read_stderr=True)
        return self.proc.returncode


def make_feed(path):
    from tickwire.tools.feeds import itch_file
    from tickwire.tools.feeds.itch_encode import add_order, system_event
    msgs = [system_event(0, 0, 1000, "O")] + \
        [add_order(1, 0, 2000 + i, i + 1, "B", 100, "AAPL", 1_000_000 + i) for i in range(40)]
    return itch_file.write(path, msgs)


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """The AXI card with a UART line, after a short feed has run (so counters are not all 0)."""
    feed = make_feed(tmp_path_factory.mktemp("feed") / "feed.itch")
    c = SimCardProcess("--uart-tcp", "0", "--feed", str(feed))
    try:
        assert c.uart_port
        with open_device(c.sim) as dev:
            deadline = time.monotonic() + 60
            while dev.read32(A["mold.messages"]) < 41:          # the feed has gone through
                assert time.monotonic() < deadline, "feed never arrived"
                time.sleep(0.1)
        yield c
    finally:
        rc = c.stop()
        assert rc == 0, c.err[-2000:]


def read_counter(dev, name):
    lo = dev.read32(A[name])
    return lo | dev.read32(A[name] + 4) << 32 if REGS[name].width > 32 else lo


def snapshot(dev):
    return {n: read_counter(dev, n) for n in COUNTERS}


def test_uart_and_sim_read_the_same_card(card):
    with open_device(card.sim) as sim, open_device(card.uart, timeout=UART_TIMEOUT) as uart:
        ids = [uart.read32(A[n]) for n in ID_REGS]
        assert ids == [sim.read32(A[n]) for n in ID_REGS] == [MAP_MAGIC, MAP_VERSION, MAP_HASH]

        before = snapshot(sim)
        t0 = time.monotonic()
        via_uart = snapshot(uart)
        t_uart = time.monotonic() - t0
        t0 = time.monotonic()
        after = snapshot(sim)
        t_sim = time.monotonic() - t0
        assert before["mold.messages"] == 41 and before["mac_a.frames_ok"] > 0
        moved = {"link.uart_reads"}                 # counts the UART reads themselves
        for n in COUNTERS:
            if n not in moved:
                assert before[n] == via_uart[n] == after[n], n
        # Every read32 of the snapshot (LO, and HI for 64-bit counters) was one UART frame,
        # counted when its frame checked, so a counter read sees itself.
        frames = sum(2 if REGS[n].width > 32 else 1 for n in COUNTERS)
        assert after["link.uart_reads"] - before["link.uart_reads"] == frames
        assert before["link.uart_reads"] < via_uart["link.uart_reads"] <= after["link.uart_reads"]
        for n in ("uart_bad_frames", "uart_bad_addr", "uart_timeouts", "uart_noise"):
            assert after[f"link.{n}"] == 0, n
        print(f"\ncounter snapshot ({len(COUNTERS)} counters): sim/AXI {t_sim:.3f} s, "
              f"UART {t_uart:.3f} s (flat out)")


def test_limits_window_written_over_uart_reads_back_over_sim(card):
    win = WINDOWS["risk.sym_limits"]
    words = [(0x9E3779B9 * (i + 1)) & 0xFFFFFFFF for i in range(win.words)]
    with open_device(card.sim) as sim, open_device(card.uart, timeout=UART_TIMEOUT) as uart:
        w0 = read_counter(sim, "link.uart_writes")
        uart.write_burst(win.addr, words)                  # the bridge: one write frame each
        assert sim.read_burst(win.addr, win.words) == words
        assert uart.read_burst(win.addr, win.words) == words
        assert read_counter(sim, "link.uart_writes") - w0 == win.words
        sim.write_burst(win.addr, [0] * win.words)
        assert uart.read_burst(win.addr, win.words) == [0] * win.words
        assert read_counter(sim, "link.uart_bad_frames") == 0


def test_sim_via_pcie_matches_the_axi_path(card):
    pc = SimCardProcess("--via", "pcie")
    try:
        with open_device(card.sim) as axi, open_device(pc.sim) as pcie:
            assert [pcie.read32(A[n]) for n in ID_REGS] == [axi.read32(A[n]) for n in ID_REGS]
            r0 = pcie.read32(A["link.pcie_reads"])
            for k in range(1, 6):                          # counted after each completion
                assert pcie.read32(A["link.pcie_reads"]) == r0 + k
            assert read_counter(axi, "link.pcie_reads") == 0   # the AXI card saw no TLPs
            w0 = pcie.read32(A["link.pcie_writes"])
            for v in (0xDEADBEEF, 0x0BADF00D, 0x12345678):
                pcie.write32(A["id.scratch"], v)
                assert pcie.read32(A["id.scratch"]) == v
            assert pcie.read32(A["link.pcie_writes"]) - w0 == 3
            # A window through TLPs: bursts are 1-dword requests, one per word.
            win = WINDOWS["risk.acct_limits"]
            words = [(i * 0x01010101) ^ 0xA5A5A5A5 for i in range(win.words)]
            pcie.write_burst(win.addr, words)
            assert pcie.read_burst(win.addr, win.words) == words
            for n in ("link.pcie_unsupported", "link.pcie_dropped"):
                assert pcie.read32(A[n]) == 0, n
            r1 = pcie.read32(A["link.pcie_reads"])
            t0 = time.monotonic()
            s = snapshot(pcie)
            t_pcie = time.monotonic() - t0
            frames = sum(2 if REGS[n].width > 32 else 1 for n in COUNTERS)
            assert pcie.read32(A["link.pcie_reads"]) == r1 + 1 + frames
            assert r1 < s["link.pcie_reads"] <= r1 + frames
            print(f"\ncounter snapshot via PCIe: {t_pcie:.3f} s")
    finally:
        assert pc.stop() == 0, pc.err[-2000:]


def test_harness_pcie_and_uart_cycles():
    """Cycle-accurate figures from the harness itself: PCIe read round trip, UART read frame."""
    from tickwire.rtl.top import TickwireCore
    from tickwire.rtl.host.uart import protocol as P
    from tickwire.tools.build.harness import build_native
    sim = build_native(TickwireCore(), "tw_core")
    assert sim.ports.has_pcie and sim.ports.uart_divisor == 52
    with sim.serve() as cl:
        axi_magic = cl.read32(A["id.magic"])
        cl.route("pcie")
        rtt = []
        for _ in range(4):
            c0 = cl.cycle()[0]
            assert cl.read32(A["id.magic"]) == axi_magic == MAP_MAGIC
            rtt.append(cl._call(b"c", "qQ")[0] - c0)   # the read ran the clock to its completion
        st = cl.link_stats()
        assert st["route"] == 1 and st["pcie_reads"] == 4 and st["pcie_bad"] == 0
        assert st["last_status"] == 0 and st["last_requester"] == 0 and st["last_tag"] == 4
        cl.route("axi")
        assert cl.read32(A["link.pcie_reads"]) == 4

        # UART: one read frame, bit by bit, timed from the first start bit to the CRC.
        c0 = cl.cycle()[0]
        cl.uart_send(P.encode_read(A["id.map_hash"]))
        got = b""
        while len(got) < P.response_len(P.CMD_READ, P.ST_OK) and cl.cycle()[0] - c0 < 100000:
            cl.run(100)
            got += cl.uart_recv()
        frame_cycles = cl.cycle()[0] - c0
        cmd, status, words = P.decode_response(got)
        assert (cmd, status, words) == (P.CMD_READ, P.ST_OK, [MAP_HASH])
        assert cl.link_stats()["uart_framing_errors"] == 0
        assert cl.read32(A["link.uart_reads"]) == 1
        # 15 bytes x 10 bits x 52 cycles is the wire time; the bridge adds only a few cycles.
        assert 15 * 10 * 52 - 60 <= frame_cycles < 15 * 10 * 52 + 400
    print(f"\nPCIe BAR0 read round trip: {rtt} cycles (incl. the harness's request/response beats); "
          f"UART read frame {frame_cycles} cycles -> {156.25e6 / frame_cycles:,.0f} reads/s "
          f"at 3 Mbaud")
    assert max(rtt) < 40


LIMITS = limits_yaml(msft=False, acme02_enabled=None)


def test_daemon_over_uart_and_over_sim(card, tmp_path):
    """`tickwire serve` on the UART link does what it does on the sim link."""
    from tickwire.model import limits as lm
    limits = tmp_path / "limits.yaml"
    limits.write_text(LIMITS)
    want = lm.encode(lm.load(limits), accounts=SIM_ACCOUNTS, slots=SIM_SLOTS)
    tables = LIMIT_TABLES
    seen = {}
    with open_device(card.sim) as dev:
        writes0 = read_counter(dev, "link.uart_writes")
    for kind, device in (("uart", card.uart), ("sim", card.sim)):
        with open_device(card.sim) as dev:                 # start from an empty shadow bank
            for t in tables:
                dev.write_burst(WINDOWS[f"risk.{t}"].addr, [0] * WINDOWS[f"risk.{t}"].words)
        d = ServeDaemon(tmp_path / f"state-{kind}", device=device, start_timeout=120,
                        stop_timeout=30, kill_timeout=10)          # a simulated card is slow
        try:
            r = d.cli("limits", "load", str(limits), "--timeout", "600", timeout=700)
            assert r.returncode == 0, r.stderr
            assert "applied, now version 1" in r.stdout
            r = d.cli("counters", "--all", "--json", "--timeout", "600", timeout=700)
            assert r.returncode == 0, r.stderr
            seen[kind] = json.loads(r.stdout)["counters"]
        finally:
            d.stop()
        with open_device(card.sim) as dev:
            assert {t: dev.read_burst(WINDOWS[f"risk.{t}"].addr, WINDOWS[f"risk.{t}"].words)
                    for t in tables} == {t: want[t] for t in tables}, kind
    assert set(seen["uart"]) == set(seen["sim"]) == set(COUNTERS)
    for n in COUNTERS:
        if not n.startswith("link.uart_"):             # the UART daemon's own traffic
            assert seen["uart"][n] == seen["sim"][n], n
    # Over UART the load was write frames: every table into the shadow, commit, mirror.
    words = sum(WINDOWS[f"risk.{t}"].words for t in tables)
    assert seen["uart"]["link.uart_writes"] - writes0 >= 2 * words + 1
    assert seen["sim"]["link.uart_writes"] >= seen["uart"]["link.uart_writes"]
