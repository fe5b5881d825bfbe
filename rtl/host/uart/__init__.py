"""UART register bridge: 8N1 PHY (phy.py), framed protocol bridge (bridge.py), wire format (protocol.py)."""
