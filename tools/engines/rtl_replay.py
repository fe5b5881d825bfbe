"""The RTL replay engine: the integrated core in the native Verilator harness.

Frames are encoded to XGMII per port at line rate (tickwire.model.xgmii), the book
subscriptions are written through the register bus before cycle 0, and every
counter is read back (LO then HI, tear-free) after the feed has drained. Latencies
are counted from the XGMII beat carrying a message's last byte (harness cycle =
beat index) to the cycle the decoded message / the book update is valid.
"""
from tickwire.control.regmap import BOOK_SUB_CMD_MAP, ITCH_TYPE_ORDER, REGS

from tickwire.rtl.config import BUILDS

from . import EngineResult, encode_port
from ..replay import summary

_CORE = {}


def core(cfg=BUILDS["sim"]):
    """The built native simulator of TickwireCore (cached per build configuration)."""
    if cfg not in _CORE:
        from tickwire.rtl.top import TickwireCore
        from ..build.harness import build_native
        _CORE[cfg] = build_native(TickwireCore(cfg), "tw_core" if cfg == BUILDS["sim"]
                                  else f"tw_core_{cfg.name}_{cfg.digest:08x}")
    return _CORE[cfg]


def settle_cycles(cfg=BUILDS["sim"]):
    """Idle cycles after reset before subscribing: the book's reset sweep (SUB_CMD is
    dropped while it runs), plus a margin."""
    from tickwire.rtl.top import TickwireCore
    return TickwireCore(cfg).reset_cycles + 8


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


def run(feed, subs, cfg=BUILDS["sim"]):
    sim = core(cfg)
    enc = {p: encode_port(feed.frames[p]) for p in ("a", "b")}
    regs, addrs = counter_reads()
    res = sim.run(enc["a"].beats, beats_b=enc["b"].beats if feed.frames["b"] else None,
                  writes_before=subscription_writes(subs), reads_after=addrs, drain=512,
                  timeout=1_000_000, settle=settle_cycles(cfg))
    values = decode_reads(regs, res.reads)
    counters = {k: v for k, v in values.items() if REGS[k].kind == "counter" and v}
    itch_msgs = {t: values.get(f"itch.msgs[{k}]", 0) for k, t in enumerate(ITCH_TYPE_ORDER)}

    decoded = sim.unpack_all(res, "itch_out")
    bbo = sim.unpack_all(res, "bbo_out")
    rows = [(u["seq"], u["locate"], u["bid_px"], u["bid_qty"], u["ask_px"], u["ask_qty"])
            for _c, u in bbo]

    where = last_byte_beats(feed, enc)
    dec_lat = [c - where[(m["feed"], m["seq"])] for c, m in decoded
               if (m["feed"], m["seq"]) in where]
    seq_feed = {m["seq"]: m["feed"] for _c, m in decoded}
    bbo_lat = [c - where[(seq_feed[u["seq"]], u["seq"])] for c, u in bbo
               if u["seq"] in seq_feed and (seq_feed[u["seq"]], u["seq"]) in where]
    latency = {"itch_to_decode_cycles": summary(dec_lat),
               "itch_to_bbo_cycles": summary(bbo_lat),
               "clock_mhz": 156.25,
               "cycles": res.stats.get("cycles"),
               "sim_cycles_per_s": round(res.cycles_per_s)}
    top_levels = {}
    for _c, u in sim.unpack_all(res, "topn_out"):
        top_levels[(u["slot"], u["side"])] = u["levels"]
    ts = [m["rx_ts"] for _c, m in decoded]
    extra = {"mold_status": {k.split(".", 1)[1]: v for k, v in values.items()
                             if k.startswith("mold.") and REGS[k].kind == "status"},
             "book_status": {k.split(".", 1)[1]: v for k, v in values.items()
                             if k.startswith("book.") and REGS[k].kind == "status"},
             "first_rx_ts": ts[0] if ts else None, "last_rx_ts": ts[-1] if ts else None,
             "top_levels": top_levels, "bbo_latencies": bbo_lat}
    return EngineResult(rows, counters, itch_msgs, latency, extra,
                        [m for _c, m in decoded])
