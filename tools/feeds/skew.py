"""Two-feed captures with one-sided loss and skew, as real A/B lines deliver them.

A lost packet keeps its slot on the wire (the line stays paced: the next frame waits
that long), and feed B can run a number of packets behind feed A (or ahead, negative).
`replay` and the engines read the per-frame `idle` this sets, so the merge sees the
arrivals a capture of such lines would show (issue 14's replay contract).
"""
import random
from dataclasses import replace

#: Wire characters a frame takes beyond its bytes (start, preamble, FCS, mean IFG).
OVERHEAD = 8 + 4 + 12


def wire(frame):
    return max(len(frame.data), 60) + OVERHEAD


def ab_skewed(a_frames, b_frames, loss_a=0.0, loss_b=0.0, b_late=0, rng=0, disjoint=True):
    """(port A frames, port B frames) from the two copies of one feed, packet k of each
    in slot k. Each copy loses packets with its probability (never the same packet on
    both when `disjoint`); B's slots start `b_late` packets late (A's if negative)."""
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    n = len(a_frames)
    lost_a = {k for k in range(n) if rng.random() < loss_a}
    lost_b = {k for k in range(n) if rng.random() < loss_b and not (disjoint and k in lost_a)}
    lead = sum(wire(f) for f in a_frames[:abs(b_late)])
    out = []
    for frames, lost, delay in ((a_frames, lost_a, lead if b_late < 0 else 0),
                                (b_frames, lost_b, lead if b_late > 0 else 0)):
        port, idle = [], delay
        for k, f in enumerate(frames):
            if k in lost:
                idle += wire(f)
                continue
            port.append(replace(f, idle=getattr(f, "idle", 0) + idle))
            idle = 0
        out.append(port)
    return out[0], out[1], lost_a, lost_b


def stamped(port_a, port_b, start_ns=0):
    """Both ports' frames in one capture order, `ts` set to each frame's arrival on a
    10GbE line (0.8 ns a character, `idle` included): a pcap of the two lines."""
    out = []
    for frames in (port_a, port_b):
        t = 0
        for f in frames:
            t += getattr(f, "idle", 0)
            out.append(replace(f, ts=start_ns + int(t * 0.8)))
            t += wire(f)
    return sorted(out, key=lambda f: f.ts)


def ab_lines(frames, util=1.0, loss=0.0, dup=0.0, noise=0.0, rng=0):
    """Feeds A and B (moldfeed.build_feed(ab=True) frames) as two lines carrying one
    exchange's packets: packet k leaves on both lines at the same slot time, slots
    spaced by the packet's wire time / `util`. Each line loses packets independently
    (the slot stays empty), and carries duplicates (a copy 0-3 frames later) and noise
    frames of its own; an extra frame uses the line's idle time and delays what
    follows only when there is none. Returns one list (each frame's `idle` set, noise
    on line B tagged feed "B" so it is sent there).

    Why: removing a lost frame from a port's list (moldfeed.drop) gives its time to the
    frames after it, so over a long run the two ports drift apart by the random walk of
    their losses (~9,600 cycles on the bench's 200 k-message feed): every one-sided loss
    then waits for the other port's copy that long. That is a stress case of its own
    (feeds drifting apart); real lines keep the exchange's timing."""
    from . import moldfeed
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    a = [f for f in frames if f.feed == "A"]
    b = {f.seq: f for f in frames if f.feed == "B"}
    slots, t = [], 0.0
    for f in a:
        slots.append(int(t))
        t += wire(f) / util
    out = []
    for line in ("A", "B"):
        free, pending, template = 0, [], None
        for k, fa in enumerate(a):
            f = fa if line == "A" else b[fa.seq]
            if f.kind == "mold" and f.count not in (0, moldfeed.MOLD_END_OF_SESSION):
                template = f
            extra = []
            if rng.random() < loss:
                f = None
            if f is not None and rng.random() < dup:
                pending.append([rng.randint(0, 3), replace(
                    f, fault=f"{f.fault},dup" if f.fault else "dup", msg_ends=list(f.msg_ends))])
            if template is not None and rng.random() < noise:
                nf = moldfeed.noise_frame(rng.choice(moldfeed.NOISE_KINDS), template, rng=rng)
                extra.append(replace(nf, feed="B") if line == "B" else nf)
            due = [g for d, g in pending if d <= 0]
            pending = [[d - 1, g] for d, g in pending if d > 0]
            if f is not None:
                start = max(free, slots[k])
                out.append((start, line, replace(f, idle=start - free)))
                free = start + wire(f)
            for g in extra + due:
                out.append((free, line, replace(g, idle=0)))
                free += wire(g)
        for _d, g in pending:
            out.append((free, line, replace(g, idle=0)))
            free += wire(g)
    out.sort(key=lambda e: (e[0], e[1]))
    return [f for _s, _l, f in out]
