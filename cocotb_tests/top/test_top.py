"""Top level: whole captures through both XGMII ports of the integrated core.

Frames are built with scapy and sent with cocotbext-eth's XgmiiSource (preamble, FCS,
start lanes and DIC its own, independent of our encoder), feed A on port A and feed B
on port B with packets lost on either side, noise frames and random idle gaps. The
decoded messages, the BBO stream and every counter read through AXI4-Lite must equal
the reference models; the real AAPL sample must reproduce its verified trajectory.
"""
import os
import random
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster
from cocotbext.eth import XgmiiFrame, XgmiiSource
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from tickwire.control.regmap import BOOK_SUB_CMD_MAP, ITCH_TYPE_ORDER, REGS
from tickwire.model import mold
from tickwire.model.device import DeviceModel, comparable
from tickwire.tools.build.simrun import SMALL_CORE, SMALL_CORE_TOP
from tickwire.rtl.layouts import BboUpdate, ItchMsg
from tickwire.tools.feeds import itch_file

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent.parent / "shared" / "data" / "itch"
AAPL = SHARED / "nasdaq_itch50_20200130_aapl_first5000.itch"
AAPL_BBO = SHARED / "nasdaq_itch50_20200130_aapl_first5000.bbo.csv"
SYNTH = HERE.parent.parent / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
FEED = {0: ("233.54.12.111", 26477), 1: ("233.49.196.111", 26477)}
#: Small build for cocotb, shared with cocotb_tests/regs (tools/build/simrun.py).
CFG = SMALL_CORE


def frame(payload, feed):
    dst, port = FEED[feed]
    return bytes(Ether(src="02:00:00:00:0a:01", dst="01:00:5e:36:0c:6f") /
                 IP(src="10.1.0.1", dst=dst) / UDP(sport=26477, dport=port) / Raw(payload))


def noise(rng):
    kind = rng.choice(["arp", "port", "group"])
    if kind == "arp":
        return bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.1.0.254"))
    dst, port = ("233.54.12.111", 9999) if kind == "port" else ("239.1.1.1", 26477)
    return bytes(Ether() / IP(dst=dst) / UDP(dport=port) / Raw(b"x" * rng.randint(1, 200)))


class TopBench:
    def __init__(self, dut):
        self.dut = dut
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil_"), dut.clk, dut.rst)
        self.src = {0: XgmiiSource(dut.xgmii_a_d, dut.xgmii_a_c, dut.clk, dut.rst),
                    1: XgmiiSource(dut.xgmii_b_d, dut.xgmii_b_c, dut.clk, dut.rst)}
        self.itch, self.bbo = [], []
        cocotb.start_soon(self._monitor())

    async def _monitor(self):
        d = self.dut
        while True:
            await RisingEdge(d.clk)
            if int(d.itch_out__valid.value):
                self.itch.append(ItchMsg.from_bits(int(d.itch_out__payload.value)))
            if int(d.bbo_out__valid.value):
                self.bbo.append(BboUpdate.from_bits(int(d.bbo_out__payload.value)))

    async def write(self, name, value):
        await self.axil.write(REGS[name].addr, int(value).to_bytes(4, "little"))

    async def read(self, name):
        reg = REGS[name]
        lo = int.from_bytes((await self.axil.read(reg.addr, 4)).data, "little")
        if reg.width <= 32:
            return lo
        hi = int.from_bytes((await self.axil.read(reg.addr + 4, 4)).data, "little")
        return hi << 32 | lo

    async def wait_book_idle(self):
        """Polls book.busy (SUB_CMD is dropped while the reset sweep runs)."""
        from tickwire.rtl.top import TickwireCore
        for _ in range(TickwireCore(CFG).reset_cycles // 2 + 16):
            if not await self.read("book.busy"):
                return
        raise AssertionError("book.busy still 1 long after its reset sweep")

    async def idle(self, cycles=2000):
        for src in self.src.values():
            while not src.empty():
                await RisingEdge(self.dut.clk)
        await ClockCycles(self.dut.clk, cycles)


async def start(dut):
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    dut.rst.value = 1
    dut.uart_rx.value = 1                    # idle UART line (the bridge counts noise)
    await ClockCycles(dut.clk, 8)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 4)
    return TopBench(dut)


def directory(msgs):
    return {int.from_bytes(m[1:3], "big"): slot for slot, m in
            enumerate(m for m in msgs if m[:1] == b"R")}


async def replay(dut, msgs, rng, loss=0.1, noise_p=0.05, max_gap=0):
    """Send msgs as MoldUDP64 on both feeds with one-sided loss; returns (card, model)."""
    card = await start(dut)
    subs = dict(list(directory(msgs).items())[:CFG.book_slots])
    # the book sweeps its tables after reset (they hold the previous test's orders)
    await card.wait_book_idle()
    # the core reports the digest of the configuration it was built from
    assert await card.read("id.build") == CFG.digest != 0
    for locate, slot in subs.items():
        await card.write("book.sub_locate", locate)
        await card.write("book.sub_slot", slot)
        await card.write("book.sub_cmd", BOOK_SUB_CMD_MAP)
    model = DeviceModel(subscriptions=subs, risk_slots=CFG.risk_slots)
    packets = mold.pack(msgs, "TICKWIRE01", 1)
    for seq, payload in packets:
        lost_side = rng.randint(0, 1) if rng.random() < loss else None
        for feed in (0, 1):
            if feed == lost_side:
                continue                       # lose this copy; the other feed fills in
            if rng.random() < noise_p:
                data = noise(rng)
                model.frame("ab"[feed], data)
                await card.src[feed].send(XgmiiFrame.from_payload(data))
            data = frame(payload, feed)
            model.frame("ab"[feed], data)
            await card.src[feed].send(XgmiiFrame.from_payload(data))
            if max_gap:
                card.src[feed].ifg = 12 + rng.randint(0, max_gap)
        # A lost copy leaves its slot idle: the two feeds stay in step, as on a real pair
        for src in card.src.values():
            await src.wait()
    await card.idle()
    return card, model, subs


async def check(card, model):
    hw = {}
    for name, reg in REGS.items():
        if reg.kind == "counter":
            hw[name] = await card.read(name)
    cocotb.log.info(f"hw: { {k: v for k, v in hw.items() if v and k.startswith(('merge', 'mold'))} }")
    cocotb.log.info(f"model: { {k: v for k, v in comparable(model.all_counters()).items() if k.startswith('mold')} }")
    got = [(m["type"], m["locate"], m["seq"], m["oref"], m["shares"], m["price"])
           for m in card.itch]
    want = [(m["type"], m["locate"], m["seq"], m["oref"], m["shares"], m["price"])
            for m in model.decoded]
    first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
    assert got == want, (f"decoded messages differ from the model at #{first} of "
                         f"{len(got)}/{len(want)}: {got[first:first + 3]} != {want[first:first + 3]}")
    rows = [(u["seq"], u["locate"], u["bid_px"], u["bid_qty"], u["ask_px"], u["ask_qty"])
            for u in card.bbo]
    assert rows == [tuple(int(x) for x in ev.row().split(",")) for ev in model.bbo]
    ch, cm = comparable(hw), comparable(model.all_counters())
    assert ch == cm, {k: (ch.get(k), cm.get(k)) for k in set(ch) | set(cm) if ch.get(k) != cm.get(k)}
    return rows


@cocotb.test()
async def real_aapl_capture(dut):
    if not AAPL.exists():
        cocotb.log.warning(f"{SHARED} absent: replaying the bundled synthetic sample instead")
    rng = random.Random(int(os.environ.get("TOP_SEED", "1")))
    path = AAPL if AAPL.exists() else SYNTH
    msgs = list(itch_file.read(path))
    # Feeds in step with one-sided loss. Noise on one side only at back-to-back line
    # rate currently overflows the merge queue (rtl/rx/merge/feed_merge.py: Limit; open bug).
    card, model, _ = await replay(dut, msgs, rng, loss=0.1, noise_p=0.0, max_gap=24)
    rows = await check(card, model)
    hist = {}
    for m in msgs:
        hist[chr(m[0])] = hist.get(chr(m[0]), 0) + 1
    for k, t in enumerate(ITCH_TYPE_ORDER):
        assert await card.read(f"itch.msgs[{k}]") == hist.get(t, 0), t
    if path == AAPL and AAPL_BBO.exists():
        text = "seq,locate,bid_px,bid_qty,ask_px,ask_qty\r\n" + "".join(
            ",".join(map(str, r)) + "\r\n" for r in rows)
        assert text.encode() == AAPL_BBO.read_bytes(), "AAPL trajectory differs"


@cocotb.test()
async def synthetic_multi_symbol_with_idle_gaps(dut):
    rng = random.Random(7)
    msgs = list(itch_file.read(SYNTH))[:3000]
    card, model, subs = await replay(dut, msgs, rng, loss=0.2, noise_p=0.1, max_gap=40)
    await check(card, model)
    assert len(subs) == 8 and len(card.bbo) > 100
    assert await card.read("mold.gaps") == 0          # every loss was filled by the other feed
    assert await card.read("net_a.drop_filter") + await card.read("net_b.drop_filter") > 0


@pytest.mark.xdist_group("tw_core_small")       # shares its build with cocotb_tests/regs
def test_top():
    from tickwire.rtl.top import TickwireCore
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(TickwireCore(CFG), SMALL_CORE_TOP, "test_top", HERE)
