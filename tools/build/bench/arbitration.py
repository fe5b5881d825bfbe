"""A/B arbitration section (issue 14): the latency the hold window adds.

Why measured on the gateware: the added latency is how long a message waits in a
hold buffer, which depends on the sequencer's real cycle behaviour (one message out
per cycle, a bubble after a gap), not on the model's. MoldRx + FeedMerge (the path
between UDP and the ITCH decoder) run in the Amaranth simulator with two feeds of the
same MoldUDP64 packets, B skewed against A. Latency per delivered message: cycles
from the first beat (either port) carrying its last byte to the sequencer's output.
The least of those with no loss is the pipeline itself (MoldPort's and the
sequencer's registers); "added" is everything above it. A few thousand cycles per
case: well under a minute.
"""
import random

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from tickwire.model import itch, mold

from . import Result

CLOCK_MHZ = 156.25
NS_PER_CYCLE = 1000.0 / CLOCK_MHZ
SESSION = "TICKWIRE01"
MESSAGES, PER_PACKET = 600, 4
SKEW = 156                  # B behind (or ahead of) A: 156 cycles, about 1 us
LOSS = 0.03                 # one-sided loss on A
IDLE = 4                    # idle cycles between packets of one port
HOLD_CYCLES = mold.HOLD_CYCLES      # merge.hold_cycles reset value (52 us)
HOLD_PACKETS = mold.HOLD_PACKETS    # merge.hold_packets reset value


class _Chain(Elaboratable):
    def __init__(self):
        from tickwire.rtl.rx.merge.feed_merge import FeedMerge
        from tickwire.rtl.rx.mold.mold_rx import MoldRx
        self.mold, self.merge = MoldRx(), FeedMerge(depth=256)

    def elaborate(self, platform):
        from tickwire.rtl.rx.merge.feed_merge import connect_mold
        m = Module()
        m.submodules.mold, m.submodules.merge = self.mold, self.merge
        connect_mold(m, self.mold, self.merge)
        return m


def _beats(payload, lane):
    out, pos, first = [], 0, True
    while pos < len(payload):
        take = min(8 - lane, len(payload) - pos)
        word = bytes(lane) + payload[pos:pos + take] + bytes(8 - lane - take)
        pos += take
        out.append(dict(data=int.from_bytes(word, "little"), keep=((1 << take) - 1) << lane,
                        first=first, last=pos == len(payload)))
        first, lane = False, 0
    return out


def _port(packets, start, lane, keep):
    """{cycle: beat} and [(start cycle, payload)] for one port, back to back."""
    beats, starts, t = {}, [], start
    for k, p in enumerate(packets):
        bs = _beats(p, lane)
        if keep(k):
            starts.append((t, p))
            beats.update({t + j: b for j, b in enumerate(bs)})
        t += len(bs) + IDLE
    return beats, starts


def _arrivals(starts, lane, first):
    """seq -> earliest cycle of the beat carrying its last byte."""
    for t, p in starts:
        seq, pos = int.from_bytes(p[10:18], "big"), mold.HEADER_BYTES
        while pos + 2 <= len(p):
            n = int.from_bytes(p[pos:pos + 2], "big")
            c = t + (lane + pos + 1 + n) // 8
            first[seq] = min(first.get(seq, c), c)
            pos, seq = pos + 2 + n, seq + 1


def run_case(packets, b_start, keep_a, keep_b=lambda k: True, tail=200, skip_start=True):
    """(delivered seqs, latency in cycles per delivered message); `tail` idle cycles
    after the last beat. skip_start: latencies of the session's first two packets are
    left out (they wait for the start's confirmation, measured on its own)."""
    dut = _Chain()
    lanes = (0, 3)
    ports = [_port(packets, 0, lanes[0], keep_a), _port(packets, b_start, lanes[1], keep_b)]
    first = {}
    for (beats, starts), lane in zip(ports, lanes):
        _arrivals(starts, lane, first)
    cycles = max(max(b) for b, _ in ports if b) + tail
    seqs, lat = [], []

    async def bench(ctx):
        ctx.set(dut.merge.ctl_hold_cycles, HOLD_CYCLES)
        for t in range(cycles):
            for (beats, _), port, feed in zip(ports, (dut.mold.a, dut.mold.b), (0, 1)):
                b = beats.get(t)
                ctx.set(port.valid, b is not None)
                if b:
                    for k, v in b.items():
                        ctx.set(getattr(port.payload, k), v)
                    ctx.set(port.payload.feed, feed)
            if ctx.get(dut.merge.o.valid):
                s = ctx.get(dut.merge.o.payload.seq)
                seqs.append(s)
                lat.append(t - first[s])
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6 / CLOCK_MHZ)
    sim.add_testbench(bench)
    sim.run()
    if skip_start:
        last = int.from_bytes(packets[1][10:18], "big") + int.from_bytes(packets[1][18:20], "big")
        lat = [x for s, x in zip(seqs, lat) if s >= last]
    return seqs, lat


def _messages(rng):
    return [itch.encode("A", locate=1, oref=i, side="B", shares=rng.randrange(1, 999),
                        stock="TEST", price=rng.randrange(1, 10**6)) if i % 3 else
            itch.encode("D", locate=1, oref=i) for i in range(MESSAGES)]


def _pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, -(-len(v) * p // 100) - 1))]


def bench_arbitration():
    """Latency added by A/B arbitration (MoldRx + FeedMerge in the Amaranth simulator, 156.25
    MHz): none when neither feed loses, the other feed's skew when one feed loses a packet,
    the hold window when both do."""
    rng = random.Random(14)
    packets = [p for _, p in mold.pack(_messages(rng), SESSION, 1, msgs_per_packet=PER_PACKET)]
    lost_a = {k for k in range(1, len(packets)) if rng.random() < LOSS}
    every = list(range(1, MESSAGES + 1))
    what = (f"{MESSAGES} messages in {len(packets)} packets of {PER_PACKET}, both ports "
            f"back to back ({IDLE} idle cycles between packets)")
    out = []

    seqs, lat = run_case(packets, SKEW, lambda k: True)
    base = min(lat)
    if seqs != every:
        raise RuntimeError("no loss: the messages did not come out once each in order")
    out.append(Result("pipeline latency, no loss (MoldPort + sequencer registers)", None,
                      base, "cycles", f"{what}; B {SKEW} cycles behind A; least latency",
                      better="lower"))
    out.append(Result("added latency, no loss (max)", 0, max(lat) - base, "cycles",
                      f"{what}; B {SKEW} cycles behind A: max over every message minus "
                      f"the pipeline latency", better="lower"))

    _seqs, lat = run_case(packets, SKEW, lambda k: True, skip_start=False)
    out.append(Result("session start: the first packets wait for the start's confirmation "
                      "(max)", None, max(lat) - base, "cycles",
                      f"{what}; B {SKEW} cycles behind A: the session's first packet is held "
                      f"until the second confirms it (issue 15), once per session",
                      better="lower"))

    every_packet = lambda k: True           # noqa: E731
    lossy = lambda k: k not in lost_a       # noqa: E731
    for label, keep_a, keep_b in (("the leading feed (A) loses, B behind", lossy, every_packet),
                                  ("the lagging feed (B) loses, A ahead", every_packet, lossy)):
        seqs, lat = run_case(packets, SKEW, keep_a, keep_b)
        if seqs != every:
            raise RuntimeError(f"{label}: messages lost or repeated")
        added = [x - base for x in lat]
        waited = [x for x in added if x > 0]
        mx = max(added)
        how = (f"{what}; B {SKEW} cycles behind A; {len(lost_a)} of {len(packets)} packets "
               f"lost on one feed only; {len(waited)} of {len(lat)} messages waited; "
               f"max {mx * NS_PER_CYCLE:.0f} ns")
        # a loss on the lagging feed must add nothing: the leading feed already delivered
        goal = 0 if keep_a is every_packet else None
        out.append(Result(f"added latency, {label}: max", goal, mx, "cycles", how,
                          better="lower"))
        out.append(Result(f"added latency, {label}: max in ns", None,
                          round(mx * NS_PER_CYCLE, 1), "ns", "the cycles above x 6.4 ns",
                          better="lower"))
        if waited:
            med = _pct(waited, 50)
            out.append(Result(f"added latency, {label}: median of the messages that waited",
                              None, med, "cycles", f"{how}; median {med * NS_PER_CYCLE:.0f} ns",
                              better="lower"))

    # both feeds lose one packet: the messages after it wait until both feeds are past
    # it and merge.hold_both packet starts more (or the window)
    gap = len(packets) // 2
    seqs, lat = run_case(packets, SKEW, lambda k: k != gap, keep_b=lambda k: k != gap,
                         tail=HOLD_CYCLES + 400)
    if seqs != [s for s in every if not gap * PER_PACKET < s <= (gap + 1) * PER_PACKET]:
        raise RuntimeError("both feeds lose a packet: not the other messages once each")
    mx = max(lat) - base
    out.append(Result("added latency, both feeds lose a packet (no recovery): max", None,
                      mx, "cycles", f"{what}; packet {gap} lost on both, B {SKEW} cycles "
                      f"behind; the later messages wait until both feeds are past the gap "
                      f"and merge.hold_both ({mold.HOLD_BOTH}) packet starts more, or the "
                      f"hold window (merge.hold_cycles {HOLD_CYCLES}, merge.hold_packets "
                      f"{HOLD_PACKETS}), whichever first: {mx * NS_PER_CYCLE:.0f} ns",
                      better="lower"))
    return out
