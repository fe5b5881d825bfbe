"""Corruption kinds for the fuzz campaign (tools/fuzz.py): one port's frames in, the
same port's frames out with some of them damaged, deterministically from an RNG.

Why a separate module from moldfeed's faults: those model a lossy but honest network
(drops, duplicates, FCS errors); these model a misbehaving upstream device or a
spoofed sender, so most damage is done *before* the FCS (the encoder computes the
FCS of the bytes it is given, so the MAC accepts the frame) and header checksums are
fixed up where the kind says so, to reach the layer the kind is aimed at.

Every kind is `fn(frames, rng, rate) -> frames` for ONE port's frame list (in wire
order). `rate` is the share of the port's Mold frames picked (at least one); the
kind never mutates its input. Frames keep `feed`, `seq` and `count` of the packet
they came from (the RTL engine uses them only to time messages); `fault` names the
damage. Layer offsets assume the untagged, option-less frames moldfeed builds.
"""
import random
import struct
from dataclasses import replace

from . import moldfeed
from .moldfeed import ETH_HDR, IP_HDR, MOLD_HDR, UDP_HDR, Frame, inet_checksum

IP0 = ETH_HDR                         # IPv4 header
UDP0 = IP0 + IP_HDR                   # UDP header
MOLD0 = UDP0 + UDP_HDR                # MoldUDP64 header
BLK0 = MOLD0 + MOLD_HDR               # first message block
HEADERS = BLK0                        # Ethernet + IPv4 + UDP + MoldUDP64 header bytes


def _is_mold(f):
    return f.kind == "mold" and f.count not in (0, moldfeed.MOLD_END_OF_SESSION)


def pick(frames, rng, rate):
    """Indexes of the data-carrying Mold frames to damage: round(rate * n), >= 1."""
    idx = [i for i, f in enumerate(frames) if _is_mold(f)]
    if not idx:
        return []
    k = max(1, round(rate * len(idx)))
    return sorted(rng.sample(idx, min(k, len(idx))))


def _mark(f, data, what, **kw):
    return replace(f, data=bytes(data), fault=f"{f.fault},{what}" if f.fault else what,
                   msg_ends=[e for e in f.msg_ends if e < len(data)], **kw)


def _fix_ip(d):
    """Recompute the IPv4 header checksum (so only the field we changed is wrong)."""
    ihl = (d[IP0] & 0xF) * 4
    d[IP0 + 10:IP0 + 12] = b"\0\0"
    d[IP0 + 10:IP0 + 12] = struct.pack("!H", inet_checksum(bytes(d[IP0:IP0 + ihl])))


def _each(fn):
    """Kind from a per-frame damage function fn(frame, bytearray, rng) -> Frame."""
    def kind(frames, rng, rate):
        out = list(frames)
        for i in pick(frames, rng, rate):
            out[i] = fn(out[i], bytearray(out[i].data), rng)
        return out
    kind.__doc__ = fn.__doc__
    return kind


# ----------------------------------------------------------------- bytes, valid FCS
@_each
def bitflip(f, d, rng):
    """1-3 bit flips anywhere in the frame (valid FCS)."""
    for _ in range(rng.randint(1, 3)):
        d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
    return _mark(f, d, "bitflip")


@_each
def hdr_bitflip(f, d, rng):
    """One bit flip in the Ethernet/IPv4/UDP/MoldUDP64 headers (valid FCS)."""
    d[rng.randrange(HEADERS)] ^= 1 << rng.randrange(8)
    return _mark(f, d, "hdr_bitflip")


@_each
def seq_jump(f, d, rng):
    """MoldUDP64 sequence number pushed far ahead (2^16..2^40), all else intact."""
    seq = struct.unpack_from("!Q", d, MOLD0 + 10)[0] + rng.randint(1 << 16, 1 << 40)
    struct.pack_into("!Q", d, MOLD0 + 10, seq)
    return _mark(f, d, "seq_jump")


@_each
def truncate(f, d, rng):
    """Frame cut short anywhere after the Ethernet header (valid FCS of what is left)."""
    return _mark(f, d[:rng.randint(ETH_HDR, len(d) - 1)], "truncate")


@_each
def ip_len(f, d, rng):
    """IPv4 total length wrong (shorter or longer than the datagram), checksum fixed."""
    n = struct.unpack_from("!H", d, IP0 + 2)[0]
    new = rng.choice([rng.randint(20, n - 1), rng.randint(n + 1, n + 200)])
    struct.pack_into("!H", d, IP0 + 2, new)
    _fix_ip(d)
    return _mark(f, d, "ip_len")


@_each
def udp_len(f, d, rng):
    """UDP length wrong (below 8+20, short of or past the datagram)."""
    n = struct.unpack_from("!H", d, UDP0 + 4)[0]
    new = rng.choice([rng.randint(0, 27), rng.randint(28, n - 1), rng.randint(n + 1, n + 200)])
    struct.pack_into("!H", d, UDP0 + 4, new)
    return _mark(f, d, "udp_len")


@_each
def mold_count(f, d, rng):
    """MoldUDP64 message count disagrees with the blocks the packet holds."""
    n = struct.unpack_from("!H", d, MOLD0 + 18)[0]
    new = rng.choice([max(1, n - rng.randint(1, n)), n + rng.randint(1, 40)]) if n > 1 \
        else n + rng.randint(1, 40)
    struct.pack_into("!H", d, MOLD0 + 18, new if new != n else n + 1)
    return _mark(f, d, "mold_count")


@_each
def mold_msglen(f, d, rng):
    """One message block length wrong (shorter than ITCH's, off by a few, or overrunning)."""
    pos, starts = BLK0, []
    while pos + 2 <= len(d):
        starts.append(pos)
        pos += 2 + struct.unpack_from("!H", d, pos)[0]
    at = rng.choice(starts)
    n = struct.unpack_from("!H", d, at)[0]
    new = rng.choice([rng.randint(0, 11), max(12, n - rng.randint(1, 4)), n + rng.randint(1, 4),
                      rng.randint(len(d), 0xFFFF)])
    struct.pack_into("!H", d, at, new if new != n else n + 1)
    return _mark(f, d, "mold_msglen")


def _session(rng):
    return bytes(rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(10))


@_each
def foreign_session(f, d, rng):
    """The packet re-labelled with another MoldUDP64 session (a foreign publisher)."""
    d[MOLD0:MOLD0 + 10] = _session(rng)
    return _mark(f, d, "foreign_session")


# ----------------------------------------------------------------- inserted frames
def _insert(make):
    """Kind that inserts a made frame after each picked frame (the originals stay)."""
    def kind(frames, rng, rate):
        out = []
        chosen = set(pick(frames, rng, rate))
        for i, f in enumerate(frames):
            out.append(f)
            if i in chosen:
                out.append(make(f, rng))
        return out
    kind.__doc__ = make.__doc__
    return kind


def _random_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


@_insert
def garbage(f, rng):
    """A frame of random bytes (no feed headers) inserted after the picked frame."""
    return Frame(_random_bytes(rng, rng.randint(60, 1500)), kind="garbage", fault="garbage")


@_insert
def garbage_hdr(f, rng):
    """The feed's own Ethernet/IPv4/UDP headers (correct lengths) around random bytes."""
    ep = moldfeed.FEED_B if f.feed == "B" else moldfeed.FEED_A
    payload = _random_bytes(rng, rng.randint(0, 1400))
    return Frame(moldfeed.udp_frame(payload, ep), kind="garbage_hdr", fault="garbage_hdr")


@_insert
def garbage_mold(f, rng):
    """The feed's headers, this session and a near sequence number, then random blocks."""
    ep = moldfeed.FEED_B if f.feed == "B" else moldfeed.FEED_A
    sess = f.data[MOLD0:MOLD0 + 10]
    hdr = sess + struct.pack("!QH", max(1, f.seq + rng.randint(-20, 20)), rng.randint(1, 60))
    payload = hdr + _random_bytes(rng, rng.randint(0, 1400))
    return Frame(moldfeed.udp_frame(payload, ep), kind="garbage_mold", fault="garbage_mold")


# ----------------------------------------------------------------- order and copies
def duplicate(frames, rng, rate):
    """Picked frames sent again 0-3 frames later."""
    return moldfeed.duplicate(frames, rate, rng=rng, max_delay=3)


def reorder(frames, rng, rate):
    """Frames shuffled within windows of 2-4 (rate: share of windows shuffled)."""
    out, i = list(frames), 0
    while i < len(out):
        w = rng.randint(2, 4)
        if rng.random() < max(rate, 0.05) * 4:
            out[i:i + w] = moldfeed.reorder(out[i:i + w], w, rng=rng)
        i += w
    return out


# ----------------------------------------------------------------- re-framed copies
def _reframe(what):
    """Kind replacing each picked frame by moldfeed's `what` variant of its packet."""
    def fn(f, d, rng):
        ep = moldfeed.FEED_B if f.feed == "B" else moldfeed.FEED_A
        g = moldfeed.noise_frame(what, f, ep=ep, rng=rng)
        return replace(g, feed=f.feed, kind="mold", fault=what, seq=f.seq, count=f.count,
                       msg_ends=list(g.msg_ends))
    fn.__doc__ = {"vlan": "Picked packets sent 802.1Q-tagged instead (the filter's VLAN rule).",
                  "ipopt": "Picked packets sent with 4 bytes of IPv4 options instead.",
                  "frag": "Picked packets sent as a first IPv4 fragment (MF set) instead."}[what]
    return _each(fn)


vlan = _reframe("vlan")
ip_options = _reframe("ipopt")
fragment = _reframe("frag")


# ----------------------------------------------------------------- the wire
@_each
def bad_fcs(f, d, rng):
    """Picked frames sent with a wrong FCS (after their messages went cut-through)."""
    return replace(f, fcs_ok=False, fault="bad_fcs")


@_each
def line_error(f, d, rng):
    """1-3 bits flipped after the headers AND a wrong FCS: a real bit error on the wire,
    whose messages went cut-through before the MAC could know."""
    for _ in range(rng.randint(1, 3)):
        d[rng.randrange(HEADERS, len(d))] ^= 1 << rng.randrange(8)
    return replace(_mark(f, d, "line_error"), fcs_ok=False)


@_each
def oversize(f, d, rng):
    """Trailing bytes appended so the frame exceeds 1522 bytes (the MAC cuts it)."""
    d += _random_bytes(rng, 1530 - len(d) + rng.randint(0, 400))
    return replace(f, data=bytes(d), fault="oversize", msg_ends=list(f.msg_ends))


@_each
def runt(f, d, rng):
    """Picked frames cut to 14-59 bytes on the wire (a runt: under 64 with the FCS)."""
    return replace(f, wire=("truncate", rng.randint(18, 63)), fault="runt", msg_ends=[])


@_each
def ctrl_error(f, d, rng):
    """Picked frames carry an /E/ control character in the middle (a PHY error)."""
    return replace(f, wire="error", fault="ctrl_error")


@_each
def not_udp(f, d, rng):
    """IPv4 protocol changed from UDP (17) to TCP (6), header checksum fixed."""
    d[IP0 + 9] = 6
    _fix_ip(d)
    return _mark(f, d, "not_udp")


@_each
def qinq(f, d, rng):
    """Two VLAN tags (802.1ad outer, 802.1Q inner) in front of the IPv4 packet."""
    tags = struct.pack("!HHHH", 0x88A8, rng.randrange(4096), 0x8100, rng.randrange(4096))
    g = d[:12] + tags + d[12:]
    return replace(f, data=bytes(g), fault="qinq", msg_ends=[e + 8 for e in f.msg_ends])


def skew(frames, rng, rate):
    """The whole port starts 4-64 characters late (a steady A/B skew, no damage)."""
    out = list(frames)
    if out:
        out[0] = replace(out[0], idle=out[0].idle + 4 * rng.randint(1, 16), fault="skew")
    return out


@_each
def lane4(f, d, rng):
    """Picked frames start four characters later (/S/ moves between lanes 0 and 4)."""
    return replace(f, idle=f.idle + 4, fault="lane4")


def none(frames, rng, rate):
    """No damage: the control case (must always pass)."""
    return list(frames)


KINDS = {
    "none": none,
    "bitflip": bitflip, "hdr_bitflip": hdr_bitflip, "seq_jump": seq_jump,
    "truncate": truncate, "ip_len": ip_len, "udp_len": udp_len,
    "mold_count": mold_count, "mold_msglen": mold_msglen,
    "garbage": garbage, "garbage_hdr": garbage_hdr, "garbage_mold": garbage_mold,
    "duplicate": duplicate, "reorder": reorder,
    "vlan": vlan, "ip_options": ip_options, "fragment": fragment,
    "not_udp": not_udp, "qinq": qinq, "ctrl_error": ctrl_error,
    "runt": runt, "oversize": oversize, "bad_fcs": bad_fcs, "line_error": line_error, "lane4": lane4, "skew": skew,
    "foreign_session": foreign_session,
}


def apply(kind, frames, seed, rate=0.05):
    """`frames` with `kind` applied, from `seed` alone (deterministic)."""
    return KINDS[kind](frames, random.Random(seed), rate)
