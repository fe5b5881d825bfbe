"""The lab top (rtl/board/lab_top.py) in Verilator, driven only through its UART pins
with the register bridge's protocol (tickwire.model.uart), as `tickwire serve
--device uart:` would on the board:

  * the core's ID block answers through the lab's bus (UART -> split -> AXI4-Lite);
  * a MoldUDP64 packet of ITCH messages is written into the feed player as XGMII
    beats (tickwire.model.xgmii), played on feed A and, 5 cycles later, on feed B:
    the core decodes every message once, feed B's copies are discarded or duplicates;
  * a second pass with feed A dropped: B alone carries the packets (all duplicates now);
  * the LEDs follow: activity after play, kill switch after risk.kill is written.
"""
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from tickwire.model import uart as U
from tickwire.model import xgmii
from tickwire.rtl.config import BUILDS
from tickwire.rtl.regmap import MAP_MAGIC, build_map
from tickwire.tools.feeds import itch_encode as I
from tickwire.tools.feeds.moldfeed import build_feed

CFG = BUILDS["lab"]
MAP = build_map(CFG)
PERIOD_PS = 6400
BIT_PS = CFG.uart_divisor * PERIOD_PS      # whole picoseconds: Timers must be exact
PLAYER = 0xF000             # rtl/board/lab_top.py PLAYER_BASE
POLL = 2000                 # LED poll period of the test build (cycles)
LED_KILL, LED_ACTIVITY, LED_PLAYING = 0, 4, 5


def addr(name):
    return MAP.by_name(name).addr


class Uart:
    """Host side of the UART bridge: bit-timed with Timers (no per-cycle Python)."""

    def __init__(self, dut):
        self.dut, self.rx = dut, []
        cocotb.start_soon(self._receive())

    async def _receive(self):
        tx = self.dut.uart_tx
        while True:
            await FallingEdge(tx)
            await Timer(BIT_PS * 3 // 2, "ps")
            v = 0
            for i in range(8):
                v |= int(tx.value) << i
                await Timer(BIT_PS, "ps")
            self.rx.append(v)

    async def send(self, data):
        for b in data:
            for bit in [0] + [(b >> i) & 1 for i in range(8)] + [1]:
                self.dut.uart_rx.value = bit
                await Timer(BIT_PS, "ps")

    async def request(self, cmd, a, arg=None):
        await self.send(U.encode_request(cmd, a, arg))
        n = 4 + (4 if cmd == U.READ else 0)
        for _ in range(400):
            if len(self.rx) >= n:
                break
            await Timer(BIT_PS * 10, "ps")
        frame, self.rx = bytes(self.rx[:n]), self.rx[n:]
        rsp = U.decode_response(frame)
        assert rsp and rsp[1] == U.OK, f"0x{a:x}: response {frame.hex()}"
        return rsp[2][0] if rsp[2] else None

    async def read(self, a):
        return await self.request(U.READ, a)

    async def write(self, a, v):
        await self.request(U.WRITE, a, v)


def feed_beats():
    """One small MoldUDP64 packet (a simulated UART write costs ~8,000 cycles)."""
    msgs = [I.system_event(0, 0, 1000, "O"), I.system_event(0, 0, 1001, "S")]
    frames = build_feed(msgs, per_packet=2)
    return msgs, frames, xgmii.encode([f.data for f in frames], lead=0, tail=8).beats


async def b_copies(u):
    """Feed-B packets seen: MoldRx's B port checks every packet before the sequencer
    judges its messages (docs/bad-input-mold.md)."""
    return await u.read(addr("mold.packets_b"))


@cocotb.test()
async def uart_feed_player(dut):
    cocotb.start_soon(Clock(dut.clk, PERIOD_PS, unit="ps").start())
    dut.uart_rx.value = 1
    dut.rst.value = 1
    await Timer(10 * PERIOD_PS, "ps")
    dut.rst.value = 0
    await Timer(100 * PERIOD_PS, "ps")
    u = Uart(dut)
    assert await u.read(addr("id.magic")) == MAP_MAGIC
    assert await u.read(PLAYER + 28) == 2048                       # DEPTH

    msgs, frames, beats = feed_beats()
    await u.write(PLAYER + 12, 0)                                  # WADDR
    lo = hi = None
    for d, c in beats:                  # WD_LO / WD_HI stay staged: write them on change
        if d & 0xFFFF_FFFF != lo:
            lo = d & 0xFFFF_FFFF
            await u.write(PLAYER + 16, lo)
        if d >> 32 != hi:
            hi = d >> 32
            await u.write(PLAYER + 20, hi)
        await u.write(PLAYER + 24, c)
    assert await u.read(PLAYER + 12) == len(beats)
    await u.write(PLAYER + 4, len(beats))                          # LENGTH
    await u.write(PLAYER + 8, 5)                                   # DELAY_B
    await u.write(PLAYER + 0, 0b1)                                 # PLAY
    assert (await u.read(PLAYER + 0)) >> 16 == 1                   # one pass done
    n_packets = len(frames)
    assert await u.read(addr("mold.messages")) == len(msgs)        # each message once
    assert await u.read(addr("mold.packets_a")) == n_packets
    assert await b_copies(u) == n_packets
    assert await u.read(addr("mold.dup_messages")) == len(msgs)    # the other copy of each
    assert int(dut.leds.value) >> LED_ACTIVITY & 1
    assert not int(dut.leds.value) >> LED_PLAYING & 1

    await u.write(PLAYER + 0, 0b101)                               # PLAY, DROP_A
    assert (await u.read(PLAYER + 0)) >> 16 == 2
    assert await u.read(addr("mold.packets_a")) == n_packets       # A dropped
    assert await b_copies(u) == 2 * n_packets
    assert await u.read(addr("mold.messages")) == len(msgs)        # nothing new
    assert await u.read(addr("mold.dup_messages")) == 2 * len(msgs)

    assert not int(dut.leds.value) >> LED_KILL & 1
    await u.write(addr("risk.kill"), 1)
    await Timer(3 * POLL * PERIOD_PS, "ps")
    assert int(dut.leds.value) >> LED_KILL & 1
    dut._log.info("%d beats, %d packets, %d messages through the lab top", len(beats),
                  n_packets, len(msgs))


def test_lab():
    import os
    os.environ.setdefault("MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include")
    from tickwire.rtl.board.lab_top import LabTop
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(LabTop(sim=True, poll_period=POLL), "tw_lab", "test_lab", Path(__file__).parent)
