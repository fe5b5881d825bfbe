"""Benchmarks: every number the project claims, measured, next to its goal.

A benchmark is a function `bench_<name>() -> list[Result]` in any module of this
package; `python -m tickwire.tools.build.bench` imports them all, runs each as one report
section and writes bench/report.md and bench/results.json (sorted by section name,
no timestamps, so two runs of the same design diff cleanly).

A benchmark that cannot run (a missing block, a missing input) raises NotRun or
returns `not_run(...)` results: the report says "not run: <reason>", never a made-up
number. Options given on the command line are in `options` (e.g. options.with_synth).
"""
import importlib
import inspect
import json
import pkgutil
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "bench"

options = SimpleNamespace(with_synth=False, jobs=1, skip_firstrun=False)
#: Latency samples measured in this run, {key: {"counts": {cycles: n}, "source": text}};
#: write() saves them beside results.json for the plots (plots.py).
fresh_samples = {}


def record_latency(key, values, source):
    """Keep a latency distribution (cycles) for the plots; `key` is one of plots.LATENCIES."""
    from .plots import LATENCIES, histogram
    if key not in LATENCIES:
        raise KeyError(f"unknown latency set {key}")
    if values:
        fresh_samples[key] = {"counts": histogram(values), "source": source}


class NotRun(Exception):
    """Raised by a benchmark that cannot produce a measurement; the message is the reason."""


@dataclass
class Result:
    name: str
    goal: float | None          # None: reported for information, no pass/fail
    measured: float | None      # None only when status is "not run"
    unit: str
    method: str                 # the command or procedure that produced `measured`
    better: str = "higher"      # "higher" (goal is a minimum) or "lower" (a maximum)
    status: str = "ok"          # "ok" | "not run" | "error"
    reason: str = ""

    def __post_init__(self):
        if self.better not in ("higher", "lower"):
            raise ValueError(f"{self.name}: better must be 'higher' or 'lower'")
        if self.status == "ok" and self.measured is None:
            raise ValueError(f"{self.name}: an ok result needs a measurement")

    @property
    def meets(self):
        if self.status != "ok" or self.goal is None:
            return None
        return self.measured >= self.goal if self.better == "higher" else self.measured <= self.goal

    def how_far(self):
        """Distance from the goal, signed so that positive is on the good side."""
        if self.status != "ok":
            return f"{self.status}: {self.reason}"
        if self.goal is None:
            return "no goal"
        d = self.measured - self.goal if self.better == "higher" else self.goal - self.measured
        pct = f" ({100.0 * d / self.goal:+.1f}%)" if self.goal else ""
        word = "meets" if self.meets else "MISSES"
        return f"{word} by {_num(abs(d))} {self.unit}{pct}".replace("  ", " ")

    def to_dict(self):
        d = asdict(self)
        d["meets"] = self.meets
        d["how_far"] = self.how_far()
        return d


def not_run(name, reason, unit="", goal=None, method="", better="higher"):
    """A result that is listed but was not measured, with the reason."""
    return Result(name, goal, None, unit, method, better=better, status="not run", reason=reason)


@dataclass
class Section:
    name: str
    doc: str
    results: list = field(default_factory=list)


def _num(x):
    if x is None:
        return "-"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:.2f}"
    return f"{int(x)}"


def discover():
    """All bench_* functions of this package's modules, sorted by name."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        for fname, fn in inspect.getmembers(mod, inspect.isfunction):
            if fname.startswith("bench_") and fn.__module__ == mod.__name__:
                name = fname[len("bench_"):]
                if name in found:
                    raise ValueError(f"benchmark {name} defined twice")
                found[name] = fn
    return dict(sorted(found.items()))


def run_section(name, fn):
    doc = (inspect.getdoc(fn) or "").split("\n\n")[0].replace("\n", " ")
    sec = Section(name, doc)
    try:
        results = list(fn())
        for r in results:
            if not isinstance(r, Result):
                raise TypeError(f"bench_{name} returned {type(r).__name__}, not Result")
        sec.results = results
    except NotRun as e:
        sec.results = [not_run(name, str(e))]
    except Exception as e:  # noqa: BLE001  (one broken benchmark must not hide the others)
        last = traceback.extract_tb(e.__traceback__)[-1]
        sec.results = [Result(name, None, None, "", "", status="error",
                              reason=f"{type(e).__name__}: {e} ({Path(last.filename).name}:{last.lineno})")]
    return sec


def run(only=None, benches=None):
    benches = discover() if benches is None else benches
    if only:
        missing = [n for n in only if n not in benches]
        if missing:
            raise KeyError(f"unknown benchmark(s) {missing}; known: {', '.join(benches)}")
        benches = {n: benches[n] for n in sorted(only)}
    return [run_section(name, fn) for name, fn in benches.items()]


def to_json(sections):
    return {"sections": [{"name": s.name, "doc": s.doc,
                          "results": [r.to_dict() for r in s.results]} for s in sections]}


def from_json(data):
    """Sections back from a results.json (the plots are redrawn without rerunning)."""
    keep = [f for f in Result.__dataclass_fields__]
    return [Section(s["name"], s["doc"], [Result(**{k: r[k] for k in keep}) for r in s["results"]])
            for s in data["sections"]]


def to_markdown(sections, extra=""):
    out = ["# tickwire benchmarks", "",
           "Generated by `python -m tickwire.tools.build.bench` (`make bench`). "
           "\"how far\" is signed toward the good side of the goal; "
           "\"not run\" rows were not measured and carry no number.", ""]
    for s in sections:
        out += [f"## {s.name}", ""]
        if s.doc:
            out += [s.doc, ""]
        out += ["| result | goal | measured | unit | how far | method |",
                "|---|---:|---:|---|---|---|"]
        for r in s.results:
            goal = "-" if r.goal is None else ("≥ " if r.better == "higher" else "≤ ") + _num(r.goal)
            out.append(f"| {r.name} | {goal} | {_num(r.measured)} | {r.unit} | {r.how_far()} | "
                       f"{r.method.replace('|', '/')} |")
        out.append("")
    if extra:
        out.append(extra)
    return "\n".join(out)


def write(sections, out=OUT, samples=None):
    """results.json, latency samples (merged with the saved ones), plots, report.md."""
    from . import plots
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(to_json(sections), indent=2) + "\n")
    plots.merge_samples(out, fresh_samples if samples is None else samples)
    drawn = plots.render(out)
    (out / "report.md").write_text(to_markdown(sections, plots.markdown(drawn)))
    return out / "report.md", out / "results.json"


def merged(sections, out=OUT):
    """`sections` over the ones saved in out/results.json (a --only run keeps the rest)."""
    path = Path(out) / "results.json"
    if not path.exists():
        return sections
    fresh = {s.name: s for s in sections}
    saved = {s.name: s for s in from_json(json.loads(path.read_text()))}
    saved.update(fresh)
    return [saved[n] for n in sorted(saved)]


def redraw(out=OUT):
    """Plots and report.md again from the saved results.json and samples (no bench run)."""
    out = Path(out)
    sections = from_json(json.loads((out / "results.json").read_text()))
    return write(sections, out, samples={})
