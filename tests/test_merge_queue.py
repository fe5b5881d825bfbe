"""PortQueue: a fixed delay line then a FIFO; a discarded packet's beats leave the
line; an overflowing packet is truncated and closed with a last+bad beat."""
import random
from collections import deque

from clocked import put, simulate
from tickwire.rtl.rx.merge.queue import PortQueue

DELAY = 3
FIELDS = ("data", "keep", "first", "last", "bad", "feed")


class Ref:
    """The queue as its docstring specifies it, cycle by cycle."""

    def __init__(self, depth):
        self.depth, self.line, self.fifo = depth, [None] * DELAY, deque()
        self.lost = self.wrote = False

    def outputs(self):
        return dict(valid=bool(self.fifo), head=self.fifo[0] if self.fifo else None,
                    busy=any(self.line), live=any(s and not s["drop"] for s in self.line))

    def step(self, enter, discard, tag):
        hit = lambda s: s is not None and discard and s["tag"] == tag   # noqa: E731
        ex = self.line[-1]
        if hit(ex):
            ex = dict(ex, drop=True)
        overflow, room = False, len(self.fifo) < self.depth
        if ex and not ex["drop"]:
            b = ex["beat"]
            lost_now, wrote_now = self.lost and not b["first"], self.wrote and not b["first"]
            if not lost_now and room:
                self.fifo.append(b)
                self.wrote, self.lost = not b["last"], False
            elif not lost_now:
                overflow, self.lost, self.wrote = True, not b["last"], wrote_now
            else:
                overflow = True
                if b["last"]:
                    if wrote_now and room:
                        self.fifo.append(dict(data=0, keep=0, first=0, last=1, bad=1,
                                              feed=b["feed"]))
                    self.lost = self.wrote = False
        line = [dict(enter, drop=False) if enter else None]
        for s in self.line[:-1]:
            line.append(dict(s, drop=True) if hit(s) else s)
        self.line = line
        return overflow


def run(steps, depth):
    """steps: (enter {beat, tag} or None, discard, discard_tag, ready)."""
    dut, ref = PortQueue(DELAY, depth), Ref(depth)
    out, ovf = [], [0]

    async def bench(ctx):
        for enter, discard, tag, ready in steps:
            want = ref.outputs()
            assert ctx.get(dut.o.valid) == want["valid"]
            assert (ctx.get(dut.busy), ctx.get(dut.live)) == (want["busy"], want["live"])
            if want["valid"]:
                p = ctx.get(dut.o.payload)
                assert {k: getattr(p, k) for k in FIELDS} == want["head"]
            ctx.set(dut.i.valid, enter is not None)
            put(ctx, dut.i.payload, enter or {"tag": 0, "beat": dict.fromkeys(FIELDS, 0)})
            ctx.set(dut.discard, discard)
            ctx.set(dut.discard_tag, tag)
            ctx.set(dut.o.ready, ready)
            popped = ref.fifo[0] if ready and ref.fifo else None
            o = ref.step(enter, discard, tag)     # room is the level before the read
            if popped is not None:
                ref.fifo.popleft()
                out.append(popped)
            assert ctx.get(dut.overflow) == o
            ovf[0] += o
            await ctx.tick()
    simulate(dut, bench)
    return out, ovf[0]


def packet(rng, n, tag, feed=0):
    return [{"tag": tag, "beat": dict(data=rng.randrange(1 << 64), keep=0xFF, first=k == 0,
                                      last=k == n - 1, bad=0, feed=feed)} for k in range(n)]


def test_delay_then_fifo_in_order():
    rng = random.Random(1)
    p = packet(rng, 4, 1)
    steps = [(b, 0, 0, 1) for b in p] + [(None, 0, 0, 1)] * (DELAY + 3)
    out, ovf = run(steps, 8)
    assert out == [b["beat"] for b in p] and ovf == 0


def test_discard_drops_only_that_packets_beats():
    rng = random.Random(2)
    p, q = packet(rng, 3, 0), packet(rng, 3, 1)
    steps = [(b, 0, 0, 1) for b in p] + [(q[0], 1, 0, 1)] + [(b, 0, 0, 1) for b in q[1:]]
    steps += [(None, 0, 0, 1)] * (DELAY + 4)
    out, _ = run(steps, 8)
    assert out == [b["beat"] for b in q]


def test_overflow_truncates_and_closes_with_last_bad():
    rng = random.Random(3)
    p = packet(rng, 6, 1, feed=1)
    # depth 2, nothing read until one beat is read the cycle before the last beat exits:
    # beats 0 and 1 are queued, 2..5 are lost, and the room left closes the packet
    ready = [0] * (DELAY + 4) + [1, 0] + [1] * 6
    steps = [(p[t] if t < len(p) else None, 0, 0, r) for t, r in enumerate(ready)]
    out, ovf = run(steps, 2)
    assert ovf == 4 and [b["data"] for b in out[:2]] == [b["beat"]["data"] for b in p[:2]]
    assert len(out) == 3 and out[2]["last"] and out[2]["bad"] and out[2]["feed"] == 1


def test_random_against_reference():
    rng = random.Random(4)
    steps, tag = [], 0
    for _ in range(60):
        tag ^= 1
        for b in packet(rng, rng.randint(1, 6), tag):
            steps.append((b, rng.random() < 0.1, rng.randrange(2), rng.random() < 0.6))
        steps += [(None, rng.random() < 0.1, rng.randrange(2), rng.random() < 0.6)
                  for _ in range(rng.randrange(3))]
    out, ovf = run(steps, 4)
    assert ovf > 0 and len(out) > 50 and any(b["bad"] for b in out)
