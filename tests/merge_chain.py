"""MoldRx + FeedMerge (the A/B path after UDP) in the Amaranth simulator, against the
model (tickwire.model.mold.Arbiter) on the same schedule. Imported as a plain name."""
import struct

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from tickwire.model import itch, mold
from tickwire.rtl.rx.merge.feed_merge import FeedMerge, connect_mold
from tickwire.rtl.rx.mold.mold_rx import MoldRx

SESSION = "TICKWIRE01"


class Chain(Elaboratable):
    def __init__(self, depth=64, jump_window=2048):
        self.mold, self.merge = MoldRx(), FeedMerge(depth=depth, jump_window=jump_window)

    def elaborate(self, platform):
        m = Module()
        m.submodules.mold, m.submodules.merge = self.mold, self.merge
        connect_mold(m, self.mold, self.merge)
        return m


def msgs(n, rng):
    return [itch.encode("A", locate=1, oref=i, side="B", shares=rng.randrange(1, 999),
                        stock="TEST", price=rng.randrange(1, 10**6)) if i % 3 else
            itch.encode("D", locate=1, oref=i) for i in range(n)]


def packets(messages, per=3, first_seq=1):
    return [p for _, p in mold.pack(messages, SESSION, first_seq, msgs_per_packet=per)]


def beats_of(payload, lane):
    """UdpBeat dicts for payload bytes starting in `lane`."""
    out, pos, first = [], 0, True
    while pos < len(payload):
        take = min(8 - lane, len(payload) - pos)
        data = int.from_bytes(bytes(lane) + payload[pos:pos + take] + bytes(8 - lane - take),
                              "little")
        pos += take
        out.append(dict(data=data, keep=((1 << take) - 1) << lane, first=first,
                        last=pos == len(payload)))
        first, lane = False, 0
    return out


def schedule(payloads, start=0, gap=4, lane=0, late=None):
    """[(cycle, payload)]: back to back with `gap` idle cycles; `late`: {index: delay}."""
    out, t = [], start
    for k, p in enumerate(payloads):
        if p is not None:
            out.append((t + (late or {}).get(k, 0), p))
            t += len(beats_of(p, lane)) + gap
        else:
            t += 8 + gap
    return sorted(out, key=lambda e: e[0])


def run(sched_a, sched_b, depth=64, jump_window=2048, hold_cycles=4096, hold_packets=64,
        lane_a=0, lane_b=3, tail=300, inject=(), hold_both=mold.HOLD_BOTH):
    """Drive both ports; returns (rtl, model): each a dict with `seqs` (delivered, in
    order), `msgs`, `counters` (mold.* and merge.* names), `gaps` [(first, count)].
    `inject`: [(cycle, seq, message)] offered on FeedMerge.inject (the RTL only)."""
    dut = Chain(depth, jump_window)
    beats, starts = [{}, {}], []
    for p, (sched, lane) in enumerate(((sched_a, lane_a), (sched_b, lane_b))):
        t_free = 0
        for t, payload in sched:
            t = max(t, t_free)
            starts.append((t, p, payload, lane))
            for j, b in enumerate(beats_of(payload, lane)):
                beats[p][t + j] = b
            t_free = t + j + 2
    cycles = max([*beats[0], *beats[1], 0]) + tail
    rtl = {"seqs": [], "msgs": [], "counters": {}, "gaps": [], "starts": starts}
    regs = {**{f"mold.{r.name}": getattr(dut.mold, "ev_" + r.name) for r in dut.mold.registers.items
               if r.kind == "counter"},
            **{f"merge.{r.name}": getattr(dut.merge, "ev_" + r.name)
               for r in dut.merge.registers.items if r.kind == "counter"}}

    async def bench(ctx):
        ctx.set(dut.merge.ctl_hold_cycles, hold_cycles)
        ctx.set(dut.merge.ctl_hold_packets, hold_packets)
        ctx.set(dut.merge.ctl_hold_both, hold_both)
        c = dict.fromkeys(regs, 0)
        pending = sorted(inject)
        for t in range(cycles):
            inj = dut.merge.inject
            if pending and pending[0][0] <= t:
                _, seq, msg = pending[0]
                ctx.set(inj.valid, 1)
                ctx.set(inj.payload.msg.seq, seq)
                ctx.set(inj.payload.msg.length, len(msg))
                for k, byte in enumerate(msg[:50]):
                    ctx.set(inj.payload.msg.data[k], byte)
            else:
                ctx.set(inj.valid, 0)
            for p, port in enumerate((dut.mold.a, dut.mold.b)):
                b = beats[p].get(t)
                ctx.set(port.valid, b is not None)
                if b:
                    for k, v in b.items():
                        ctx.set(getattr(port.payload, k), v)
                    ctx.set(port.payload.feed, p)
            await ctx.delay(1e-9)
            for name, sig in regs.items():
                c[name] += ctx.get(sig)
            if ctx.get(dut.merge.o.valid):
                o = dut.merge.o.payload
                n = ctx.get(o.length)
                rtl["seqs"].append(ctx.get(o.seq))
                rtl.setdefault("cycles", []).append(t)
                rtl["msgs"].append(bytes(ctx.get(o.data[k]) for k in range(min(n, 50))))
            if pending and ctx.get(inj.valid) and ctx.get(inj.ready):
                pending.pop(0)
            if ctx.get(dut.merge.gap.valid):
                rtl["gaps"].append((ctx.get(dut.merge.gap.payload.first),
                                    ctx.get(dut.merge.gap.payload.count)))
            await ctx.tick()
        rtl["counters"] = {k: v for k, v in c.items() if v}
        rtl["expected"] = ctx.get(dut.mold.st_expected_seq)

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()

    arb = mold.Arbiter(hold_cycles=hold_cycles, hold_packets=hold_packets, depth=depth,
                       jump_window=jump_window, hold_both=hold_both)
    out = []
    for t, feed, p, lane in sorted(starts, key=lambda e: (e[0], e[1])):
        out += arb.receive(p, feed, t=t, lane=lane)
    out += arb.advance(cycles)
    counters = {f"mold.{k}": v for k, v in arb.counters.items() if v}
    counters.update({f"merge.{k}": v for k, v in arb.merge.items() if v})
    model = {"seqs": [d.seq for d in out], "msgs": [d.msg[:50] for d in out],
             "counters": counters, "gaps": list(arb.gap_events), "expected": arb.expected}
    return rtl, model


#: Counters whose split depends on cycle timing (which copy came first, what waited).
TIMING = ("merge.held", "merge.dup_discard_a", "merge.dup_discard_b")


def comparable(c):
    return {k: v for k, v in c.items() if k not in TIMING}


def seq_of(payload):
    return struct.unpack(">Q", payload[10:18])[0]


def latency(rtl):
    """Per delivered message: cycles from the first beat (either port) carrying its last
    byte to the sequencer's output."""
    first = {}
    for t, _p, payload, lane in rtl["starts"]:
        seq, pos = int.from_bytes(payload[10:18], "big"), 20
        while pos + 2 <= len(payload):
            n = int.from_bytes(payload[pos:pos + 2], "big")
            first[seq] = min(first.get(seq, 1 << 62), t + (lane + pos + 1 + n) // 8)
            pos, seq = pos + 2 + n, seq + 1
    return [c - first[s] for s, c in zip(rtl["seqs"], rtl["cycles"])]
