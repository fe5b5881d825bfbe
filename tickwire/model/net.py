"""Reference model of the Ethernet/IPv4/UDP receive parser and feed filter.

Written from IEEE 802.3 (Ethernet II), RFC 791 (IPv4) and RFC 768 (UDP), not from
the gateware, so a misreading of the specs in one is not silently shared by the other.
The rules are those of docs/bad-input-udp.md.

`parse` gives the verdict the gateware must count for a frame; the verdict names
are the net block's counter names. Checks run in counter order and the first
failure wins; the MAC's bad mark outranks everything (the bytes of a bad frame
cannot be trusted), so a MAC-bad frame counts only `drop_bad_frame`, even if its
datagram would have been accepted. Accepted: untagged Ethernet II, IPv4 without
options, and a frame exactly as long as the datagram (only a minimum-size frame may
carry padding). The UDP checksum is not verified (it is optional for IPv4 and the
feed's own sequence numbers catch corruption the FCS missed).

`forwarded` says what the parser forwards before the frame's end is known (cut-through).
`build_udp_frame` hand-builds frames with struct: scapy is far too slow for the
million-frame replays.
"""
from dataclasses import dataclass
import ipaddress
import struct
import zlib

ETH_IPV4 = 0x0800
VLAN_TPIDS = (0x8100, 0x88A8)      # 802.1Q C-tag and 802.1ad S-tag: both are "a tag"
IP_PROTO_UDP = 17

#: Counter names in priority order (the first failing check is the one counted).
VERDICTS = ("udp_accepted", "drop_bad_frame", "drop_ethertype", "drop_vlan", "drop_ip_header",
            "drop_ip_options", "drop_ip_checksum", "drop_ip_length", "drop_fragment", "drop_not_udp",
            "drop_udp_length", "drop_filter")


def ip_to_int(ip):
    return int(ipaddress.IPv4Address(ip)) if not isinstance(ip, int) else ip


@dataclass(frozen=True)
class Filter:
    """One destination filter entry: IPv4 group and UDP port -> feed (0 = A, 1 = B)."""
    group: object            # dotted string or int
    port: int
    feed: int = 0
    enable: bool = True

    @property
    def group_int(self):
        return ip_to_int(self.group)


#: Nasdaq TotalView-ITCH MoldUDP64 feeds A and B (the gateware's reset table).
DEFAULT_FILTERS = (
    Filter("233.54.12.111", 26477, feed=0),
    Filter("233.49.196.111", 26477, feed=1),
)


def ones_complement_sum(data):
    """RFC 1071 16-bit ones' complement sum (odd length padded with a zero byte)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def udp_checksum_ok(frame):
    """RFC 768 over an accepted frame's datagram (untagged, 20-byte IPv4 header: the
    pseudo-header's addresses are frame bytes 26..33, right before the UDP header).
    True when the checksum field is 0 (not computed) or the sum is right. The parser
    forwards the payload before it knows (cut-through): a failure marks the frame bad
    afterwards (net_*.udp_checksum_errors; docs/bad-input-udp.md)."""
    frame = bytes(frame)
    total, ulen, csum = (struct.unpack_from("!H", frame, o)[0] for o in (16, 38, 40))
    if csum == 0:
        return True
    data = frame[26:14 + total]
    data += bytes(len(data) % 2)                       # an odd last byte is padded first
    return ones_complement_sum(data + struct.pack("!HH", 17, ulen)) == 0xFFFF


ETH_HEADER = 14
IP_HEADER = 20
PAYLOAD = ETH_HEADER + IP_HEADER + 8          # first UDP payload byte in the frame
MIN_FRAME = 60                                 # frame bytes before the FCS, padded


def _header_verdict(frame):
    """The verdict of the header checks (everything but the MAC's mark and the frame
    length), and the IPv4 total length. `frame` has at least MIN_FRAME bytes."""
    etype = struct.unpack_from("!H", frame, 12)[0]
    if etype in VLAN_TPIDS:
        return "drop_vlan", 0
    if etype != ETH_IPV4:
        return "drop_ethertype", 0
    version, ihl = frame[14] >> 4, frame[14] & 0xF
    if version != 4 or ihl < 5:
        return "drop_ip_header", 0
    if ihl > 5:
        return "drop_ip_options", 0
    if ones_complement_sum(frame[14:34]) != 0xFFFF:
        return "drop_ip_checksum", 0
    total_len, flags_frag, proto = struct.unpack_from("!H2xH1xB", frame, 16)
    if total_len < IP_HEADER:
        return "drop_ip_length", total_len
    if flags_frag & 0x2000 or flags_frag & 0x1FFF:
        return "drop_fragment", total_len
    if proto != IP_PROTO_UDP:
        return "drop_not_udp", total_len
    ulen = struct.unpack_from("!H", frame, 38)[0]
    if total_len < IP_HEADER + 8 or ulen != total_len - IP_HEADER:
        return "drop_udp_length", total_len
    return None, total_len


def _match(frame, filters):
    dst, dport = struct.unpack_from("!I", frame, 30)[0], struct.unpack_from("!H", frame, 36)[0]
    return next((f.feed for f in filters if f.enable and f.group_int == dst and f.port == dport),
                None)


def parse(frame, filters=DEFAULT_FILTERS, mac_bad=False):
    """Classify one frame (FCS excluded). Returns (verdict, feed, udp_payload).

    feed and payload are meaningful for "udp_accepted" only (None / b"" otherwise).
    A frame shorter than 60 bytes (64 with its FCS) is a runt the MAC marks bad, so
    it counts drop_bad_frame here too. The frame-length rule (drop_ip_length) ranks
    where the total length's checks do, after the header checksum.
    """
    frame = bytes(frame)
    n = len(frame)
    if mac_bad or n < MIN_FRAME:
        return "drop_bad_frame", None, b""
    verdict, total = _header_verdict(frame)
    length_ok = n == max(ETH_HEADER + total, MIN_FRAME)
    order = VERDICTS.index
    if not length_ok and (verdict is None or order(verdict) > order("drop_ip_length")):
        return "drop_ip_length", None, b""
    if verdict is not None:
        return verdict, None, b""
    feed = _match(frame, filters)
    if feed is None:
        return "drop_filter", None, b""
    return "udp_accepted", feed, frame[PAYLOAD:ETH_HEADER + total]


def forwarded(frame, filters=DEFAULT_FILTERS, max_len=None, fcs=None):
    """What the parser forwards for `frame` (FCS excluded; the wire adds it) before the
    frame's end is known: (feed, bytes) or None. A frame whose header checks and filter
    pass forwards the wire bytes [42, 14 + total length), cut where the frame ends (the
    FCS bytes of a short frame are indistinguishable from payload until /T/) or at
    `max_len` (the MAC cuts an oversize frame there, FCS included). The end beat is
    marked bad unless `parse` accepts the frame (and the MAC did). `fcs`: the four
    bytes that really followed `frame` on the wire (a runt's last four data bytes);
    by default its correct FCS."""
    frame = bytes(frame)
    wire = frame + (bytes(fcs) if fcs is not None else zlib.crc32(frame).to_bytes(4, "little"))
    padded = wire + bytes(max(0, MIN_FRAME - len(wire)))   # header checks only read 42 bytes
    if len(wire) < PAYLOAD - 2:       # the parser decides on the UDP length; the
        return None                   # checksum (bytes 40-41) is not verified
    verdict, total = _header_verdict(padded)
    feed = _match(padded, filters) if verdict is None else None
    if feed is None:
        return None
    if max_len is not None:
        wire = wire[:max_len]
    return feed, wire[PAYLOAD:ETH_HEADER + total]


def multicast_mac(group):
    """RFC 1112: 01:00:5e followed by the low 23 bits of the group address."""
    g = ip_to_int(group)
    return bytes([0x01, 0x00, 0x5E, (g >> 16) & 0x7F, (g >> 8) & 0xFF, g & 0xFF])


def build_udp_frame(payload, dst_ip, dst_port, src_ip="10.0.0.1", src_port=20000,
                    src_mac=b"\x02\x00\x00\x00\x00\x01", dst_mac=None, vlan=None,
                    ip_options=b"", ttl=64, ident=1, tos=0, flags=0, frag_offset=0,
                    proto=IP_PROTO_UDP, udp_checksum=True, pad_to=60):
    """A complete Ethernet II frame (no FCS) carrying one UDP datagram.

    dst_mac defaults to the IPv4 multicast MAC of dst_ip; vlan=(tci) adds one
    802.1Q tag; ip_options are padded to a 4-byte multiple; flags are the 3 IPv4
    flag bits (bit 0 = MF, bit 1 = DF); the frame is zero-padded to `pad_to` bytes.
    """
    payload = bytes(payload)
    if isinstance(src_mac, str):
        src_mac = bytes.fromhex(src_mac.replace(":", ""))
    if dst_mac is None:
        dst_mac = multicast_mac(dst_ip)
    elif isinstance(dst_mac, str):
        dst_mac = bytes.fromhex(dst_mac.replace(":", ""))
    opts = bytes(ip_options) + b"\0" * (-len(ip_options) % 4)
    ihl = 5 + len(opts) // 4
    src, dst = ip_to_int(src_ip), ip_to_int(dst_ip)
    ulen = 8 + len(payload)
    total = ihl * 4 + ulen
    hdr = struct.pack("!BBHHHBBHII", 0x40 | ihl, tos, total, ident,
                      (flags << 13) | frag_offset, ttl, proto, 0, src, dst) + opts
    csum = ~ones_complement_sum(hdr) & 0xFFFF
    hdr = hdr[:10] + struct.pack("!H", csum) + hdr[12:]
    ucsum = 0
    if udp_checksum:
        pseudo = struct.pack("!IIBBH", src, dst, 0, IP_PROTO_UDP, ulen)
        udp0 = struct.pack("!HHHH", src_port, dst_port, ulen, 0) + payload
        ucsum = ~ones_complement_sum(pseudo + udp0) & 0xFFFF
        ucsum = ucsum or 0xFFFF          # RFC 768: a computed zero is sent as all ones
    udp = struct.pack("!HHHH", src_port, dst_port, ulen, ucsum) + payload
    l2 = dst_mac + src_mac
    if vlan is not None:
        l2 += struct.pack("!HH", 0x8100, vlan)
    frame = l2 + struct.pack("!H", ETH_IPV4) + hdr + udp
    return frame + b"\0" * max(0, pad_to - len(frame))
