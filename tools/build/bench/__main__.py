"""`python -m tickwire.tools.build.bench`: run every benchmark, write bench/report.md and results.json."""
import argparse
import sys
from pathlib import Path

from . import OUT, merged, options, redraw, run, write


def main(argv=None):
    ap = argparse.ArgumentParser(description="tickwire benchmarks -> bench/report.md, bench/results.json")
    ap.add_argument("--only", help="comma-separated benchmark names (default: all); the "
                    "other sections keep their saved results")
    ap.add_argument("--with-synth", action="store_true",
                    help="run `make synth` first instead of reading build/synth/results.json")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="parallel jobs for benchmarks that use them")
    ap.add_argument("--out", type=Path, default=OUT, help="output directory (default bench/)")
    ap.add_argument("--skip-firstrun", action="store_true",
                    help="skip the fresh-clone `make demo` timing (minutes)")
    ap.add_argument("--plots-only", action="store_true",
                    help="redraw the plots and report.md from the saved results.json and "
                         "latency_samples.json (no benchmark runs)")
    args = ap.parse_args(argv)
    if args.plots_only:
        md, _ = redraw(args.out)
        print(f"redrew the plots and {md}")
        return 0
    options.with_synth, options.jobs = args.with_synth, args.jobs
    options.skip_firstrun = args.skip_firstrun
    only = [n.strip() for n in args.only.split(",")] if args.only else None
    try:
        sections = run(only)
    except KeyError as e:
        ap.error(str(e.args[0]))
    if only:                    # the sections not run keep their saved results
        sections = merged(sections, args.out)
    md, js = write(sections, args.out)
    sys.stdout.write(md.read_text())
    print(f"wrote {md} and {js}")
    return 1 if any(r.status == "error" for s in sections for r in s.results) else 0


if __name__ == "__main__":
    sys.exit(main())
