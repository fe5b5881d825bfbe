"""HwClock.now_ns, the 64-bit ns time the risk gate's rate and duplicate windows use,
equals sec x 1e9 + ns of the clock's `now` every cycle: after SET (loaded from its
3-stage DSP product), while running across second boundaries, and after a STEP back."""
from clocked import simulate
from tickwire.rtl.clock.hw_clock import HwClock

NS = 10**9


def test_now_ns_follows_now():
    dut = HwClock()

    async def check(ctx, cycles):
        for _ in range(cycles):
            await ctx.tick()
            sec, ns = ctx.get(dut.now.sec), ctx.get(dut.now.ns)
            assert ctx.get(dut.now_ns) == sec * NS + ns, (sec, ns, ctx.get(dut.now_ns))

    async def bench(ctx):
        ctx.set(dut.ctl_set_sec, 1_764_000_000)
        ctx.set(dut.ctl_set_ns, NS - 20)                 # crosses a second 3 cycles later
        for _ in range(5):                               # set_* written >= 4 cycles before CMD
            await ctx.tick()
        ctx.set(dut.stb_cmd, 1)
        ctx.set(dut.stb_cmd_data, 1)                     # SET
        await ctx.tick()
        ctx.set(dut.stb_cmd, 0)
        await check(ctx, 20)
        ctx.set(dut.ctl_step_ns, (-500_000_000) & 0xFFFF_FFFF)
        await ctx.tick()
        await ctx.tick()
        ctx.set(dut.stb_cmd, 1)
        ctx.set(dut.stb_cmd_data, 2)                     # STEP back half a second
        await ctx.tick()
        ctx.set(dut.stb_cmd, 0)
        await check(ctx, 10)
    simulate(dut, bench)
