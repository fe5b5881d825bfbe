"""MoldPort alone against the model's per-packet rules (tickwire.model.mold): every
starting lane, idle cycles between packets, and damaged packets (truncated, wrong
counts, corrupted bytes, heartbeats, End of Session, foreign sessions, trailing
garbage). Why here: the merge chain tests see well-formed packets mostly, and UdpRx
can end a payload with a partial beat followed by an empty `last` beat (the FCS
spilling into the next beat), a shape the framer must not mistake for a block start.
Every emitted message (seq, first, mark, bytes up to its length) and every event
count must equal the model's."""
import random

from amaranth.sim import Simulator

from merge_chain import beats_of
from tickwire.model import mold
from tickwire.model.itch import LENGTHS
from tickwire.rtl.rx.mold.mold_port import EVENTS, MoldPort

SESSION = mold.session_bytes("S1")


def _message(rng):
    if rng.random() < 0.05:                       # a type the length check does not know
        n = rng.randrange(12, 70)
        return b"z" + rng.randbytes(n - 1)
    t, n = rng.choice(sorted(LENGTHS.items()))
    return t.encode() + rng.randbytes(n - 1)


def _packets(rng, n):
    out = []
    for i in range(n):
        ms = [_message(rng) for _ in range(rng.randrange(1, 7))]
        p = bytearray(mold.packet("S1", 100 + 10 * i, ms))
        r = rng.random()
        if r < 0.08:
            p = p[:rng.randrange(0, len(p))]
        elif r < 0.12:
            p = p[:rng.randrange(0, mold.HEADER_BYTES)]
        elif r < 0.17:                            # cut inside a length field
            at = mold.HEADER_BYTES + sum(2 + len(x) for x in ms[:rng.randrange(len(ms))])
            p = p[:at + 1]
        elif r < 0.25:                            # a lying length field (< 12 or not the type's)
            at = mold.HEADER_BYTES + sum(2 + len(x) for x in ms[:rng.randrange(len(ms))])
            p[at:at + 2] = rng.randrange(0, 60).to_bytes(2, "big")
        elif r < 0.3:
            p[18:20] = rng.randrange(0, len(ms) + 3).to_bytes(2, "big")
        elif r < 0.35:
            p[rng.randrange(20, len(p))] = rng.randrange(256)
        elif r < 0.4:
            p = bytearray(mold.heartbeat("S1", 5 + i))
        elif r < 0.45:
            p = bytearray(mold.end_of_session("S1", 5 + i))
        elif r < 0.5:
            p[3] ^= 1
        elif r < 0.55:
            p += rng.randbytes(rng.randrange(1, 20))
        out.append((bytes(p), rng.randrange(8), rng.random() < 0.3))
    return out


def _model(packets):
    c = dict.fromkeys(mold.COUNTERS, 0)
    out = []
    for p, _lane, _empty in packets:
        c["packets"] += 1
        if len(p) < mold.HEADER_BYTES:
            c["short_packets"] += 1
            continue
        if p[:10] != SESSION:
            c["session_mismatch"] += 1
            continue
        count = int.from_bytes(p[18:20], "big")
        if count in (mold.HEARTBEAT, mold.END_OF_SESSION):
            c["heartbeats" if count == mold.HEARTBEAT else "end_of_session"] += 1
            out.append((int.from_bytes(p[10:18], "big"), True, True, None))
            continue
        out += [(seq, False, first, msg[:50]) for seq, msg, first, _ in mold.parse(p, c)]
    ev = {"packet": c["packets"], "short": c["short_packets"],
          "mismatch": c["session_mismatch"], "heartbeat": c["heartbeats"],
          "eos": c["end_of_session"], "bad_length": c["bad_lengths"],
          "overrun": c["overruns"], "count_mismatch": c["count_mismatch"],
          "bad_forwarded": 0}
    return out, ev


def _run(packets, rng):
    dut = MoldPort()
    got, ev = [], dict.fromkeys(EVENTS, 0)
    sched = []
    for p, lane, empty_last in packets:
        beats = beats_of(p, lane) or [dict(data=0, keep=0, first=True, last=True)]
        if empty_last and not beats[-1]["first"]:
            beats[-1]["last"] = False            # ends on a partial or full beat ...
            beats.append(dict(data=0, keep=0, first=False, last=True))   # ... then empty
        sched += beats + [None] * rng.choice([0, 0, 1, 2])
    sched += [None] * 8

    async def bench(ctx):
        ctx.set(dut.have_session, 1)
        ctx.set(dut.locked, 1)              # the session's start is confirmed: S1 only
        ctx.set(dut.session, int.from_bytes(SESSION, "big"))
        for b in sched:
            ctx.set(dut.i.valid, b is not None)
            for k, v in (b or {}).items():
                ctx.set(getattr(dut.i.payload, k), v)
            await ctx.delay(1e-9)
            e = ctx.get(dut.ev)
            for k, name in enumerate(EVENTS):
                ev[name] += (e >> k) & 1
            if ctx.get(dut.o.valid):
                o = dut.o.payload
                mark = bool(ctx.get(o.mark))
                n = min(ctx.get(o.msg.length), 50)
                got.append((ctx.get(o.msg.seq), mark, bool(ctx.get(o.first)),
                            None if mark else bytes(ctx.get(o.msg.data[k]) for k in range(n))))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return got, ev


def test_port_matches_the_model_on_damaged_packets_at_every_lane():
    rng = random.Random(5)
    packets = _packets(rng, 250)
    want, want_ev = _model(packets)
    got, ev = _run(packets, rng)
    assert ev == want_ev
    assert got == want
    # the campaign covered what it is meant to
    assert all(want_ev[k] for k in ("short", "mismatch", "heartbeat", "eos", "bad_length",
                                    "overrun", "count_mismatch"))
