"""ITCH 5.0 model: layouts against the spec's message lengths, round trips, real files."""
import random
from pathlib import Path

import pytest

from tickwire.model import itch

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared/data/itch"

# Message lengths as printed in the Nasdaq TotalView-ITCH 5.0 specification.
SPEC_LENGTHS = dict(S=12, R=39, H=25, Y=20, L=26, V=35, W=12, K=28, J=35, h=21, A=36,
                    F=40, E=31, C=36, X=23, D=19, U=35, P=44, Q=40, B=19, I=50, N=20, O=48)


def test_lengths_match_spec():
    assert itch.LENGTHS == SPEC_LENGTHS


def test_fields_contiguous_and_cover_message():
    for t, fields in itch.FIELDS.items():
        off = 0
        for name, o, w, kind in fields:
            assert o == off, (t, name)
            off += w
        assert off == SPEC_LENGTHS[t]


def _random_fields(t, rng):
    out = {}
    for name, off, width, kind in itch.BODIES[t]:
        if kind in ("alpha", "char"):
            out[name] = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(width))
        else:
            out[name] = rng.getrandbits(8 * width)
    out.update(locate=rng.getrandbits(16), tracking=rng.getrandbits(16),
               timestamp=rng.getrandbits(48))
    return out


def test_encode_parse_round_trip_all_types():
    rng = random.Random(1)
    for t in SPEC_LENGTHS:
        for _ in range(20):
            f = _random_fields(t, rng)
            msg = itch.encode(t, **f)
            assert len(msg) == SPEC_LENGTHS[t] and msg[0] == ord(t)
            p = itch.parse(msg)
            assert p.pop("type") == t
            assert p == f


def test_known_add_order_bytes():
    # A: locate 13, tracking 0, ts 0x010203040506, oref 7, 'B', 100 shares, AAPL, $300.0100
    msg = itch.encode("A", locate=13, timestamp=0x010203040506, oref=7, side="B", shares=100,
                      stock="AAPL", price=3000100)
    assert msg.hex() == ("41" "000d" "0000" "010203040506" "0000000000000007" "42"
                         "00000064" "4141504c20202020" "002dc724")
    f = itch.to_itchmsg_fields(msg, seq=5, feed=1, rx_ts={"sec": 1, "ns": 2})
    assert f["stock"] == int.from_bytes(b"AAPL    ", "big") and f["price"] == 3000100
    assert f["side"] == ord("B") and f["shares"] == 100 and f["oref"] == 7
    assert f["itch_ts"] == 0x010203040506 and f["seq"] == 5 and f["feed"] == 1


def test_q_shares_low_32_bits():
    msg = itch.encode("Q", shares=(5 << 32) | 1234, stock="MSFT", cross_price=99, match=1,
                      cross_type="O")
    f = itch.to_itchmsg_fields(msg, 0, 0, {"sec": 0, "ns": 0})
    assert f["shares"] == 1234 and f["price"] == 99


def test_rejects_bad_length_and_type():
    good = itch.encode("D", oref=1)
    assert itch.to_itchmsg_fields(good + b"\0", 0, 0, {"sec": 0, "ns": 0}) is None
    assert itch.to_itchmsg_fields(good[:-1], 0, 0, {"sec": 0, "ns": 0}) is None
    assert itch.to_itchmsg_fields(b"Z" + good[1:], 0, 0, {"sec": 0, "ns": 0}) is None
    with pytest.raises(itch.ItchError):
        itch.parse(b"Z" + good[1:])


# Histograms as documented in the data folder's README (independent of this model).
README_HIST = {
    "nasdaq_itch50_20191230_first1000.itch": dict(S=1, R=993, H=3, Y=3),
    "nasdaq_itch50_20200130_aapl_first5000.itch": dict(R=1, H=1, Y=1, L=52, A=2402, E=365,
                                                       X=1, D=2069, P=108),
}


@pytest.mark.parametrize("name", sorted(README_HIST))
def test_real_files(name, tmp_path):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"real ITCH sample {path} absent (shared data folder not present)")
    msgs = list(itch.read_binaryfile(path))
    assert itch.histogram(msgs) == README_HIST[name]
    for m in msgs:
        itch.parse(m)      # every message has its spec length
    if "aapl" in name:
        assert {itch.parse(m)["locate"] for m in msgs if chr(m[0]) in "AEXDP"} == {13}
    import gzip
    gz = tmp_path / (name + ".gz")
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert list(itch.read_binaryfile(gz)) == msgs
