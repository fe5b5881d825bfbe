"""The two replay engines behind `tickwire replay`: the reference model and the RTL.

Both take a replay.Feed (frames per port) and the subscriptions (locate -> slot) and
return an EngineResult with the same fields, so their outputs can be compared file
for file. The RTL engine runs the integrated core in the native Verilator harness
(tools/build/harness) and reads every counter back through the register map.
"""
from dataclasses import dataclass, field

from tickwire.model import xgmii
from tickwire.model.device import TYPE_ORDER, DeviceModel
from tickwire.rtl.config import BUILDS

SIM = BUILDS["sim"]

#: Wire time of a frame in XGMII characters beyond its bytes: /S/+preamble+SFD (8),
#: FCS (4) and the 12-character average inter-frame gap.
_OVERHEAD = 8 + 4 + 12


@dataclass
class EngineResult:
    bbo_rows: list                    # (seq, locate, bid_px, bid_qty, ask_px, ask_qty)
    counters: dict                    # register name -> value
    itch_msgs: dict                   # {"A": n, ...}
    latency: dict | None = None       # L.json content (RTL only)
    extra: dict = field(default_factory=dict)
    decoded: list = field(default_factory=list)    # ItchMsg field dicts


def _arrival_order(feed, times=False):
    """(port, frame) in the order their first bytes reach the A/B merge (ties: A first);
    with `times`, (cycle, port, frame, lane, realign): where its UDP payload starts on
    the wire (the model's hold window is timed in cycles). The positions are the XGMII
    encoder's own (tickwire/model/xgmii.py: frames start in lane 0 or 4, the deficit
    idle count moves them), as the RTL harness sends them; `realign`: the frame starts
    in lane 4, which the MAC realigns (a byte in a beat's upper half leaves a cycle
    later: tickwire/model/mold.py `receive`)."""
    events = []
    for port in ("a", "b"):
        frames = feed.frames[port]
        if times:
            gaps = [getattr(f, "idle", 0) for f in frames]
            faults = {i: getattr(f, "wire", None) or "fcs" for i, f in enumerate(frames)
                      if not f.fcs_ok or getattr(f, "wire", None)}
            starts = xgmii.frame_starts([f.data for f in frames], faults=faults,
                                        gaps=gaps if any(gaps) else None)
        else:
            starts, t = [], 0
            for f in frames:
                t += getattr(f, "idle", 0)
                starts.append(t)
                t += max(len(f.data), 60) + _OVERHEAD
        for i, f in enumerate(frames):
            events.append((starts[i], port, i, f))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    if times:
        return [((p + 42) // 8, port, f, (p + 42) % 8, p % 8 == 4)
                for p, port, _, f in events]
    return [(port, f) for _, port, _, f in events]


class ModelEngine:
    name = "model"

    @staticmethod
    def slots(cfg=SIM):
        return cfg.book_slots

    @staticmethod
    def run(feed, subs, want_latency=False, cfg=SIM, progress=None, trace=None,
            recovery=None):
        dev = DeviceModel(subscriptions=subs, top_n=cfg.top_n, risk_slots=cfg.risk_slots,
                          hold_depth=cfg.merge_depth, jump_window=cfg.merge_jump_window,
                          book_depth=cfg.book_fifo_depth)
        if recovery is not None:
            recovery.install(dev)
        sent = 0
        for i, (t, port, f, lane, realign) in enumerate(_arrival_order(feed, times=True)):
            dev.frame(port, f.data, fcs_ok=f.fcs_ok, t=t, lane=lane, realign=realign)
            if progress is not None:
                sent += len(getattr(f, "msg_ends", ()) or ())
                if i & 255 == 0:
                    progress(sent)
        dev.finish()
        rows = [_model_row(ev) for ev in dev.bbo]
        counters = {k: v for k, v in dev.all_counters().items() if v}
        extra = {"mold_status": dev.mold_status(),
                 # updates flagged unreliable (stale books), as the card's streams carry them
                 "bbo_unreliable_seqs": list(dev.stale_bbo_seqs),
                 # first seq of each frame found bad after its messages went on
                 "bad_frame_seqs": list(dev.arbiter.bad_frame_seqs),
                 "topn_unreliable_seqs": [e.seq for e in dev.book.topn_events if e.unreliable]}
        return EngineResult(rows, counters, dev.itch_msgs(), None, extra, dev.decoded)


def _model_row(ev):
    """A book-model BboEvent as the csv row tuple."""
    return tuple(int(x) for x in ev.row().split(","))


class RtlEngine:
    name = "rtl"

    @staticmethod
    def slots(cfg=SIM):
        return cfg.book_slots

    @staticmethod
    def run(feed, subs, want_latency=False, cfg=SIM, progress=None, trace=None,
            recovery=None):
        from tickwire.tools.engines import rtl_replay
        return rtl_replay.run(feed, subs, cfg, progress=progress, trace=trace,
                              recovery=recovery)


ENGINES = {"model": ModelEngine, "rtl": RtlEngine}


def encode_port(frames):
    """XGMII beats for one port's frames at line rate; bad-FCS frames get a bad FCS."""
    faults = {i: getattr(f, "wire", None) or "fcs" for i, f in enumerate(frames)
              if not f.fcs_ok or getattr(f, "wire", None)}
    gaps = [getattr(f, "idle", 0) for f in frames]
    return xgmii.encode([f.data for f in frames], start_lane="any", faults=faults,
                        gaps=gaps if any(gaps) else None)


__all__ = ["ENGINES", "EngineResult", "TYPE_ORDER", "encode_port"]
