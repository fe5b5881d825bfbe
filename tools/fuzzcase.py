"""One fuzz case: a small clean A/B capture, a corruption kind applied to one or both
ports from a seed, replayed through the RTL (native harness) and the model, judged.

Why it is separate from tools/fuzz.py (the command): tests and the bench run cases
directly, and a saved regression case (tests/fixtures/fuzz/*.json) is just the
arguments of `Case`. Everything is derived from (capture parameters, kind, feeds,
seed), so a case replays identically anywhere.

Verdict of a case (the contract of docs/bad-input.md):
  hang      the engine raised or the harness timed out (no drain)
  rtl!=model  BBO rows or a comparable counter differ between the engines
  book!=clean only one feed was corrupted and the BBO rows differ from the clean run's,
            and nothing flagged it
  flagged   as book!=clean, but both engines flagged the books (stale, snapshot needed:
            mold.bad_forwarded) for a frame found bad at its end after its messages went
            on cut-through, no later than the first differing row (docs/bad-input.md,
            rule 3): wrong, but never silently. Counts as a pass.
  pass      none of these
"""
import functools
import time
from dataclasses import asdict, dataclass, field, replace

from tickwire.model import device as device_model
from tickwire.model import xgmii
from tickwire.rtl.config import build
from tickwire.tools import gen_itch, replay
from tickwire.tools.feeds import corrupt, moldfeed


@dataclass(frozen=True)
class Case:
    kind: str
    seed: int
    feeds: str = "a"              # "a", "b" or "both": the corrupted port(s)
    rate: float = 0.05            # share of a port's Mold frames damaged
    messages: int = 2400
    symbols: int = 8
    per_packet: int = 16
    capture_seed: int = 1

    def name(self):
        return f"{self.kind}-{self.feeds}-{self.seed}"


@dataclass
class Outcome:
    case: Case
    verdict: str
    decoded: dict = field(default_factory=dict)     # engine -> decoded messages
    bbo_rows: dict = field(default_factory=dict)    # engine -> BBO rows
    counter_diff: dict = field(default_factory=dict)  # name -> (rtl, model)
    first_bbo_diff: int | None = None                # first differing row (rtl vs model)
    clean_diff_rows: dict = field(default_factory=dict)  # engine -> rows unlike the clean book
    counters: dict = field(default_factory=dict)     # model counters (coverage)
    rtl_counters: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    def ok(self):
        return self.verdict in ("pass", "flagged")

    def summary(self):
        d = asdict(self)
        d["case"] = asdict(self.case)
        return d


@functools.lru_cache(maxsize=8)
def _messages(symbols, messages, seed):
    return tuple(gen_itch.generate(symbols=symbols, messages=messages, seed=seed, deep=0))


def clean_frames(case):
    """{"a": [...], "b": [...]}: the clean capture, B one packet behind A."""
    msgs = list(_messages(case.symbols, case.messages, case.capture_seed))
    frames = moldfeed.build_feed(msgs, per_packet=case.per_packet, ab=True, b_lag=1)
    return {"a": [f for f in frames if f.feed == "A"], "b": [f for f in frames if f.feed == "B"]}


def corrupted_frames(case):
    """The capture with case.kind applied to the chosen port(s), one RNG stream each."""
    frames = clean_frames(case)
    ports = ("a", "b") if case.feeds == "both" else (case.feeds,)
    for k, port in enumerate(("a", "b")):
        if port in ports:
            frames[port] = corrupt.apply(case.kind, frames[port], case.seed * 2 + k, case.rate)
    return frames


def make_feed(frames, case):
    feed = replay.Feed()
    for port in ("a", "b"):
        for f in frames[port]:
            feed.add(port, f)
    for m in _messages(case.symbols, case.messages, case.capture_seed):
        replay._note_directory(feed, m)
    feed.messages = case.messages
    return feed


# ------------------------------------------------------------------ the model
def _wire_view(f):
    """(data, tail, fcs_ok, MAC verdict) of a frame as the MAC model receives it: a wire
    fault is encoded and decoded through the XGMII reference model; `tail` is the four
    bytes that ended it on the wire (the FCS of a whole frame, data of a runt)."""
    if not getattr(f, "wire", None):
        return f.data, None, f.fcs_ok, None
    got = xgmii.decode(xgmii.encode([f.data], faults={0: f.wire}).beats)
    fr = got[0] if got else xgmii.Frame("runt", b"")
    if len(fr.data) < 4:
        return fr.data, None, False, fr.verdict
    return fr.data[:-4], fr.data[-4:], fr.verdict == "ok", fr.verdict


#: MAC verdicts the device model has no input for -> the counter they belong in.
_RECOUNT = {"runt": "runts", "ctrl": "ctrl_errors"}


def run_model(feed, subs, cfg):
    """tools.engines.ModelEngine.run, except that frames with an XGMII-level fault (a
    runt, an /E/) reach the device model as what the XGMII model decodes. The device
    model has no input for those: such a frame goes in as a bad frame and its FCS
    error is re-counted as the MAC's verdict."""
    from tickwire.tools.engines import ModelEngine, _arrival_order, _model_row, EngineResult
    if not any(getattr(f, "wire", None) for p in feed.frames.values() for f in p):
        return ModelEngine.run(feed, subs, cfg=cfg)
    dev = device_model.DeviceModel(subscriptions=subs, top_n=cfg.top_n,
                                   risk_slots=cfg.risk_slots, hold_depth=cfg.merge_depth,
                                   jump_window=cfg.merge_jump_window,
                                   book_depth=cfg.book_fifo_depth)
    for t, port, f, lane, realign in _arrival_order(feed, times=True):
        data, tail, fcs_ok, verdict = _wire_view(f)
        dev.frame(port, data, fcs_ok=fcs_ok, fcs=tail, t=t, lane=lane, realign=realign)
        if verdict in _RECOUNT:
            dev.counters[f"mac_{port}.fcs_errors"] -= 1
            dev.counters[f"mac_{port}.{_RECOUNT[verdict]}"] += 1
    dev.finish()
    rows = [_model_row(ev) for ev in dev.bbo]
    counters = {k: v for k, v in dev.all_counters().items() if v}
    return EngineResult(rows, counters, dev.itch_msgs(), None,
                        {"mold_status": dev.mold_status(),
                         "bad_frame_seqs": list(dev.arbiter.bad_frame_seqs)}, dev.decoded)


def run_engine(engine, feed, subs, cfg):
    if engine == "model":
        return run_model(feed, subs, cfg)
    from tickwire.tools.engines import rtl_replay
    return rtl_replay.run(feed, subs, cfg)


@functools.lru_cache(maxsize=8)
def _clean_rows(case, build_name):
    """The clean capture's BBO rows (the model's; tests check the RTL gives the same)."""
    feed = make_feed(clean_frames(case), case)
    cfg = build(build_name)
    subs = replay.subscriptions(feed, None, cfg.book_slots, warn=lambda *a: None)
    return tuple(run_model(feed, subs, cfg).bbo_rows)


def comparable(counters):
    """Counters as device_model.comparable folds them (merge discards into MoldUDP64)."""
    return device_model.comparable(counters)


def _flagged(res, clean):
    """Every engine's first row unlike the clean book's comes at or after the first
    message of a frame both engines flagged (mold.bad_forwarded; the model records the
    frames' first sequence numbers, the RTL counts them)."""
    model = res.get("model")
    seqs = model.extra.get("bad_frame_seqs", []) if model is not None else []
    if not seqs:
        return False
    for r in res.values():
        if r.counters.get("mold.bad_forwarded", 0) != len(seqs):
            return False
        got = [tuple(x) for x in r.bbo_rows]
        i = next((k for k, (x, y) in enumerate(zip(got, clean)) if x != y),
                 min(len(got), len(clean)))
        first_bad = min(got[i][0] if i < len(got) else 2**64,
                        clean[i][0] if i < len(clean) else 2**64)
        if first_bad < min(seqs):
            return False
    return True


#: Order-table events of the gateware's book that the model (unbounded) has not.
GEOMETRY = ("book.collisions", "book.table_full")


def _geometry(out, rows_equal):
    """The engines differ only in book counters, after the RTL's book met its table
    geometry (a corrupted order reference colliding: book.collisions/table_full, which
    flag that book unreliable) while both engines had flagged the books stale for a bad
    frame (mold.bad_forwarded): a known limit of the book (issue 12), never silent."""
    return (rows_equal and all(k.startswith("book.") for k in out.counter_diff)
            and any(out.rtl_counters.get(k, 0) for k in GEOMETRY)
            and out.rtl_counters.get("mold.bad_forwarded", 0) > 0
            and out.counters.get("mold.bad_forwarded", 0) > 0)


def run_case(case, build_name="board", engines=("rtl", "model")):
    """Replay one case through the engines and judge it (see the module docstring)."""
    return run_frames(corrupted_frames(case), case, build_name, engines)


def run_frames(frames, case, build_name="board", engines=("rtl", "model")):
    """Judge hand-made `frames` ({"a": [...], "b": [...]}) of `case`'s capture."""
    t0 = time.monotonic()
    cfg = build(build_name)
    feed = make_feed(frames, case)
    subs = replay.subscriptions(feed, None, cfg.book_slots, warn=lambda *a: None)
    res, out = {}, Outcome(case, "pass")
    for e in engines:
        try:
            res[e] = run_engine(e, feed, subs, cfg)
        except Exception as exc:          # a hang or crash is the finding, not a test error
            out.verdict, out.error = "hang", f"{e}: {type(exc).__name__}: {exc}"[:500]
            out.seconds = time.monotonic() - t0
            return out
    for e, r in res.items():
        out.decoded[e] = sum(r.itch_msgs.values())
        out.bbo_rows[e] = len(r.bbo_rows)
    model = res.get("model")
    if model is not None:
        out.counters = dict(model.counters)
    if "rtl" in res and model is not None:
        rtl = res["rtl"]
        out.rtl_counters = dict(rtl.counters)
        a, b = comparable(rtl.counters), comparable(model.counters)
        out.counter_diff = {k: (a.get(k, 0), b.get(k, 0)) for k in sorted(set(a) | set(b))
                            if a.get(k, 0) != b.get(k, 0)}
        rr, mr = list(rtl.bbo_rows), [tuple(r) for r in model.bbo_rows]
        if rr != mr:
            out.first_bbo_diff = next((i for i, (x, y) in enumerate(zip(rr, mr)) if x != y),
                                      min(len(rr), len(mr)))
        if out.counter_diff or rr != mr:
            out.verdict = "flagged" if _geometry(out, rr == mr) else "rtl!=model"
    if case.feeds != "both":
        clean = list(_clean_rows(replace(case, kind="", seed=0, feeds="a"), build_name))
        for e, r in res.items():
            got = [tuple(x) for x in r.bbo_rows]
            out.clean_diff_rows[e] = (sum(x != y for x, y in zip(got, clean))
                                      + abs(len(got) - len(clean)))
        if out.verdict in ("pass", "flagged") and any(out.clean_diff_rows.values()):
            out.verdict = "flagged" if _flagged(res, clean) else "book!=clean"
    out.seconds = time.monotonic() - t0
    return out
