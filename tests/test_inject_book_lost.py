"""A message the book's input queue drops (book.fifo_overflow) is lost after the
sequencer moved past it: InjectWindow marks the books stale and asks for a snapshot
at once, so BBO updates leave flagged instead of silently wrong (rtl/rx/inject/window.py).
InjectWindow alone in the Amaranth simulator, its register ports driven directly."""
from clocked import simulate
from tickwire.rtl.rx.inject.regs import BLOCK
from tickwire.rtl.rx.inject.window import InjectWindow

STATE = {f.name: f.offset for f in BLOCK.reg("state").fields}
CLEAR_STALE = 1 << BLOCK.reg("cmd").field("CLEAR_STALE").offset


def _state(ctx, dut):
    v = ctx.get(dut.st_state)
    return {n: (v >> o) & 1 for n, o in STATE.items()}


def _run(lost_at):
    """States seen each cycle, book_lost pulsed at the cycles in `lost_at`, CLEAR_STALE
    written at cycle 20."""
    dut = InjectWindow(8)
    seen = []

    async def tb(ctx):
        for cyc in range(30):
            ctx.set(dut.book_lost, cyc in lost_at)
            ctx.set(dut.stb_cmd, cyc == 20)
            ctx.set(dut.stb_cmd_data, CLEAR_STALE if cyc == 20 else 0)
            await ctx.tick()
            seen.append((_state(ctx, dut), ctx.get(dut.stale)))

    simulate(dut, tb)
    return seen


def test_a_message_the_book_lost_marks_books_stale_and_needing_a_snapshot():
    seen = _run({5})
    for st, stale in seen[:5]:
        assert st["STALE"] == 0 and st["SNAPSHOT_NEEDED"] == 0 and not stale
    for st, stale in seen[5:20]:          # registered: from the cycle after the pulse
        assert st["STALE"] == 1 and st["SNAPSHOT_NEEDED"] == 1 and stale
    for st, stale in seen[21:]:           # the host's CLEAR_STALE after its snapshot
        assert st["STALE"] == 0 and st["SNAPSHOT_NEEDED"] == 0 and not stale


def test_nothing_lost_flags_nothing():
    assert all(st["STALE"] == 0 and st["SNAPSHOT_NEEDED"] == 0 and not stale
               for st, stale in _run(set()))
