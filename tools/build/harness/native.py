"""Build a design into a native Verilator executable and run replays through it.

The build lives in build/native/<name>-<hash> (hash of the Verilog, the harness
source, the generated port glue and the flags) under a file lock, so parallel pytest
workers and repeated runs build each design once. Verilator's and the compiler's
output go to build.log there; the C++ compile runs one job per CPU (steps.jobs()).
"""
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import steps
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
# The job count is not part of the build's hash (it changes no output).
MAKE_FLAGS = (f"OPT_FAST=-O3{_popcnt_flag()}", "OPT_SLOW=-O1", "OPT_GLOBAL=-O2",
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

    def __init__(self, exe, ports, traced=False):
        self.exe = Path(exe)
        self.traced = traced
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
            timeout=100000, reads_before=(), writes_after=(), beats_b=None, settle=0,
            progress=None, trace=None, raw=False):
        """Replay `beats` and return a RunResult.

        beats: (d, c) pairs and protocol.Repeat/Idle items, or bytes in the TWB1 form
          (protocol.encode_beats), or a path to a TWB1 file (long replays).
        settle: idle cycles after reset, before writes_before (a reset sweep's length).
        writes_before / reads_before: bus transactions after settle, before cycle 0.
        script: (cycle, 'w'|'r', addr, data) started at the first free bus cycle >= cycle.
        drain: idle cycles after the last beat (and script), then reads_after/writes_after.
        beats_b: the same forms, for port B of a two-port design (xgmii_b_*); both ports
          advance together, a shorter stream idles.
        progress: called with the number of beats clocked so far, a few times a second.
        trace: (path, first cycle, cycles): an FST of that window (cycle 0 = first beat);
          needs a build_native(..., trace=True) simulator.
        raw: streams as the harness's record bytes (tools/engines/columns.py reads them
          as numpy columns) instead of [(cycle, payload int)].
        """
        if trace is not None and not self.traced:
            raise NativeSimError("trace needs a traced build: build_native(..., trace=True)")
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
            if trace is not None:
                tpath, tfrom, tcycles = trace
                if tfrom < 0 or tcycles <= 0:
                    raise NativeSimError("trace window: first cycle >= 0, cycles > 0")
                extra += ["--trace", str(Path(tpath).resolve()), "--trace-from", str(int(tfrom)),
                          "--trace-cycles", str(int(tcycles))]
            if progress is not None:
                extra += ["--progress", "1"]
            cmd = [str(self.exe), "--beats", str(bpath), *extra, "--script", str(spath),
                   "--out", str(out), "--drain", str(int(drain)),
                   "--timeout", str(int(timeout)), "--settle", str(int(settle))]
            code, err = _run_exe(cmd, progress)
            if code != 0:
                raise NativeSimError(f"twsim exited {code}: {err.strip()}")
            stats = protocol.parse_stats((out / "stats.txt").read_text())
            c0 = stats["cycle0"]
            streams = {s.name: (out / f"s{i}.bin").read_bytes() if raw else
                       protocol.decode_records((out / f"s{i}.bin").read_bytes(),
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


def _run_exe(cmd, progress):
    """Run the harness; "progress N" lines on its stderr go to `progress`, the rest is
    returned with the exit code."""
    if progress is None:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        return proc.returncode, proc.stderr
    other = []
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as p:
        for line in p.stderr:
            if line.startswith("progress "):
                progress(int(line.split()[1]))
            else:
                other.append(line)
    return p.returncode, "".join(other)


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


def build_native(component, name, build_root=None, trace=False):
    """Verilog -> Verilator -> native executable for `component` (cached); returns a NativeSim.

    trace: a --trace-fst variant (NativeSim.run(trace=...) writes waveforms); it is
    slower and built only when asked, in its own cache directory (<name>-trace-<hash>)."""
    from . import fst
    ensure_verilator()
    _, vpath = cached_verilog(component, name, subdir="native/v")
    text = vpath.read_text()
    pm = port_map(component, text)
    wrapper = reset_wrapper(text, name, f"{name}_tw")
    header = ports_header(pm, internal_reset=wrapper is not None)
    cpp = HARNESS_CPP.read_text()
    vflags = VERILATOR_FLAGS + (fst.verilator_flags() if trace else ())
    mflags = MAKE_FLAGS + (fst.make_flags() if trace else ())
    key = hashlib.sha256("\0".join([text, cpp, header, wrapper or "", repr(vflags),
                                    repr(mflags)]).encode()).hexdigest()[:12]
    bdir = Path(build_root or BUILD_ROOT / "native") / f"{name}{'-trace' * trace}-{key}"
    bdir.mkdir(parents=True, exist_ok=True)
    exe = bdir / "twsim"
    with _Lock(bdir / ".lock"):
        if exe.exists():
            steps.say(f"  {name}: reusing the native build {steps._rel(bdir)} (built before)")
        else:
            try:
                _compile(bdir, vpath, name, cpp, header, wrapper, vflags, mflags)
            except steps.BuildError as exc:
                raise NativeSimError(str(exc)) from None
    return NativeSim(exe, pm, traced=trace)


def _compile(bdir, vpath, name, cpp, header, wrapper, vflags, mflags):
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
    cmd = ["verilator", *vflags, "--top-module", top, "-Mdir", str(obj),
           "-CFLAGS", f"-I{obj}", *sources, str(bdir / "harness.cpp")]
    log = bdir / "build.log"
    log.write_text("")
    with steps.step(f"Verilate {name}", log):
        steps.run_logged(cmd, log, cwd=bdir)
    n = steps.jobs()
    with steps.step(f"compile {name} (C++, {n} job{'s' * (n > 1)})"):
        steps.run_logged(["make", "-C", str(obj), "-f", "Vtw.mk", f"-j{n}", *mflags], log,
                         cwd=bdir)
    tmp = bdir / f"twsim.tmp{os.getpid()}"
    shutil.copy(obj / "twsim", tmp)
    tmp.replace(bdir / "twsim")
    for junk in [*obj.glob("*.gch"), *obj.glob("*.o"), *obj.glob("*.a")]:
        junk.unlink()           # ~130 MB of precompiled headers and objects per design
