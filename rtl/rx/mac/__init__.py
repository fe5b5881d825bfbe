"""XGMII receive MAC: 64-bit SDR XGMII in, MacBeat stream out (no realignment)."""
from .xgmii_rx import XgmiiRx

__all__ = ["XgmiiRx"]
