"""`tickwire fuzz`: corrupt two-feed captures from seeds, replay them through the RTL
(native harness) and the model, and report per corruption kind.

Each case is (kind, seed, corrupted feeds) on a small synthetic A/B capture
(tools/fuzzcase.py). A case passes when neither engine hangs, the RTL equals the
model on BBO rows and every comparable counter, and, when one feed only is
corrupted, the book equals the clean stream's. The contract is docs/bad-input.md.

    tickwire fuzz --seeds 5                          # every kind, feeds a and both
    tickwire fuzz --kinds seq_jump,truncate --seeds 20 --feeds a
    tickwire fuzz --save-failures tests/fixtures/fuzz # one JSON per failing case
    tickwire fuzz --replay tests/fixtures/fuzz/seq_jump-a-3.json
"""
import json
import sys
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from tickwire.rtl.config import BUILDS

VERDICTS = ("pass", "flagged", "rtl!=model", "book!=clean", "hang")


def add_arguments(p):
    from tickwire.tools.feeds.corrupt import KINDS
    p.add_argument("--kinds", default="all",
                   help=f"comma-separated kinds (default all): {', '.join(KINDS)}")
    p.add_argument("--seeds", type=int, default=3, help="seeds per kind and feed choice")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--feeds", default="a,both",
                   help="corrupted port(s) per case, comma-separated: a, b, both")
    p.add_argument("--rate", type=float, default=0.05, help="share of a port's frames damaged")
    p.add_argument("--messages", type=int, default=2400, help="capture size (>= 2113)")
    p.add_argument("--engines", default="rtl,model")
    p.add_argument("--build", choices=tuple(BUILDS), default="board",
                   help="core build configuration (rtl/config.py; default board: the sim "
                        "build's book takes 25 min to elaborate)")
    p.add_argument("--save-failures", metavar="DIR", help="write each failing case as JSON")
    p.add_argument("--json", metavar="OUT.json", help="every outcome and the per-kind table")
    p.add_argument("--replay", metavar="CASE.json", help="run one saved case and print it")
    p.add_argument("--quiet", action="store_true")


def cases(kinds, seeds, first_seed, feeds, rate, messages):
    from tickwire.tools.fuzzcase import Case
    return [Case(k, s, f, rate, messages) for k in kinds for f in feeds
            for s in range(first_seed, first_seed + seeds)]


def table(outcomes):
    """Per (kind, feeds): cases, verdict counts, decoded messages per engine (sum)."""
    rows = defaultdict(lambda: {"cases": 0, **dict.fromkeys(VERDICTS, 0),
                                "decoded_rtl": 0, "decoded_model": 0, "expected": 0,
                                "failing_seeds": []})
    for o in outcomes:
        r = rows[(o.case.kind, o.case.feeds)]
        r["cases"] += 1
        r[o.verdict] += 1
        r["decoded_rtl"] += o.decoded.get("rtl", 0)
        r["decoded_model"] += o.decoded.get("model", 0)
        r["expected"] += o.case.messages
        if not o.ok():
            r["failing_seeds"].append(o.case.seed)
    return dict(rows)


def format_table(rows):
    head = ("kind", "feeds", "cases", *VERDICTS, "decoded rtl/model/sent", "failing seeds")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for (kind, feeds), r in rows.items():
        seeds = ",".join(map(str, r["failing_seeds"][:8])) + (
            "..." if len(r["failing_seeds"]) > 8 else "")
        lines.append(" | ".join(map(str, (
            kind, feeds, r["cases"], *(r[v] for v in VERDICTS),
            f"{r['decoded_rtl']}/{r['decoded_model']}/{r['expected']}", seeds or "-"))))
    return "\n".join(f"| {ln} |" for ln in lines)


def coverage(outcomes):
    """Drop/error counter -> total over all cases (model counters; RTL where only it has
    the counter), so a campaign shows which drop paths it reached."""
    from tickwire.tools.replay import stats_json
    tot = defaultdict(int)
    for o in outcomes:
        both = dict(o.rtl_counters)
        both.update(o.counters)
        for k, v in stats_json(both, {})["drops"].items():
            tot[k] += v
    return dict(sorted(tot.items()))


def save_case(outcome, folder):
    """A failing case as a small regression fixture: its arguments, what was seen, and
    an `xfail` reason (tests/test_fuzz.py expects it to fail, strictly, until the fix:
    then the test fails and the owner deletes the `xfail` line)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{outcome.case.name()}.json"
    top = sorted(((k, v) for k, v in outcome.counter_diff.items()
                  if not k.startswith(("itch.", "book."))),
                 key=lambda kv: -abs(kv[1][0] - kv[1][1]))[:3]
    why = (f"found by tickwire fuzz: {outcome.verdict}, decoded "
           + ", ".join(f"{e} {n}" for e, n in outcome.decoded.items())
           + (f"; rtl/model {', '.join(f'{k} {a}/{b}' for k, (a, b) in top)}" if top else ""))
    path.write_text(json.dumps({"case": asdict(outcome.case), "verdict": outcome.verdict,
                                "xfail": why,
                                "decoded": outcome.decoded,
                                "counter_diff": {k: list(v) for k, v in
                                                 outcome.counter_diff.items()
                                                 if not k.startswith(("itch.", "book."))}},
                               sort_keys=True) + "\n")
    return path


def load_case(path):
    from tickwire.tools.fuzzcase import Case
    return Case(**json.loads(Path(path).read_text())["case"])


def run(args):
    from tickwire.tools.build import steps
    from tickwire.tools.feeds.corrupt import KINDS
    from tickwire.tools.fuzzcase import run_case
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    steps.quiet(args.quiet)
    engines = tuple(e for e in args.engines.split(",") if e)
    if args.replay:
        o = run_case(load_case(args.replay), args.build, engines)
        print(json.dumps(o.summary(), indent=1, default=str))
        return 0 if o.ok() else 1
    kinds = list(KINDS) if args.kinds == "all" else [k for k in args.kinds.split(",") if k]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown kind(s): {', '.join(bad)}")
    feeds = [f for f in args.feeds.split(",") if f]
    if any(f not in ("a", "b", "both") for f in feeds):
        raise ValueError("--feeds takes a, b, both")
    outcomes = []
    todo = cases(kinds, args.seeds, args.first_seed, feeds, args.rate, args.messages)
    for i, c in enumerate(todo):
        o = run_case(c, args.build, engines)
        outcomes.append(o)
        if not o.ok():
            say(f"[{i + 1}/{len(todo)}] {c.name()}: {o.verdict} decoded {o.decoded} "
                f"{o.error}".rstrip())
            if args.save_failures:
                save_case(o, args.save_failures)
    rows = table(outcomes)
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "table": [{"kind": k, "feeds": f, **r} for (k, f), r in rows.items()],
            "coverage": coverage(outcomes),
            "outcomes": [o.summary() for o in outcomes]}, indent=1, default=str) + "\n")
    failed = sum(not o.ok() for o in outcomes)
    say(f"fuzz: {len(outcomes)} cases, {failed} failing")
    return 1 if failed else 0
