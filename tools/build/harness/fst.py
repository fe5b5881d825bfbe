"""Flags for a --trace-fst build of the harness: Verilator's FST writer needs zlib
and LZ4. Why a shim: many machines have the LZ4 runtime library (liblz4.so.1) but
not its development package (lz4.h, liblz4.so); then the two LZ4 prototypes come
from lz4shim/lz4.h and the runtime library is linked by its file name.
"""
import glob
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
            "/usr/local/lib", "/lib/x86_64-linux-gnu")


class NoLz4(RuntimeError):
    pass


def _find(pattern):
    for d in LIB_DIRS:
        hits = sorted(glob.glob(os.path.join(d, pattern)))
        if hits:
            return hits[0]
    return None


def verilator_flags():
    """Extra Verilator arguments (include path) for the FST writer's headers."""
    if Path("/usr/include/lz4.h").exists() or Path("/usr/local/include/lz4.h").exists():
        return ("--trace-fst",)
    return ("--trace-fst", "-CFLAGS", f"-I{HERE / 'lz4shim'}")


def make_flags():
    """make variables that link zlib and LZ4 (runtime library when no liblz4.so)."""
    if _find("liblz4.so"):
        return ()
    lib = _find("liblz4.so.*")
    if lib is None:
        raise NoLz4("--trace needs the LZ4 library (Debian/Ubuntu: apt install liblz4-1)")
    return (f"LDLIBS=-l:{Path(lib).name} -lz -lpthread",)
