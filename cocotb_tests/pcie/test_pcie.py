"""PCIe BAR0 endpoint: cocotbext-pcie's UltraScale+ model and RootComplex against the gateware.

The test top is the endpoint + arbiter + the full CSR bank, with RAM behind two
risk-gate windows, an external pulse on a counter and a strobe counter, so every
register class is reached through real TLPs after a real enumeration.
"""
import itertools
import random

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core import RootComplex
from cocotbext.pcie.core.tlp import CplStatus
from cocotbext.pcie.xilinx.us import UltraScalePlusPcieDevice
from cocotbext.pcie.xilinx.us.interface import UsPcieFrame

from tickwire.rtl.regmap import MAP, MAP_MAGIC, MAP_VERSION
from tickwire.control.regmap import CLOCK_CMD_SNAPSHOT

MAP_HASH = MAP.hash     # the map the gateware was built from (not a possibly stale copy)

BAR_SIZE = 64 * 1024


def addr(name):
    return MAP.by_name(name).addr


def window(name):
    p = MAP.by_name(name)
    return p.addr, p.item.words


class TB:
    async def start(self, dut, cq_gaps=False, cc_backpressure=False):
        self.dut = dut
        self.rc = RootComplex()
        self.dev = UltraScalePlusPcieDevice(
            pcie_generation=3, pcie_link_width=1, user_clk_frequency=250e6,
            alignment="dword", enable_parity=False, pf_count=1,
            user_clk=dut.clk, user_reset=dut.rst,
            cq_bus=AxiStreamBus.from_prefix(dut, "m_axis_cq_"),
            pcie_cq_np_req=dut.pcie_cq_np_req,
            cc_bus=AxiStreamBus.from_prefix(dut, "s_axis_cc_"))
        self.dev.functions[0].configure_bar(0, BAR_SIZE)
        self.dev.functions[0].configure_bar(1, 256, io=True)
        dut.ev_in.value = 0
        self.rc.make_port().connect(self.dev)
        if cq_gaps:
            rng = random.Random(3)
            self.dev.cq_source.set_pause_generator(rng.random() < 0.4 for _ in itertools.count())
        if cc_backpressure:
            rng = random.Random(4)
            self.dev.cc_sink.set_pause_generator(rng.random() < 0.5 for _ in itertools.count())
        await ClockCycles(dut.clk, 2)
        while int(dut.rst.value):
            await RisingEdge(dut.clk)
        await self.rc.enumerate()
        self.fn = self.rc.find_device(self.dev.functions[0].pcie_id)
        await self.fn.enable_device()
        self.bar0 = self.fn.bar_window[0]
        self.io = self.fn.bar_window[1]
        return self

    async def read32(self, a):
        return await self.bar0.read_dword(a)

    async def read64(self, a):
        return int.from_bytes(await self.bar0.read(a, 8), "little")

    async def write32(self, a, v):
        await self.bar0.write_dword(a, v)
        await self.flush()

    async def flush(self):
        """Posted writes have no completion: a read behind them orders them."""
        await self.read32(addr("id.magic"))

    async def counters(self):
        names = ("pcie_reads", "pcie_writes", "pcie_unsupported", "pcie_dropped")
        return {n: await self.read64(addr(f"link.{n}")) for n in names}


async def expect_failure(coro):
    try:
        await coro
    except Exception as exc:          # cocotbext-pcie raises on a non-SC completion
        assert "Unsuccessful completion" in str(exc), exc
        return
    raise AssertionError("request completed successfully; expected UR")


def cq_frame(req_type, length, address, first_be, last_be, tag, requester=0x0000,
             tc=0, attr=0, data=(), discontinue=False, bar_id=0, aperture=16, func=0):
    """A raw CQ descriptor (PG213 layout) for requests the host model cannot emit.

    The requester must sit on bus 0 (the root complex) for the completion to route back.
    """
    f = UsPcieFrame()
    f.data = [address & 0xFFFFFFFC, address >> 32,
              (length & 0x7FF) | req_type << 11 | requester << 16,
              tag | func << 8 | bar_id << 16 | aperture << 19 | tc << 25 | attr << 28,
              *data]
    f.byte_en = [0] * 4 + [0xF] * len(data)
    f.first_be, f.last_be, f.discontinue = first_be, last_be, discontinue
    f.update_parity()
    return f


async def raw_request(tb, frame, tag, timeout=2000):
    await tb.dev.cq_source.send(frame)
    return await tb.rc.recv_cpl(tag, timeout, "ns")


@cocotb.test()
async def enumerate_and_read_id(dut):
    tb = await TB().start(dut)
    assert tb.fn.bar_window[0] is not None
    assert await tb.read32(addr("id.magic")) == MAP_MAGIC
    assert await tb.read32(addr("id.map_version")) == MAP_VERSION
    assert await tb.read32(addr("id.map_hash")) == MAP_HASH
    # One 2-dword TLP, and sub-dword reads (byte count / lower address checked by the RC).
    assert await tb.read64(addr("id.magic")) == MAP_MAGIC | MAP_VERSION << 32
    assert await tb.bar0.read(addr("id.magic") + 1, 2) == MAP_MAGIC.to_bytes(4, "little")[1:3]
    assert await tb.bar0.read(addr("id.magic") + 3, 3) == (MAP_MAGIC | MAP_VERSION << 32).to_bytes(8, "little")[3:6]
    assert await tb.bar0.read(addr("id.magic"), 0) == b""      # zero-length read completes
    c = await tb.counters()
    assert c["pcie_unsupported"] == 0 and c["pcie_dropped"] == 0


@cocotb.test()
async def controls_strobes_windows(dut):
    tb = await TB().start(dut, cq_gaps=True, cc_backpressure=True)
    await tb.write32(addr("id.scratch"), 0xDEADBEEF)
    assert await tb.read32(addr("id.scratch")) == 0xDEADBEEF
    # Wide control in one 2-dword write: LO staged, HI commits.
    per = addr("clock.period")
    await tb.bar0.write(per, (0x0712345678).to_bytes(8, "little"))
    assert await tb.read64(per) == 0x0712345678
    # Strobes: each write is one pulse carrying its data.
    before = int(dut.commits.value)
    for _ in range(3):
        await tb.write32(addr("risk.commit"), 1)
    assert int(dut.commits.value) - before == 3
    await tb.write32(addr("clock.cmd"), CLOCK_CMD_SNAPSHOT)
    assert int(dut.cmd_data.value) == CLOCK_CMD_SNAPSHOT
    # Risk-gate windows: the limits table and the order-entry window.
    base, words = window("risk.acct_limits")
    pattern = [(0x1000 + 0x111 * i) & 0xFFFFFFFF for i in range(words)]
    for i in range(0, words, 2):
        await tb.bar0.write(base + 4 * i, b"".join(v.to_bytes(4, "little") for v in pattern[i:i + 2]))
    await tb.flush()
    got = [await tb.read32(base + 4 * i) for i in range(words)]
    assert got == pattern
    base, words = window("risk.order")
    for i in range(words):
        await tb.bar0.write_dword(base + 4 * i, 0xA0 + i)
    await tb.flush()
    assert [await tb.read32(base + 4 * i) for i in range(words)] == [0xA0 + i for i in range(words)]
    c = await tb.counters()
    assert c["pcie_dropped"] == 0 and c["pcie_unsupported"] == 0


@cocotb.test()
async def counters_read_only(dut):
    tb = await TB().start(dut)
    for _ in range(37):
        dut.ev_in.value = 1
        await RisingEdge(dut.clk)
        dut.ev_in.value = 0
        await ClockCycles(dut.clk, 2)
    frames = addr("mac_a.frames_ok")
    assert await tb.read64(frames) == 37
    await tb.bar0.write(frames, (0).to_bytes(8, "little"))   # read-only: a write is ignored
    await tb.flush()
    assert await tb.read64(frames) == 37
    r0 = await tb.read64(addr("link.pcie_reads"))
    for _ in range(5):
        await tb.read32(addr("id.magic"))
    r1 = await tb.read64(addr("link.pcie_reads"))
    assert r1 - r0 == 6         # five reads plus the read that returned r0
    assert await tb.read64(addr("link.pcie_writes")) >= 1


@cocotb.test()
async def unsupported_and_malformed(dut):
    tb = await TB().start(dut, cq_gaps=True)
    scratch = addr("id.scratch")
    await tb.write32(scratch, 0x12345678)
    c0 = await tb.counters()

    # Non-posted we cannot serve: UR completions.
    await expect_failure(tb.bar0.read(scratch, 16))              # 4-dword read
    await expect_failure(tb.io.read_dword(0))                    # I/O read
    await expect_failure(tb.io.write_dword(0, 1))                # I/O write (non-posted)
    cpl = await raw_request(tb, cq_frame(0b0000, 1, 0x10, 0xF, 0xF, tag=17), 17)
    assert cpl is not None and cpl.status == CplStatus.UR        # length 1 with last BE set
    cpl = await raw_request(tb, cq_frame(0b0100, 1, 0x10, 0xF, 0, tag=18, data=[5]), 18)
    assert cpl is not None and cpl.status == CplStatus.UR        # atomic fetch-add
    cpl = await raw_request(tb, cq_frame(0b0000, 1, 0x10, 0xF, 0, tag=19, bar_id=2), 19)
    assert cpl is not None and cpl.status == CplStatus.UR        # another BAR
    cpl = await raw_request(tb, cq_frame(0b0000, 1, 0x10010, 0xF, 0, tag=20, aperture=20), 20)
    assert cpl is not None and cpl.status == CplStatus.UR        # beyond the register space
    assert int(cpl.requester_id) == 0 and cpl.tag == 20 and cpl.byte_count == 4
    c1 = await tb.counters()
    assert c1["pcie_unsupported"] - c0["pcie_unsupported"] == 7

    # Posted ones: dropped, registers untouched.
    await tb.bar0.write(scratch, bytes(range(16)))               # 4-dword write
    await tb.bar0.write(scratch + 1, b"\xff")                    # sub-dword write
    await tb.dev.cq_source.send(cq_frame(0b1100, 2, 0, 0, 0, tag=0, data=[1, 2]))  # message
    await tb.dev.cq_source.send(cq_frame(0b1101, 0, 0, 0, 0, tag=0))               # vendor msg
    await tb.dev.cq_source.send(cq_frame(0b0001, 1, scratch, 0xF, 0, tag=0, data=[0xBAD],
                                         discontinue=True))     # discontinued write
    lost = cq_frame(0b0000, 1, scratch, 0xF, 0, tag=21, discontinue=True)
    assert await raw_request(tb, lost, 21, timeout=500) is None  # discontinued read: no cpl
    await tb.flush()
    assert await tb.read32(scratch) == 0x12345678
    c2 = await tb.counters()
    assert c2["pcie_dropped"] - c1["pcie_dropped"] == 6
    # Still alive and correct.
    assert await tb.read32(addr("id.magic")) == MAP_MAGIC


@cocotb.test()
async def completion_fields_and_latency(dut):
    tb = await TB().start(dut)
    # A raw read with unusual requester, tag, TC, attributes, function and byte enables.
    frame = cq_frame(0b0000, 2, addr("id.magic") + 0x40000000, 0b1110, 0b0011, tag=0x5A,
                     requester=0x0000, tc=3, attr=2, func=0)
    cpl = await raw_request(tb, frame, 0x5A)
    assert cpl.status == CplStatus.SC
    assert int(cpl.requester_id) == 0 and cpl.tag == 0x5A and cpl.tc == 3 and cpl.attr == 2
    assert cpl.byte_count == 5 and cpl.lower_address == (addr("id.magic") & 0x7C) | 1
    assert cpl.length == 2
    assert int.from_bytes(cpl.get_data(), "little") == MAP_MAGIC | MAP_VERSION << 32

    # The requester ID is copied into the descriptor (checked on the wire: a requester
    # off bus 0 would not route back to the root complex model).
    async def first_cc_beat():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.s_axis_cc__tvalid.value) and int(dut.s_axis_cc__tready.value):
                return int(dut.s_axis_cc__tdata.value)
    mon = cocotb.start_soon(first_cc_beat())
    await tb.dev.cq_source.send(cq_frame(0b0000, 1, 0x10, 0xF, 0, tag=0x33, requester=0x1234))
    beat = await mon
    assert beat >> 48 == 0x1234 and (beat >> 43) & 7 == CplStatus.SC and (beat >> 32) & 0x7FF == 1

    # Latency: first CQ beat accepted to last CC beat accepted, for 1-dword reads.
    async def watch(n):
        starts, ends = [], []
        cycle = 0
        while len(ends) < n:
            await RisingEdge(dut.clk)
            await ReadOnly()          # settled values: what the next edge will sample
            cycle += 1
            if int(dut.m_axis_cq__tvalid.value) and int(dut.m_axis_cq__tready.value) and \
                    (int(dut.m_axis_cq__tuser.value) >> 40) & 1:
                starts.append(cycle)
            if int(dut.s_axis_cc__tvalid.value) and int(dut.s_axis_cc__tready.value) and \
                    int(dut.s_axis_cc__tlast.value):
                ends.append(cycle)
        return [e - s for s, e in zip(starts, ends)]
    w = cocotb.start_soon(watch(4))
    for _ in range(4):
        await tb.read32(addr("id.scratch"))
    lat = await w
    dut._log.info("PCIe 1-dword read round trip, CQ sop to CC last: %s cycles", lat)
    assert len(set(lat)) == 1 and lat[0] < 20


@cocotb.test()
async def back_to_back(dut):
    tb = await TB().start(dut, cq_gaps=True, cc_backpressure=True)
    base, words = window("risk.acct_limits")
    values = {base + 4 * i: random.Random(i).getrandbits(32) for i in range(words)}
    for a, v in values.items():
        await tb.bar0.write_dword(a, v)
    reads = [cocotb.start_soon(tb.bar0.read_dword(a)) for a in values]
    magic = [cocotb.start_soon(tb.bar0.read_dword(addr("id.magic"))) for _ in range(8)]
    got = {a: await r for a, r in zip(values, reads)}
    assert got == values
    assert [await r for r in magic] == [MAP_MAGIC] * 8
    c = await tb.counters()
    assert c["pcie_unsupported"] == 0 and c["pcie_dropped"] == 0


def test_pcie():
    from pathlib import Path
    from amaranth.hdl import Cat, Module, Signal
    from amaranth.lib import memory, wiring
    from amaranth.lib.wiring import In, Out
    from tickwire.rtl.host.bus.arbiter import CsrArbiter
    from tickwire.rtl.host.csr import CsrBank
    from tickwire.rtl.host.id_block import IdBlock
    from tickwire.rtl.host.pcie.endpoint import PcieBarEndpoint, UsAxisSignature
    from tickwire.rtl.regmap import MAP
    from tickwire.rtl.regmap.binding import assemble
    from tickwire.tools.build.simrun import run_cocotb

    class PcieTop(wiring.Component):
        m_axis_cq: In(UsAxisSignature(64, 88))
        s_axis_cc: Out(UsAxisSignature(64, 33))
        pcie_cq_np_req: Out(2)
        ev_in: In(1)
        commits: Out(16)
        cmd_data: Out(32)

        def elaborate(self, platform):
            m = Module()
            m.submodules.bank = bank = CsrBank(MAP)
            m.submodules.arb = arb = CsrArbiter(1)
            m.submodules.ep = ep = PcieBarEndpoint()
            wiring.connect(m, wiring.flipped(self.m_axis_cq), ep.cq)
            wiring.connect(m, ep.cc, wiring.flipped(self.s_axis_cc))
            wiring.connect(m, ep.csr, arb.m0)
            wiring.connect(m, arb.bus, bank.bus)
            m.submodules.ident = ident = IdBlock(MAP.hash, 0)   # no build of the core
            m.d.comb += [self.pcie_cq_np_req.eq(ep.cq_np_req),
                         bank.port("mac_a.frames_ok").inc.eq(self.ev_in),
                         *assemble(bank, {"id": ident, "link": ep}, partial=True,
                                   allow_undriven=True)]
            commit = bank.port("risk.commit")
            with m.If(commit.stb):
                m.d.sync += self.commits.eq(self.commits + 1)
            cmd = bank.port("clock.cmd")
            with m.If(cmd.stb):
                m.d.sync += self.cmd_data.eq(cmd.data)
            for name in ("risk.order", "risk.acct_limits"):
                win = bank.window(name)
                ram = memory.Memory(shape=32, depth=win.placed.item.words, init=[])
                m.submodules[name.replace(".", "_")] = ram
                wr, rd = ram.write_port(), ram.read_port()
                m.d.comb += [wr.addr.eq(win.addr), wr.data.eq(win.w_data), wr.en.eq(win.w_stb),
                             rd.addr.eq(win.addr), win.r_data.eq(rd.data)]
            return m

    run_cocotb(PcieTop(), "tw_pcie", "test_pcie", Path(__file__).parent)
