"""Build a design into a native Verilator executable and run replays through it.

The build lives in build/native/<name>-<hash> (hash of the Verilog, the harness
source, the generated port glue and the flags) under a file lock, so parallel pytest
workers and repeated runs build each design once.
"""
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..simrun import BUILD_ROOT, VERILATOR_ARGS, _Lock, cached_verilog, ensure_verilator
from . import protocol
from .decode import decoder
from .ports import port_map, ports_header, reset_wrapper, unpack_shape

HERE = Path(__file__).resolve().parent
HARNESS_CPP = HERE / "harness.cpp"
VERILATOR_FLAGS = ("--cc", "--exe", *VERILATOR_ARGS, "--prefix", "Vtw", "-o", "twsim")


def _popcnt_flag():
    """-mpopcnt when this CPU has POPCNT. Why: the MACs' CRC networks (and the book's
    hashes) are thousands of XOR reductions per cycle (VL_REDXOR -> __builtin_parity),
    which gcc otherwise expands to shift/xor chains: ~20% of the full core's
    instructions; with POPCNT 8% fewer instructions per cycle (callgrind)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return ""
    try:
        with open("/proc/cpuinfo") as fp:
            return " -mpopcnt" if " popcnt" in fp.read() else ""
    except OSError:
        return ""


# The PyPI wheel's verilated.mk leaves the PCH include flag empty: give it gcc's.
# OPT_FAST -O3: ~3% fewer instructions per cycle than -O2 on the full core, and faster
# back to back (tools/build/bench/harness.py); the build takes about as long.
MAKE_FLAGS = ("-j2", f"OPT_FAST=-O3{_popcnt_flag()}", "OPT_SLOW=-O1", "OPT_GLOBAL=-O2",
              "CFG_CXXFLAGS_PCH_I=-include")


class NativeSimError(RuntimeError):
    pass


@dataclass
class RunResult:
    """Output of one replay. Cycle 0 is the first input beat; the bus phase before it is negative."""
    streams: dict                       # name -> [(cycle, payload int)]
    reads: list                         # [(cycle, addr, value)], cycle = read data accepted
    writes: list                        # [(cycle, addr, data)], cycle = write response accepted
    stats: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.streams[name]

    @property
    def cycles(self):
        """Cycles clocked after reset (bus phases and drain included)."""
        return self.stats["cycles"]

    @property
    def cycles_per_s(self):
        return self.stats["cycles"] / max(self.stats["seconds"], 1e-9)


class NativeSim:
    """A built harness executable plus what it knows about the design's ports."""

    def __init__(self, exe, ports):
        self.exe = Path(exe)
        self.ports = ports
        self.streams = {s.name: s for s in ports.streams}

    def layout(self, name):
        """The payload layout of output stream `name` (None for plain-integer payloads)."""
        return unpack_shape(self.streams[name].shape)

    def unpack(self, name, value):
        """One payload int of stream `name` -> nested dict (harness/decode.py)."""
        layout = self.layout(name)
        return value if layout is None else decoder(layout)(value)

    def unpack_all(self, result, name):
        layout = self.layout(name)
        if layout is None:
            return list(result.streams[name])
        dec = decoder(layout)
        return [(cyc, dec(v)) for cyc, v in result.streams[name]]

    def run(self, beats=(), writes_before=(), reads_after=(), script=(), *, drain=64,
            timeout=100000, reads_before=(), writes_after=(), beats_b=None, settle=0):
        """Replay `beats` and return a RunResult.

        beats: (d, c) pairs and protocol.Repeat/Idle items, or bytes in the TWB1 form
          (protocol.encode_beats), or a path to a TWB1 file (long replays).
        settle: idle cycles after reset, before writes_before (a reset sweep's length).
        writes_before / reads_before: bus transactions after settle, before cycle 0.
        script: (cycle, 'w'|'r', addr, data) started at the first free bus cycle >= cycle.
        drain: idle cycles after the last beat (and script), then reads_after/writes_after.
        beats_b: the same forms, for port B of a two-port design (xgmii_b_*); both ports
          advance together, a shorter stream idles.
        """
        if (writes_before or reads_before or reads_after or writes_after or script) \
                and not self.ports.has_axil:
            raise NativeSimError("design has no s_axil port for register access")
        with tempfile.TemporaryDirectory(prefix="twsim-") as tmp:
            tmp = Path(tmp)
            bpath = _beats_file(beats, tmp / "beats.bin")
            extra = [] if beats_b is None else ["--beats-b", str(_beats_file(beats_b, tmp / "beats_b.bin"))]
            spath = tmp / "script.bin"
            spath.write_bytes(protocol.encode_script(
                before=[("w", a, d) for a, d in writes_before] + [("r", a, 0) for a in reads_before],
                timed=[(c, op, a, d) for c, op, a, d in script],
                after=[("w", a, d) for a, d in writes_after] + [("r", a, 0) for a in reads_after]))
            out = tmp / "out"
            out.mkdir()
            proc = subprocess.run([str(self.exe), "--beats", str(bpath), *extra, "--script", str(spath),
                                   "--out", str(out), "--drain", str(int(drain)),
                                   "--timeout", str(int(timeout)), "--settle", str(int(settle))],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise NativeSimError(f"twsim exited {proc.returncode}: {proc.stderr.strip()}")
            stats = protocol.parse_stats((out / "stats.txt").read_text())
            c0 = stats["cycle0"]
            streams = {s.name: protocol.decode_records((out / f"s{i}.bin").read_bytes(),
                                                       s.nbytes, s.width, c0)
                       for i, s in enumerate(self.ports.streams)}
            bus = protocol.decode_bus((out / "reads.bin").read_bytes(), c0)
        return RunResult(streams,
                         reads=[(c, a, v) for c, a, v, op in bus if op == 0],
                         writes=[(c, a, v) for c, a, v, op in bus if op == 1],
                         stats=stats)

    def serve(self):
        """Start the executable in server mode on a socketpair; returns a SimClient."""
        from .client import SimClient
        return SimClient.spawn(self)


def _beats_file(beats, path):
    """A TWB1 file for `beats` (path, bytes or beat items), written to `path` if needed."""
    if isinstance(beats, (str, os.PathLike)):
        return Path(beats)
    if isinstance(beats, (bytes, bytearray, memoryview)):
        path.write_bytes(beats)
        return path
    with open(path, "wb") as fp:
        w = protocol.BeatWriter(fp)
        w.add(beats)
        w.close()
    return path


def build_native(component, name, build_root=None):
    """Verilog -> Verilator -> native executable for `component` (cached); returns a NativeSim."""
    ensure_verilator()
    _, vpath = cached_verilog(component, name, subdir="native/v")
    text = vpath.read_text()
    pm = port_map(component, text)
    wrapper = reset_wrapper(text, name, f"{name}_tw")
    header = ports_header(pm, internal_reset=wrapper is not None)
    cpp = HARNESS_CPP.read_text()
    key = hashlib.sha256("\0".join([text, cpp, header, wrapper or "", repr(VERILATOR_FLAGS),
                                    repr(MAKE_FLAGS)]).encode()).hexdigest()[:12]
    bdir = Path(build_root or BUILD_ROOT / "native") / f"{name}-{key}"
    bdir.mkdir(parents=True, exist_ok=True)
    exe = bdir / "twsim"
    with _Lock(bdir / ".lock"):
        if not exe.exists():
            _compile(bdir, vpath, name, cpp, header, wrapper)
    return NativeSim(exe, pm)


def _compile(bdir, vpath, name, cpp, header, wrapper=None):
    obj = bdir / "obj"
    shutil.rmtree(obj, ignore_errors=True)
    obj.mkdir()
    (obj / "tw_ports.h").write_text(header)
    (bdir / "harness.cpp").write_text(cpp)
    shutil.copy(vpath, bdir / f"{name}.v")
    sources = [str(bdir / f"{name}.v")]
    top = name
    if wrapper:
        top = f"{name}_tw"
        (bdir / f"{top}.v").write_text(wrapper)
        sources.append(str(bdir / f"{top}.v"))
    cmd = ["verilator", *VERILATOR_FLAGS, "--top-module", top, "-Mdir", str(obj),
           "-CFLAGS", f"-I{obj}", *sources, str(bdir / "harness.cpp")]
    _check(cmd, bdir)
    _check(["make", "-C", str(obj), "-f", "Vtw.mk", *MAKE_FLAGS], bdir)
    tmp = bdir / f"twsim.tmp{os.getpid()}"
    shutil.copy(obj / "twsim", tmp)
    tmp.replace(bdir / "twsim")
    for junk in [*obj.glob("*.gch"), *obj.glob("*.o"), *obj.glob("*.a")]:
        junk.unlink()           # ~130 MB of precompiled headers and objects per design


def _check(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise NativeSimError(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
