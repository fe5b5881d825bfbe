"""MoldRx + FeedMerge + InjectWindow in the Amaranth simulator: the host injection
path driven through the inject block's register ports (one strobe per cycle, as
the CSR bank gives them). Imported as a plain name."""
from amaranth.hdl import Cat, Elaboratable, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from merge_chain import beats_of
from tickwire.rtl.rx.inject.regs import BLOCK
from tickwire.rtl.rx.inject.window import InjectWindow
from tickwire.rtl.rx.merge.feed_merge import FeedMerge, connect_mold
from tickwire.rtl.rx.mold.mold_rx import MoldRx

FIRST, SNAPSHOT = (1 << BLOCK.reg("commit").field(n).offset for n in ("FIRST", "SNAPSHOT"))
JOIN, SKIP, CLEAR_STALE = (1 << BLOCK.reg("cmd").field(n).offset
                           for n in ("JOIN", "SKIP", "CLEAR_STALE"))
STATE = {f.name: f.offset for f in BLOCK.reg("state").fields}


class Chain(Elaboratable):
    def __init__(self, depth, jump_window=2048):
        self.mold, self.merge = MoldRx(), FeedMerge(depth=depth, jump_window=jump_window)
        self.inject = InjectWindow(64)

    def elaborate(self, platform):
        m = Module()
        m.submodules.mold, m.submodules.merge = self.mold, self.merge
        m.submodules.inject = inj = self.inject
        merge = self.merge
        connect_mold(m, self.mold, merge)
        wiring.connect(m, inj.inj, merge.inject)
        wiring.connect(m, inj.raw, merge.raw)
        wiring.connect(m, merge.report, inj.report)
        m.d.comb += [merge.gap_wait.eq(inj.gap_wait),
                     merge.skip.eq(inj.skip), merge.join.eq(inj.join),
                     merge.join_seq.eq(inj.join_seq), inj.waiting.eq(merge.waiting),
                     inj.inj_ev.eq(merge.inj_ev),
                     inj.overflow.eq(Cat(merge.ev_overflow_a, merge.ev_overflow_b)),
                     inj.bad_frame.eq(self.mold.bad_fwd)]
        return m


def message_writes(msg, seq=None, first=True, snapshot=False):
    """The strobe writes that inject one message: [(register, data)]."""
    w = [] if seq is None else [("seq_hi", seq >> 32), ("seq_lo", seq & 0xFFFFFFFF)]
    for k in range(0, len(msg), 4):
        w.append(("data", int.from_bytes(msg[k:k + 4], "little")))
    return w + [("commit", len(msg) | (FIRST if first else 0) | (SNAPSHOT if snapshot else 0))]


def run(sched_a, sched_b, writes=(), depth=64, hold_cycles=60, hold_packets=64,
        gap_wait=1, cycles=None, lane_b=3, jump_window=2048, bad_a=()):
    """writes: [(cycle, register, data)], each started at the first free cycle >= cycle,
    one per cycle. Returns a dict: seqs and msgs delivered (times: their cycles), gaps
    declared (merge.gap), reports (inject gap reports), counters (mold.*, merge.*,
    inject.*), state (the state register bits at the end), state_at {cycle: state}.
    bad_a: indices into sched_a of frames whose last beat is marked bad (FCS failed)."""
    dut = Chain(depth, jump_window)
    beats = [{}, {}]
    for p, (sched, lane) in enumerate(((sched_a, 0), (sched_b, lane_b))):
        t_free = 0
        for i, (t, payload) in enumerate(sched):
            t = max(t, t_free)
            for j, b in enumerate(beats_of(payload, lane)):
                beats[p][t + j] = dict(b, bad=int(b["last"] and p == 0 and i in bad_a))
            t_free = t + j + 2
    queue, t_free = {}, 0
    for t, reg, d in sorted(writes, key=lambda w: w[0]):
        t = max(t, t_free)
        queue[t], t_free = (reg, d), t + 1
    cycles = cycles or max([*beats[0], *beats[1], *queue, 0]) + 300
    out = {"seqs": [], "msgs": [], "times": [], "gaps": [], "reports": [], "state_at": {}}
    blocks = (("mold", dut.mold), ("merge", dut.merge), ("inject", dut.inject))
    regs = {f"{n}.{r.name}": getattr(c, "ev_" + r.name) for n, c in blocks
            for r in c.registers.items if r.kind == "counter"}

    async def bench(ctx):
        ctx.set(dut.merge.ctl_hold_cycles, hold_cycles)
        ctx.set(dut.merge.ctl_hold_packets, hold_packets)
        ctx.set(dut.inject.ctl_gap_wait, gap_wait)
        c = dict.fromkeys(regs, 0)
        inj = dut.inject
        for t in range(cycles):
            for p, port in enumerate((dut.mold.a, dut.mold.b)):
                b = beats[p].get(t)
                ctx.set(port.valid, b is not None)
                if b:
                    for k, v in b.items():
                        ctx.set(getattr(port.payload, k), v)
                    ctx.set(port.payload.feed, p)
            for name in ("seq_hi", "seq_lo", "data", "commit", "cmd"):
                ctx.set(getattr(inj, "stb_" + name), 0)
            if t in queue:
                reg, d = queue[t]
                ctx.set(getattr(inj, "stb_" + reg), 1)
                ctx.set(getattr(inj, f"stb_{reg}_data"), d)
            await ctx.delay(1e-9)
            for name, sig in regs.items():
                c[name] += ctx.get(sig)
            if ctx.get(dut.merge.o.valid):
                o = dut.merge.o.payload
                n = ctx.get(o.length)
                out["seqs"].append(ctx.get(o.seq))
                out["times"].append(t)
                out["msgs"].append(bytes(ctx.get(o.data[k]) for k in range(min(n, 50))))
            if ctx.get(dut.merge.gap.valid):
                out["gaps"].append((ctx.get(dut.merge.gap.payload.first),
                                    ctx.get(dut.merge.gap.payload.count)))
            if ctx.get(dut.merge.report.valid):
                out["reports"].append((ctx.get(dut.merge.report.payload.first),
                                       ctx.get(dut.merge.report.payload.count)))
            out["state_at"][t] = ctx.get(inj.st_state)
            await ctx.tick()
        out["counters"] = {k: v for k, v in c.items() if v}
        out["state"] = {k: (ctx.get(inj.st_state) >> b) & 1 for k, b in STATE.items()}
        out["stale_bitmap"] = [ctx.get(inj.st_stale[k]) for k in range(2)]
        out["gap_regs"] = (ctx.get(inj.st_gap_first), ctx.get(inj.st_gap_count))
        out["expected"] = ctx.get(dut.mold.st_expected_seq)

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return out
