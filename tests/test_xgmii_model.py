"""The XGMII reference model: round trips, line-rate spacing, FCS and fault verdicts."""
import random
import struct
import time
import zlib

import pytest
from scapy.layers.l2 import Ether

from tickwire.model import xgmii


def _frames(rng, count, lo=60, hi=1518):
    return [rng.randbytes(rng.randint(lo, hi)) for _ in range(count)]


@pytest.mark.parametrize("lane", [0, 4, "alternate", "any"])
def test_round_trip(lane):
    rng = random.Random(f"rt{lane}")
    frames = _frames(rng, 200)
    gaps = [rng.choice([0, 0, 0, 1, 3, 17, 40]) for _ in frames]
    enc = xgmii.encode(frames, start_lane=lane, gaps=gaps)
    got = xgmii.decode(enc.beats)
    assert [f.verdict for f in got] == ["ok"] * len(frames)
    assert [f.data for f in got] == [fr + xgmii.fcs(fr) for fr in frames]
    lanes = [f.start_lane for f in got]
    if lane in (0, 4):
        assert set(lanes) == {lane}
    elif lane == "alternate":
        assert lanes == [0, 4] * (len(frames) // 2)
    else:
        assert set(lanes) == {0, 4}
    for i, f in enumerate(got):
        # locate() agrees with where the decoder found the bytes
        assert enc.locate(i, 0) == (f.first_beat, f.start_lane)   # no realignment
        assert f.sfd_beat == f.first_beat - (1 if f.start_lane == 0 else 0)
        beat, ln = enc.locate(i, len(frames[i]) - 1)
        assert (enc.beats[beat][0] >> (8 * ln)) & 0xFF == frames[i][-1]
        assert not enc.beats[beat][1] >> ln & 1


def test_locate_exact():
    frames = [bytes(range(100)), bytes(range(50, 150))]
    enc = xgmii.encode(frames, start_lane="alternate")
    for i, fr in enumerate(frames):
        for off in (0, 1, 7, 8, 63, 99):
            beat, ln = enc.locate(i, off)
            d, c = enc.beats[beat]
            assert (d >> 8 * ln) & 0xFF == fr[off] and not (c >> ln) & 1
    # lane-0 start: byte 0 in lane 0 of the beat after /S/; lane-4: byte 0 in lane 4
    assert enc.locate(0, 0)[1] == 0 and enc.locate(1, 0)[1] == 4
    d, c = enc.beats[enc.locate(1, 0)[0] - 1]
    assert (d >> 32) & 0xFF == xgmii.START and (c >> 4) & 1


def test_ifg_minimum_and_line_rate():
    rng = random.Random(2)
    frames = [rng.randbytes(1500) for _ in range(400)]
    enc = xgmii.encode(frames, start_lane="any", lead=0, tail=0)
    per_frame = len(enc.beats) / len(frames)
    assert abs(per_frame - (1500 + 4 + 8 + 12) / 8) < 0.1
    # IFG (/T/ + idles) never below 9 with DIC, and averages 12
    gaps = []
    for i in range(len(frames) - 1):
        t_pos = enc.starts[i] + len(enc.frames[i])          # the /T/ character
        s_pos = enc.starts[i + 1] - 8                       # the next /S/
        d, c = enc.beats[t_pos >> 3]
        assert (d >> 8 * (t_pos & 7)) & 0xFF == xgmii.TERM and (c >> (t_pos & 7)) & 1
        gaps.append(s_pos - t_pos)
    assert min(gaps) >= 9
    assert abs(sum(gaps) / len(gaps) - 12) < 0.1
    # lane-0-only starts are slower (rounding up to a whole beat)
    slow = xgmii.encode(frames, start_lane=0, lead=0, tail=0)
    assert len(slow.beats) > len(enc.beats)


def test_fcs_matches_scapy_and_zlib():
    pkt = Ether(dst="01:00:5e:36:0c:6f", src="02:00:00:00:00:01") / (b"x" * 80)
    raw = bytes(pkt)
    enc = xgmii.encode([raw])
    (fr,) = xgmii.decode(enc.beats)
    assert fr.verdict == "ok"
    assert fr.data[-4:] == struct.pack("<I", zlib.crc32(raw))
    # the known property of Ethernet's CRC: the whole frame + FCS has a fixed residue
    assert zlib.crc32(fr.data) == 0x2144DF1C
    assert Ether(fr.data[:-4]).dst == "01:00:5e:36:0c:6f"


def test_faults_and_verdicts():
    rng = random.Random(3)
    frames = _frames(rng, 10, 200, 400)
    frames[6] = rng.randbytes(1600)
    faults = {1: "fcs", 2: "error", 3: ("truncate", 40), 4: "noterm", 5: "preamble",
              7: ("truncate", 100)}
    enc = xgmii.encode(frames, start_lane="alternate", faults=faults)
    got = xgmii.decode(enc.beats)
    verdicts = [(f.verdict, f.emitted) for f in got]
    assert verdicts == [("ok", True), ("fcs", True), ("ctrl", True), ("runt", True),
                        ("ctrl", True), ("ctrl", False), ("oversize", True), ("fcs", True),
                        ("ok", True), ("ok", True)]
    assert len(got[6].data) == xgmii.DEFAULT_MAX_LEN
    assert got[6].data == (frames[6] + xgmii.fcs(frames[6]))[:1522]
    assert len(got[3].data) == 40
    tally = xgmii.counts(got)
    assert tally == {"ok": 3, "fcs": 2, "ctrl": 3, "runt": 1, "oversize": 1,
                     "bytes_ok": sum(len(frames[i]) + 4 for i in (0, 8, 9))}
    # a larger max_len lets the long frame through
    assert xgmii.decode(enc.beats, max_len=2000)[6].verdict == "ok"


def test_new_start_before_term_ends_frame_as_ctrl():
    a, b = bytes(range(100)), bytes(range(1, 101))
    enc = xgmii.encode([a, b], start_lane=0)
    beats = list(enc.beats)
    # drop a's /T/ and everything up to b's /S/: b's /S/ lands inside a
    t_beat, _ = enc.locate(0, len(a) + 4)
    s_beat = enc.locate(1, 0)[0] - 1
    beats = beats[:t_beat] + beats[s_beat:]
    got = xgmii.decode(beats)
    assert [f.verdict for f in got] == ["ctrl", "ok"]
    assert got[1].data == b + xgmii.fcs(b)


def test_short_frames_padded_or_runt():
    enc = xgmii.encode([b"\x01" * 20], pad=True)
    assert xgmii.decode(enc.beats)[0].verdict == "ok"
    assert len(xgmii.decode(enc.beats)[0].data) == 64
    enc = xgmii.encode([b"\x01" * 20], pad=False)
    assert xgmii.decode(enc.beats)[0].verdict == "runt"


def test_encode_speed():
    # ~1e6 ITCH-sized messages packed 30 to a frame (~33k frames of ~1000 bytes)
    rng = random.Random(4)
    payload = rng.randbytes(1000)
    frames = [payload] * 33_000
    t0 = time.process_time()     # CPU time: the machine is shared
    enc = xgmii.encode(frames)
    dt = time.process_time() - t0
    assert len(enc.beats) > 33_000 * 125
    assert dt < 5.0, dt
