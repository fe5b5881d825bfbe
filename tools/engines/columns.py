"""Long replays without per-message Python: XGMII beats packed and harness output
records read as numpy columns.

Why: a 1 M-message replay clocks the harness for ~20 s, but building 4 M beat tuples,
writing them one by one and unpacking 1 M decoded messages into dicts took ~50 s more.
Here the beats go from xgmii.encode_chars' character strings straight into the TWB1
file (runs of one beat found with numpy), and output fields are sliced out of the raw
records by their layout offsets; only the rows a caller keeps become Python objects.
"""
import numpy as np
from amaranth.lib import data

from tickwire.model import xgmii
from ..build.harness import protocol


class Port:
    """One port's beats as arrays, plus where every frame's bytes landed."""

    def __init__(self, frames):
        faults = {i: getattr(f, "wire", None) or "fcs" for i, f in enumerate(frames)
                  if not f.fcs_ok or getattr(f, "wire", None)}
        gaps = [getattr(f, "idle", 0) for f in frames]
        chars, flags, self.starts, _sent = xgmii.encode_chars(
            [f.data for f in frames], start_lane="any", faults=faults,
            gaps=gaps if any(gaps) else None)
        self.d = np.frombuffer(bytes(chars), dtype="<u8")
        bits = np.frombuffer(bytes(flags), dtype=np.uint8).reshape(-1, 8)
        self.c = np.packbits(bits, axis=1, bitorder="little").ravel()

    def __len__(self):
        return len(self.d)

    def beat_of(self, frame, offset):
        return (self.starts[frame] + offset) >> 3


def write_twb1(path, d, c):
    """The TWB1 file for beats (d, c): runs of >= protocol.RUN_MIN equal beats become
    repeat records, everything else blocks (the same beats BeatWriter would send)."""
    n = len(d)
    with open(path, "wb") as fp:
        fp.write(b"TWB1")
        if n:
            change = np.empty(n, dtype=bool)
            change[0] = True
            np.not_equal(d[1:], d[:-1], out=change[1:])
            change[1:] |= c[1:] != c[:-1]
            starts = np.flatnonzero(change)
            lengths = np.diff(np.append(starts, n))
            pos = 0
            long = lengths >= protocol.RUN_MIN
            for s, k in zip(starts[long].tolist(), lengths[long].tolist()):
                _block(fp, d, c, pos, s)
                pos = s + k
                while k:
                    m = min(k, protocol.REPEAT_MAX)
                    fp.write(b"\x02" + np.array([m], "<u4").tobytes() +
                             np.array([d[s]], "<u8").tobytes() + bytes([int(c[s])]))
                    k -= m
            _block(fp, d, c, pos, n)
        fp.write(b"\0")
    return path


def _block(fp, d, c, lo, hi):
    while lo < hi:
        k = min(hi - lo, protocol.BLOCK_MAX)
        fp.write(b"\x01" + np.array([k], "<u4").tobytes())
        fp.write(d[lo:lo + k].astype("<u8").tobytes())
        fp.write(c[lo:lo + k].astype(np.uint8).tobytes())
        lo += k


class Records:
    """One output stream's records (i64 cycle, payload bytes) as columns; iterating
    yields (cycle, payload int) like protocol.decode_records, on demand."""

    def __init__(self, raw, nbytes, width, cycle0):
        self.nbytes, self.width, self.cycle0 = nbytes, width, cycle0
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 8 + nbytes)
        self.cycles = rows[:, :8].copy().view("<i8").ravel() - cycle0
        self.payload = rows[:, 8:]

    def __len__(self):
        return len(self.cycles)

    def value(self, i):
        return int.from_bytes(self.payload[i].tobytes(), "little") & ((1 << self.width) - 1)

    def __getitem__(self, i):
        return int(self.cycles[i]), self.value(i)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def field(self, layout, *path):
        """uint64 column of field `path` (e.g. "rx_ts", "sec") of a struct layout."""
        offset, shape = 0, data.Layout.cast(layout)
        for name in path:
            f = shape[name]
            offset += f.offset
            shape = f.shape
        width = data.Layout.cast(shape).size if isinstance(shape, data.Layout) else f.width
        if width > 64:
            raise ValueError(f"field {'.'.join(path)} is wider than 64 bits")
        lo, hi, sh = offset // 8, (offset + width - 1) // 8, offset % 8
        acc = np.zeros(len(self), dtype=np.uint64)
        for k in range(lo, min(hi, lo + 7) + 1):
            acc |= self.payload[:, k].astype(np.uint64) << np.uint64(8 * (k - lo))
        if sh:
            acc >>= np.uint64(sh)
            if hi - lo == 8:            # a 64-bit field over nine bytes
                acc |= self.payload[:, hi].astype(np.uint64) << np.uint64(64 - sh)
        if width < 64:
            acc &= np.uint64((1 << width) - 1)
        return acc


def records(result, sim):
    """{stream name: Records} of a NativeSim.run(..., raw=True) result."""
    return {s.name: Records(result.streams[s.name], s.nbytes, s.width, result.stats["cycle0"])
            for s in sim.ports.streams}


def first_keys(keys, values):
    """(sorted unique keys, value of each key's first occurrence): dict.setdefault order."""
    uniq, idx = np.unique(keys, return_index=True)
    return uniq, values[idx]


def last_keys(keys, values):
    """(sorted unique keys, value of each key's last occurrence): dict assignment order."""
    rev = keys[::-1]
    uniq, idx = np.unique(rev, return_index=True)
    return uniq, values[::-1][idx]


def lookup(uniq, vals, keys):
    """(found mask, value) of each key in the sorted table (uniq, vals)."""
    if len(uniq) == 0:
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=vals.dtype)
    i = np.minimum(np.searchsorted(uniq, keys), len(uniq) - 1)
    return uniq[i] == keys, vals[i]
