"""FeedMerge: whole packets, never interleaved; the first packet passes with no added cycle."""
import random

from amaranth.sim import Simulator

from tickwire.rtl.feed_merge import FeedMerge


def _packets(rng, n, feed):
    pkts = []
    for k in range(n):
        beats = rng.randint(1, 6)
        pkts.append([(feed << 60 | k << 8 | j, j == 0, j == beats - 1) for j in range(beats)])
    return pkts


def _run(schedule_a, schedule_b, depth=64, cycles=400):
    dut = FeedMerge(depth=depth)
    out, overflow = [], [0, 0]

    async def bench(ctx):
        for t in range(cycles):
            for port, sched in ((dut.a, schedule_a), (dut.b, schedule_b)):
                beat = sched.get(t)
                ctx.set(port.valid, beat is not None)
                if beat:
                    ctx.set(port.payload.data, beat[0])
                    ctx.set(port.payload.keep, 0xFF)
                    ctx.set(port.payload.first, beat[1])
                    ctx.set(port.payload.last, beat[2])
            if ctx.get(dut.o.valid):
                out.append((t, ctx.get(dut.o.payload.data), ctx.get(dut.o.payload.last),
                            ctx.get(dut.o.payload.bad)))
            ev = ctx.get(dut.ev_overflow)
            overflow[0] += ev & 1
            overflow[1] += ev >> 1
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return out, overflow


def _schedule(pkts, rng, start, gap_max):
    sched, t = {}, start
    for pkt in pkts:
        for beat in pkt:
            sched[t] = beat
            t += 1
        t += rng.randint(0, gap_max)
    return sched


def _split(out):
    pkts, cur = [], []
    for _, data, last, _bad in out:
        cur.append(data)
        if last:
            pkts.append(cur)
            cur = []
    return pkts


def test_simultaneous_ab_whole_packets_no_loss():
    rng = random.Random(1)
    pa, pb = _packets(rng, 20, 0xA), _packets(rng, 20, 0xB)
    out, ovf = _run(_schedule(pa, rng, 0, 3), _schedule(pb, rng, 0, 3))
    got = _split(out)
    assert ovf == [0, 0]
    want = {tuple(b[0] for b in p) for p in pa + pb}
    assert {tuple(p) for p in got} == want and len(got) == 40
    # Per port, packets stay in order.
    for feed, pk in ((0xA, pa), (0xB, pb)):
        assert [p for p in got if p[0] >> 60 == feed] == [[b[0] for b in q] for q in pk]


def test_first_packet_bypasses_with_no_added_cycle():
    rng = random.Random(2)
    pa = _packets(rng, 1, 0xA)
    sched = _schedule(pa, rng, 5, 0)
    out, _ = _run(sched, {}, cycles=20)
    assert [t for t, *_ in out] == sorted(sched)   # same cycles as the input beats


def test_overflow_truncates_and_marks_bad():
    rng = random.Random(3)
    long_a = [[(0xA << 60 | j, j == 0, j == 29) for j in range(30)]]
    long_b = [[(0xB << 60 | j, j == 0, j == 29) for j in range(30)]]
    out, ovf = _run(_schedule(long_a, rng, 0, 0), _schedule(long_b, rng, 0, 0), depth=8)
    assert ovf[1] > 0
    pkts = _split(out)
    assert pkts[0] == [b[0] for b in long_a[0]]      # A bypassed intact
    assert out[-1][3] == 1                           # B's truncated packet ends bad
