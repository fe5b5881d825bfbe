"""The numpy replay path sends the same beats and reads the same fields as the
per-message Python it replaced (xgmii.encode + BeatWriter, payload.unpack)."""
import random
import struct

import numpy as np
import pytest

from tickwire.model import xgmii
from tickwire.rtl.layouts import BboUpdate, ItchMsg
from tickwire.tools.build.harness import protocol
from tickwire.tools.build.harness.decode import decoder
from tickwire.tools.engines import columns, encode_port, rtl_replay
from tickwire.tools.feeds import moldfeed
from tickwire.tools.replay import Feed


def parse_twb1(raw):
    """Every beat of a TWB1 file, as (d, c) pairs."""
    assert raw[:4] == b"TWB1"
    pos, beats = 4, []
    while pos < len(raw):
        tag = raw[pos]
        if tag == 0:
            break
        (n,) = struct.unpack_from("<I", raw, pos + 1)
        pos += 5
        if tag == 1:
            ds = struct.unpack_from(f"<{n}Q", raw, pos)
            cs = raw[pos + 8 * n:pos + 9 * n]
            beats += list(zip(ds, cs))
            pos += 9 * n
        else:
            d, c = struct.unpack_from("<QB", raw, pos)
            beats += [(d, c)] * n
            pos += 9
    return beats


def some_frames(seed=3, n=60):
    rng = random.Random(seed)
    msgs = [bytes([ord("D")]) + rng.randbytes(18) for _ in range(n * 5)]
    frames = moldfeed.build_feed(msgs, per_packet=5, ab=True)
    for i, f in enumerate(frames):
        f.idle = rng.choice([0, 0, 3, 40])
        if i % 17 == 5:
            f.fcs_ok = False
    return frames


def test_port_arrays_are_the_encoded_beats():
    frames = [f for f in some_frames() if f.feed == "A"]
    port = columns.Port(frames)
    ref = encode_port(frames)
    assert list(zip(port.d.tolist(), port.c.tolist())) == ref.beats
    assert port.starts == ref.starts


@pytest.mark.parametrize("beats", [
    [(1, 0)] * 3 + [(protocol.IDLE_D, protocol.IDLE_C)] * 20 + [(2, 1), (3, 0)] * 10,
    [(protocol.IDLE_D, protocol.IDLE_C)] * 7 + [(5, 5)] * 8,
    [(i, i & 0xFF) for i in range(70000)] + [(9, 9)] * 100000,
    [],
])
def test_twb1_writer_sends_what_beatwriter_sends(tmp_path, beats):
    d = np.array([b[0] for b in beats], dtype="<u8")
    c = np.array([b[1] for b in beats], dtype=np.uint8)
    raw = columns.write_twb1(tmp_path / "x.twb", d, c).read_bytes()
    assert parse_twb1(raw) == beats == parse_twb1(protocol.encode_beats(beats))
    runs = raw.count(b"\x02")
    assert runs >= 1 or len(beats) < 30       # long runs really are folded


def test_record_fields_match_layout_decode():
    rng = random.Random(7)
    width = data_size = ItchMsg.size
    nbytes = 4 * -(-width // 32)
    values = [rng.getrandbits(width) for _ in range(300)]
    raw = b"".join(struct.pack("<q", 1000 + i) + v.to_bytes(nbytes, "little")
                   for i, v in enumerate(values))
    rec = columns.Records(raw, nbytes, data_size, cycle0=10)
    assert rec.cycles.tolist() == [990 + i for i in range(300)]
    for path in (("seq",), ("feed",), ("locate",), ("oref",), ("rx_ts", "sec"), ("rx_ts", "ns"),
                 ("itch_ts",), ("type",)):
        want = []
        for v in values:
            u = decoder(ItchMsg)(v)
            for k in path:
                u = u[k]
            want.append(u)
        assert rec.field(ItchMsg, *path).tolist() == want, path
    assert rec[5] == (995, values[5])


def test_bbo_row_columns():
    rows = [dict(seq=2**64 - 1 - i, locate=i, bid_px=i * 7, bid_qty=3, ask_px=i * 9, ask_qty=4)
            for i in range(50)]
    nbytes = 4 * -(-BboUpdate.size // 32)
    raw = b"".join(struct.pack("<q", i) + BboUpdate.const(r).as_bits().to_bytes(nbytes, "little")
                   for i, r in enumerate(rows))
    rec = columns.Records(raw, nbytes, BboUpdate.size, 0)
    assert rec.field(BboUpdate, "seq").tolist() == [r["seq"] for r in rows]
    assert rec.field(BboUpdate, "ask_px").tolist() == [r["ask_px"] for r in rows]


def test_last_byte_table_matches_the_dict():
    feed = Feed()
    for f in some_frames():
        feed.add("b" if f.feed == "B" else "a", f)
    enc = {p: columns.Port(feed.frames[p]) for p in ("a", "b")}
    where = rtl_replay.last_byte_beats(feed, enc)
    keys, beats = rtl_replay.last_byte_table(feed, enc)
    assert dict(zip(keys.tolist(), beats.tolist())) == {2 * s + fb: b for (fb, s), b in
                                                        where.items()}


def test_first_and_last_keys_follow_dict_semantics():
    keys = np.array([5, 3, 5, 9, 3], dtype=np.int64)
    vals = np.array([10, 11, 12, 13, 14], dtype=np.int64)
    first, last = {}, {}
    for k, v in zip(keys.tolist(), vals.tolist()):
        first.setdefault(k, v)
        last[k] = v
    u, v = columns.first_keys(keys, vals)
    assert dict(zip(u.tolist(), v.tolist())) == first
    u, v = columns.last_keys(keys, vals)
    assert dict(zip(u.tolist(), v.tolist())) == last
    found, got = columns.lookup(u, v, np.array([3, 4, 9]))
    assert found.tolist() == [True, False, True] and got[found].tolist() == [14, 13]


def test_xgmii_encode_is_encode_chars_in_beats():
    frames = [bytes(range(i, i + 70)) for i in range(5)]
    chars, flags, starts, _ = xgmii.encode_chars(frames)
    enc = xgmii.encode(frames)
    assert len(chars) == 8 * len(enc.beats) and starts == enc.starts
