"""MergeArbiter: whole packets on the output, never interleaved; queued packets before
live ones, A before B; live beats only while nothing of their port is queued."""
import random

from clocked import put, simulate
from tickwire.rtl.rx.merge.arbiter import MergeArbiter


class Ref:
    """The selection rules of the arbiter's docstring."""

    def __init__(self):
        self.busy, self.owner, self.from_queue = False, 0, 0

    def pick(self, st):
        live, q = st["live"], st["queue"]
        ok = [live[p] is not None and not st["line_busy"][p] and q[p] is None for p in (0, 1)]
        start = [ok[p] and not st["line_live"][1 - p] and q[1 - p] is None
                 and not st["lagging"][p] for p in (0, 1)]
        if self.busy:
            p = self.owner
            return (p, True) if q[p] is not None else (p, False) if ok[p] else None
        for p in (0, 1):
            if q[p] is not None:
                return p, True
        for p in (0, 1):
            if start[p] and live[p]["first"]:
                return p, False
        return None

    def step(self, sel, beat):
        if sel:
            if beat["first"]:
                self.from_queue = int(sel[1])
            self.busy, self.owner = (False, self.owner) if beat["last"] else (True, sel[0])


def beat(rng, first, last):
    return dict(data=rng.randrange(1 << 64), keep=0xFF, first=first, last=last, bad=0,
                feed=rng.randrange(2))


def run(steps):
    dut, ref, out = MergeArbiter(), Ref(), []

    async def bench(ctx):
        for st in steps:
            for p in (0, 1):
                for port, b in ((dut.live[p], st["live"][p]), (dut.queue[p], st["queue"][p])):
                    ctx.set(port.valid, b is not None)
                    put(ctx, port.payload, b or dict(first=0, last=0))
                ctx.set(dut.line_busy[p], st["line_busy"][p])
                ctx.set(dut.line_live[p], st["line_live"][p])
                ctx.set(dut.lagging[p], st["lagging"][p])
            sel = ref.pick(st)
            assert ctx.get(dut.busy) == ref.busy and ctx.get(dut.from_queue) == ref.from_queue
            assert ctx.get(dut.o.valid) == (sel is not None)
            for p in (0, 1):
                assert ctx.get(dut.queue[p].ready) == (sel == (p, True))
                assert ctx.get(dut.bypass[p]) == (sel == (p, False))
            if sel:
                b = (st["queue"] if sel[1] else st["live"])[sel[0]]
                got = ctx.get(dut.o.payload)
                assert {k: getattr(got, k) for k in b} == b
                out.append((sel, b))
            ref.step(sel, b if sel else None)
            await ctx.tick()
    simulate(dut, bench)
    return out


def idle():
    return dict(live=[None, None], queue=[None, None], line_busy=[0, 0], line_live=[0, 0],
                lagging=[0, 0])


def test_live_packet_passes_whole_then_queue_waits_its_turn():
    rng = random.Random(1)
    s = [idle() for _ in range(4)]
    s[0]["live"][1] = beat(rng, 1, 0)
    s[1]["live"][1] = beat(rng, 0, 0)
    s[1]["queue"][0] = beat(rng, 1, 1)          # A's queue must wait for B's packet
    s[2]["live"][1] = beat(rng, 0, 1)
    s[2]["queue"][0] = s[1]["queue"][0]
    s[3]["queue"][0] = s[1]["queue"][0]
    out = run(s)
    assert [o[0] for o in out] == [(1, False), (1, False), (1, False), (0, True)]


def test_lagging_port_and_busy_line_do_not_start_live():
    rng = random.Random(2)
    s = [idle() for _ in range(3)]
    s[0]["live"][0], s[0]["lagging"][0] = beat(rng, 1, 1), 1
    s[1]["live"][1], s[1]["line_live"][0] = beat(rng, 1, 1), 1
    s[2]["live"][0], s[2]["line_busy"][0] = beat(rng, 1, 1), 1
    assert run(s) == []


def test_random_against_reference():
    rng = random.Random(3)
    steps, open_ = [], [False, False, False, False]     # live A, live B, queue A, queue B
    for _ in range(800):
        st = idle()
        for k in range(4):
            if rng.random() < 0.5:
                last = rng.random() < 0.3
                b = beat(rng, not open_[k], last)
                open_[k] = not last
                (st["live"] if k < 2 else st["queue"])[k % 2] = b
        for key in ("line_busy", "line_live", "lagging"):
            st[key] = [int(rng.random() < 0.2) for _ in (0, 1)]
        steps.append(st)
    out = run(steps)
    assert {o[0] for o in out} == {(0, False), (1, False), (0, True), (1, True)}
