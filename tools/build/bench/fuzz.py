"""Fuzz section (issue 15): a longer `tickwire fuzz` campaign than `make test` runs.

Every corruption kind, seeds 1..SEEDS, with feed A, feed B and both corrupted, on the
board build (native harness) against the model. One row per kind: the cases that
pass (no hang, RTL = model on BBO rows and counters, and with one feed corrupted the
clean stream's book); then the coverage of every drop/error counter of the packet
path (summed over all cases), so a counter no case reaches shows as 0.
"""
from collections import Counter

from . import Result
from .packet import drop_counter_names

SEEDS = 20
FEEDS = ("a", "b", "both")


def bench_fuzz():
    """Fuzz campaign: every corruption kind x feeds A, B, both x 20 seeds, RTL (board
    build) against the model and the clean book; drop-counter coverage."""
    from tickwire.tools import fuzz
    from tickwire.tools.feeds.corrupt import KINDS
    from tickwire.tools.fuzzcase import run_case
    outcomes = [run_case(c, "board") for c in fuzz.cases(list(KINDS), SEEDS, 1, FEEDS, 0.05, 2400)]
    out = []
    by_kind = {}
    for o in outcomes:
        by_kind.setdefault(o.case.kind, []).append(o)
    for kind, os_ in by_kind.items():
        verdicts = Counter(o.verdict for o in os_)
        failing = [f"{o.case.feeds}:{o.case.seed}" for o in os_ if not o.ok()]
        dec = {e: sum(o.decoded.get(e, 0) for o in os_) for e in ("rtl", "model")}
        method = (f"tickwire fuzz --kinds {kind} --seeds {SEEDS} --feeds {','.join(FEEDS)}; "
                  f"verdicts {dict(verdicts)}; decoded rtl {dec['rtl']} / model {dec['model']} "
                  f"/ sent {sum(o.case.messages for o in os_)}; failing feeds:seed "
                  f"{' '.join(failing[:12])}{' ...' if len(failing) > 12 else ''}")
        # a `flagged` case passes: the book differs but both engines flagged it
        out.append(Result(f"{kind}: cases passing", len(os_), sum(o.ok() for o in os_),
                          "cases", method))
    cover = fuzz.coverage(outcomes)
    for name in drop_counter_names():
        out.append(Result(f"coverage {name}", None, cover.get(name, 0), "events",
                          "summed over every fuzz case (model counters; the RTL's where only "
                          "it has the counter)"))
    return out
