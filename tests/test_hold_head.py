"""HoldHead (rtl/rx/merge/hold_head.py): the head's flags (lt, at, far) and `waits`
track E every cycle, E staying or stepping by one, across loads and pops, and at the
top of the sequence space: E = 2**64 - 1 stepping is E = 2**64 (MoldUDP64 numbers are
64-bit; the model's E is an unbounded integer), where no message is at E and every
message is behind it (`e1_nz`: E + 1's register wraps to 0 and must not match seq 0).

Not covered: the jump window's top. E + window is a 64-bit register (the sequencer's
EW, MoldPort's `expected_w`), so within `window` of 2**64 it wraps and every head
reads as far (dropped as an unconfirmed jump) where the model's unbounded E + window
would hold it: a session 2**64 - 4,096 messages long (~10**10 years of Nasdaq at 10**9 a
day). Far and `waits` are checked only below that.

The reference is written from the block's contract (the sequencer's reading of the
flags), not from its compares: in cycle n, for the head's seq s and that cycle's E,
lt = s < E, at = s == E, far = s > E + window, waits = valid and s ahead of E, not far.
"""
import random

from amaranth.hdl import Module

from clocked import simulate
from tickwire.rtl.rx.merge.hold_head import HoldHead

TOP = 1 << 64
W = 4096


def _run(seqs, e0, steps, pops):
    """Drive HoldHead with the FIFO holding `seqs`, E starting at e0 and stepping when
    `steps[n]` (or when it delivers the head), the head judged when `pops[n]` and it
    is behind or at E. Returns the per-cycle
    (E, valid, seq, lt, at, far, waits) seen after each clock edge."""
    dut = HoldHead()
    m = Module()
    m.submodules.dut = dut
    seen = []

    async def bench(ctx):
        fifo = list(seqs)
        E = e0
        for n in range(len(steps)):
            ctx.set(dut.e, E % TOP)
            ctx.set(dut.e1, (E + 1) % TOP)
            ctx.set(dut.ew, (E + W) % TOP)
            ctx.set(dut.ew1, (E + W + 1) % TOP)
            ctx.set(dut.fifo.valid, bool(fifo))
            if fifo:
                ctx.set(dut.fifo.payload.msg.seq, fifo[0])
            # the sequencer judges a head that is behind E (a duplicate) or at it (then
            # delivered: E steps); one ahead of E waits
            lt, at = ctx.get(dut.msg.rel.lt), ctx.get(dut.msg.rel.at)
            done = ctx.get(dut.valid) and pops[n] and (lt or at)
            step = int(steps[n] or (done and at))
            ctx.set(dut.done, done)
            ctx.set(dut.step, step)
            took = ctx.get(dut.fifo.ready) and bool(fifo)
            await ctx.tick()
            if took:
                fifo.pop(0)
            E += step
            seen.append((E, ctx.get(dut.valid), ctx.get(dut.msg.msg.seq),
                         ctx.get(dut.msg.rel.lt), ctx.get(dut.msg.rel.at),
                         ctx.get(dut.msg.rel.far), ctx.get(dut.waits)))
            if E == TOP:
                break       # one cycle: E's register then holds 0, past the contract

    simulate(m, bench)
    return seen


def _check(seen, settle=3):
    checked = 0
    for n, (E, valid, s, lt, at, far, waits) in enumerate(seen):
        if n < settle:
            continue                    # the first head loads through `pre`
        if valid:
            assert (lt, at) == (s < E, s == E), (n, E, s, lt, at)
            if E + W + 1 < TOP:         # E + window in 64 bits (see the docstring)
                assert far == (s > E + W), (n, E, s, far)
                assert waits == (E < s <= E + W), (n, E, s, waits)
            elif E == TOP:
                assert waits == 0, (n, E, s)
            checked += 1
        else:
            assert waits == 0
    return checked


def test_flags_follow_e_across_the_top_of_the_sequence_space():
    """E steps from 2**64 - 4 to 2**64 (one past the last number) with heads on both
    sides of it; the run ends with the one cycle at E = 2**64 (the sequencer's E
    register then holds 0: a session that long is past MoldUDP64's numbers)."""
    seqs = [TOP - 3, TOP - 1, 0, TOP - 2, 5, TOP - 1]
    e0 = TOP - 4
    steps = [0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0]
    pops = [0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]
    steps += [0] * 4
    pops += [1, 0, 1, 0]
    seen = _run(seqs, e0, steps, pops)
    assert seen[-1][0] == TOP and seen[-1][1] == 1
    assert _check(seen) >= 5
    # at E = 2**64 a message numbered 0 is behind it, never at it
    wrap = [(s, lt, at) for E, v, s, lt, at, *_ in seen if v and E == TOP]
    assert wrap and all(lt == 1 and at == 0 for _, lt, at in wrap)


def test_flags_follow_e_random_walk():
    """Random heads around a random E, stepping and popping at random (no wrap)."""
    rng = random.Random(7)
    checked = 0
    for trial in range(6):
        e0 = rng.choice([rng.randrange(1 << 40), (1 << 32) - 3, TOP - (1 << 20)])
        seqs = [max(0, e0 + rng.choice([-2, -1, 0, 1, 2, 3, W, W + 1, W + 2, 1 << 33]))
                for _ in range(12)]
        n = 60
        steps = [rng.random() < 0.4 for _ in range(n)]
        pops = [rng.random() < 0.3 for _ in range(n)]
        checked += _check(_run(seqs, e0, steps, pops))
    assert checked > 150
