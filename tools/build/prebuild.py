"""Build designs ahead of use in a background process (`python -m
tickwire.tools.build.prebuild risk_gate`), so a first run compiles on a second core
while the first one elaborates the full core.

Why: a fresh `make demo` needs two Verilator builds (the core in the native harness,
the risk gate under cocotb); one after the other they leave a core idle for minutes.
The build directories are locked (simrun._Lock), so a foreground build of the same
design waits for this one and then reuses it.
"""
import subprocess
import sys
from pathlib import Path

from . import steps

#: name -> function building it (imports deferred: each is a heavy Amaranth design).
DESIGNS = {
    "risk_gate": lambda: _build_cocotb("risk_gate"),
}


def _build_cocotb(name):
    from tickwire.rtl.risk import RiskGate
    from .simrun import build
    build(RiskGate(), name)


def start(name, log):
    """Start building `name` in a background process writing to `log`; returns the Popen."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    fp = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", __name__, name], stdout=fp,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def main(argv=None):
    names = (argv if argv is not None else sys.argv[1:]) or list(DESIGNS)
    for n in names:
        if n not in DESIGNS:
            raise SystemExit(f"unknown design {n}; known: {', '.join(DESIGNS)}")
        with steps.step(f"background build of {n}"):
            DESIGNS[n]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
