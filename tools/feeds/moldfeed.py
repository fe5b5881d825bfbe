"""MoldUDP64 feeds for replay: packing, Ethernet/IPv4/UDP framing, A/B copies, faults.

Headers are hand-built with struct (checked against scapy in tests/test_feeds.py) so
the replay does not depend on scapy's speed. Every frame carries metadata: which feed,
its Mold sequence number and count, and the byte offset of each message's last byte
inside the frame, so a testbench can time each message from the wire beat that
carries its last byte. Frames are without FCS; `Frame.fcs_ok=False` asks the line
encoder to send a wrong FCS (a bit error on the wire).
"""
import functools
import random
import struct
from array import array
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address

MTU = 1500
IP_HDR, UDP_HDR, MOLD_HDR, ETH_HDR = 20, 8, 20, 14
MOLD_HEARTBEAT_COUNT = 0
MOLD_END_OF_SESSION = 0xFFFF
ETH_IPV4, ETH_ARP, ETH_IPV6, ETH_VLAN = 0x0800, 0x0806, 0x86DD, 0x8100


@dataclass(frozen=True)
class Endpoint:
    """One side of a feed: multicast group/port and the publisher's addresses."""
    group: str
    port: int
    src_ip: str
    src_port: int
    src_mac: str


FEED_A = Endpoint("233.54.12.111", 26477, "10.1.0.1", 26477, "02:00:00:00:0a:01")
FEED_B = Endpoint("233.49.196.111", 26477, "10.2.0.1", 26477, "02:00:00:00:0b:01")


@dataclass
class Frame:
    data: bytes
    feed: str | None = None        # "A", "B", or None for noise
    seq: int | None = None         # Mold sequence number of the first message
    count: int = 0                 # Mold message count (0 heartbeat, 0xFFFF end of session)
    msg_ends: list = field(default_factory=list)  # offset of each message's last byte
    kind: str = "mold"             # "mold" or the noise kind
    fault: str = ""                # faults applied, comma separated
    fcs_ok: bool = True            # False: the encoder must send a bad FCS
    wire: object = None            # other XGMII fault for the encoder (xgmii.encode_chars)
    ts: int | None = None          # capture timestamp, ns
    idle: int = 0                  # extra idle characters before it on its port (pacing)


@functools.lru_cache(maxsize=1024)
def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


@functools.lru_cache(maxsize=1024)
def ip_packed(addr):
    """4 bytes of an IPv4 address (cached: a feed has a handful of addresses and a
    million-message replay frames tens of thousands of packets)."""
    return IPv4Address(addr).packed


@functools.lru_cache(maxsize=1024)
def multicast_mac(group):
    """RFC 1112: 01:00:5e + low 23 bits of the IPv4 group."""
    g = int.from_bytes(ip_packed(group), "big")
    return b"\x01\x00\x5e" + (g & 0x7FFFFF).to_bytes(3, "big")


def inet_checksum(data):
    """RFC 1071 ones' complement sum (byte-order independent, swapped back at the end)."""
    if len(data) & 1:
        data = bytes(data) + b"\0"
    s = sum(array("H", bytes(data)))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = ~s & 0xFFFF
    if array("H", b"\x01\x00")[0] == 1:  # little-endian host: the sum was byte-swapped
        s = ((s & 0xFF) << 8) | (s >> 8)
    return s


def ipv4_header(src, dst, payload_len, ident=0, ttl=64, proto=17, options=b"",
                flags_frag=0, tos=0):
    if len(options) % 4:
        raise ValueError("IPv4 options must be a multiple of 4 bytes")
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + payload_len, ident & 0xFFFF,
                    flags_frag, ttl, proto, 0, ip_packed(src), ip_packed(dst)) + options
    return h[:10] + struct.pack("!H", inet_checksum(h)) + h[12:]


def udp_header(src_ip, dst_ip, sport, dport, payload, checksum=True):
    ln = UDP_HDR + len(payload)
    csum = 0
    if checksum:
        pseudo = ip_packed(src_ip) + ip_packed(dst_ip) + struct.pack(
            "!BBH", 0, 17, ln)
        csum = inet_checksum(pseudo + struct.pack("!HHHH", sport, dport, ln, 0) + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, ln, csum)


def udp_frame(payload, ep, ident=0, ttl=64, vlan=None, ip_options=b"", dst_ip=None,
              dst_port=None, flags_frag=0, udp_checksum=True):
    """Ethernet/IPv4/UDP frame (no FCS) carrying payload to ep's group (or dst_ip)."""
    dst = dst_ip or ep.group
    port = ep.port if dst_port is None else dst_port
    udp = udp_header(ep.src_ip, dst, ep.src_port, port, payload, udp_checksum) + payload
    ip = ipv4_header(ep.src_ip, dst, len(udp), ident, ttl, options=ip_options,
                     flags_frag=flags_frag)
    eth = multicast_mac(dst) + mac_bytes(ep.src_mac)
    if vlan is not None:
        eth += struct.pack("!HH", ETH_VLAN, vlan & 0xFFF)
    return eth + struct.pack("!H", ETH_IPV4) + ip + udp


def mold_payload(session, seq, messages, count=None):
    """MoldUDP64 downstream packet: session(10) seq(8) count(2) then (len(2), msg)*."""
    sess = session.encode("ascii") if isinstance(session, str) else bytes(session)
    if len(sess) != 10:
        raise ValueError("MoldUDP64 session must be exactly 10 bytes")
    parts = [sess, struct.pack("!QH", seq, len(messages) if count is None else count)]
    for m in messages:
        parts.append(struct.pack("!H", len(m)))
        parts.append(m)
    return b"".join(parts)


def pack_messages(messages, per_packet=None, mtu=MTU):
    """Group messages into packets: as many as fit the MTU, or exactly per_packet each.

    Fit rule: 20 IP + 8 UDP + 20 Mold + sum(2 + len) <= mtu. With per_packet a packet
    that would exceed the MTU raises ValueError (the last packet may hold fewer).
    """
    budget = mtu - IP_HDR - UDP_HDR - MOLD_HDR
    packets, cur, used = [], [], 0
    for m in messages:
        need = 2 + len(m)
        if need > budget:
            raise ValueError(f"message of {len(m)} bytes cannot fit a {mtu}-byte MTU")
        if per_packet is None:
            if used + need > budget:
                packets.append(cur)
                cur, used = [], 0
        elif len(cur) == per_packet:
            packets.append(cur)
            cur, used = [], 0
        cur.append(m)
        used += need
        if per_packet is not None and used > budget:
            raise ValueError(f"{per_packet} messages per packet exceed the {mtu}-byte MTU")
    if cur:
        packets.append(cur)
    return packets


def _msg_ends(first, messages):
    ends, pos = [], first
    for m in messages:
        pos += 2 + len(m)
        ends.append(pos - 1)
    return ends


def mold_frame(session, seq, messages, ep=FEED_A, feed="A", ident=0, count=None, **kw):
    """One Frame carrying a Mold packet (kw: vlan, ip_options, ... for udp_frame)."""
    payload = mold_payload(session, seq, messages, count)
    data = udp_frame(payload, ep, ident=ident, **kw)
    start = len(data) - len(payload) + MOLD_HDR
    return Frame(data, feed, seq, len(messages) if count is None else count,
                 _msg_ends(start, messages))


def build_feed(messages, session="TICKWIRE01", per_packet=None, ab=False, b_lag=0,
               first_seq=1, end_of_session=False, a=FEED_A, b=FEED_B):
    """Frames for a feed of ITCH messages, sequence numbers from first_seq.

    ab=True adds a feed-B copy of every packet, b_lag packets behind feed A.
    end_of_session appends the Mold end-of-session packet (count 0xFFFF) on each feed.
    """
    packets = pack_messages(messages, per_packet)
    a_frames, seq = [], first_seq
    for i, msgs in enumerate(packets):
        a_frames.append(mold_frame(session, seq, msgs, a, "A", ident=i))
        seq += len(msgs)
    if end_of_session:
        a_frames.append(mold_frame(session, seq, [], a, "A", ident=len(packets),
                                   count=MOLD_END_OF_SESSION))
    if not ab:
        return a_frames
    b_frames = [replace(f, data=_retarget(f.data, b), feed="B", msg_ends=list(f.msg_ends))
                for f in a_frames]
    out = []
    for i, fa in enumerate(a_frames):
        out.append(fa)
        if i - b_lag >= 0:
            out.append(b_frames[i - b_lag])
    out += b_frames[max(0, len(a_frames) - b_lag):]
    return out


def _retarget(data, ep):
    """The same Mold packet re-framed for another endpoint (same header sizes)."""
    ihl = (data[ETH_HDR] & 0xF) * 4
    payload = data[ETH_HDR + ihl + UDP_HDR:]
    ident = struct.unpack_from("!H", data, ETH_HDR + 4)[0]
    return udp_frame(payload, ep, ident=ident)


def parse_frame(data):
    """(dst ip, dst port, session, seq, count, [messages]) of an untagged IPv4/UDP Mold
    frame, or None for anything else (no checksum checks: this is for tools and tests)."""
    if len(data) < ETH_HDR + IP_HDR or data[12:14] != b"\x08\x00" or data[ETH_HDR] >> 4 != 4:
        return None
    ihl = (data[ETH_HDR] & 0xF) * 4
    if data[ETH_HDR + 9] != 17:
        return None
    udp = ETH_HDR + ihl
    dport, = struct.unpack_from("!H", data, udp + 2)
    pos = udp + UDP_HDR
    if len(data) < pos + MOLD_HDR:
        return None
    session, seq, count = struct.unpack_from("!10sQH", data, pos)
    pos += MOLD_HDR
    msgs = []
    for _ in range(0 if count == MOLD_END_OF_SESSION else count):
        if pos + 2 > len(data):
            break
        ln, = struct.unpack_from("!H", data, pos)
        msgs.append(bytes(data[pos + 2:pos + 2 + ln]))
        pos += 2 + ln
    dst = str(IPv4Address(bytes(data[ETH_HDR + 16:ETH_HDR + 20])))
    return dst, dport, session, seq, count, msgs


def heartbeat_frame(session, next_seq, ep=FEED_A, feed="A"):
    return mold_frame(session, next_seq, [], ep, feed, count=MOLD_HEARTBEAT_COUNT)


def stamp(frames, start_ns=0, gap_ns=1000):
    """Assign increasing capture timestamps (in place) and return the frames."""
    t = start_ns
    for f in frames:
        f.ts = t
        t += gap_ns
    return frames


# ----------------------------------------------------------------------------- faults
# Each helper returns a new list and never mutates the frames it was given.

def _rng(rng):
    return rng if isinstance(rng, random.Random) else random.Random(rng)


def _tag(f, what):
    return f"{f.fault},{what}" if f.fault else what


def drop(frames, feed, prob=0.0, seqs=(), rng=0):
    """Remove Mold frames of `feed` with probability prob, or whose seq is in seqs."""
    rng, seqs = _rng(rng), set(seqs)
    return [f for f in frames if not (f.feed == feed and f.kind == "mold" and
                                      (f.seq in seqs or (prob and rng.random() < prob)))]


def duplicate(frames, prob, rng=0, feed=None, max_delay=3):
    """Repeat Mold frames (of feed, or any) with probability prob, up to max_delay later."""
    rng = _rng(rng)
    out, pending = [], []
    for f in frames:
        out.append(f)
        pending = [(d - 1, g) for d, g in pending]
        out += [g for d, g in pending if d <= 0]
        pending = [(d, g) for d, g in pending if d > 0]
        if f.kind == "mold" and (feed is None or f.feed == feed) and rng.random() < prob:
            pending.append((rng.randint(0, max_delay), replace(f, fault=_tag(f, "dup"),
                                                                msg_ends=list(f.msg_ends))))
            out += [g for d, g in pending if d <= 0]
            pending = [(d, g) for d, g in pending if d > 0]
    return out + [g for _d, g in pending]


def reorder(frames, window, rng=0, feed=None):
    """Shuffle frames of `feed` (or all) within consecutive windows of `window` of them.

    Frames of other feeds keep their slots; a frame moves at most window-1 slots among
    its feed's frames.
    """
    rng = _rng(rng)
    idx = [i for i, f in enumerate(frames) if feed is None or f.feed == feed]
    out = list(frames)
    for k in range(0, len(idx), window):
        chunk = idx[k:k + window]
        perm = chunk[:]
        rng.shuffle(perm)
        for dst, src in zip(chunk, perm):
            g = frames[src]
            out[dst] = replace(g, fault=_tag(g, "reorder")) if src != dst else g
    return out


def truncate(frames, prob, rng=0, feed=None, min_len=ETH_HDR):
    """Cut Mold frames short (at least min_len bytes kept) with probability prob."""
    rng, out = _rng(rng), []
    for f in frames:
        if f.kind == "mold" and (feed is None or f.feed == feed) and rng.random() < prob:
            n = rng.randint(min_len, len(f.data) - 1)
            f = replace(f, data=f.data[:n], fault=_tag(f, "truncate"),
                        msg_ends=[e for e in f.msg_ends if e < n])
        out.append(f)
    return out


CORRUPT_KINDS = ("fcs", "ip", "udp_len", "mold_len")


def corrupt(frames, prob, rng=0, feed=None, where="fcs"):
    """Damage Mold frames with probability prob.

    where: "fcs" (data intact, bad FCS on the wire), "ip" (one IPv4 header byte flipped,
    so its checksum fails), "udp_len" (UDP length larger than the datagram), "mold_len"
    (first message length overruns the packet), or "any" (a random one of these).
    """
    rng, out = _rng(rng), []
    for f in frames:
        if f.kind == "mold" and (feed is None or f.feed == feed) and rng.random() < prob:
            kind = rng.choice(CORRUPT_KINDS) if where == "any" else where
            d = bytearray(f.data)
            ihl = (d[ETH_HDR] & 0xF) * 4
            udp = ETH_HDR + ihl
            if kind == "fcs":
                f = replace(f, fcs_ok=False, fault=_tag(f, "corrupt:fcs"))
            else:
                if kind == "ip":
                    pos = ETH_HDR + rng.choice([1, 4, 5, 8, 12, 13, 14, 15])
                    d[pos] ^= 1 << rng.randrange(8)
                elif kind == "udp_len":
                    struct.pack_into("!H", d, udp + 4, len(d) - udp + 1 + rng.randrange(64))
                elif kind == "mold_len":
                    if f.count in (0, MOLD_END_OF_SESSION):
                        out.append(f)
                        continue
                    struct.pack_into("!H", d, udp + UDP_HDR + MOLD_HDR, len(d))
                else:
                    raise ValueError(f"unknown corruption {kind!r}")
                f = replace(f, data=bytes(d), fault=_tag(f, f"corrupt:{kind}"))
        out.append(f)
    return out


# ----------------------------------------------------------------------------- noise
NOISE_KINDS = ("arp", "ipv6", "port", "group", "vlan", "ipopt", "frag")


def _pad(data):
    return data + b"\0" * max(0, 60 - len(data))


def arp_frame(src_ip="10.1.0.1", target_ip="10.1.0.254", src_mac=FEED_A.src_mac):
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, mac_bytes(src_mac),
                       IPv4Address(src_ip).packed, b"\0" * 6, IPv4Address(target_ip).packed)
    return _pad(b"\xff" * 6 + mac_bytes(src_mac) + struct.pack("!H", ETH_ARP) + body)


def ipv6_udp_frame(payload, dport=FEED_A.port, src="fd00::1", dst="ff15::e936:c6f"):
    udp = struct.pack("!HHHH", 50000, dport, UDP_HDR + len(payload), 0) + payload
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, IPv6Address(src).packed,
                      IPv6Address(dst).packed)
    dmac = b"\x33\x33" + IPv6Address(dst).packed[-4:]
    return dmac + mac_bytes(FEED_A.src_mac) + struct.pack("!H", ETH_IPV6) + ip6 + udp


def noise_frame(kind, template, ep=FEED_A, rng=0):
    """A frame the feed handler must ignore (or count), built around a Mold template frame.

    arp: ARP request. ipv6: the Mold payload over IPv6/UDP. port: right group, other UDP
    port. group: other multicast group, right port. vlan: 802.1Q-tagged copy. ipopt: copy
    with 4 bytes of IPv4 options (NOP padding). frag: first fragment (MF set) of the copy.
    """
    rng = _rng(rng)
    t = template.data
    ihl = (t[ETH_HDR] & 0xF) * 4
    payload = t[ETH_HDR + ihl + UDP_HDR:]
    seq, count = template.seq, template.count
    if kind == "arp":
        return Frame(arp_frame(), kind=kind)
    if kind == "ipv6":
        return Frame(ipv6_udp_frame(payload), kind=kind)
    if kind == "port":
        return Frame(udp_frame(payload, ep, dst_port=ep.port + 1 + rng.randrange(100)),
                     seq=seq, count=count, kind=kind)
    if kind == "group":
        g = str(IPv4Address(ep.group) + 1 + rng.randrange(100))
        return Frame(udp_frame(payload, ep, dst_ip=g), seq=seq, count=count, kind=kind)
    if kind == "vlan":
        data = udp_frame(payload, ep, vlan=1 + rng.randrange(4094))
        return Frame(data, seq=seq, count=count, kind=kind,
                     msg_ends=[e + 4 for e in template.msg_ends])
    if kind == "ipopt":
        data = udp_frame(payload, ep, ip_options=b"\x01\x01\x01\x00")
        return Frame(data, seq=seq, count=count, kind=kind,
                     msg_ends=[e + 4 for e in template.msg_ends])
    if kind == "frag":
        udp = udp_header(ep.src_ip, ep.group, ep.src_port, ep.port, payload) + payload
        cut = max(8, (len(udp) // 2) & ~7)
        ip = ipv4_header(ep.src_ip, ep.group, cut, ident=rng.randrange(65536),
                         flags_frag=0x2000)
        data = multicast_mac(ep.group) + mac_bytes(ep.src_mac) + struct.pack(
            "!H", ETH_IPV4) + ip + udp[:cut]
        return Frame(_pad(data), seq=seq, count=count, kind=kind)
    raise ValueError(f"unknown noise kind {kind!r}")


def insert_noise(frames, prob, rng=0, kinds=NOISE_KINDS):
    """After each frame, with probability prob, insert one noise frame of a random kind."""
    rng, out = _rng(rng), []
    template = next((f for f in frames if f.kind == "mold" and f.count), None)
    for f in frames:
        out.append(f)
        if f.kind == "mold" and f.count not in (0, MOLD_END_OF_SESSION):
            template = f
        if template is not None and rng.random() < prob:
            out.append(noise_frame(rng.choice(kinds), template, rng=rng))
    return out
