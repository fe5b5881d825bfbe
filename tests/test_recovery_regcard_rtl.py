"""The daemon's register injector (control/daemon/recovery/regcard.py) on the simulated
RTL card (board build, harness server mode: the transport `--device sim` uses): a
packet lost on both feeds is reported through inject.*, the live packets after it
wait in the hold buffer, the fill written through inject.data/commit is applied
before them, the books end with every message and the stale state clears."""
import pytest

from tickwire.control.regmap import REGS
from tickwire.control.daemon.recovery.regcard import RegisterCard
from tickwire.model import xgmii
from tickwire.rtl.config import BUILDS
from tickwire.tools.engines import rtl_replay
from tickwire.tools.feeds import itch_file, moldfeed

from pathlib import Path

FULL = Path(__file__).resolve().parents[1] / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
CFG = BUILDS["board"]


class Handle:
    """CardHandle's read/write/subscribe over the harness client (AXI4-Lite route)."""

    def __init__(self, cl):
        self.cl = cl

    def read(self, name):
        r = REGS[name]
        v = self.cl.read32(r.addr)
        return v | (self.cl.read32(r.addr + 4) << 32 if r.width > 32 else 0)

    def write(self, name, value):
        r = REGS[name]
        self.cl.write32(r.addr, value & 0xFFFFFFFF)
        if r.width > 32:
            self.cl.write32(r.addr + 4, value >> 32)

    def subscribe(self, locate, slot):
        for addr, v in rtl_replay.subscription_writes({locate: slot}):
            self.cl.write32(addr, v)


@pytest.mark.xdist_group("tw_core_board")
def test_gap_reported_filled_through_registers_and_books_exact():
    msgs = list(itch_file.read(FULL))[:400]
    frames = moldfeed.build_feed(msgs, per_packet=8)
    lost = frames[20]                                  # seq 161..168, on both feeds
    live = [f for f in frames if f is not lost]
    sim = rtl_replay.core(CFG)
    with sim.serve() as cl:
        cl.run(rtl_replay.settle_cycles(CFG))
        h = Handle(cl)
        card = RegisterCard(h, {})
        assert card.events.empty()
        h.write("merge.hold_cycles", 2000)
        beats = xgmii.encode([f.data for f in live], start_lane="any").beats
        cl.push(beats)
        cl.run(len(beats) + 5000)
        assert not card.events.empty()
        first, count = card.events.get_nowait()
        assert (first, count) == (lost.seq, lost.count)
        assert h.read("inject.state") & 0b110 == 0b110          # WAITING, STALE
        assert h.read("mold.expected_seq") == lost.seq
        assert card.missing(first, count) == (first, count)
        card.inject(first, msgs[first - 1:first - 1 + count])
        cl.run(2000)
        assert card.missing(first, count) is None
        assert h.read("mold.expected_seq") == len(msgs) + 1
        assert h.read("mold.messages") == len(msgs) and h.read("mold.gaps") == 0
        assert h.read("inject.messages") == count and h.read("inject.state") == 0
        itch = cl.fetch()["itch_out"]
        seqs = [sim.unpack("itch_out", v)["seq"] for _c, v in itch]
        assert seqs == list(range(1, len(msgs) + 1))
