"""Ethernet II / 802.1Q / IPv4 / UDP receive parsing and the feed destination filter."""
from .udp_rx import UdpRx

__all__ = ["UdpRx"]
