"""XGMII (IEEE 802.3 clause 46) reference model: frames <-> 64-bit SDR beats.

Written from the standard, not from the gateware: a beat is (d, c) with lane i in
d[8i+7:8i] and its control flag in c[i]; lane 0 is transmitted first. A frame is
/S/ (lane 0 or 4), six 0x55 and an SFD 0xD5, the frame bytes with the FCS
(CRC-32, zlib.crc32, little-endian), then /T/; the inter-frame gap counts /T/ and
the idles. `encode` keeps the 12-byte average IFG with a deficit idle count (DIC,
46.3.1.4) so back-to-back frames run at line rate.

`decode` applies the receive rules that XgmiiRx counts by (see rtl/rx/mac/xgmii_rx.py's
docstring for the same list): start only at /S/ in lane 0/4 with a valid preamble;
any control character inside a frame ends it (/T/ normally, else a ctrl error);
a frame longer than max_len is cut at max_len bytes (oversize); verdict priority
oversize, ctrl, runt, fcs; at most one event per beat.

Work is done on byte strings (one character per byte plus a parallel flag string),
so encoding a million messages' worth of frames takes seconds.
"""
from dataclasses import dataclass, field
import gc
import struct
import zlib

IDLE, START, TERM, ERROR = 0x07, 0xFB, 0xFD, 0xFE
PREAMBLE = bytes([0x55] * 6 + [0xD5])
MIN_FRAME = 64                   # bytes, FCS included
DEFAULT_MAX_LEN = 1522
_GATHER = 0x0102040810204080     # moves byte-aligned flags (bit 8i) to bit 56+i


def fcs(frame):
    """The 4 FCS bytes as transmitted."""
    return struct.pack("<I", zlib.crc32(frame))


class _CtrlMasks(dict):
    """Eight 0/1 flag bytes (as a little-endian int) -> 8-bit mask; few distinct keys."""
    def __missing__(self, flags):
        mask = self[flags] = ((flags * _GATHER) >> 56) & 0xFF
        return mask


@dataclass
class Encoded:
    """Beats plus where every frame's bytes landed.

    `starts[i]` is the absolute character position (8 per beat) of frame i's byte 0,
    the first byte after its SFD; byte offset o of frame i is in beat
    (starts[i] + o) // 8, lane (starts[i] + o) % 8.
    """
    beats: list
    starts: list
    frames: list                 # frames as sent, FCS included (faults applied)

    def locate(self, frame, offset):
        pos = self.starts[frame] + offset
        return pos >> 3, pos & 7

    def beat_of(self, frame, offset):
        return (self.starts[frame] + offset) >> 3

    def __iter__(self):
        return iter(self.beats)

    def __len__(self):
        return len(self.beats)


def _next_start(desired, lane_rule, index, dic):
    """Position of the next /S/ at or near `desired`; returns (position, new dic)."""
    if lane_rule == "any":
        r = desired % 4
        if r == 0:
            return desired, dic
        if dic + r <= 3:                 # delete up to 3 idles, paid back later
            return desired - r, dic + r
        return desired + 4 - r, max(dic - (4 - r), 0)
    if lane_rule == "alternate":
        lane = 0 if index % 2 == 0 else 4
    else:
        lane = lane_rule
    return desired + (lane - desired) % 8, 0


def encode(frames, start_lane="any", ifg=12, gaps=None, faults=None, pad=True,
           lead=8, tail=16):
    """Frames (bytes without FCS) -> Encoded beats (arguments: encode_chars)."""
    chars, flags, starts, sent = encode_chars(frames, start_lane, ifg, gaps, faults, pad,
                                              lead, tail)
    n = len(chars) // 8
    ds = struct.unpack(f"<{n}Q", chars)
    cs = struct.unpack(f"<{n}Q", flags)
    collecting = gc.isenabled()
    gc.disable()                 # millions of small tuples: the cyclic GC only slows this
    try:
        beats = list(zip(ds, map(_CtrlMasks().__getitem__, cs)))
    finally:
        if collecting:
            gc.enable()
    return Encoded(beats, starts, sent)


def encode_chars(frames, start_lane="any", ifg=12, gaps=None, faults=None, pad=True,
                 lead=8, tail=16):
    """Frames (bytes without FCS) -> (chars, flags, starts, sent): one byte per XGMII
    character and a parallel 0/1 control-flag string (8 per beat, lane 0 first), where
    each frame's byte 0 landed, and the frames as sent. `encode` makes beats of them;
    long replays pack them with numpy instead.

    start_lane: 0, 4, "alternate" (0, 4, 0, ...) or "any" (0 or 4 with DIC: line rate).
    ifg: minimum average gap in characters, /T/ included. gaps: optional per-frame extra
    idle characters before frame i. pad: zero-pad frames shorter than 60 bytes.
    lead/tail: idle characters before the first and after the last frame.
    faults: {frame index: kind}, kind one of
      "fcs"             flip a bit of the FCS
      "error"           replace the middle byte with /E/
      ("truncate", n)   send only the first n bytes (FCS included), then /T/
      "noterm"          no /T/: idles follow the FCS directly
      "preamble"        corrupt the fourth preamble byte
    """
    if start_lane not in (0, 4, "alternate", "any"):
        raise ValueError("start_lane must be 0, 4, 'alternate' or 'any'")
    faults = faults or {}
    chars, flags = bytearray(), bytearray()
    starts, sent = [], []
    dic = 0
    desired = lead
    for i, frame in enumerate(frames):
        frame = bytes(frame)
        if pad and len(frame) < 60:
            frame += bytes(60 - len(frame))
        body = frame + fcs(frame)
        fault = faults.get(i)
        preamble = PREAMBLE
        if fault == "fcs":
            body = body[:-4] + bytes([body[-4] ^ 0x01]) + body[-3:]
        elif fault == "preamble":
            preamble = PREAMBLE[:3] + b"\x54" + PREAMBLE[4:]
        elif isinstance(fault, tuple) and fault[0] == "truncate":
            body = body[:fault[1]]
        elif fault not in (None, "error", "noterm"):
            raise ValueError(f"unknown fault {fault!r}")
        if gaps is not None:
            desired += gaps[i]
        pos, dic = _next_start(max(desired, len(chars)), start_lane, i, dic)
        idle = pos - len(chars)
        chars += bytes([IDLE]) * idle
        flags += b"\x01" * idle
        chars.append(START)
        flags.append(1)
        chars += preamble
        flags += bytes(7)
        starts.append(len(chars))
        body_flags = bytearray(len(body))
        if fault == "error":
            mid = len(body) // 2
            body = body[:mid] + bytes([ERROR]) + body[mid + 1:]
            body_flags[mid] = 1
        chars += body
        flags += body_flags
        sent.append(body)
        if fault == "noterm":
            desired = len(chars) + ifg
        else:
            chars.append(TERM)
            flags.append(1)
            desired = len(chars) - 1 + ifg
    end = max(desired, len(chars)) + tail
    end += -end % 8
    fill = end - len(chars)
    chars += bytes([IDLE]) * fill
    flags += b"\x01" * fill
    return chars, flags, starts, sent


def frame_starts(frames, start_lane="any", ifg=12, gaps=None, faults=None, pad=True, lead=8):
    """Where encode_chars puts each frame's byte 0, without building the characters (the
    model engine times its input as the RTL harness sends it)."""
    faults = faults or {}
    starts, dic, desired, n = [], 0, lead, 0
    for i, frame in enumerate(frames):
        size = max(len(frame), 60) if pad else len(frame)
        size += 4
        fault = faults.get(i)
        if isinstance(fault, tuple) and fault[0] == "truncate":
            size = fault[1]
        if gaps is not None:
            desired += gaps[i]
        pos, dic = _next_start(max(desired, n), start_lane, i, dic)
        starts.append(pos + 8)
        n = pos + 8 + size
        if fault == "noterm":
            desired = n + ifg
        else:
            n += 1
            desired = n - 1 + ifg
    return starts


@dataclass
class Frame:
    """One receive event: `data` is what the MAC forwards (FCS included, cut at max_len)."""
    verdict: str                 # "ok", "fcs", "ctrl", "runt", "oversize"
    data: bytes = b""
    emitted: bool = True         # False: bad preamble, counted but nothing forwarded
    first_beat: int = -1         # beat holding the first frame byte (start lane kept)
    last_beat: int = -1          # beat in which the frame ends / the event is reported
    sfd_beat: int = -1           # beat carrying the SFD (the timestamp point)
    start_lane: int = -1
    keeps: list = field(default_factory=list)


def _chars(beats):
    n = len(beats)
    data = struct.pack(f"<{n}Q", *(d for d, _ in beats))
    flags = bytearray(8 * n)
    for b, (_, c) in enumerate(beats):
        if c:
            for i in range(8):
                if c >> i & 1:
                    flags[8 * b + i] = 1
    return data, flags


def decode(beats, max_len=DEFAULT_MAX_LEN):
    """Beats -> list of Frame, in event order, per the receive rules above."""
    chars, flags = _chars(list(beats))
    n = len(chars)
    out, event_beats = [], set()
    i = 0
    cur = None                   # (start position, bytearray) while inside a frame

    def finish(verdict, pos, data, start):
        fr = Frame(verdict, bytes(data), True, start >> 3, pos >> 3, (start - 1) >> 3,
                   (start - 8) & 7)
        fr.keeps = _keeps(start, len(data), pos >> 3)
        out.append(fr)
        event_beats.add(pos >> 3)

    while i < n:
        ch, ctl = chars[i], flags[i]
        if cur is None:
            if ctl and ch == START and i & 3 == 0:
                pre = chars[i + 1:i + 8]
                pre_ok = pre == PREAMBLE and not any(flags[i + 1:i + 8])
                if pre_ok:
                    cur = (i + 8, bytearray())
                    i += 8
                    continue
                bad = next((j for j in range(i + 1, min(i + 8, n))
                            if flags[j] or chars[j] != PREAMBLE[j - i - 1]), n - 1)
                if bad >> 3 not in event_beats:
                    out.append(Frame("ctrl", emitted=False, last_beat=bad >> 3))
                    event_beats.add(bad >> 3)
            i += 1
            continue
        start, data = cur
        if ctl:
            if ch != TERM:
                verdict = "ctrl"
            elif len(data) < MIN_FRAME:
                verdict = "runt"
            elif zlib.crc32(bytes(data[:-4])) != struct.unpack("<I", data[-4:])[0]:
                verdict = "fcs"
            else:
                verdict = "ok"
            finish(verdict, i, data, start)
            cur = None
            if not (ch == START and i & 3 == 0):
                i += 1
            continue
        if len(data) == max_len:
            finish("oversize", i, data, start)
            cur = None
            i += 1
            continue
        data.append(ch)
        i += 1
    return out


def _keeps(start, length, last_beat):
    """keep mask of each beat from the first to the last (bytes in their lanes)."""
    keeps = []
    for b in range(start >> 3, last_beat + 1):
        lo, hi = max(start, 8 * b), min(start + length, 8 * b + 8)
        mask = 0
        for p in range(lo, hi):
            mask |= 1 << (p & 7)
        keeps.append(mask)
    return keeps


def counts(frames):
    """Counter totals a MAC following these rules reports for decoded `frames`."""
    tally = {"ok": 0, "fcs": 0, "ctrl": 0, "runt": 0, "oversize": 0, "bytes_ok": 0}
    for fr in frames:
        tally[fr.verdict] += 1
        if fr.verdict == "ok":
            tally["bytes_ok"] += len(fr.data)
    return tally
