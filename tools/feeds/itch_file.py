"""Nasdaq ITCH 5.0 "BinaryFILE": each message preceded by a 2-byte big-endian length.

This is how Nasdaq publishes its sample sessions; `.gz` files (by magic bytes, not by
name) are decompressed transparently, and `.gz` names are compressed on write.
"""
import gzip
import struct
from pathlib import Path

_GZ_MAGIC = b"\x1f\x8b"


def read_bytes(path):
    """Whole file content, gunzipped if it is gzip."""
    data = Path(path).read_bytes()
    return gzip.decompress(data) if data[:2] == _GZ_MAGIC else data


def iter_messages(data):
    """Iterate message bytes in BinaryFILE content; a truncated tail raises ValueError."""
    mv = memoryview(data)
    n, pos = len(data), 0
    while pos < n:
        if pos + 2 > n:
            raise ValueError(f"truncated length prefix at byte {pos}")
        ln = (data[pos] << 8) | data[pos + 1]
        end = pos + 2 + ln
        if end > n:
            raise ValueError(f"message at byte {pos} needs {ln} bytes, file ends at {n}")
        yield bytes(mv[pos + 2:end])
        pos = end


def read(path):
    """Iterator of message bytes from a BinaryFILE (plain or gzip)."""
    return iter_messages(read_bytes(path))


def encode(messages):
    """BinaryFILE content for an iterable of message bytes."""
    out = []
    for m in messages:
        if len(m) > 0xFFFF:
            raise ValueError("ITCH message longer than 65535 bytes")
        out.append(struct.pack(">H", len(m)))
        out.append(bytes(m))
    return b"".join(out)


def write(path, messages):
    """Write messages as a BinaryFILE; gzip-compressed when the name ends in .gz."""
    data = encode(messages)
    path = Path(path)
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    path.write_bytes(data)
    return path
