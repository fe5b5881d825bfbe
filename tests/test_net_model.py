"""The Ethernet/IPv4/UDP reference model: frame builder against scapy, verdicts by hand."""
import random
import struct

import pytest
from scapy.layers.inet import IP, UDP, IPOption
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from tickwire.model.net import (DEFAULT_FILTERS, Filter, build_udp_frame, forwarded,
                                multicast_mac, ones_complement_sum, parse)

GA, GB, PORT = "233.54.12.111", "233.49.196.111", 26477


def scapy_frame(payload, dst, dport, vlan=None, options=b"", src="10.0.0.1", sport=20000):
    eth = Ether(dst=multicast_mac(dst).hex(":"), src="02:00:00:00:00:01")
    l2 = eth / Dot1Q(vlan=vlan) if vlan is not None else eth
    ip = IP(src=src, dst=dst, id=1, ttl=64, options=[IPOption(options)] if options else [])
    raw = bytes(l2 / ip / UDP(sport=sport, dport=dport) / Raw(payload))
    return raw + b"\0" * max(0, 60 - len(raw))


@pytest.mark.parametrize("vlan", [None, 5, 4095])
@pytest.mark.parametrize("options", [b"", b"\x94\x04\x00\x00", b"\x01" * 8])
@pytest.mark.parametrize("plen", [0, 1, 17, 18, 100, 1400])
def test_builder_matches_scapy(vlan, options, plen):
    payload = bytes(random.Random(plen).randrange(256) for _ in range(plen))
    ours = build_udp_frame(payload, GA, PORT, vlan=vlan, ip_options=options)
    assert ours == scapy_frame(payload, GA, PORT, vlan=vlan, options=options)
    assert len(ours) >= 60


def test_multicast_mac_keeps_low_23_bits():
    assert multicast_mac("233.54.12.111") == bytes.fromhex("01005e360c6f")
    assert multicast_mac("239.255.255.250") == bytes.fromhex("01005e7ffffa")   # bit 23 dropped


def test_checksum_of_valid_header_is_all_ones():
    frame = build_udp_frame(b"x", GA, PORT)
    assert ones_complement_sum(frame[14:34]) == 0xFFFF
    assert ones_complement_sum(b"\x01") == 0x0100


def test_accept_feed_a_and_b_and_strip_padding():
    assert parse(build_udp_frame(b"abc", GA, PORT)) == ("udp_accepted", 0, b"abc")
    assert parse(build_udp_frame(b"xyz" * 50, GB, PORT)) == ("udp_accepted", 1, b"xyz" * 50)


def test_vlan_and_options_dropped():
    assert parse(build_udp_frame(b"hello", GB, PORT, vlan=100))[0] == "drop_vlan"
    assert parse(build_udp_frame(b"hello", GB, PORT, ip_options=b"\x01" * 4))[0] == "drop_ip_options"
    assert parse(build_udp_frame(b"hello", GB, PORT, vlan=1, ip_options=b"\x01" * 40))[0] == "drop_vlan"


def _patch_ip(frame, off, fmt, value, l2=14, fix_csum=True):
    """Rewrite an IPv4 header field and (optionally) repair the header checksum."""
    b = bytearray(frame)
    struct.pack_into(fmt, b, l2 + off, value)
    if fix_csum:
        ihl = (b[l2] & 0xF) * 4
        struct.pack_into("!H", b, l2 + 10, 0)
        struct.pack_into("!H", b, l2 + 10, ~ones_complement_sum(bytes(b[l2:l2 + ihl])) & 0xFFFF)
    return bytes(b)


def test_each_drop_reason():
    good = build_udp_frame(b"payload!" * 4, GA, PORT)
    assert parse(good, mac_bad=True)[0] == "drop_bad_frame"
    assert parse(good[:12] + b"\x86\xdd" + good[14:])[0] == "drop_ethertype"
    double = good[:12] + b"\x81\x00\x00\x05\x81\x00\x00\x06" + good[12:]
    assert parse(double)[0] == "drop_vlan"
    assert parse(_patch_ip(good, 0, "!B", 0x65))[0] == "drop_ip_header"     # version 6
    assert parse(_patch_ip(good, 0, "!B", 0x44))[0] == "drop_ip_header"     # IHL 4
    assert parse(_patch_ip(good, 8, "!B", 63, fix_csum=False))[0] == "drop_ip_checksum"
    assert parse(_patch_ip(good, 2, "!H", 19))[0] == "drop_ip_length"       # < header
    assert parse(_patch_ip(good, 2, "!H", 20 + 8 + 32 + 100))[0] == "drop_ip_length"  # > frame
    assert parse(_patch_ip(good, 2, "!H", 20 + 8 + 31))[0] == "drop_ip_length"  # < frame
    assert parse(good + b"\0")[0] == "drop_ip_length"                       # trailing byte
    assert parse(_patch_ip(good, 6, "!H", 0x2000))[0] == "drop_fragment"    # MF
    assert parse(_patch_ip(good, 6, "!H", 0x0001))[0] == "drop_fragment"    # offset 8
    assert parse(_patch_ip(good, 6, "!H", 0x4000))[0] == "udp_accepted"     # DF is fine
    assert parse(_patch_ip(good, 9, "!B", 6))[0] == "drop_not_udp"
    bad_ulen = bytearray(good)
    struct.pack_into("!H", bad_ulen, 38, 8 + 31)
    assert parse(bytes(bad_ulen))[0] == "drop_udp_length"
    assert parse(_patch_ip(good, 2, "!H", 20 + 7))[0] == "drop_ip_length"   # frame longer
    empty = build_udp_frame(b"", GA, PORT)                                  # padded to 60
    assert parse(_patch_ip(empty, 2, "!H", 20 + 7))[0] == "drop_udp_length"  # no room for UDP
    assert parse(build_udp_frame(b"x", GA, PORT + 1))[0] == "drop_filter"
    assert parse(build_udp_frame(b"x", "233.54.12.112", PORT))[0] == "drop_filter"


def test_first_failure_wins():
    good = build_udp_frame(b"q" * 30, GA, PORT)
    frag_not_udp = _patch_ip(_patch_ip(good, 6, "!H", 0x2000), 9, "!B", 6)
    assert parse(frag_not_udp)[0] == "drop_fragment"
    assert parse(frag_not_udp, mac_bad=True)[0] == "drop_bad_frame"
    # truncated below the IP length and also a fragment: length is listed first
    assert parse(_patch_ip(good, 6, "!H", 0x2000)[:60])[0] == "drop_ip_length"


def test_short_frames_are_runts():
    good = build_udp_frame(b"z" * 40, GA, PORT)
    for n in (0, 13, 30, 59):
        assert parse(good[:n])[0] == "drop_bad_frame"        # the MAC marks them runts
    assert parse(good[:60])[0] == "drop_ip_length"            # ends inside the datagram


def test_padding_only_in_minimum_frames():
    small = build_udp_frame(b"ab", GA, PORT)                  # 44-byte datagram, padded
    assert len(small) == 60 and parse(small) == ("udp_accepted", 0, b"ab")
    assert parse(small + b"\0")[0] == "drop_ip_length"
    assert parse(small[:59])[0] == "drop_bad_frame"


def test_forwarded_bytes():
    good = build_udp_frame(b"0123456789" * 5, GA, PORT)
    assert forwarded(good) == (0, b"0123456789" * 5)
    assert forwarded(good + b"xyz") == (0, b"0123456789" * 5)     # ends bad, payload whole
    feed, cut = forwarded(good[:70])                            # FCS bytes look like payload
    assert feed == 0 and len(cut) == 70 + 4 - 42 and cut[:28] == good[42:70]
    assert forwarded(good, max_len=60) == (0, good[42:60])
    assert forwarded(build_udp_frame(b"x", GA, PORT + 1)) is None
    assert forwarded(build_udp_frame(b"x", GA, PORT, vlan=3)) is None


def test_filter_table_order_and_enable():
    f = build_udp_frame(b"m", GA, PORT)
    table = [Filter(GA, PORT, feed=1, enable=False), Filter(GA, PORT, feed=1),
             Filter(GA, PORT, feed=0)]
    assert parse(f, table) == ("udp_accepted", 1, b"m")
    assert parse(f, [Filter(GA, PORT, enable=False)])[0] == "drop_filter"
    assert DEFAULT_FILTERS[1].group_int == 0xE931C46F
