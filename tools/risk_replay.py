"""`tickwire risk-replay`: orders against a replayed ITCH feed, through the risk gate.

Each order of ORDERS.csv reaches the gate after the book has applied feed message
`after_seq` (1-based; 0 = before the first) and before the next. The order's time
(`now`, which the rate and duplicate checks use) is that message's ITCH timestamp,
so a replay is deterministic and both engines see the same clock. Account and
symbol names come from the limits file; a name not in it maps to index 255, which
the gate rejects (account_disabled / restricted), as it would an unknown index.
Symbols find their book by the limits file's `locate`, else by the feed's stock
directory (R); a symbol with neither has no book.

  --engine model   the reference model (tickwire.model.risk) and book model
  --engine rtl     the RiskGate gateware in Verilator (cocotb), limits loaded through
                   its register windows; must write the same file as the model
"""
import csv
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

from tickwire.model.book import BookModel, decode
from tickwire.model.limits import encode, load
from tickwire.model.risk import REASONS, BookState, RiskModel
from tickwire.rtl.config import add_build_arg, build
from tickwire.tools.feeds import itch_file

HEADER = ["after_seq", "clordid", "account", "symbol", "side", "qty", "price"]
SIDES = {"B": 0, "S": 1, "SS": 2}
UNKNOWN = 255


def add_arguments(p):
    p.add_argument("--feed", required=True, help="ITCH 5.0 BinaryFILE (plain or .gz)")
    p.add_argument("--orders", required=True, help="CSV: " + ",".join(HEADER))
    p.add_argument("--limits", required=True, help="limits file (YAML, docs/limits.md)")
    p.add_argument("--engine", choices=("model", "rtl"), default="model")
    add_build_arg(p)
    p.add_argument("--verdicts-out", required=True, help="CSV out: clordid,verdict,reason")


def read_orders(path, limits):
    """ORDERS.csv -> list of order dicts; errors name file and line."""
    out = []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        head = next(rows, None)
        if [h.strip() for h in head or []] != HEADER:
            raise ValueError(f"{path}:1: header must be {','.join(HEADER)}")
        for line, row in enumerate(rows, 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) != len(HEADER):
                raise ValueError(f"{path}:{line}: expected {len(HEADER)} fields, got {len(row)}")
            r = dict(zip(HEADER, (c.strip() for c in row)))
            try:
                o = {k: int(r[k]) for k in ("after_seq", "clordid", "qty", "price")}
            except ValueError as exc:
                raise ValueError(f"{path}:{line}: {exc}") from None
            for k, bits in (("after_seq", 64), ("clordid", 64), ("qty", 32), ("price", 32)):
                if not 0 <= o[k] < 1 << bits:
                    raise ValueError(f"{path}:{line}: {k} {o[k]} out of range")
            if r["side"] not in SIDES:
                raise ValueError(f"{path}:{line}: side {r['side']!r} is not B, S or SS")
            o["side"] = SIDES[r["side"]]
            a = limits.account_of(r["account"])
            o["account"] = UNKNOWN if a is None else a
            s = limits.slot_of(r["symbol"])
            o["slot"] = UNKNOWN if s is None else s
            o["line"] = line
            out.append(o)
    return out


def script(feed, orders_path, limits):
    """The replay as a list of steps {t, slot, book, order}: the order, its time and the
    book of its slot at the moment it reaches the gate."""
    msgs = list(itch_file.read(feed))
    orders = read_orders(orders_path, limits)
    books = BookModel()
    directory = {}                      # stock name -> locate (R messages)
    applied, t = 0, 0
    steps = []
    for o in orders:
        if o["after_seq"] < applied:
            raise ValueError(f"{orders_path}:{o['line']}: after_seq {o['after_seq']} goes "
                             f"back (already at {applied})")
        if o["after_seq"] > len(msgs):
            raise ValueError(f"{orders_path}:{o['line']}: after_seq {o['after_seq']} past "
                             f"the feed's {len(msgs)} messages")
        while applied < o["after_seq"]:
            raw = msgs[applied]
            applied += 1
            if len(raw) >= 11:
                t = int.from_bytes(raw[5:11], "big")
            if raw[:1] == b"R" and len(raw) >= 19:
                directory[raw[11:19].decode("ascii", "replace").strip()] = \
                    struct.unpack_from(">H", raw, 1)[0]
            if raw[:1] in b"AFECXDUH" and len(raw) >= 19:       # D is 19 bytes
                books.apply(decode(raw, applied))
        book = BookState()
        if o["slot"] < len(limits.symbols):
            sym = limits.symbols[o["slot"]]
            loc = sym.locate if sym.locate is not None else directory.get(sym.name)
            b = books.books.get(loc) if loc is not None else None
            if b is not None:
                bid_px, bid_qty, _, ask_px, ask_qty, _ = b.bbo()
                book = BookState(bid_px, bid_qty, ask_px, ask_qty, b.halted, False)
        steps.append({"t": t, "book": list(book), "order": {k: o[k] for k in (
            "clordid", "account", "slot", "side", "qty", "price")}})
    return steps


def run_model(steps, limits, cfg):
    m = RiskModel(cfg.risk_accounts, cfg.risk_slots, limits=limits)
    return m, [m.order(s["order"]["clordid"], s["order"]["account"], s["order"]["slot"],
                       s["order"]["side"], s["order"]["qty"], s["order"]["price"], s["t"],
                       BookState(*s["book"])) for s in steps]


def run_rtl(steps, tables, cfg):
    from tickwire.rtl.risk import RiskGate
    from tickwire.tools.build.simrun import BUILD_ROOT, run_cocotb
    os.environ.setdefault("MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include")
    with tempfile.TemporaryDirectory() as tmp:
        sp, op = Path(tmp) / "script.json", Path(tmp) / "verdicts.json"
        sp.write_text(json.dumps({"steps": steps, "tables": tables, "slots": cfg.risk_slots}))
        out = sys.stdout
        sys.stdout = sys.stderr             # keep cocotb chatter off our stdout
        here = str(Path(__file__).parent / "engines")
        # the cocotb runner takes the simulator's PYTHONPATH from sys.path
        sys.path.insert(0, here)
        log = BUILD_ROOT / "logs" / "risk-replay-sim.log"     # the simulator's own output
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            gate = RiskGate(accounts=cfg.risk_accounts, slots=cfg.risk_slots,
                            history=cfg.risk_history)
            run_cocotb(gate, "risk_gate" if cfg.name == "sim" else f"risk_gate_{cfg.name}",
                       "risk_replay_sim", Path(here),
                       extra_env={"RISK_SCRIPT": str(sp), "RISK_OUT": str(op)}, log_file=log)
        finally:
            sys.stdout = out
            sys.path.remove(here)
        if not op.exists():
            raise RuntimeError(f"rtl engine: simulation wrote no verdicts; its output is in {log}")
        got = json.loads(op.read_text())
    if [g[0] for g in got] != [s["order"]["clordid"] for s in steps]:
        raise RuntimeError("rtl engine: verdicts out of order or missing")
    return [g[1] for g in got]


def run(args):
    cfg = build(args.build)
    limits = load(args.limits, cfg.risk_accounts, cfg.risk_slots)
    steps = script(args.feed, args.orders, limits)
    if args.engine == "model":
        _, reasons = run_model(steps, limits, cfg)
    else:
        reasons = run_rtl(steps, encode(limits, accounts=cfg.risk_accounts,
                                        slots=cfg.risk_slots), cfg)
    with open(args.verdicts_out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["clordid", "verdict", "reason"])
        for s, r in zip(steps, reasons):
            w.writerow([s["order"]["clordid"], "accept" if r == 0 else "reject", REASONS[r]])
    acc = sum(r == 0 for r in reasons)
    print(f"risk-replay ({args.engine}): {len(reasons)} orders, {acc} accepted, "
          f"{len(reasons) - acc} rejected -> {args.verdicts_out}")
    return 0
