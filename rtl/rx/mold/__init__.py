"""MoldUDP64 session tracking and A/B arbitration."""
from .mold_rx import MoldRx

__all__ = ["MoldRx"]
