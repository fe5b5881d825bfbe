"""FeedMerge: whole packets, never interleaved; the first packet passes with no added
cycle; queued duplicates are discarded so two full-rate feeds fit one MoldUDP64 stage."""
import random
import struct

from amaranth.sim import Simulator

from tickwire.rtl.rx.merge.feed_merge import FeedMerge

SESSION = b"TICKWIRE01"


def mold_payload(seq, nmsgs, rng, size=30):
    body = b"".join(struct.pack(">H", size) + bytes([65] + [rng.randrange(256)
                                                           for _ in range(size - 1)])
                    for _ in range(nmsgs))
    return SESSION + struct.pack(">QH", seq, nmsgs) + body


def beats_of(payload, lane):
    """UdpBeat dicts for payload bytes starting in `lane`."""
    out, pos, first = [], 0, True
    while pos < len(payload):
        take = min(8 - lane, len(payload) - pos)
        chunk = payload[pos:pos + take]
        data = int.from_bytes(bytes(lane) + chunk + bytes(8 - lane - take), "little")
        keep = ((1 << take) - 1) << lane
        pos += take
        out.append(dict(data=data, keep=keep, first=first, last=pos == len(payload)))
        first, lane = False, 0
    return out


def schedule(packets, rng, start=0, gap=(0, 0)):
    """{cycle: beat} with `gap` idle cycles (min, max) between packets."""
    sched, t = {}, start
    for p in packets:
        for b in p:
            sched[t] = b
            t += 1
        t += rng.randint(*gap)
    return sched


def run(sched_a, sched_b, depth=64, cycles=None, reset_at=None):
    dut = FeedMerge(depth=depth)
    cycles = cycles or max([*sched_a, *sched_b, 0]) + 400
    out, ev = [], {"overflow": [0, 0], "discard": [0, 0], "msgs": 0}

    async def bench(ctx):
        expected, cur = 0, bytearray()
        for t in range(cycles):
            if t == reset_at:                     # MoldUDP64 starts a new session
                expected = 0
            for port, sched in ((dut.a, sched_a), (dut.b, sched_b)):
                beat = sched.get(t)
                ctx.set(port.valid, beat is not None)
                if beat:
                    for k, v in beat.items():
                        ctx.set(getattr(port.payload, k), v)
            ctx.set(dut.expected, expected)
            if ctx.get(dut.o.valid):
                data, keep = ctx.get(dut.o.payload.data), ctx.get(dut.o.payload.keep)
                if ctx.get(dut.o.payload.first):
                    cur = bytearray()
                cur += bytes((data >> 8 * k) & 0xFF for k in range(8) if keep >> k & 1)
                if ctx.get(dut.o.payload.last):
                    out.append((t, bytes(cur), ctx.get(dut.o.payload.bad)))
                    if len(cur) >= 20:            # MoldUDP64 moves on after the packet
                        seq, n = struct.unpack(">QH", cur[10:20])
                        expected = max(expected, seq + n)
            for p, port in enumerate("ab"):
                ev["overflow"][p] += ctx.get(getattr(dut, f"ev_overflow_{port}"))
                ev["discard"][p] += ctx.get(getattr(dut, f"ev_dup_discard_{port}"))
            ev["msgs"] += ctx.get(dut.ev_dup_discard_msgs)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return out, ev


def feed(rng, n, lanes=True):
    payloads, seq = [], 1
    for _ in range(n):
        k = rng.randint(1, 6)
        payloads.append(mold_payload(seq, k, rng))
        seq += k
    return payloads


def test_full_rate_ab_discards_queued_duplicates():
    """Both feeds back to back at full rate: every range is forwarded once, no overflow."""
    rng = random.Random(1)
    payloads = feed(rng, 40)
    lanes = [rng.randrange(8) for _ in payloads]
    pa = [beats_of(p, lane) for p, lane in zip(payloads, lanes)]
    pb = [beats_of(p, lane) for p, lane in zip(payloads, lanes)]
    out, ev = run(schedule(pa, rng, 0, (2, 2)), schedule(pb, rng, 1, (2, 2)), depth=16)
    assert ev["overflow"] == [0, 0]
    assert [o[1] for o in out] == payloads            # each packet exactly once, in order
    assert sum(ev["discard"]) == len(payloads)
    assert ev["msgs"] == sum(struct.unpack(">H", p[18:20])[0] for p in payloads)


def slotted(packets, slot, start, lost=()):
    """{cycle: beat}: packet k starts at start + k*slot (a lost packet leaves its slot idle)."""
    return {start + k * slot + j: b for k, p in enumerate(packets) if k not in lost
            for j, b in enumerate(p)}


def test_gap_on_a_is_filled_from_b():
    """A loses packets; B's copies (a few cycles behind) fill them, the rest are discarded."""
    rng = random.Random(2)
    payloads = feed(rng, 30)
    lost = set(rng.sample(range(30), 8))
    pa = [beats_of(p, 2) for p in payloads]
    pb = [beats_of(p, 6) for p in payloads]
    slot = max(len(p) for p in pa) + 8
    out, ev = run(slotted(pa, slot, 0, lost), slotted(pb, slot, 4), depth=64)
    got = [o[1] for o in out]
    assert ev["overflow"] == [0, 0]
    for i, p in enumerate(payloads):                  # every range reaches MoldUDP64
        assert p in got, f"packet {i} missing"
    assert got == payloads                            # each once, whole, in sequence order
    assert sum(ev["discard"]) == len(payloads) - len(lost)


def test_first_packet_bypasses_with_no_added_cycle():
    rng = random.Random(3)
    beats = beats_of(mold_payload(1, 3, rng), 4)
    sched = schedule([beats], rng, 5)
    dut_out, _ = run(sched, {}, cycles=40)
    assert dut_out[0][0] == max(sched)                # last beat out in its input cycle


def test_overflow_truncates_and_marks_bad():
    rng = random.Random(4)
    long_a = [beats_of(mold_payload(1, 40, rng), 0)]
    long_b = [beats_of(mold_payload(41, 40, rng), 0)]     # new range: not a duplicate
    out, ev = run(schedule(long_a, rng, 0), schedule(long_b, rng, 0), depth=8)
    assert ev["overflow"][1] > 0
    assert out[0][1][:20] == mold_payload(1, 40, random.Random(4))[:20]
    assert out[-1][2] == 1                            # B's truncated packet ends bad


def back_to_back(packets, rng, start=0, lost=(), noise_p=0.0):
    """{cycle: beat}: one port's packets at full rate (8 idle cycles of frame overhead
    between them), `lost` ones skipped, an occasional noise frame's worth of idle time."""
    sched, t = {}, start
    for k, p in enumerate(packets):
        if k in lost:
            continue
        if rng.random() < noise_p:
            t += rng.randint(8, 40)
        for b in p:
            sched[t] = b
            t += 1
        t += 8
    return sched


def delivered(packets):
    """First-copy-wins over (seq, count) packets in the order MoldUDP64 sees them: the
    sequence ranges it delivers (a packet past the expected number opens a gap)."""
    expected, out = None, []
    for seq, n in packets:
        if expected is None or seq + n > expected:
            out.append(seq)
            expected = seq + n
    return out


def test_drifting_full_rate_feeds_with_loss_never_overflow():
    """Both feeds back to back at full rate, independent loss and noise on each, so the
    lead passes from one feed to the other: no overflow, MoldUDP64 delivers exactly
    what first-arrival order delivers, and the trailing copies are discarded in the
    merge rather than forwarded."""
    for seed in (11, 12, 13):
        rng = random.Random(seed)
        payloads = feed(rng, 160)
        lanes = [rng.randrange(8) for _ in payloads]
        pa = [beats_of(p, lane) for p, lane in zip(payloads, lanes)]
        pb = [beats_of(p, lane) for p, lane in zip(payloads, lanes)]
        lost_a = set(rng.sample(range(160), 6))
        lost_b = set(rng.sample(sorted(set(range(160)) - lost_a), 6))
        sa = back_to_back(pa, rng, 0, lost_a, 0.05)
        sb = back_to_back(pb, rng, rng.randrange(40), lost_b, 0.05)
        out, ev = run(sa, sb, depth=64)
        assert ev["overflow"] == [0, 0]
        assert all(o[2] == 0 for o in out)
        hdr = [struct.unpack(">QH", o[1][10:20]) for o in out]
        # arrival order: packet k of a port starts where its first beat is scheduled
        starts = []
        for port, sched, lost in ((0, sa, lost_a), (1, sb, lost_b)):
            firsts = sorted(t for t, b in sched.items() if b["first"])
            kept = [p for k, p in enumerate(payloads) if k not in lost]
            starts += [(t, port, struct.unpack(">QH", p[10:20])) for t, p in zip(firsts, kept)]
        arrival = [h for _, _, h in sorted(starts)]
        assert delivered(hdr) == delivered(arrival)
        assert len(out) <= len(delivered(arrival)) + 4      # trailing copies stay out


def test_new_session_forgets_old_ranges():
    """After MoldUDP64's expected number falls (new session), a queued packet of the new
    session is judged against the new session only: kept, not taken for a duplicate of
    the old session's ranges."""
    rng = random.Random(5)
    a = {i: b for i, b in enumerate(beats_of(mold_payload(100, 3, rng), 0))}
    b = {1 + i: x for i, x in enumerate(beats_of(mold_payload(103, 3, rng), 0))}  # kept on B
    t = 100
    b.update({t + 5 + i: x for i, x in enumerate(beats_of(mold_payload(1, 3, rng), 0))})
    a.update({t + 6 + i: x for i, x in enumerate(beats_of(mold_payload(4, 3, rng), 0))})
    out, ev = run(a, b, reset_at=t)
    seqs = [struct.unpack(">Q", o[1][10:18])[0] for o in out]
    assert seqs == [100, 103, 1, 4] and ev["discard"] == [0, 0]
