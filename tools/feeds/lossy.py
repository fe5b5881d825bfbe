"""Two-feed MoldUDP64 captures with one-sided loss, real gaps and feed-B skew.

Why: the A/B arbitration and the recovery path are judged on captures that look
like two real lines: the publisher sends packet i at t_i (a steady rate plus
jitter), line A delivers it after its own latency, line B after `skew_b` packets'
worth of time more (feed B "N packets late"), and each line loses packets on its
own. One-sided losses never hit both lines (a packet lost on A is re-drawn so B
keeps it and vice versa), so the complete stream is recoverable from the capture
alone; `both` lists packets lost on both lines (real gaps, only a request server
or a snapshot can fill them).

    python -m tickwire.tools.feeds.lossy FULL.itch OUT.pcap --loss-a 0.02 \\
        --loss-b 0.02 --both 0.002 --skew-b 20 [--both-seqs 1,2] [--seed 1]

Timestamps are ns since the epoch (capture order = timestamp order, as a capture
of two interfaces merged by time).
"""
import argparse
import random
import sys
from dataclasses import dataclass, field, replace

from . import itch_file, moldfeed
from . import pcap as pcap_io

NS = 1_000_000_000
START_NS = 1_580_391_000 * NS          # 2020-01-30 13:30 UTC (the AAPL sample's day)


@dataclass
class Capture:
    frames: list                         # moldfeed.Frame with ts, in timestamp order
    lost_a: list = field(default_factory=list)     # first seq of packets lost on A only
    lost_b: list = field(default_factory=list)
    lost_both: list = field(default_factory=list)  # (first seq, count): real gaps


def two_feed(messages, session="TICKWIRE01", per_packet=None, loss_a=0.0, loss_b=0.0,
             both=0.0, both_packets=(), skew_b=0, interval_ns=2000, jitter_ns=300,
             latency_a_ns=5000, latency_b_ns=5400, seed=1, start_ns=START_NS,
             end_of_session=False):
    """A Capture of `messages` on feeds A and B.

    loss_a/loss_b: probability a packet is lost on that line only; both: probability
    it is lost on both; both_packets: packet indexes (0-based) lost on both.
    skew_b: feed B's extra delay in packets (interval_ns each).
    """
    rng = random.Random(seed)
    a_frames = moldfeed.build_feed(messages, session, per_packet, end_of_session=end_of_session)
    both_packets = set(both_packets)
    cap = Capture([])
    t = start_ns
    out = []
    for i, fa in enumerate(a_frames):
        t += interval_ns + int(rng.expovariate(1 / jitter_ns)) if jitter_ns else interval_ns
        fb = replace(fa, data=moldfeed._retarget(fa.data, moldfeed.FEED_B), feed="B",
                     msg_ends=list(fa.msg_ends))
        lose_both = i in both_packets or (both and rng.random() < both)
        drop_a = drop_b = lose_both
        if not lose_both:
            drop_a = bool(loss_a) and rng.random() < loss_a
            drop_b = bool(loss_b) and rng.random() < loss_b
            if drop_a and drop_b:                # one-sided by construction
                drop_a, drop_b = (True, False) if rng.random() < 0.5 else (False, True)
        if lose_both:
            cap.lost_both.append((fa.seq, fa.count))
        elif drop_a:
            cap.lost_a.append(fa.seq)
        elif drop_b:
            cap.lost_b.append(fa.seq)
        if not drop_a:
            out.append(replace(fa, ts=t + latency_a_ns + _wobble(rng, jitter_ns)))
        if not drop_b:
            out.append(replace(fb, ts=t + latency_b_ns + skew_b * interval_ns +
                               _wobble(rng, jitter_ns)))
    out.sort(key=lambda f: f.ts)
    cap.frames = out
    return cap


def _wobble(rng, jitter_ns):
    return rng.randrange(jitter_ns // 4 + 1) if jitter_ns else 0


def write(path, capture):
    return pcap_io.write(path, ((f.ts, f.data) for f in capture.frames))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tickwire.tools.feeds.lossy",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="complete ITCH BinaryFILE")
    ap.add_argument("out", help="pcap to write")
    ap.add_argument("--session", default="TICKWIRE01")
    ap.add_argument("--per-packet", type=int)
    ap.add_argument("--loss-a", type=float, default=0.0)
    ap.add_argument("--loss-b", type=float, default=0.0)
    ap.add_argument("--both", type=float, default=0.0, help="probability of a real gap")
    ap.add_argument("--both-packets", default="", help="packet indexes lost on both")
    ap.add_argument("--skew-b", type=int, default=0, help="feed B late by N packets")
    ap.add_argument("--interval-ns", type=int, default=2000)
    ap.add_argument("--jitter-ns", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end-of-session", action="store_true")
    a = ap.parse_args(argv)
    msgs = list(itch_file.read(a.input))
    cap = two_feed(msgs, a.session, a.per_packet, a.loss_a, a.loss_b, a.both,
                   [int(x) for x in a.both_packets.split(",") if x.strip()], a.skew_b,
                   a.interval_ns, a.jitter_ns, seed=a.seed, end_of_session=a.end_of_session)
    n = write(a.out, cap)
    print(f"{n} frames -> {a.out}: lost on A only {len(cap.lost_a)}, on B only "
          f"{len(cap.lost_b)}, on both {len(cap.lost_both)} packets", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
