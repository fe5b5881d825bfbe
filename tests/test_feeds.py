"""Feed tools: BinaryFILE, pcap/pcapng, MoldUDP64 framing (checked by scapy), faults."""
import gzip
import hashlib
import random
import struct
import time
from collections import Counter
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.utils import PcapNgWriter

from tickwire.tools.feeds import itch_file, moldfeed, pcap
from tickwire.tools.feeds.moldfeed import FEED_A, FEED_B

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared/data/itch"


def rand_msgs(n, seed=0):
    rng = random.Random(seed)
    return [bytes([rng.choice(b"AEDUXFPS")]) + rng.randbytes(rng.randint(11, 49))
            for _ in range(n)]


# ------------------------------------------------------------------ BinaryFILE
@pytest.mark.parametrize("name", ["x.itch", "x.itch.gz"])
def test_binaryfile_round_trip(tmp_path, name):
    msgs = rand_msgs(3000) + [b""]
    p = itch_file.write(tmp_path / name, msgs)
    raw = p.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    body = gzip.decompress(raw) if name.endswith(".gz") else raw
    assert len(body) == sum(2 + len(m) for m in msgs)
    assert struct.unpack_from(">H", body)[0] == len(msgs[0])
    assert list(itch_file.read(p)) == msgs


def test_binaryfile_gzip_detected_by_content_and_truncation_raises(tmp_path):
    msgs = rand_msgs(50, 1)
    p = tmp_path / "noext"
    p.write_bytes(gzip.compress(itch_file.encode(msgs)))
    assert list(itch_file.read(p)) == msgs
    t = tmp_path / "trunc.itch"
    t.write_bytes(itch_file.encode(msgs)[:-3])
    with pytest.raises(ValueError):
        list(itch_file.read(t))


SAMPLES = {
    "nasdaq_itch50_20191230_first1000.itch":
        ("6eb643216cb4f0a1960457ca95d88a9fad167f5152841dd94c460dcddf58063b",
         {"S": 1, "R": 993, "H": 3, "Y": 3}),
    "nasdaq_itch50_20200130_aapl_first5000.itch":
        ("0cae605460542a6a378c7c80edb3a9b99a5b23eafe01478ec83c74041462b58b",
         {"R": 1, "H": 1, "Y": 1, "L": 52, "A": 2402, "E": 365, "X": 1, "D": 2069, "P": 108}),
}
SPEC_LEN = {"S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "A": 36, "E": 31, "X": 23,
            "D": 19, "P": 44}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_nasdaq_samples(name):
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real ITCH samples not found at {REAL}")
    digest, counts = SAMPLES[name]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    msgs = list(itch_file.read(path))
    assert Counter(chr(m[0]) for m in msgs) == counts
    assert len(msgs) == sum(counts.values())
    assert all(len(m) == SPEC_LEN[chr(m[0])] for m in msgs)
    locates = {struct.unpack_from(">H", m, 1)[0] for m in msgs}
    assert len(locates) == (994 if "first1000" in name else 1)


# ------------------------------------------------------------------ pcap
def frames_for_pcap(n=500, seed=2):
    rng = random.Random(seed)
    t = 1_580_360_400_123_456_789
    out = []
    for _ in range(n):
        t += rng.randint(1, 10**7)
        out.append((t, rng.randbytes(rng.randint(60, 1514))))
    return out


@pytest.mark.parametrize("ns", [True, False])
def test_pcap_round_trip(tmp_path, ns):
    frames = frames_for_pcap()
    p = tmp_path / "a.pcap"
    assert pcap.write(p, frames, nanosecond=ns) == len(frames)
    magic = struct.unpack_from("<I", p.read_bytes())[0]
    assert magic == (0xA1B23C4D if ns else 0xA1B2C3D4)
    got = list(pcap.read(p))
    assert [d for _, d in got] == [d for _, d in frames]
    assert [t for t, _ in got] == [t if ns else t // 1000 * 1000 for t, _ in frames]


def test_pcap_big_endian_and_fcs_flag(tmp_path):
    frames = frames_for_pcap(20, 3)
    link = 1 | (1 << 28) | (2 << 29)          # Ethernet, FCS present, 2 x 16 bits
    parts = [struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link)]
    for t, d in frames:
        sec, ns = divmod(t, 10**9)
        parts.append(struct.pack(">IIII", sec, ns // 1000, len(d) + 4, len(d) + 4) + d + b"FCS!")
    p = tmp_path / "be.pcap"
    p.write_bytes(b"".join(parts))
    got = list(pcap.read(p))
    assert [d for _, d in got] == [d for _, d in frames]
    assert [t for t, _ in got] == [t // 1000 * 1000 for t, _ in frames]


def test_pcap_rejects_other_linktypes(tmp_path):
    p = tmp_path / "raw.pcap"
    p.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
    with pytest.raises(ValueError):
        list(pcap.read(p))


def test_reads_pcapng_written_by_scapy(tmp_path):
    frames = moldfeed.build_feed(rand_msgs(400, 4), ab=True)
    p = tmp_path / "s.pcapng"
    w = PcapNgWriter(str(p))
    t0 = 1_580_360_400
    for i, f in enumerate(frames):
        pkt = Ether(f.data)
        pkt.time = t0 + i * 0.000125
        w.write(pkt)
    w.close()
    assert struct.unpack_from("<I", p.read_bytes())[0] == 0x0A0D0D0A
    got = list(pcap.read(p))
    assert [d for _, d in got] == [f.data for f in frames]
    for i, (ts, _) in enumerate(got):
        assert abs(ts - (t0 * 10**9 + i * 125_000)) <= 1000


def test_pcapng_handwritten_spb_tsresol_fcslen(tmp_path):
    """Big-endian pcapng with a nanosecond interface, an FCS, an EPB and an SPB."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack(">II", btype, n) + body + struct.pack(">I", n)
    shb = block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = struct.pack(">HHB3x", 9, 1, 9) + struct.pack(">HHB3x", 13, 1, 4) + b"\0" * 4
    idb = block(1, struct.pack(">HHI", 1, 0, 0) + opts)
    d1, d2 = bytes(range(64)), bytes(range(100, 180))
    ts = 1_580_360_400_000_000_123
    epb = block(6, struct.pack(">IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, 68, 68) + d1 + b"FCS!")
    spb = block(3, struct.pack(">I", 84) + d2 + b"FCS!")
    isb = block(5, struct.pack(">III", 0, 0, 0))
    p = tmp_path / "h.pcapng"
    p.write_bytes(shb + idb + epb + isb + spb)
    assert list(pcap.read(p)) == [(ts, d1), (None, d2)]


def test_pcap_handles_many_frames_quickly(tmp_path):
    n = 200_000
    frame = bytes(range(256)) * 4
    p = tmp_path / "big.pcap"
    t0 = time.process_time()
    pcap.write(p, ((i * 1000, frame) for i in range(n)))
    count = sum(1 for _ in pcap.read(p))
    assert count == n
    assert time.process_time() - t0 < 8.0, "1e6 frames would take over ~40 s"


# ------------------------------------------------------------------ MoldUDP64 framing
def check_with_scapy(f, ep, msgs):
    """scapy's view of a frame agrees with our headers, checksums and metadata."""
    pkt = Ether(f.data)
    ip, udp = pkt[IP], pkt[UDP]
    assert pkt.dst == "01:00:5e:" + ":".join(
        f"{b:02x}" for b in (int.from_bytes(bytes(map(int, ep.group.split("."))), "big")
                             & 0x7FFFFF).to_bytes(3, "big"))
    assert pkt.src == ep.src_mac and pkt.type == 0x0800
    assert ip.dst == ep.group and ip.src == ep.src_ip and ip.proto == 17
    assert ip.len == len(f.data) - 14 and ip.len <= 1500
    assert udp.dport == ep.port and udp.len == ip.len - 20
    sent_ip, sent_udp = ip.chksum, udp.chksum
    del ip.chksum, udp.chksum
    again = Ether(bytes(pkt))
    assert again[IP].chksum == sent_ip and again[UDP].chksum == sent_udp
    payload = bytes(udp.payload)
    sess, seq, count = struct.unpack_from(">10sQH", payload)
    assert (seq, count) == (f.seq, f.count) and count == len(msgs)
    assert len(f.msg_ends) == count
    for m, end in zip(msgs, f.msg_ends):
        assert f.data[end - len(m) + 1:end + 1] == m
        assert struct.unpack_from(">H", f.data, end - len(m) - 1)[0] == len(m)
    if count:
        assert f.msg_ends[-1] == len(f.data) - 1
    return sess


def test_framing_agrees_with_scapy():
    msgs = rand_msgs(2000, 5)
    frames = moldfeed.build_feed(msgs, session="SESSION123", ab=True, b_lag=2)
    a = [f for f in frames if f.feed == "A"]
    b = [f for f in frames if f.feed == "B"]
    assert len(a) == len(b) and len(frames) == 2 * len(a)
    # B lags A by two packets
    assert [f.feed for f in frames[:6]] == ["A", "A", "A", "B", "A", "B"]
    seq = 1
    for fa, fb in zip(a, b):
        sub = msgs[seq - 1:seq - 1 + fa.count]
        assert check_with_scapy(fa, FEED_A, sub) == b"SESSION123"
        assert check_with_scapy(fb, FEED_B, sub) == b"SESSION123"
        assert fa.data[42:] == fb.data[42:] and fa.msg_ends == fb.msg_ends
        seq += fa.count
    assert seq == len(msgs) + 1


def test_parse_frame_round_trip():
    msgs = rand_msgs(300, 8)
    frames = moldfeed.build_feed(msgs, ab=True)
    got = {}
    for f in frames:
        dst, port, sess, seq, count, ms = moldfeed.parse_frame(f.data)
        assert (dst, port) == ((FEED_A if f.feed == "A" else FEED_B).group, 26477)
        assert sess == b"TICKWIRE01" and (seq, count) == (f.seq, f.count) == (seq, len(ms))
        got.update({seq + i: m for i, m in enumerate(ms)})
    assert [got[i + 1] for i in range(len(msgs))] == msgs
    assert moldfeed.parse_frame(moldfeed.arp_frame()) is None


def test_end_of_session_and_heartbeat():
    frames = moldfeed.build_feed(rand_msgs(10), end_of_session=True)
    eos = frames[-1]
    assert struct.unpack_from(">QH", eos.data, 52) == (11, 0xFFFF) and len(eos.data) == 62
    hb = moldfeed.heartbeat_frame("TICKWIRE01", 11)
    assert struct.unpack_from(">QH", hb.data, 52) == (11, 0) and Ether(hb.data)[UDP].len == 28


def test_mtu_packing_limit():
    msgs = rand_msgs(5000, 6)
    packets = moldfeed.pack_messages(msgs)
    assert [m for p in packets for m in p] == msgs
    size = lambda p: 20 + 8 + 20 + sum(2 + len(m) for m in p)  # noqa: E731
    for i, p in enumerate(packets):
        assert size(p) <= 1500
        if i + 1 < len(packets):       # greedy: the next message would not have fitted
            assert size(p + [packets[i + 1][0]]) > 1500
    exact = [b"A" * 36] * 38                   # 48 + 38 * 38 = 1492; 39 would be 1530
    assert [len(p) for p in moldfeed.pack_messages(exact * 2 + [b"A" * 36])] == [38, 38, 1]
    assert [len(p) for p in moldfeed.pack_messages(msgs[:25], per_packet=10)] == [10, 10, 5]
    with pytest.raises(ValueError):
        moldfeed.pack_messages([b"x" * 50] * 40, per_packet=40)
    for f in moldfeed.build_feed(msgs):
        assert len(f.data) <= 1514


# ------------------------------------------------------------------ faults
@pytest.fixture
def ab():
    return moldfeed.build_feed(rand_msgs(3000, 7), ab=True)


def keys(frames):
    return [(f.feed, f.seq) for f in frames]


def test_drop(ab):
    n_a = sum(f.feed == "A" for f in ab)
    out = moldfeed.drop(ab, "A", seqs=[ab[0].seq, ab[2].seq])
    assert keys(out) == [k for k in keys(ab) if k not in {("A", ab[0].seq), ("A", ab[2].seq)}]
    lossy = moldfeed.drop(ab, "B", prob=0.3, rng=1)
    assert [f for f in lossy if f.feed == "A"] == [f for f in ab if f.feed == "A"]
    lost = n_a - sum(f.feed == "B" for f in lossy)
    assert 0.15 * n_a < lost < 0.45 * n_a


def test_duplicate(ab):
    out = moldfeed.duplicate(ab, 0.2, rng=2, feed="A", max_delay=3)
    dups = [f for f in out if "dup" in f.fault]
    assert dups and all(f.feed == "A" for f in dups)
    assert [f for f in out if "dup" not in f.fault] == ab
    for d in dups:
        orig = next(i for i, f in enumerate(out) if f.seq == d.seq and f.feed == "A" and not f.fault)
        pos = next(i for i, f in enumerate(out) if f is d)
        assert d.data == out[orig].data and 0 < pos - orig <= 2 * (3 + 1)


def test_reorder(ab):
    out = moldfeed.reorder(ab, 4, rng=3, feed="A")
    assert sorted(keys(out)) == sorted(keys(ab)) and keys(out) != keys(ab)
    assert [k for k in keys(out) if k[0] == "B"] == [k for k in keys(ab) if k[0] == "B"]
    assert all(f.feed == g.feed for f, g in zip(out, ab))       # slots keep their feed
    order = [f.seq for f in out if f.feed == "A"]
    orig = [f.seq for f in ab if f.feed == "A"]
    assert all(abs(order.index(s) - orig.index(s)) < 4 for s in orig)


def test_truncate(ab):
    out = moldfeed.truncate(ab, 0.5, rng=4)
    cut = [(f, g) for f, g in zip(out, ab) if f.fault == "truncate"]
    assert cut and len(out) == len(ab)
    for f, g in cut:
        assert 14 <= len(f.data) < len(g.data) and g.data.startswith(f.data)
        assert all(e < len(f.data) for e in f.msg_ends)
        assert Ether(f.data).type == 0x0800


def ip_checksum_ok(data):
    h = data[14:14 + (data[14] & 15) * 4]
    s = sum(struct.unpack(f">{len(h) // 2}H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


@pytest.mark.parametrize("where", ["fcs", "ip", "udp_len", "mold_len"])
def test_corrupt(ab, where):
    assert all(ip_checksum_ok(f.data) for f in ab)
    out = moldfeed.corrupt(ab, 0.3, rng=5, where=where)
    bad = [(f, g) for f, g in zip(out, ab) if f.fault]
    assert bad and all(g.fcs_ok and not g.fault for g in ab)       # inputs untouched
    for f, g in bad:
        assert f.fault == f"corrupt:{where}" and len(f.data) == len(g.data)
        if where == "fcs":
            assert not f.fcs_ok and f.data == g.data
        elif where == "ip":
            assert not ip_checksum_ok(f.data)
        elif where == "udp_len":
            assert struct.unpack_from(">H", f.data, 38)[0] > len(f.data) - 34
        else:
            assert struct.unpack_from(">H", f.data, 62)[0] > len(f.data) - 64


def test_noise_frames_are_what_they_claim(ab):
    tpl = ab[0]
    check = {
        "arp": lambda p: ARP in p and len(p) >= 60,
        "ipv6": lambda p: IPv6 in p and p[UDP].dport == 26477,
        "port": lambda p: p[IP].dst == FEED_A.group and p[UDP].dport != 26477,
        "group": lambda p: p[IP].dst != FEED_A.group and p[UDP].dport == 26477,
        "vlan": lambda p: Dot1Q in p and p[IP].dst == FEED_A.group and p[UDP].dport == 26477,
        "ipopt": lambda p: p[IP].ihl == 6 and p[UDP].dport == 26477,
        "frag": lambda p: p[IP].flags.MF and p[IP].len < 20 + 8 + len(tpl.data) - 42,
    }
    for kind, ok in check.items():
        f = moldfeed.noise_frame(kind, tpl, rng=6)
        assert f.kind == kind and f.feed is None
        pkt = Ether(f.data)
        assert ok(pkt), kind
        if IP in pkt and kind != "frag":
            del pkt[IP].chksum
            assert Ether(bytes(pkt))[IP].chksum == Ether(f.data)[IP].chksum
        if kind in ("vlan", "ipopt"):
            lens = [struct.unpack_from(">H", tpl.data, e + 1)[0] for e in [61] + tpl.msg_ends[:-1]]
            assert [f.data[e - n + 1:e + 1] for e, n in zip(f.msg_ends, lens)] == \
                [tpl.data[e - n + 1:e + 1] for e, n in zip(tpl.msg_ends, lens)]
    out = moldfeed.insert_noise(ab, 0.2, rng=7)
    noise = [f for f in out if f.kind != "mold"]
    assert [f for f in out if f.kind == "mold"] == ab
    assert 0.1 * len(ab) < len(noise) < 0.3 * len(ab)
    assert set(f.kind for f in noise) == set(moldfeed.NOISE_KINDS)


def test_stamp_is_monotonic(ab):
    moldfeed.stamp(ab, start_ns=5, gap_ns=7)
    assert [f.ts for f in ab] == [5 + 7 * i for i in range(len(ab))]
