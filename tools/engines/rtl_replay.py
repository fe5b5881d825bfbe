"""The RTL replay engine: the integrated core in the native Verilator harness.

Frames are encoded to XGMII per port at line rate (tickwire.model.xgmii), the book
subscriptions are written through the register bus before cycle 0, and every
counter is read back (LO then HI, tear-free) after the feed has drained. Latencies
are counted from the XGMII beat carrying a message's last byte (harness cycle =
beat index) to the cycle the decoded message / the book update is valid.
"""
import tempfile
from pathlib import Path

import numpy as np

from tickwire.model import mold

from tickwire.control.regmap import BOOK_SUB_CMD_MAP, ITCH_TYPE_ORDER, REGS

from tickwire.rtl.config import BUILDS

from . import EngineResult, columns
from ..replay import summary

_CORE = {}
_SETTLE = {}


def core(cfg=BUILDS["sim"], trace=False):
    """The built native simulator of TickwireCore (cached per build configuration);
    trace: the --trace-fst variant (built only when asked, cached separately)."""
    if (cfg, trace) not in _CORE:
        from tickwire.rtl.top import TickwireCore
        from ..build.harness import build_native
        comp = TickwireCore(cfg)
        # Read from the component that is built: constructing another one only to read
        # a property leaves an unelaborated component behind (UnusedElaboratable).
        _SETTLE[cfg] = comp.reset_cycles + 8
        name = "tw_core" if cfg == BUILDS["sim"] else f"tw_core_{cfg.name}_{cfg.digest:08x}"
        _CORE[(cfg, trace)] = build_native(comp, name, trace=trace)
    return _CORE[(cfg, trace)]


def settle_cycles(cfg=BUILDS["sim"]):
    """Idle cycles after reset before subscribing: the book's reset sweep (SUB_CMD is
    dropped while it runs), plus a margin."""
    if cfg not in _SETTLE:
        from tickwire.rtl.book import OrderBook
        _SETTLE[cfg] = OrderBook.sweep_cycles(**cfg.book_params()) + 8
    return _SETTLE[cfg]


def subscription_writes(subs):
    loc, slot, cmd = (REGS[n].addr for n in ("book.sub_locate", "book.sub_slot", "book.sub_cmd"))
    writes = []
    for locate, s in sorted(subs.items(), key=lambda kv: kv[1]):
        writes += [(loc, locate), (slot, s), (cmd, BOOK_SUB_CMD_MAP)]
    return writes


def counter_reads():
    """Addresses to read for every counter (LO then HI) and wide status register."""
    regs = [r for r in REGS.values() if r.kind == "counter" or
            (r.kind == "status" and r.name.startswith(("mold.", "book.")))]
    addrs = []
    for r in regs:
        addrs.append(r.addr)
        if r.width > 32:
            addrs.append(r.addr + 4)
    return regs, addrs


def decode_reads(regs, reads):
    values = iter(v for _cycle, _addr, v in reads)
    out = {}
    for r in regs:
        v = next(values)
        if r.width > 32:
            v |= next(values) << 32
        out[r.name] = v
    return out


def last_byte_beats(feed, enc):
    """(feed bit, seq) -> XGMII beat carrying that message's last byte (first copy per port)."""
    where = {}
    for port, feedbit in (("a", 0), ("b", 1)):
        for i, f in enumerate(feed.frames[port]):
            if f.seq is None or f.count in (0, 0xFFFF):
                continue
            fb = 1 if f.feed == "B" else 0 if f.feed == "A" else feedbit
            for j, end in enumerate(f.msg_ends):
                where.setdefault((fb, f.seq + j), enc[port].beat_of(i, end))
    return where


def last_byte_table(feed, enc):
    """last_byte_beats as a sorted numpy table: (keys seq*2+feed, beats)."""
    keys, beats = [], []
    for port, feedbit in (("a", 0), ("b", 1)):
        starts = enc[port].starts
        for i, f in enumerate(feed.frames[port]):
            if f.seq is None or f.count in (0, 0xFFFF):
                continue
            fb = 1 if f.feed == "B" else 0 if f.feed == "A" else feedbit
            base, s0 = 2 * f.seq + fb, starts[i]
            keys.extend(range(base, base + 2 * len(f.msg_ends), 2))
            beats.extend([(s0 + end) >> 3 for end in f.msg_ends])
    return columns.first_keys(np.array(keys, dtype=np.int64), np.array(beats, dtype=np.int64))


class Meter:
    """Progress of a replay in messages: beats clocked -> messages whose last byte is
    on the wire by then (the harness reports beats)."""

    def __init__(self, table, callback):
        self.ends = np.sort(table[1])
        self.callback = callback

    def __call__(self, beats):
        self.callback(int(np.searchsorted(self.ends, beats, side="right")))


#: Idle cycles after the last beat: hold windows can expire one after another
#: (merge.hold_cycles) as the model's finish() lets them, and what they held then
#: drains through the book.
DRAIN = mold.DRAIN_CYCLES


def run(feed, subs, cfg=BUILDS["sim"], progress=None, trace=None, recovery=None):
    """Replay `feed` through the core. progress(messages_sent) is called a few times a
    second; trace=(path, first cycle, cycles) also writes that window as FST.
    recovery: a tools/engines/recovery.Recovery, carried out through the core's host
    injection window (tools/engines/rtl_recovery.py)."""
    sim = core(cfg, trace=trace is not None)
    enc = {p: columns.Port(feed.frames[p]) for p in ("a", "b")}
    regs, addrs = counter_reads()
    table = last_byte_table(feed, enc)
    before, script = subscription_writes(subs), []
    if recovery is not None:
        from . import rtl_recovery
        inj_before, script = rtl_recovery.plan(feed, table, recovery)
        before += inj_before
    with tempfile.TemporaryDirectory(prefix="twreplay-") as tmp:
        ba = columns.write_twb1(Path(tmp) / "a.twb", enc["a"].d, enc["a"].c)
        bb = columns.write_twb1(Path(tmp) / "b.twb", enc["b"].d, enc["b"].c) \
            if feed.frames["b"] else None
        res = sim.run(ba, beats_b=bb, writes_before=before, script=script,
                      reads_after=addrs, drain=DRAIN, timeout=1_000_000,
                      settle=settle_cycles(cfg), raw=True, trace=trace,
                      progress=None if progress is None else Meter(table, progress))
    values = decode_reads(regs, res.reads)
    counters = {k: v for k, v in values.items() if REGS[k].kind == "counter" and v}
    if recovery is not None:
        rtl_recovery.check(counters)
    itch_msgs = {t: values.get(f"itch.msgs[{k}]", 0) for k, t in enumerate(ITCH_TYPE_ORDER)}

    recs = columns.records(res, sim)
    itch, bbo = recs["itch_out"], recs["bbo_out"]
    ilay, blay = sim.layout("itch_out"), sim.layout("bbo_out")
    rows = list(zip(*(bbo.field(blay, k).tolist() for k in
                      ("seq", "locate", "bid_px", "bid_qty", "ask_px", "ask_qty")))) \
        if len(bbo) else []

    d_seq = itch.field(ilay, "seq").astype(np.int64)
    d_feed = itch.field(ilay, "feed").astype(np.int64)
    found, beat = columns.lookup(*table, 2 * d_seq + d_feed)
    dec_lat = (itch.cycles[found] - beat[found]).tolist()
    # seq -> feed of its (last) decoded copy, then that copy's last-byte beat
    sf_keys, sf_feed = columns.last_keys(d_seq, d_feed)
    b_seq = bbo.field(blay, "seq").astype(np.int64)
    has_feed, b_feed = columns.lookup(sf_keys, sf_feed, b_seq)
    found_b, b_beat = columns.lookup(*table, 2 * b_seq + b_feed)
    ok = has_feed & found_b
    bbo_lat = (bbo.cycles[ok] - b_beat[ok]).tolist()
    latency = {"itch_to_decode_cycles": summary(dec_lat),
               "itch_to_bbo_cycles": summary(bbo_lat),
               "clock_mhz": 156.25,
               "cycles": res.stats.get("cycles"),
               "sim_cycles_per_s": round(res.cycles_per_s)}
    top_levels = {}
    topn = recs["topn_out"]
    if len(topn):
        tlay = sim.layout("topn_out")
        key = topn.field(tlay, "slot").astype(np.int64) * 2 + topn.field(tlay, "side")
        _k, last = columns.last_keys(key.astype(np.int64), np.arange(len(topn)))
        for i in sorted(last.tolist()):
            u = sim.unpack("topn_out", topn.value(i))
            top_levels[(u["slot"], u["side"])] = u["levels"]
    first = sim.unpack("itch_out", itch.value(0))["rx_ts"] if len(itch) else None
    last = sim.unpack("itch_out", itch.value(len(itch) - 1))["rx_ts"] if len(itch) else None
    extra = {"mold_status": {k.split(".", 1)[1]: v for k, v in values.items()
                             if k.startswith("mold.") and REGS[k].kind == "status"},
             "book_status": {k.split(".", 1)[1]: v for k, v in values.items()
                             if k.startswith("book.") and REGS[k].kind == "status"},
             "first_rx_ts": first, "last_rx_ts": last,
             "top_levels": top_levels, "bbo_latencies": bbo_lat, "decode_latencies": dec_lat,
             "bbo_cycles": bbo.cycles.tolist(),
             # BBO updates flagged unreliable (the book's flag, or stale books: inject.state)
             "bbo_unreliable_seqs": b_seq[bbo.field(blay, "unreliable").astype(bool)].tolist()
             if len(bbo) else [],
             "topn_unreliable_seqs": topn.field(tlay, "seq")[
                 topn.field(tlay, "unreliable").astype(bool)].astype(np.int64).tolist()
             if len(topn) else []}
    return EngineResult(rows, counters, itch_msgs, latency, extra,
                        Decoded(sim, itch))


class Decoded:
    """The decoded messages as ItchMsg field dicts, unpacked only when read."""

    def __init__(self, sim, records):
        self.sim, self.records = sim, records

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        return self.sim.unpack("itch_out", self.records.value(i))

    def __iter__(self):
        return (self[i] for i in range(len(self)))
