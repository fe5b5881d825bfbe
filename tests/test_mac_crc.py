"""The MAC's parallel CRC-32 networks (1..8 bytes) against zlib, in the Amaranth simulator."""
import random
import zlib

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from tickwire.rtl.rx.mac.crc32 import INIT, RESIDUE, crc32_next


def _reflect32(v):
    return int(f"{v:032b}"[::-1], 2)


def test_crc_networks_match_zlib():
    m = Module()
    state, data = Signal(32), Signal(64)
    outs = {nb: Signal(32, name=f"crc{nb}") for nb in range(1, 9)}
    for nb, sig in outs.items():
        m.d.comb += sig.eq(crc32_next(state, data, nb))
    rng = random.Random(7)
    results = []

    async def bench(ctx):
        for _ in range(40):
            msg = rng.randbytes(rng.randint(1, 40))
            reg = INIT
            for pos in range(0, len(msg), 8):
                chunk = msg[pos:pos + 8]
                ctx.set(state, reg)
                ctx.set(data, int.from_bytes(chunk.ljust(8, b"\xa5"), "little"))
                reg = ctx.get(outs[len(chunk)])
            results.append((msg, reg))
        # a message followed by its FCS leaves the residue
        msg = rng.randbytes(60)
        frame = msg + zlib.crc32(msg).to_bytes(4, "little")
        reg = INIT
        for pos in range(0, 64, 8):
            ctx.set(state, reg)
            ctx.set(data, int.from_bytes(frame[pos:pos + 8], "little"))
            reg = ctx.get(outs[8])
        results.append(("residue", reg))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    for msg, reg in results[:-1]:
        assert _reflect32(reg) ^ 0xFFFFFFFF == zlib.crc32(msg)
    assert results[-1][1] == RESIDUE
