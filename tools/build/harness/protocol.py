"""Binary files between Python and the native harness (all little-endian).

beats  "TWB1", then records until tag 0 or EOF:
         tag 1  u32 n, n x u64 xgmii_d, n x u8 xgmii_c    (n beats, one per cycle)
         tag 2  u32 n, u64 d, u8 c                        (the same beat n times: idle runs)
script "TWS1", u32 n_before, u32 n_timed, u32 n_after, then the three lists of
         records (i64 cycle, u32 op 0=read 1=write, u32 addr, u32 data); `cycle` only
         matters for the timed list (relative to cycle 0), which is sorted by it.
out/   s<i>.bin   per output stream, records (i64 cycle, payload in 4*ceil(w/32) bytes)
       reads.bin  completed bus transactions (i64 cycle, u32 addr, u32 value, u32 op)
       stats.txt  "key value" lines: cycle0, cycles, beats, seconds, timeout
Cycles in out/ are the harness's own count after reset; cycle0 (the cycle of the
first beat) is subtracted on the Python side, so the bus phase before it is negative.
"""
import struct
from array import array
from dataclasses import dataclass

IDLE_D = 0x0707070707070707
IDLE_C = 0xFF
BLOCK_MAX = 1 << 16
RUN_MIN = 8                 # shorter runs of one beat stay inside a block
REPEAT_MAX = (1 << 32) - 1


@dataclass(frozen=True)
class Repeat:
    """`n` cycles of the same beat (run-length form)."""
    n: int
    d: int = IDLE_D
    c: int = IDLE_C


def Idle(n):
    """`n` idle cycles (XGMII /I/ on all lanes)."""
    return Repeat(n)


class BeatWriter:
    """Streams beats into the TWB1 form, folding runs of one beat into repeat records."""

    def __init__(self, fp):
        self.fp = fp
        self.fp.write(b"TWB1")
        self.d, self.c = array("Q"), bytearray()
        self.run = None             # (d, c) of the current run, and its length
        self.run_n = 0
        self.count = 0

    def beat(self, d, c):
        if self.run_n and self.run == (d, c):
            self.run_n += 1
            return
        self._end_run()
        self.run, self.run_n = (d, c), 1

    def repeat(self, n, d=IDLE_D, c=IDLE_C):
        if self.run_n and self.run == (d, c):
            self.run_n += n
            return
        self._end_run()
        self.run, self.run_n = (d, c), n

    def add(self, beats):
        """Beats from (d, c) pairs and Repeat items."""
        for b in beats:
            if isinstance(b, Repeat):
                self.repeat(b.n, b.d, b.c)
            else:
                self.beat(b[0], b[1])

    def _end_run(self):
        n = self.run_n
        if not n:
            return
        d, c = self.run
        self.run_n = 0
        if n >= RUN_MIN:
            self._flush_block()
            while n:
                k = min(n, REPEAT_MAX)
                self.fp.write(struct.pack("<BIQB", 2, k, d, c))
                self.count += k
                n -= k
        else:
            for _ in range(n):
                self.d.append(d)
                self.c.append(c)
            if len(self.c) >= BLOCK_MAX:
                self._flush_block()

    def _flush_block(self):
        if self.c:
            self.fp.write(struct.pack("<BI", 1, len(self.c)))
            self.fp.write(self.d.tobytes())
            self.fp.write(bytes(self.c))
            self.count += len(self.c)
            self.d, self.c = array("Q"), bytearray()

    def close(self):
        self._end_run()
        self._flush_block()
        self.fp.write(b"\0")


def encode_beats(beats):
    """bytes in the TWB1 form, for `NativeSim.run(beats=...)` or a file."""
    import io
    buf = io.BytesIO()
    w = BeatWriter(buf)
    w.add(beats)
    w.close()
    return buf.getvalue()


def encode_script(before=(), timed=(), after=()):
    """before/after: (op, addr, data); timed: (cycle, op, addr, data); op 'r' or 'w'."""
    ops = {"r": 0, "w": 1}
    out = [b"TWS1", struct.pack("<III", len(before), len(timed), len(after))]
    out += [struct.pack("<qIII", 0, ops[op], addr, data) for op, addr, data in before]
    out += [struct.pack("<qIII", cyc, ops[op], addr, data)
            for cyc, op, addr, data in sorted(timed, key=lambda t: t[0])]
    out += [struct.pack("<qIII", 0, ops[op], addr, data) for op, addr, data in after]
    return b"".join(out)


def decode_records(raw, nbytes, width, cycle0=0):
    """[(cycle, payload int)] from one stream's records."""
    rec, mask = 8 + nbytes, (1 << width) - 1
    frm = int.from_bytes
    return [(frm(raw[o:o + 8], "little", signed=True) - cycle0,
             frm(raw[o + 8:o + rec], "little") & mask) for o in range(0, len(raw), rec)]


def decode_bus(raw, cycle0=0):
    """[(cycle, addr, value, op)] from reads.bin (op 0 read, 1 write)."""
    return [(c - cycle0, a, v, op) for c, a, v, op in struct.iter_unpack("<qIII", raw)]


def parse_stats(text):
    out = {}
    for line in text.split("\n"):
        if line.strip():
            k, v = line.split()
            out[k] = float(v) if "." in v else int(v)
    return out
