"""ForwardTracker: the end of the forwarded packet's range, from its MoldUDP64 header
on the output, combined with MoldUDP64's expected number; a falling expected number is
a new session and clears it."""
import random
import struct

from clocked import put, simulate
from test_feed_merge import beats_of
from tickwire.rtl.rx.merge.tracker import ForwardTracker


def run(steps):
    """steps: (beat or None, seq_end of the header completed by this beat or None,
    expected, busy, from_queue). Checks base, prior, judge_ok and new_session."""
    dut = ForwardTracker()
    seen = dict(new_session=0, judged_early=0)

    async def bench(ctx):
        fwd_end, done_end, hdr_read, last_exp = 0, None, False, 0
        for b, end, expected, busy, from_queue in steps:
            ctx.set(dut.o.valid, b is not None)
            put(ctx, dut.o.payload, b or dict(first=0, last=0))
            ctx.set(dut.expected, expected)
            ctx.set(dut.busy, busy)
            ctx.set(dut.from_queue, from_queue)
            now = done_end if done_end is not None else fwd_end     # header read last cycle
            new = expected < last_exp
            assert ctx.get(dut.base) == max(now, expected)
            assert ctx.get(dut.prior) == max(fwd_end, expected)
            ok = not busy or hdr_read or from_queue or done_end is not None
            assert ctx.get(dut.judge_ok) == ok
            assert ctx.get(dut.new_session) == new
            seen["new_session"] += new
            seen["judged_early"] += ok and busy and not hdr_read and not from_queue
            if done_end is not None:
                fwd_end, hdr_read = done_end, True
            if b is not None and b["first"]:
                hdr_read = False
            if new:
                fwd_end = 0
            done_end, last_exp = end, expected
            await ctx.tick()
    simulate(dut, bench)
    return seen


def packet_steps(seq, count, lane, rng):
    payload = b"TICKWIRE01" + struct.pack(">QH", seq, count) + bytes(rng.randrange(30))
    out, seen = [], 0
    for b in beats_of(payload, lane):
        before, seen = seen, seen + bin(b["keep"]).count("1")
        end = seq + (0 if count == 0xFFFF else count) if before < 20 <= seen else None
        out.append((b, end))
    return out


def test_header_end_counts_from_the_cycle_after_its_beat_and_session_reset_clears():
    rng = random.Random(1)
    steps = [(b, e, 5, 1, 0) for b, e in packet_steps(100, 4, 3, rng)]
    steps += [(None, None, 5, 0, 0)] * 2 + [(None, None, 1, 0, 0)] * 2
    assert run(steps)["new_session"] == 1


def test_random_against_reference():
    rng = random.Random(2)
    steps, seq, expected = [], 1, 0
    for _ in range(80):
        count = rng.choice([0, 1, 5, 0xFFFF])
        fq = rng.random() < 0.3
        for b, e in packet_steps(seq, count, rng.randrange(8), rng):
            steps.append((b, e, expected, 1, fq))
        if rng.random() < 0.1:
            expected = rng.randrange(expected + 1)
        else:
            expected += rng.choice([0, 3])
        steps += [(None, None, expected, 0, 0)] * rng.randrange(3)
        seq += rng.choice([-3, 2, 6])
        seq = max(seq, 1)
    seen = run(steps)
    assert seen["new_session"] > 3 and seen["judged_early"] > 10
