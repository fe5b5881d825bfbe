"""RiskGate: a commit held back by collar recomputes (BookBounds.busy) never fires in
the cycle of a collar write. Before the fix it could, when the write came in the very
cycle the previous recompute finished: its bank became active with the new collar
word in the table and the old collar bounds (the recompute went to the new shadow
bank). Found by the formal `bounds` proof (tools/formal/risk.py); here played on the
ports: collar writes every k cycles while a commit is pending, for every spacing k."""
from clocked import simulate
from tickwire.rtl.risk.gate import RiskGate


def test_a_pending_commit_never_fires_with_a_collar_write():
    for k in range(1, 8):
        dut, fired = RiskGate(2, 2, 4), []

        async def bench(ctx, k=k):
            for _ in range(8):                      # state clearing after reset
                await ctx.tick()
            bank = ctx.get(dut.st_status) >> 2 & 1
            for t in range(40):
                write = t % k == 0 and t < 30
                ctx.set(dut.w_sym_limits.addr, 4 * 1 + 2)          # slot 1, collar word
                ctx.set(dut.w_sym_limits.w_data, 100 + t)
                ctx.set(dut.w_sym_limits.w_stb, int(write))
                ctx.set(dut.stb_commit, int(t == 1))
                await ctx.tick()
                now = ctx.get(dut.st_status) >> 2 & 1
                if now != bank:
                    fired.append((t, write))
                    bank = now
            ctx.set(dut.w_sym_limits.w_stb, 0)
        simulate(dut, bench)
        assert len(fired) == 1, (k, fired)          # the commit fired, once
        assert not fired[0][1], f"spacing {k}: commit fired with a collar write at {fired[0][0]}"
