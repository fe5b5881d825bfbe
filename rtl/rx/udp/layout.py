"""Where the parser finds each header field: fixed (beat, lane) positions.

The MAC realigns every frame to lane 0 (rtl/rx/mac/realign.py), and the parser only
accepts untagged Ethernet II + a 20-byte IPv4 header + UDP (VLAN tags and IP options
are dropped and counted), so every field the checks need sits at one constant place:
frame byte o is in beat o // 8, lane o % 8. Nothing is computed from per-frame offsets.
"""

ETH_TYPE = 12          # EtherType (beat 1, lanes 4-5)
IP = 14                # version/IHL (beat 1, lane 6)
IP_TOTAL = 16          # total length (beat 2, lanes 0-1)
IP_FRAG = 20           # flags + fragment offset (beat 2, lanes 4-5)
IP_PROTO = 23          # protocol (beat 2, lane 7)
IP_DST = 30            # destination address (beat 3 lanes 6-7, beat 4 lanes 0-1)
IP_END = 34            # end of the 20-byte IPv4 header
UDP_DPORT = 36         # UDP destination port (beat 4, lanes 4-5)
UDP_LEN = 38           # UDP length (beat 4, lanes 6-7)
PAYLOAD = 42           # first UDP payload byte (beat 5, lane 2)
PAYLOAD_BEAT = PAYLOAD // 8
L2 = IP                # Ethernet header bytes
MIN_FRAME = 60         # bytes before the FCS of a minimum (padded) frame


def at(offset):
    """(beat, lane) of frame byte `offset`."""
    return offset // 8, offset % 8


def word(lanes, offset):
    """Big-endian 16-bit field at `offset` from the lanes of its beat (both bytes in it)."""
    from amaranth.hdl import Cat
    beat, lane = at(offset)
    assert lane < 7, "a 16-bit field must not straddle beats"
    return Cat(lanes[lane + 1], lanes[lane])
