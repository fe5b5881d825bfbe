"""Ethernet/IPv4/UDP parser and destination filter (rtl/rx/udp/)."""
from ...regmap.dsl import Block, Field, Reg

_A = (233 << 24) | (54 << 16) | (12 << 8) | 111     # 233.54.12.111, Nasdaq TotalView feed A
_B = (233 << 24) | (49 << 16) | (196 << 8) | 111    # 233.49.196.111, feed B

FEED = Field("FEED", 1, "Which feed the entry's datagrams belong to.", values={"A": 0, "B": 1})


def block(n_filters):
    """The parser's registers for a table of `n_filters` entries (CoreConfig.udp_filters;
    entries 0 and 1 reset to Nasdaq's feeds A and B)."""
    assert n_filters >= 2
    pad = (0,) * (n_filters - 2)
    return Block("net", "Ethernet II (untagged), IPv4 (no options), UDP and the feed filter table.", (
        Reg("filter_group", "control", "IPv4 destination (multicast group) of filter entry i.",
            count=n_filters, reset=(_A, _B) + pad),
        Reg("filter_port", "control", "UDP destination port of filter entry i.", width=16,
            count=n_filters, reset=(26477, 26477) + pad),
        Reg("filter_ctrl", "control", "Filter entry i. Reset: entry 0 = feed A "
            "233.54.12.111:26477, entry 1 = feed B 233.49.196.111:26477.",
            width=2, count=n_filters, reset=(0b01, 0b11) + pad,
            fields=(Field("ENABLE", 0, "The entry is in use."), FEED)),
    ) + _COUNTERS)


_COUNTERS = (
    Reg("frames_in", "counter", "Frames seen by the parser (any verdict)."),
    Reg("udp_accepted", "counter", "UDP datagrams that matched a filter entry and were forwarded."),
    Reg("drop_bad_frame", "counter", "Frames the MAC marked bad (FCS, error character, runt, "
        "oversize; counted by the MAC too). Outranks every other reason: a MAC-bad frame counts "
        "here only, even if its datagram matched (payload already forwarded ends with a bad end "
        "marker)."),
    Reg("drop_ethertype", "counter", "EtherType neither IPv4 (0x0800) nor a VLAN tag."),
    Reg("drop_vlan", "counter", "VLAN-tagged frame (TPID 0x8100 or 0x88A8): the feed is untagged."),
    Reg("drop_ip_header", "counter", "IPv4 version != 4 or IHL < 5."),
    Reg("drop_ip_options", "counter", "IPv4 header with options (IHL > 5)."),
    Reg("drop_ip_checksum", "counter", "IPv4 header checksum wrong."),
    Reg("drop_ip_length", "counter", "IPv4 total length < 20, or the frame is not exactly "
        "max(14 + total length, 60) bytes before its FCS (truncated, or bytes past the datagram "
        "beyond minimum-frame padding); payload already forwarded ends with a bad end marker."),
    Reg("drop_fragment", "counter", "IPv4 fragment (MF set or offset non-zero)."),
    Reg("drop_not_udp", "counter", "IPv4 protocol is not UDP."),
    Reg("drop_udp_length", "counter", "IPv4 total length < 28, or UDP length != total length - 20."),
    Reg("drop_filter", "counter", "UDP datagram matched no enabled filter entry."),
    Reg("udp_checksum_errors", "counter", "Accepted datagrams (counted in udp_accepted, "
        "payload forwarded cut-through) whose UDP checksum then failed (a zero checksum "
        "field is not verified): the frame is reported bad to MoldUDP64 afterwards."),
)
