"""Read classic pcap and pcapng, write classic pcap; frames come out without FCS.

Timestamps are integer nanoseconds since the Unix epoch (lossless for both
microsecond and nanosecond captures; pcapng Simple Packet Blocks carry none: None).
Hand-written with struct rather than scapy so a 1e6-frame capture streams in seconds.
Only Ethernet (linktype 1) is accepted: the feed handler sees Ethernet frames.
"""
import gzip
import struct

LINKTYPE_ETHERNET = 1

_MAGIC_US = 0xA1B2C3D4
_MAGIC_NS = 0xA1B23C4D
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_BOM = 0x1A2B3C4D


def _open(path):
    f = open(path, "rb", buffering=1 << 20)
    if f.peek(2)[:2] == b"\x1f\x8b":
        f = gzip.open(f, "rb")
    return f


def read(path, fcs=None):
    """Iterator of (timestamp_ns, frame bytes) from a classic pcap or a pcapng file.

    fcs: None trusts the file (pcap linktype FCS bits, pcapng if_fcslen); an int forces
    that many trailing FCS bytes to be stripped from every frame.
    """
    f = _open(path)
    head = f.read(4)
    if len(head) < 4:
        f.close()
        return iter(())
    if struct.unpack("<I", head)[0] == _PCAPNG_SHB:
        return _read_pcapng(f, head, fcs)
    return _read_pcap(f, head, fcs)


def _read_pcap(f, head, fcs):
    with f:
        for endian in "<>":
            magic = struct.unpack(endian + "I", head)[0]
            if magic in (_MAGIC_US, _MAGIC_NS):
                break
        else:
            raise ValueError(f"not a pcap file (magic {head.hex()})")
        scale = 1 if magic == _MAGIC_NS else 1000
        rest = f.read(20)
        if len(rest) < 20:
            raise ValueError("truncated pcap file header")
        _vmaj, _vmin, _zone, _sig, _snap, link = struct.unpack(endian + "HHiIII", rest)
        if link & 0xFFFF != LINKTYPE_ETHERNET:
            raise ValueError(f"pcap linktype {link & 0xFFFF} is not Ethernet")
        strip = fcs if fcs is not None else (((link >> 29) & 7) * 2 if link & (1 << 28) else 0)
        rec = struct.Struct(endian + "IIII")
        read, unpack = f.read, rec.unpack
        while True:
            h = read(16)
            if len(h) < 16:
                if h:
                    raise ValueError("truncated pcap record header")
                return
            sec, frac, incl, _orig = unpack(h)
            data = read(incl)
            if len(data) < incl:
                raise ValueError("truncated pcap record")
            if strip:
                data = data[:len(data) - strip]
            yield sec * 1_000_000_000 + frac * scale, data


def _ts_ns(t, res):
    base, exp = res
    if base == 10:
        return t * 10 ** (9 - exp) if exp <= 9 else t // 10 ** (exp - 9)
    return (t * 1_000_000_000) >> exp


def _options(body, endian):
    """pcapng options as {code: value bytes} (last wins)."""
    out, pos = {}, 0
    while pos + 4 <= len(body):
        code, ln = struct.unpack_from(endian + "HH", body, pos)
        if code == 0:
            break
        out[code] = body[pos + 4:pos + 4 + ln]
        pos += 4 + ((ln + 3) & ~3)
    return out


def _read_pcapng(f, head, fcs):
    with f:
        endian, ifaces = "<", []
        first = head
        while True:
            h = first if first is not None else f.read(4)
            first = None
            if len(h) < 4:
                return
            if struct.unpack("<I", h)[0] == _PCAPNG_SHB:
                rest = f.read(8)
                bom = rest[4:8]
                endian = "<" if struct.unpack("<I", bom)[0] == _PCAPNG_BOM else ">"
                if struct.unpack(endian + "I", bom)[0] != _PCAPNG_BOM:
                    raise ValueError("bad pcapng byte-order magic")
                blen = struct.unpack(endian + "I", rest[:4])[0]
                f.read(blen - 12)
                ifaces = []
                continue
            btype = struct.unpack(endian + "I", h)[0]
            blen = struct.unpack(endian + "I", f.read(4))[0]
            body = f.read(blen - 12)
            f.read(4)
            if len(body) < blen - 12:
                raise ValueError("truncated pcapng block")
            if btype == 1:  # Interface Description Block
                link, _res, snap = struct.unpack_from(endian + "HHI", body)
                opts = _options(body[8:], endian)
                res = (10, 6)
                if 9 in opts:
                    v = opts[9][0]
                    res = (2, v & 0x7F) if v & 0x80 else (10, v)
                off = struct.unpack(endian + "q", opts[14])[0] * 1_000_000_000 if 14 in opts else 0
                strip = fcs if fcs is not None else (opts[13][0] if 13 in opts else 0)
                ifaces.append((link, snap, res, off, strip))
            elif btype in (6, 2):  # Enhanced / obsolete Packet Block
                if btype == 6:
                    iid, hi, lo, cap, _orig = struct.unpack_from(endian + "IIIII", body)
                else:
                    iid, _drops, hi, lo, cap, _orig = struct.unpack_from(endian + "HHIIII", body)
                link, _snap, res, off, strip = ifaces[iid]
                if link != LINKTYPE_ETHERNET:
                    raise ValueError(f"pcapng linktype {link} is not Ethernet")
                data = body[20:20 + cap]
                yield _ts_ns((hi << 32) | lo, res) + off, data[:len(data) - strip] if strip else data
            elif btype == 3:  # Simple Packet Block: no timestamp, interface 0
                link, snap, _res, _off, strip = ifaces[0]
                if link != LINKTYPE_ETHERNET:
                    raise ValueError(f"pcapng linktype {link} is not Ethernet")
                orig = struct.unpack_from(endian + "I", body)[0]
                cap = min(orig, snap) if snap else orig
                data = body[4:4 + cap]
                yield None, data[:len(data) - strip] if strip else data
            # every other block type (NRB, ISB, DSB, custom) is skipped


def write(path, frames, nanosecond=True, snaplen=65535):
    """Write classic pcap (little-endian, Ethernet). frames: iterable of (ts_ns, bytes).

    A None timestamp is written as 1 us after the previous one.
    """
    magic = _MAGIC_NS if nanosecond else _MAGIC_US
    div = 1 if nanosecond else 1000
    rec = struct.Struct("<IIII").pack
    n, last = 0, 0
    with open(path, "wb", buffering=1 << 20) as f:
        f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
        for ts, data in frames:
            ts = last + 1000 if ts is None else ts
            last = ts
            sec, frac = divmod(ts, 1_000_000_000)
            data = bytes(data)
            cap = data[:snaplen]
            f.write(rec(sec, frac // div, len(cap), len(data)))
            f.write(cap)
            n += 1
    return n
