"""`tickwire replay`: drive a feed through the reference model or the RTL.

INPUT is a raw ITCH 5.0 BinaryFILE (`.gz` accepted) or a pcap/pcapng of MoldUDP64.
Raw ITCH is packed into MoldUDP64 (sequence numbers from 1, as many messages as fit
a 1500-byte IP MTU unless --msgs-per-packet), framed to feed A 233.54.12.111:26477
and, with --ab, copied to feed B 233.49.196.111:26477. Feed A frames go to port A and
feed B frames to port B, back to back at 10GbE line rate. Pcap frames go to port B
when they are addressed to feed B, to port A otherwise (the hardware must ignore
what its filter does not match); their capture timestamps set when each frame
starts on its port (tools/feeds/pacing.py), so the capture's A/B arrival order and
spacing are kept: `--speed max` sends each port back to back instead, `--skew-b NS`
delays feed B. `--locates 13,42` subscribes by stock locate (captures that start
mid-session carry no stock directory).

Recovery (both engines: tools/engines/recovery.py; the RTL writes the fills and the
snapshot through the core's injection window, tools/engines/rtl_recovery.py): `--recover-from FULL.itch`
answers every gap from FULL.itch as a MoldUDP64 request server would;
`--join-at N --snapshot-from FULL.itch` ignores packets below N and loads the books
from FULL.itch's snapshot after message N-1 (rows of the load carry seq N-1).
Without them, a run with an unfilled gap lists every subscribed locate as stale
(`stale_locates` in --stats-out).

Outputs: --bbo-out (top-of-book trajectory csv), --stats-out (the device's counters
read through the register map), --latency-out (cycles from the XGMII beat carrying a
message's last byte to the decoded message / the book update; RTL only).
"""
import json
import sys
from pathlib import Path

from tickwire.rtl.config import add_build_arg, build
from tickwire.tools.feeds import itch_file, moldfeed
from tickwire.tools.feeds import pacing
from tickwire.tools.feeds import pcap as pcap_io

PORTS = ("a", "b")


def add_arguments(p):
    p.add_argument("input", help="raw ITCH 5.0 BinaryFILE (.gz ok) or pcap/pcapng of MoldUDP64")
    p.add_argument("--engine", choices=("model", "rtl"), default="model")
    add_build_arg(p)
    p.add_argument("--ab", action="store_true", help="also send every packet on feed B (port B)")
    p.add_argument("--msgs-per-packet", type=int, metavar="N",
                   help="messages per MoldUDP64 packet (default: fill a 1500-byte MTU)")
    p.add_argument("--symbols", help="comma-separated tickers to subscribe (default: all, "
                   "in stock-directory order, up to the build's slot count)")
    p.add_argument("--locates", metavar="L1,L2,...",
                   help="comma-separated stock locates to subscribe (for captures without a "
                        "stock directory); not with --symbols")
    p.add_argument("--speed", choices=("capture", "max"), default="capture",
                   help="capture: pcap timestamps set each frame's arrival (default); "
                        "max: each port back to back at line rate")
    p.add_argument("--skew-b", type=int, default=0, metavar="NS",
                   help="delay every feed-B frame by NS nanoseconds")
    p.add_argument("--recover-from", metavar="FULL.itch",
                   help="answer gaps from this complete session (model engine)")
    p.add_argument("--join-at", type=int, metavar="N",
                   help="ignore packets below sequence N; needs --snapshot-from")
    p.add_argument("--snapshot-from", metavar="FULL.itch",
                   help="load the books from this session's snapshot after message N-1")
    p.add_argument("--bbo-out", metavar="OUT.csv", help="top-of-book trajectory")
    p.add_argument("--stats-out", metavar="S.json", help="device counters")
    p.add_argument("--latency-out", metavar="L.json", help="latency summary (RTL engine)")
    p.add_argument("--bbo-cycles-out", metavar="C.csv",
                   help="RTL engine: `row,cycle` per BBO row (line n matches line n of "
                        "--bbo-out), the cycle to give --trace-from")
    p.add_argument("--quiet", action="store_true",
                   help="no build steps, progress bar or summary on stderr")
    p.add_argument("--trace", metavar="OUT.fst",
                   help="RTL engine: write an FST waveform of a window of the run (builds a "
                        "traced variant of the harness the first time)")
    p.add_argument("--trace-from", type=int, default=0, metavar="CYCLE",
                   help="first cycle of the window; cycle 0 is the first XGMII beat, as in "
                        "--latency-out (default 0)")
    p.add_argument("--trace-cycles", type=int, default=2000, metavar="N",
                   help="cycles in the window (default 2000)")


# ---------------------------------------------------------------------------- input
class Feed:
    """Frames per port plus what is needed to time each message on the wire."""

    def __init__(self):
        self.frames = {"a": [], "b": []}     # moldfeed.Frame per port, in wire order
        self.directory = {}                  # locate -> ticker (stock directory R)
        self.messages = 0

    def add(self, port, frame):
        self.frames[port].append(frame)


def _is_pcap(path):
    with open(path, "rb") as f:
        head = f.read(4)
    return head in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                    b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a")


def _note_directory(feed, msg):
    if msg[:1] == b"R" and len(msg) >= 19:
        feed.directory.setdefault(int.from_bytes(msg[1:3], "big"),
                                  msg[11:19].decode("latin-1").rstrip())


def load_feed(path, ab=False, msgs_per_packet=None):
    feed = Feed()
    if _is_pcap(path):
        for ts, data in pcap_io.read(path):
            parsed = moldfeed.parse_frame(data)
            frame = moldfeed.Frame(bytes(data), kind="noise", ts=ts)
            port = "a"
            if parsed:
                dst, dport, _session, seq, count, msgs = parsed
                is_b = (dst, dport) == (moldfeed.FEED_B.group, moldfeed.FEED_B.port)
                port = "b" if is_b else "a"
                # msg_ends relative to the frame: walk the blocks from the Mold payload.
                ends = []
                ihl = (data[14] & 0xF) * 4
                pos = 14 + ihl + 8 + 20
                for m in msgs:
                    pos += 2 + len(m)
                    ends.append(pos - 1)
                    _note_directory(feed, m)
                frame = moldfeed.Frame(bytes(data), "B" if is_b else "A", seq, count, ends,
                                       ts=ts)
                feed.messages += len(msgs)
            feed.add(port, frame)
        return feed
    msgs = list(itch_file.read(path))
    feed.messages = len(msgs)
    for m in msgs:
        _note_directory(feed, m)
    for f in moldfeed.build_feed(msgs, per_packet=msgs_per_packet, ab=ab):
        feed.add("b" if f.feed == "B" else "a", f)
    return feed


def subscriptions(feed, symbols, slots, warn=print, locates=None):
    """locate -> slot: the chosen locates or tickers, else every stock-directory entry,
    up to `slots`."""
    chosen = list(feed.directory.items())
    if locates and symbols:
        raise ValueError("--locates and --symbols are exclusive")
    if locates:
        try:
            want = [int(x) for x in locates.split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"--locates: not a list of integers: {locates!r}") from None
        bad = [x for x in want if not 0 <= x <= 0xFFFF]
        if bad or len(set(want)) != len(want):
            raise ValueError(f"--locates: out of range or repeated: {locates!r}")
        chosen = [(loc, feed.directory.get(loc, str(loc))) for loc in want]
    elif symbols:
        want = [s.strip().upper() for s in symbols.split(",") if s.strip()]
        by_name = {name: loc for loc, name in feed.directory.items()}
        missing = [s for s in want if s not in by_name]
        if missing:
            raise ValueError(f"--symbols: not in the feed's stock directory: {', '.join(missing)}")
        chosen = [(by_name[s], s) for s in want]
    if len(chosen) > slots:
        warn(f"warning: the feed lists {len(chosen)} symbols but this build has {slots} book "
             f"slots; subscribing the first {slots} (use --symbols to choose)")
        chosen = chosen[:slots]
    return {loc: slot for slot, (loc, _name) in enumerate(chosen)}


# ---------------------------------------------------------------------------- output
BBO_HEADER = "seq,locate,bid_px,bid_qty,ask_px,ask_qty"
#: Engine extras that go into S.json (status registers and timestamps).
STATS_EXTRA = ("mold_status", "book_status", "first_rx_ts", "last_rx_ts")


def write_bbo(path, rows):
    """CSV with CRLF line ends (RFC 4180, like Python's csv module and the reference files)."""
    with open(path, "w", newline="") as f:
        f.write(BBO_HEADER + "\r\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\r\n")


def summary(values):
    """{"min", "p50", "p99", "max", "count"} of a list of cycle counts (nearest rank)."""
    if not values:
        return {"min": None, "p50": None, "p99": None, "max": None, "count": 0}
    v = sorted(values)

    def rank(p):
        return v[min(len(v) - 1, max(0, -(-len(v) * p // 100) - 1))]
    return {"min": v[0], "p50": rank(50), "p99": rank(99), "max": v[-1], "count": len(v)}


def stats_json(counters, itch_msgs, extra=None):
    drops = {k: v for k, v in sorted(counters.items())
             if any(w in k for w in ("drop", "error", "runt", "oversize", "overflow",
                                     "overrun", "bad_", "short_", "mismatch", "unknown",
                                     "truncated", "dup_", "gap"))}
    out = {"itch_msgs": itch_msgs, "drops": drops, "counters": dict(sorted(counters.items()))}
    out.update(extra or {})
    return out


def stale_locates(counters, subs):
    """Every subscribed locate when a gap stayed unfilled (mold.gaps > 0), else none:
    the card cannot tell which books the lost messages touched. Derived from the gap
    counter, the same on both engines (the card's inject.state.STALE says the same)."""
    return sorted(subs) if counters.get("mold.gaps", 0) else []


def recovery_from_args(args, feed):
    """The model engine's Recovery for --recover-from / --join-at, or None. The
    snapshot's or the full session's stock directory joins the capture's (the card
    would learn it from the snapshot or the retransmissions)."""
    recover = getattr(args, "recover_from", None)
    join, snap = getattr(args, "join_at", None), getattr(args, "snapshot_from", None)
    if join is None and snap is None and recover is None:
        return None
    if (join is None) != (snap is None):
        raise ValueError("--join-at and --snapshot-from go together")
    if join is not None and join < 1:
        raise ValueError("--join-at must be >= 1")
    from tickwire.tools.engines.recovery import Recovery
    from tickwire.tools.exchange.snapshot import snapshot
    source = list(itch_file.read(recover)) if recover else None
    snap_msgs = None
    if snap:
        full = source if source is not None and snap == recover else list(itch_file.read(snap))
        snap_msgs = snapshot(full, join - 1)[:-1]
    capture_dir, feed.directory = feed.directory, {}
    for m in (snap_msgs or []) + (source or []):
        _note_directory(feed, m)            # the complete session's order first
    for loc, name in capture_dir.items():
        feed.directory.setdefault(loc, name)
    return Recovery(source=source, join_at=join, snapshot=snap_msgs)


def run(args):
    from tickwire.tools import engines
    from tickwire.tools.build import steps
    from tickwire.tools.progress import Bar
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    trace = getattr(args, "trace", None)
    if trace and args.engine != "rtl":
        raise ValueError("--trace needs --engine rtl (the model has no signals)")
    if trace and (args.trace_from < 0 or args.trace_cycles <= 0):
        raise ValueError("--trace-from must be >= 0 and --trace-cycles > 0")
    steps.quiet(args.quiet)
    feed = load_feed(args.input, ab=args.ab, msgs_per_packet=args.msgs_per_packet)
    pacing.pace(feed.frames, getattr(args, "speed", "capture"), getattr(args, "skew_b", 0))
    engine = engines.ENGINES[args.engine]
    cfg = build(args.build)
    rec = recovery_from_args(args, feed)
    subs = subscriptions(feed, args.symbols, engine.slots(cfg), warn=say,
                         locates=getattr(args, "locates", None))
    bar = Bar(feed.messages, "msg", f"replay ({args.engine})",
              enabled=False if args.quiet else None)
    try:
        result = engine.run(feed, subs, want_latency=bool(args.latency_out), cfg=cfg,
                            progress=bar,
                            trace=(trace, args.trace_from, args.trace_cycles) if trace else None,
                            **({"recovery": rec} if rec is not None else {}))
    finally:
        bar.close()
    if args.bbo_out:
        write_bbo(args.bbo_out, result.bbo_rows)
    if args.stats_out:
        Path(args.stats_out).write_text(json.dumps(
            stats_json(result.counters, result.itch_msgs,
                       {**{k: v for k, v in result.extra.items() if k in STATS_EXTRA},
                        "stale_locates": stale_locates(result.counters, subs),
                        **({"recovery": rec.stats} if rec is not None else {})}),
            indent=2) + "\n")
    if getattr(args, "bbo_cycles_out", None):
        if "bbo_cycles" not in result.extra:
            raise ValueError("--bbo-cycles-out needs --engine rtl (the model has no cycles)")
        with open(args.bbo_cycles_out, "w", newline="") as f:
            f.write("row,cycle\r\n")
            f.writelines(f"{i},{c}\r\n" for i, c in enumerate(result.extra["bbo_cycles"]))
    if args.latency_out:
        if result.latency is None:
            raise ValueError("--latency-out needs --engine rtl (the model has no cycles)")
        Path(args.latency_out).write_text(json.dumps(result.latency, indent=2) + "\n")
    say(f"replay ({args.engine}): {feed.messages} messages in "
        f"{len(feed.frames['a'])} + {len(feed.frames['b'])} frames, "
        f"{sum(result.itch_msgs.values())} decoded, {len(result.bbo_rows)} BBO rows")
    if trace:
        say(f"waveform: {trace} (cycles {args.trace_from} to "
            f"{args.trace_from + args.trace_cycles - 1}; open with gtkwave or surfer)")
    return 0
