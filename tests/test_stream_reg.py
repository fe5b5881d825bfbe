"""StreamReg: the core's register slice delays valid and payload by exactly one cycle."""
import random

from clocked import simulate
from tickwire.rtl.layouts import UdpBeat
from tickwire.rtl.rx.stream_reg import StreamReg


def test_one_cycle_delay_valid_and_payload():
    dut = StreamReg(UdpBeat)
    rng = random.Random(1)
    sent = [(rng.random() < 0.6, rng.getrandbits(UdpBeat.size)) for _ in range(64)]

    async def bench(ctx):
        prev = (False, None)
        for valid, bits in sent:
            ctx.set(dut.i.valid, valid)
            ctx.set(dut.i.payload, UdpBeat.from_bits(bits))
            await ctx.delay(1e-9)
            assert ctx.get(dut.o.valid) == prev[0]
            if prev[0]:
                assert ctx.get(dut.o.payload).as_value().value == prev[1]
            prev = (valid, bits)
            await ctx.tick()

    simulate(dut, bench)
