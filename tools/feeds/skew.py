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
