"""UART register bridge against the reference model (tickwire.model.uart).

Every response byte is compared with what BridgeModel says the bridge must answer,
including the link counters read back over the UART itself.
"""
import random

import cocotb
from cocotb.clock import Clock
import cocotb.utils
from cocotb.triggers import ClockCycles, FallingEdge

from tickwire.model import uart as M
from tickwire.rtl.config import BUILDS
from tickwire.rtl.regmap import MAP, MAP_MAGIC, MAP_VERSION
from tickwire.rtl.host.uart import protocol as P

DIVISOR = 52            # 156.25 MHz / 52 = 3.005 Mbaud
CLK_HZ = 156.25e6


def addr(name):
    return MAP.by_name(name).addr


class Harness:
    """Line driver + response receiver + the model with a shadow of known registers."""

    def __init__(self, dut):
        self.dut = dut
        self.regs = {addr("id.magic"): MAP_MAGIC, addr("id.map_version"): MAP_VERSION,
                     addr("id.map_hash"): MAP.hash, addr("id.build"): BUILDS["sim"].digest,
                     addr("id.scratch"): 0}
        self.model = M.BridgeModel(self._read, self._write)
        self.rx_bytes = []
        self.rng = random.Random(11)

    def _read(self, a):
        counters = {f"link.uart_{k}": v for k, v in self.model.counts.items()}
        for name, value in counters.items():
            if a == addr(name):
                return value & 0xFFFFFFFF
            if a == addr(name) + 4:           # HI word (LO read first latched it)
                return value >> 32
        return self.regs[a]

    def _write(self, a, v):
        if a in self.regs and a == addr("id.scratch"):
            self.regs[a] = v

    async def start(self):
        cocotb.start_soon(Clock(self.dut.clk, 6.4, unit="ns").start())
        self.dut.rx.value = 1
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 4)
        cocotb.start_soon(self._receiver())
        return self

    async def _receiver(self):
        tx = self.dut.tx
        while True:
            await FallingEdge(tx)
            await ClockCycles(self.dut.clk, DIVISOR // 2)
            assert int(tx.value) == 0, "start bit glitch on tx"
            value = 0
            for i in range(8):
                await ClockCycles(self.dut.clk, DIVISOR)
                value |= int(tx.value) << i
            await ClockCycles(self.dut.clk, DIVISOR)
            assert int(tx.value) == 1, "bad stop bit on tx"
            self.rx_bytes.append(value)

    async def send_byte(self, b, stop=1):
        rx = self.dut.rx
        for bit in [0] + [(b >> i) & 1 for i in range(8)] + [stop]:
            rx.value = bit
            await ClockCycles(self.dut.clk, DIVISOR)
        rx.value = 1

    async def send(self, data, gaps=True):
        for b in data:
            await self.send_byte(b)
            if gaps and self.rng.random() < 0.3:     # idle within the frame, under the timeout
                await ClockCycles(self.dut.clk, self.rng.randrange(1, 2 * 10 * DIVISOR))

    async def response(self, n, timeout_bytes=40):
        deadline = (n + timeout_bytes + P.TIMEOUT_BYTES) * 10 * DIVISOR
        for _ in range(deadline // DIVISOR):
            if len(self.rx_bytes) >= n:
                break
            await ClockCycles(self.dut.clk, DIVISOR)
        got, self.rx_bytes = bytes(self.rx_bytes[:n]), self.rx_bytes[n:]
        return got

    async def request(self, frame, gaps=True):
        expected = self.model.feed(frame)
        await self.send(frame, gaps)
        got = await self.response(len(expected))
        assert got == expected, f"frame {frame.hex()}: got {got.hex()} expected {expected.hex()}"
        await ClockCycles(self.dut.clk, self.rng.randrange(0, 3 * DIVISOR))   # idle between frames
        return P.decode_response(got)


async def quiet(h, byte_times=2):
    await ClockCycles(h.dut.clk, byte_times * 10 * DIVISOR)
    assert h.rx_bytes == [], f"unexpected bytes {bytes(h.rx_bytes).hex()}"


@cocotb.test()
async def good_frames(dut):
    h = await Harness(dut).start()
    assert await h.request(P.encode_read(addr("id.magic"))) == (P.CMD_READ, P.ST_OK, [MAP_MAGIC])
    assert (await h.request(P.encode_write(addr("id.scratch"), 0xC0FFEE42)))[1] == P.ST_OK
    assert (await h.request(P.encode_read(addr("id.scratch"))))[2] == [0xC0FFEE42]
    cmd, st, words = await h.request(P.encode_burst(addr("id.magic"), 5))
    assert (cmd, st) == (P.CMD_BURST, P.ST_OK)
    assert words == [MAP_MAGIC, MAP_VERSION, MAP.hash, BUILDS["sim"].digest, 0xC0FFEE42]
    assert BUILDS["sim"].digest != 0
    # The bridge's own counters, read over the bridge, agree with the model's.
    cmd, st, words = await h.request(P.encode_burst(addr("link.uart_reads"), 12))
    assert st == P.ST_OK and words[0] == 4 and words[2] == 1          # reads (this one), writes
    await quiet(h)


@cocotb.test()
async def corrupted_frames(dut):
    h = await Harness(dut).start()
    good = P.encode_write(addr("id.scratch"), 0x11111111)
    assert (await h.request(good))[1] == P.ST_OK
    for bit in (3, 17, 40, 70):                                       # flip one bit anywhere
        bad = bytearray(P.encode_write(addr("id.scratch"), 0x22222222))
        pos = 1 + bit // 8
        bad[pos] ^= 1 << (bit % 8)
        _, st, _ = await h.request(bytes(bad))
        assert st in (P.ST_BAD_CRC, P.ST_BAD_CMD), st
    assert (await h.request(P.encode_read(addr("id.scratch"))))[2] == [0x11111111]
    body = bytes([0x7F, 0, 0, 0, 0])
    assert (await h.request(bytes([P.SOF_REQ]) + body + bytes([P.crc8(body)])))[1] == P.ST_BAD_CMD
    await quiet(h)          # the rest of an unknown command is noise (model agrees): no replies
    for a in (2, 0xFFFFFFFC, 0x10000):
        assert (await h.request(P.encode_read(a)))[1] == P.ST_BAD_ADDR
    assert (await h.request(P.encode_burst(0xFFF8, 3)))[1] == P.ST_BAD_ADDR
    for n in (0, P.MAX_BURST + 1):
        assert (await h.request(P.encode_burst(0, n)))[1] == P.ST_BAD_LEN
    _, st, words = await h.request(P.encode_burst(addr("link.uart_reads"), 12))
    assert st == P.ST_OK
    assert words[4] == h.model.counts["bad_frames"] >= 7 and words[6] == 4   # bad_addr


@cocotb.test()
async def truncated_frames_time_out(dut):
    h = await Harness(dut).start()
    for cut in (1, 2, 5, 8):
        frame = P.encode_write(addr("id.scratch"), 0x33333333)[:cut]
        assert h.model.feed(frame) == b""
        await h.send(frame, gaps=False)
        expected = h.model.idle()
        got = await h.response(len(expected))
        assert got == expected
        assert P.decode_response(got)[1] == P.ST_TIMEOUT
    assert (await h.request(P.encode_read(addr("id.scratch"))))[2] == [0]   # nothing written
    _, st, words = await h.request(P.encode_read(addr("link.uart_timeouts")))
    assert words == [4]


@cocotb.test()
async def idle_line_noise(dut):
    h = await Harness(dut).start()
    rng = random.Random(5)
    for _ in range(30):
        kind = rng.choice(["byte", "glitch", "framing"])
        if kind == "byte":
            b = rng.choice([x for x in range(256) if x != P.SOF_REQ])
            h.model.feed(bytes([b]))
            await h.send_byte(b)
        elif kind == "glitch":                    # shorter than half a bit: not a start bit
            dut.rx.value = 0
            await ClockCycles(dut.clk, rng.randrange(1, DIVISOR // 2 - 2))
            dut.rx.value = 1
        else:
            h.model.framing_error()
            await h.send_byte(rng.randrange(256), stop=0)
        await ClockCycles(dut.clk, rng.randrange(DIVISOR, 4 * DIVISOR))
    await quiet(h)
    _, st, words = await h.request(P.encode_read(addr("link.uart_noise")))
    assert st == P.ST_OK and words == [h.model.counts["noise"]] and words[0] > 10


@cocotb.test()
async def read_rate(dut):
    h = await Harness(dut).start()
    n = 8
    t0 = cocotb.utils.get_sim_time("ns")
    for _ in range(n):
        expected = h.model.feed(P.encode_read(addr("id.magic")))
        await h.send(P.encode_read(addr("id.magic")), gaps=False)
        assert await h.response(len(expected)) == expected
    cycles = (cocotb.utils.get_sim_time("ns") - t0) / 6.4 / n
    bits = cycles / DIVISOR
    dut._log.info("UART read: %.0f cycles = %.1f bit times per read; %.0f reads/s at %.2f Mbaud; "
                  "%.0f reads/s at 115200 baud", cycles, bits, CLK_HZ / cycles,
                  CLK_HZ / DIVISOR / 1e6, 115200 / bits)
    assert 150 <= bits < 160       # 7 request + 8 response bytes of 10 bits, small turnaround


def test_uart():
    from pathlib import Path
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from tickwire.rtl.host.bus.arbiter import CsrArbiter
    from tickwire.rtl.host.csr import CsrBank
    from tickwire.rtl.host.id_block import IdBlock
    from tickwire.rtl.regmap.binding import assemble
    from tickwire.rtl.host.uart.bridge import UartBridge
    from tickwire.tools.build.simrun import run_cocotb

    class UartTop(wiring.Component):
        rx: In(1, init=1)
        tx: Out(1)

        def elaborate(self, platform):
            m = Module()
            m.submodules.bank = bank = CsrBank(MAP)
            m.submodules.arb = arb = CsrArbiter(1)
            m.submodules.bridge = br = UartBridge(DIVISOR)
            wiring.connect(m, br.csr, arb.m0)
            wiring.connect(m, arb.bus, bank.bus)
            m.submodules.ident = ident = IdBlock(MAP.hash, BUILDS["sim"].digest)
            m.d.comb += [br.rx.eq(self.rx), self.tx.eq(br.tx),
                         *assemble(bank, {"id": ident, "link": br}, partial=True,
                                   allow_undriven=True)]
            return m

    run_cocotb(UartTop(), "tw_uart", "test_uart", Path(__file__).parent)
