"""DuplicateJudge: a queued packet whose whole range is covered is discarded (once,
with its message count); a kept one moves `kept_end`; a copy judged too late is kept;
`lagging` follows the port's last verdict (MoldUDP64 spec: seq at payload byte 10,
count at byte 18, count 0xFFFF = end of session)."""
import random
import struct

from clocked import put, simulate
from test_feed_merge import beats_of, mold_payload
from tickwire.rtl.rx.merge.judge import DELAY, DuplicateJudge


def plan(packets, rng, gap=(1, 4)):
    """Per-cycle beats of `packets` = [(payload, queued, lane)], and each packet's first
    cycle, header cycle (the beat carrying payload byte 19, or None) and last cycle."""
    beats, info, t = {}, [], 0
    for payload, queued, lane in packets:
        bs = beats_of(payload, lane)
        first, hdr, seen = t, None, 0
        for b in bs:
            seen += bin(b["keep"]).count("1")
            if hdr is None and seen >= 20:
                hdr = t
            beats[t] = (b, queued)
            t += 1
        info.append(dict(first=first, hdr=hdr, last=t - 1, payload=payload, queued=queued))
        t += rng.randint(*gap)
    return beats, info, t + DELAY + 4


def reference(info, ctl):
    """Each queued packet's verdict: (judge cycle, dup) or None when it is never judged."""
    firsts = {p["first"] for p in info}
    out = []
    for k, p in enumerate(info):
        nxt = info[k + 1]["first"] if k + 1 < len(info) else 10 ** 9
        if not p["queued"] or p["hdr"] is None:
            out.append(None)
            continue
        seq, count = struct.unpack(">QH", p["payload"][10:20])
        span = 0 if count == 0xFFFF else count
        c = next((c for c in range(p["hdr"] + 1, min(nxt, p["first"] + DELAY + 1))
                  if ctl(c)["judge_ok"] and c not in firsts), None)
        if c is None:
            out.append(None)
            continue
        cov = max(ctl(c)["base"], ctl(c)["other_kept"])
        out.append((c, span != 0 and seq + span <= cov, seq + span, span))
    return out


def run(packets, ctl, rng, gap=(1, 4)):
    beats, info, cycles = plan(packets, rng, gap)
    verdicts = reference(info, ctl)
    dut = DuplicateJudge()
    got = dict(dups=[], queued=[], kept=[], lagging=[])

    async def bench(ctx):
        for t in range(cycles):
            b, queued = beats.get(t, (None, True))
            ctx.set(dut.i.valid, b is not None)
            put(ctx, dut.i.payload, b or dict(first=0, last=0))
            ctx.set(dut.bypass, b is not None and not queued)
            for k, v in ctl(t).items():
                ctx.set(getattr(dut, k), v)
            if ctx.get(dut.dup):
                got["dups"].append((t, ctx.get(dut.dup_msgs), ctx.get(dut.discard_tag)))
            else:
                assert ctx.get(dut.dup_msgs) == 0
            if ctx.get(dut.queue.valid):
                got["queued"].append((t, ctx.get(dut.queue.payload.tag)))
            await ctx.tick()
            got["kept"].append(ctx.get(dut.kept_end))
            got["lagging"].append(ctx.get(dut.lagging))
    simulate(dut, bench)

    want_dups, want_q, tag, kept, lag = [], [], 0, 0, {}
    for p, v in zip(info, verdicts):
        if p["queued"]:
            tag ^= 1
            end = min(v[0], p["last"] + 1) if v and v[1] else p["last"] + 1
            want_q += [(t, tag) for t in range(p["first"], end)]   # a duplicate stops entering
        if v:
            c, dup, pend, span = v
            if dup:
                want_dups.append((c, span, tag))
            else:
                kept = pend
            assert got["kept"][c] == kept, "kept_end after the verdict"
            lag[c] = int(dup)
        elif not p["queued"] and p["hdr"] is not None:
            seq, count = struct.unpack(">QH", p["payload"][10:20])
            end = seq + (0 if count == 0xFFFF else count)
            c = p["hdr"] + 1
            lag[c] = int(end <= ctl(c)["prior"] or end <= ctl(c)["other_kept"])
    assert got["dups"] == want_dups
    assert got["queued"] == want_q
    for c, v in lag.items():
        assert got["lagging"][c] == v, c
    return verdicts, got


def header(seq, count, rng):
    """A MoldUDP64 packet of `count` (0xFFFF: end of session) with a random-length body."""
    return b"TICKWIRE01" + struct.pack(">QH", seq, count) + bytes(rng.randrange(40))


def fixed(**kw):
    base = dict(base=0, prior=0, other_kept=0, judge_ok=1, new_session=0)
    base.update(kw)
    return lambda t: base


def test_covered_copy_is_discarded_kept_one_moves_kept_end():
    rng = random.Random(1)
    pk = [(mold_payload(10, 3, rng), True, 0),           # 10..12 <= 13: duplicate
          (mold_payload(12, 3, rng), True, 5),           # 12..14: kept, kept_end 15
          (header(13, 0xFFFF, rng), True, 0),             # end of session: kept
          (mold_payload(5, 2, rng), False, 3)]           # live and covered: lagging
    v, _ = run(pk, fixed(base=13, prior=13), rng)
    assert [x and x[1] for x in v] == [True, False, False, None]


def test_late_verdict_keeps_the_copy_and_waits_for_judge_ok():
    rng = random.Random(2)
    pk = [(mold_payload(1, 2, rng), True, 7), (mold_payload(1, 2, rng), True, 0)]
    beats, info, _ = plan(pk, random.Random(9))
    late = info[0]["first"] + DELAY + 1                 # never ready in time for the first
    ok_at = info[1]["hdr"] + 3                          # ready a little late for the second
    ctl = lambda t: dict(base=100, prior=0, other_kept=0, new_session=0,   # noqa: E731
                         judge_ok=int(late <= t < info[1]["first"] or t >= ok_at))
    v, _ = run(pk, ctl, random.Random(9))
    assert v[0] is None and v[1] == (ok_at, True, 3, 2)


def test_new_session_forgets_kept_end():
    pk = [(mold_payload(50, 2, random.Random(3)), True, 0)]
    _, _, cycles = plan(pk, random.Random(4))
    ctl = lambda t: dict(base=0, prior=0, other_kept=0, judge_ok=1,          # noqa: E731
                         new_session=int(t == cycles - 2))
    _, got = run(pk, ctl, random.Random(4))
    assert got["kept"][-3] == 52 and got["kept"][-2:] == [0, 0]


def test_random_against_reference():
    rng = random.Random(5)
    pk, seq = [], 1
    for _ in range(60):
        n = rng.choice([0, 1, 3, 0xFFFF])
        pk.append((header(seq, n, rng)[:rng.choice([200, 200, 15])],
                   rng.random() < 0.7, rng.randrange(8)))
        seq += rng.choice([-4, 0, 2, 5])
        seq = max(seq, 1)
    steps = {}

    def ctl(t):
        if t // 3 not in steps:
            steps[t // 3] = dict(base=rng.randrange(seq + 5), prior=rng.randrange(seq + 5),
                                 other_kept=rng.randrange(seq + 5), judge_ok=rng.random() < 0.7,
                                 new_session=0)
        return steps[t // 3]
    v, _ = run(pk, ctl, random.Random(6))
    dups = [x for x in v if x and x[1]]
    assert len(dups) > 5 and len([x for x in v if x and not x[1]]) > 5
